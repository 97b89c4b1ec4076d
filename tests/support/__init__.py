"""What the end-to-end suites share: one helper per idea, each in the module named for it.

- `moments`  instants as literals: RFC3339 <-> epoch ms, local midnights, the pinned
             clocks of the suites (a US DST week, a Lord Howe half-hour change, a
             month end, a year end)
- `tap`      the installed `tap-pendo` as a subprocess, on a pinned clock (libfaketime):
             `run_tap`, `sync`, `discover`, `select`, `TapRun`, `TapProcess`
- `singer`   stdout as Singer messages, and what stderr says: METRIC and CRITICAL lines
- `records`  records by key, several runs merged, compared with the fake's truth
- `bookmarks` what an entity bookmark (its keyset position, or its value) lets the next
             run skip
- `fakes`    a fake Pendo pinned at a moment, and the config that points at it
- `hooks`    code the fake runs on each request: counting what is in flight, an overlap
             barrier, a fault from a stream's Nth request on
- `failures` a clean failure (exit 1, one CRITICAL line that ends stderr, no traceback)
- `secret`   the suites' integration key, and the check that it leaks nowhere
- `resume`   what a run resumed from a STATE may emit again
- `scripted` a tiny scripted Pendo for answers the fake never gives (and one that never
             answers)
- `kernel`   what Linux says of a running tap: blocked writing its stdout, its peak memory
- `targets`  the programs downstream (.venvs/): the tap piped into a target, Meltano's
             environment, values as a target gives them back
- `datasync` the Data Sync streams' helpers

Nothing here imports `tap_pendo`: expectations stand on the API contract, the data
contract and the fake's truth, never on the tap's own helpers. Tests import from here
and from `tests.fake_pendo`, never from another test module.
"""
