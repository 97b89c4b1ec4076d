"""The command line of tap-pendo.

main() parses the arguments, checks config, catalog and state before any
request, then discovers or syncs. Errors a user can fix end the run with one
line on stderr and exit code 1; the integration key never reaches any output.
"""

import argparse
import json
import logging
import os
import sys

import singer
from singer.catalog import Catalog

from . import datasync
from .about import about, about_markdown
from .config import Config, load_config, unknown_keys
from .errors import CatalogError, ConfigError, StateError, UserError
from .pendo.client import PendoClient
from .readers import ReadContext
from .readers.datasync import discover_columns
from .run.progress import Progress
from .singer.discover import discover, fetch_metadata_docs
from .singer.output import SingerWriter
from .singer.state import check_state
from .singer.sync import plan_sync, required_sources, selection, sync
from .streams import STREAMS
from .timefmt import now_ms

LOGGER = singer.get_logger()
# Exit codes: 0 success; 1 bad input, or Pendo refused (one line says which); 2 argparse's
# usage errors; 70 (EX_SOFTWARE) a bug in the tap, with its traceback; 74 (EX_IOERR) the
# target closed the tap's output; 130 (128 + SIGINT) Ctrl-C, as shells report it.
EXIT_USER_ERROR = 1
EXIT_INTERNAL_ERROR = 70
EXIT_OUTPUT_CLOSED = 74
EXIT_INTERRUPTED = 130


def parse_args(argv=None) -> argparse.Namespace:
    """singer-python's flags. Its own parse_args is not used because it loads the
    files itself and fails with a traceback that does not say which file is wrong."""
    parser = argparse.ArgumentParser(prog="tap-pendo", description="Singer tap for Pendo")
    parser.add_argument("-c", "--config", help="Config file")
    parser.add_argument("-s", "--state", help="State file")
    parser.add_argument("-p", "--properties", help="Catalog file (deprecated: use --catalog)")
    parser.add_argument("--catalog", help="Catalog file")
    parser.add_argument("-d", "--discover", action="store_true", help="Print a catalog")
    parser.add_argument(
        "--about", action="store_true", help="Print the tap's capabilities and settings"
    )
    parser.add_argument(
        "--format",
        choices=("json", "markdown", "text"),
        help="Format of --about (json, the default, or markdown) or of --plan (text, the "
        "default, or json)",
    )
    parser.add_argument(
        "--plan",
        action="store_true",
        help="Print what a sync would read (streams, windows, bounds, requests) and stop: "
        "no request is made",
    )
    args = parser.parse_args(argv)
    if not args.about and not args.config:
        parser.error("the following arguments are required: -c/--config")
    formats = {"about": ("json", "markdown"), "plan": ("text", "json")}
    for command, allowed in formats.items():
        if getattr(args, command) and args.format not in (None, *allowed):
            parser.error(f"--{command} takes --format {' or '.join(allowed)}")
    return args


def load_json_file(path: str, what: str, error):
    """Parse a JSON file, or raise `error` with a one-line message naming the file."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise error(f"cannot read the {what} file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise error(f"the {what} file {path} is not valid JSON ({exc})") from None


def load_catalog(path: str) -> Catalog:
    """A Catalog from a file, with a clear error when it is not one."""
    raw = load_json_file(path, "catalog", CatalogError)
    if not isinstance(raw, dict) or not isinstance(raw.get("streams"), list):
        raise CatalogError(
            f"{path} is not a Singer catalog (no 'streams' list): run tap-pendo --discover"
        )
    for entry in raw["streams"]:
        _check_catalog_metadata(path, entry)
    try:
        return Catalog.from_dict(raw)
    except (AttributeError, KeyError, TypeError) as exc:
        raise CatalogError(
            f"{path} is not a Singer catalog ({exc}): run tap-pendo --discover"
        ) from None


def _check_catalog_metadata(path: str, entry) -> None:
    """Each metadata item of a catalog entry is a breadcrumb with its metadata object (what
    singer-python reads without checking)."""
    if not isinstance(entry, dict):
        raise CatalogError(f"{path} holds a stream entry that is not an object: {str(entry)[:80]}")
    stream = entry.get("tap_stream_id") or entry.get("stream") or "?"
    items = entry.get("metadata")
    if items is None:
        return
    if not isinstance(items, list):
        raise CatalogError(
            f"the catalog {path}: stream '{stream}' has 'metadata' that is not a list"
        )
    for item in items:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("breadcrumb"), list)
            and isinstance(item.get("metadata"), dict)
        ):
            raise CatalogError(
                f"the catalog {path}: stream '{stream}' has a metadata entry without a "
                f"'breadcrumb' list and a 'metadata' object ({str(item)[:80]}): run "
                "tap-pendo --discover, or fix the entry"
            )


class RedactSecrets(logging.Filter):
    """Replaces the config's secrets (the integration key, the store's credentials) in every
    log record, wherever it came from."""

    def __init__(self, secrets: dict):
        super().__init__()
        self.secrets = secrets  # text -> what to show instead

    def _redacted(self, text: str) -> str:
        for secret, shown in self.secrets.items():
            text = text.replace(secret, shown)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._redacted(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            # The formatter uses exc_text when it is set: a traceback is cleaned too.
            record.exc_text = self._redacted(logging.Formatter().formatException(record.exc_info))
        return True


def run(args: argparse.Namespace) -> None:
    """Describe the tap, discover, plan or sync, once every input is known to be usable."""
    if args.about:
        text = about_markdown() if args.format == "markdown" else json.dumps(about(), indent=2)
        sys.stdout.write(text.rstrip("\n") + "\n")
        return
    raw_config = load_json_file(args.config, "config", ConfigError)
    config: Config = load_config(raw_config)
    for handler in logging.getLogger().handlers + LOGGER.handlers:
        handler.addFilter(RedactSecrets(config.secrets))
    for key in unknown_keys(raw_config):
        LOGGER.warning("config key '%s' is not one tap-pendo knows; it is ignored", key)
    if args.discover:
        catalog = discover(config.period, _metadata_docs(config), _datasync_columns(config))
        json.dump(catalog.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    catalog_path = args.catalog or args.properties
    if not catalog_path:
        raise CatalogError("pass --catalog CATALOG (make one with tap-pendo --discover)")
    catalog = load_catalog(catalog_path)
    state = check_state(
        load_json_file(args.state, "state", StateError) if args.state else None, config.period
    )
    selected = selection(catalog, config.period)
    if not selected:
        LOGGER.warning("no stream is selected in the catalog: nothing to do")
    progress = Progress()
    plan = plan_sync(config, state, selected, now_ms())
    if args.plan:
        if args.format == "json":
            sys.stdout.write(json.dumps(plan.as_json(), indent=2) + "\n")
        else:
            sys.stdout.write("\n".join(plan.describe()) + "\n")
        return
    api_streams, datasync_streams = required_sources(config, selected)
    progress.planned(plan.describe())
    client = PendoClient(config, observe=progress.request) if api_streams else None
    store = (
        datasync.open_store(config.datasync_url, config.datasync_storage_options)
        if datasync_streams
        else None
    )
    writer = SingerWriter()
    try:
        sync(config, ReadContext(config, client, store), plan, selected, state, writer, progress)
    finally:
        writer.flush()
        requests = dict(client.requests_by_stream) if client else {}
        progress.summary(requests, client.retries if client else 0)


def _metadata_docs(config: Config) -> dict:
    """Pendo's metadata schemas, for the custom fields of accounts and visitors; without a
    key (Data Sync only), none: the API streams get their bundled schemas."""
    if not config.integration_key:
        LOGGER.info("no integration key: the API streams are listed with their bundled schemas")
        return {}
    return fetch_metadata_docs(PendoClient(config, observe=Progress().request))


def _datasync_columns(config: Config):
    """The Data Sync streams' columns from the newest exports; None without datasync_url."""
    if not config.datasync_url:
        return None
    store = datasync.open_store(config.datasync_url, config.datasync_storage_options)
    streams = [s for s in STREAMS.values() if s.export_files is not None]
    return discover_columns(store, config.datasync_subscription, streams)


def main(argv=None) -> None:
    """The console script."""
    args = parse_args(argv)
    try:
        run(args)
    except UserError as error:
        _last_line(str(error), EXIT_USER_ERROR)
    except BrokenPipeError:
        # The target exited or closed its input. What is still buffered cannot be written:
        # without this, Python's own flush at exit would print a second traceback.
        _discard_stdout()
        _last_line(
            "the target stopped reading the tap's output (stdout closed): see the target's "
            "error; rerun with the last STATE it received to resume",
            EXIT_OUTPUT_CLOSED,
        )
    except KeyboardInterrupt:
        _last_line("interrupted: rerun with the last STATE to resume", EXIT_INTERRUPTED)
    except Exception:
        # A bug: show its traceback, but through the logger, so that the key is
        # taken out of it like out of every other line.
        _last_line(
            "tap-pendo failed; please report this at the tap-pendo issue tracker",
            EXIT_INTERNAL_ERROR,
            exc_info=sys.exc_info(),
        )


def _last_line(message: str, code: int, exc_info=None) -> None:
    """End the run with `message` as the last line on stderr, and exit with `code`.

    Workers may still be finishing a request when the run stops, and would log its
    METRIC line: logging is switched off for every thread, and the handlers' locks are
    taken (and kept until the process exits), so that a line another thread is writing
    ends before this one and none can follow it."""
    logging.disable(logging.CRITICAL)
    handlers, logger = [], LOGGER
    while logger is not None:
        handlers += logger.handlers
        logger = logger.parent if logger.propagate else None
    for handler in handlers:
        handler.acquire()
    # Logger.handle skips the check that logging.disable switched off, for this line alone.
    LOGGER.handle(LOGGER.makeRecord(LOGGER.name, logging.CRITICAL, "", 0, message, (), exc_info))
    sys.exit(code)


def _discard_stdout() -> None:
    """Point file descriptor 1 at /dev/null, so that nothing is written to a closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
