"""A clean failure: what every error a user can cause looks like."""

from __future__ import annotations

import re

from .singer import critical_lines, parse_messages


def assert_clean_failure(run, problem: str, fix: str | None) -> str:
    """Exit 1, no traceback, one CRITICAL line naming the problem and the fix, which ends
    stderr; stdout holds Singer messages only. Returns the CRITICAL line."""
    where = f"stderr:\n{run.stderr[-3000:]}"
    assert run.returncode == 1, f"exit code {run.returncode}, expected 1; {where}"
    assert "Traceback" not in run.stderr, f"a traceback on stderr; {where}"
    errors = critical_lines(run.stderr)
    assert len(errors) == 1, f"{len(errors)} CRITICAL lines, expected 1; {where}"
    line = errors[0]
    # Nothing but the error after it (a summary of rows and requests may precede it).
    after = run.stderr.split(line, 1)[1].strip()
    assert after == "", f"stderr goes on after the error: {after[:500]!r}"
    assert re.search(problem, line, re.I), (
        f"the error does not name the problem /{problem}/: {line}"
    )
    if fix is not None:
        assert re.search(fix, line, re.I), f"the error does not name the fix /{fix}/: {line}"
    parse_messages(run.stdout)
    return line
