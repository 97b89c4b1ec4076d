"""tap-pendo: a Singer tap for Pendo, from its API and from its Data Sync exports.

The flow, one way: `cli` (arguments, config, catalog, state) -> `run.plan` (units of work,
before any request) -> `run.executor` (workers read units through `readers/`, which use
`pendo/` or `datasync/`) -> `transform/` -> `singer.output` (RECORD and STATE lines).
`streams.py` holds every fact particular to a stream.
"""

from .cli import main

__all__ = ["main"]
