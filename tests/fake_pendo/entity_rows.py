"""The dataset's entity rows at the clock: accounts and visitors with their visits,
the catalog with its updates, the entity lists, saved items and metadata schemas.

A mixin of `Dataset` (dataset.py); rows are built on first read and cached
until the clock moves (`_rows_cache`).
"""

from __future__ import annotations

import zlib

from .constants import ENTITY_LIST_KINDS, METADATA_SCHEMAS, USER_AGENTS
from .values import _user


def _idhash(value: str) -> int:
    return zlib.crc32(value.encode())


def _schema_field(type_: str, display: str, element_type: str, per_app: bool) -> dict:
    """One field of a metadata schema, with Pendo's attribute names."""
    return {
        "Type": type_,
        "DisplayName": display,
        "ElementType": element_type,
        "ElementFormat": "unix" if type_ == "time" else "",
        "Dirty": False,
        "isHidden": False,
        "isDeleted": False,
        "isCalculated": False,
        "isPerApp": per_app,
        "neverIndex": type_ == "list",
    }


class EntityRowsMixin:
    """The rows of the entity sources, the entity lists, saved items and schemas."""

    def entities(self, source: str) -> list:
        """The rows of an entity source at `now_ms`, of every app."""
        with self._lock:
            rows = self._rows_cache.get(source)
            if rows is None:
                rows = self._rows_cache[source] = self._build_rows(source)
            return rows

    def _build_rows(self, source: str) -> list:
        if source == "accounts":
            return [self._account_row(i) for i in range(len(self._accounts))]
        if source == "visitors":
            return [self._visitor_row(v) for v in range(len(self._visitors))]
        if source not in self._entities:
            raise ValueError(f"not an entity source: {source!r}")
        updates = self._updates[source]
        return [
            row
            if i not in updates
            else {**row, "lastUpdatedAt": updates[i], "lastUpdatedByUser": _user(i + 2)}
            for i, row in enumerate(self._entities[source])
        ]

    def _account_row(self, i: int) -> dict:
        account = self._accounts[i]
        auto = {"id": account["id"], "idhash": _idhash(account["id"])}
        visits = [
            (app, self._account_visits[i, app])
            for app in self.apps
            if (i, app) in self._account_visits
        ]
        if visits:
            auto["firstvisit"] = min(first for _, (first, _) in visits)
            auto["lastvisit"] = max(last for _, (_, last) in visits)
        lastupdated = self._updates["accounts"].get(i, account["lastupdated"])
        if lastupdated is not None:
            auto["lastupdated"] = lastupdated
        metadata = {"auto": auto, "agent": account["agent"], "custom": account["custom"]}
        if account["salesforce"]:
            metadata["salesforce"] = account["salesforce"]
        for app, (first, last) in visits:
            metadata[f"auto__{app}"] = {"firstvisit": first, "lastvisit": last}
        return {"accountId": account["id"], "metadata": metadata}

    def _visitor_row(self, v: int) -> dict:
        visitor = self._visitors[v]
        auto = {"id": visitor.id, "idhash": _idhash(visitor.id)}
        if visitor.accounts:
            account_ids = [self._accounts[a]["id"] for a in visitor.accounts]
            auto["accountid"], auto["accountids"] = account_ids[0], account_ids
        if self._visits[v] is not None:
            first, last, ctx = self._visits[v]
            parsed = USER_AGENTS[self._ctx_info[ctx][2]][1]
            auto.update(
                firstvisit=first,
                lastvisit=last,
                lastbrowsername=parsed["name"],
                lastbrowserversion=parsed["version"],
                lastoperatingsystem=parsed["os"],
                lastservername=self._ctx_rows[ctx][3],
                lastuseragent=self._ctx_rows[ctx][5],
            )
        lastupdated = self._updates["visitors"].get(v, visitor.lastupdated)
        if lastupdated is not None:
            auto["lastupdated"] = lastupdated
        metadata = {"auto": auto}
        if visitor.agent is not None:
            metadata["agent"] = visitor.agent
        if visitor.custom is not None:
            metadata["custom"] = visitor.custom
        metadata["pendo"] = {"donotprocess": visitor.donotprocess}
        return {"visitorId": visitor.id, "metadata": metadata}

    def account_apps(self, account_id: str) -> set:
        """The apps in which the account has activity (those its visitors use)."""
        index = self._account_index.get(account_id)
        return set() if index is None else set(self._account_apps[index])

    def entity_list(self, kind: str, expand: bool) -> list:
        """`GET /api/v1/{kind}`: every app's entities with `expand=*`, else the default app's."""
        if kind not in ENTITY_LIST_KINDS:
            raise ValueError(f"not an entity kind: {kind!r}")
        rows = self.entities(ENTITY_LIST_KINDS[kind])
        return list(rows) if expand else [r for r in rows if r["appId"] == self.default_app]

    def segments(self) -> list:
        """`GET /api/v1/segment`: every saved segment, at now_ms."""
        with self._lock:
            return self._saved.rows("segments")

    def reports(self) -> list:
        """`GET /api/v1/report`: every saved report, at now_ms."""
        with self._lock:
            return self._saved.rows("reports")

    def metadata_schema(self, kind: str) -> dict:
        """`GET /api/v1/metadata/schema/{kind}` for kind `account` or `visitor`."""
        if kind not in METADATA_SCHEMAS:
            raise ValueError(f"not a metadata kind: {kind!r}")
        return {
            group: {name: _schema_field(*spec) for name, spec in fields.items()}
            for group, fields in METADATA_SCHEMAS[kind].items()
        }
