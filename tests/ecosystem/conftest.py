"""Fixtures of the ecosystem tests: a throwaway PostgreSQL server."""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.targets import quote_ident


def _postgres_bin() -> Path:
    """The newest Debian PostgreSQL server's bin directory."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parent.parent.name)
    )
    if not found:
        pytest.fail("no PostgreSQL server in /usr/lib/postgresql: run `make ecosystem-deps`")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The superuser's password on the throwaway server. MeltanoLabs' target-postgres
# refuses to start without one, and the server checks it (scram-sha-256 over TCP).
PASSWORD = "tap-pendo-test"


@dataclass
class Postgres:
    """A running server on 127.0.0.1 with a database `dbname`; `user` logs in with `password`."""

    bin: Path
    host: str
    port: int
    user: str
    password: str
    dbname: str

    def target_config(self, schema: str, **extra) -> dict:
        """A MeltanoLabs target-postgres config loading into `schema`."""
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "database": self.dbname,
            "default_target_schema": schema,
            **extra,
        }

    def psql(self, sql: str) -> str:
        done = subprocess.run(
            [
                str(self.bin / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                self.dbname,
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PGPASSWORD": self.password},
        )
        assert done.returncode == 0, f"psql failed on {sql!r}:\n{done.stderr}"
        return done.stdout

    def rows(self, sql: str) -> list:
        """The rows of a query, as JSON objects (timestamps come back as ISO strings)."""
        out = self.psql(f"SELECT coalesce(json_agg(q), '[]'::json) FROM ({sql}) q")
        return json.loads(out)

    def value(self, sql: str):
        return json.loads(self.psql(f"SELECT to_json(({sql}))"))

    def primary_key(self, schema: str, table: str) -> set:
        """The columns of a table's primary key constraint."""
        name = f"{schema}.{quote_ident(table)}"
        return {
            r["attname"]
            for r in self.rows(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
                " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
                f" WHERE i.indrelid = '{name}'::regclass AND i.indisprimary"
            )
        }


@pytest.fixture(scope="session")
def postgres():
    """Debian's initdb and pg_ctl in a temporary data directory, on a free loopback port;
    over TCP, `postgres` logs in with PASSWORD.

    As root, the server runs as the `postgres` user (it refuses to run as root).
    """
    bindir = _postgres_bin()
    as_root = os.geteuid() == 0
    # Not under pytest's tmp directory: its parents are private to root.
    root = Path(tempfile.mkdtemp(prefix="tap-pendo-pg-"))
    data, sockets, logfile = root / "data", root / "sockets", root / "server.log"
    sockets.mkdir()
    if as_root:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")

    def server_cmd(*args):
        cmd = [str(bindir / args[0]), *args[1:]]
        if as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    password_file = root / "password"
    password_file.write_text(PASSWORD + "\n")
    if as_root:
        shutil.chown(password_file, "postgres")
    done = server_cmd(
        "initdb",
        "-D",
        str(data),
        "-U",
        "postgres",
        f"--pwfile={password_file}",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    )
    assert done.returncode == 0, f"initdb failed:\n{done.stdout}\n{done.stderr}"
    port = None
    for _ in range(5):
        port = _free_port()
        options = (
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
            # target-postgres writes date-times into `timestamp without time zone` columns
            # in the session's time zone: UTC, whatever the machine's zone.
            " -c timezone=UTC"
        )
        done = server_cmd(
            "pg_ctl", "-D", str(data), "-l", str(logfile), "-o", options, "-w", "-t", "60", "start"
        )
        if done.returncode == 0:
            break
        time.sleep(0.5)  # the port was taken meanwhile: try another
    else:
        log = logfile.read_text() if logfile.exists() else ""
        pytest.fail(f"PostgreSQL did not start:\n{done.stdout}\n{done.stderr}\n{log[-3000:]}")
    server = Postgres(
        bin=bindir,
        host="127.0.0.1",
        port=port,
        user="postgres",
        password=PASSWORD,
        dbname="tap_pendo",
    )
    try:
        Postgres(bindir, server.host, port, "postgres", PASSWORD, "postgres").psql(
            "CREATE DATABASE tap_pendo"
        )
        yield server
    finally:
        server_cmd("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
