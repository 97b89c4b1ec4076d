"""The suite's own rules (tests/README.md), read from its source: outside tests/unit no
test imports the tap, no test imports another test module, only fakes, clocks and
barriers read the time, and every end-to-end fake stands at a pinned clock."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
END_TO_END = ("integration", "reliability", "ecosystem")
# The modules that may read the real clock or sleep, and why: none of them asserts on it.
CLOCK_READERS = {
    "fake_pendo/server.py": "the fake's latency and slow answers (time.sleep, replaceable)",
    "fake_pendo/dataset.py": "the default clock of a fake that is not pinned (demo, bench)",
    "fake_pendo/process.py": "the fake in another process, for make demo and make bench",
    "fake_pendo/datasync/big.py": "how long writing the big export took, for make bench",
    "support/tap.py": "libfaketime's offset from the real clock to a pinned one",
    "ecosystem/conftest.py": "a retry when PostgreSQL's free port was taken meanwhile",
}
CLOCK_CALLS = {
    ("time", "sleep"),
    ("time", "time"),
    ("time", "monotonic"),
    ("time", "perf_counter"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("date", "today"),
}


def modules(*folders: str) -> dict:
    """path relative to tests/ -> parsed module, for every module under `folders` (all of
    tests/ when none is given)."""
    roots = [TESTS / folder for folder in folders] or [TESTS]
    found = {}
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if "__pycache__" not in path.parts:
                found[path.relative_to(TESTS).as_posix()] = ast.parse(path.read_text())
    return found


def outside_unit() -> dict:
    return {name: tree for name, tree in modules().items() if not name.startswith("unit/")}


def imported(name: str, tree: ast.Module) -> list:
    """The modules `tree` imports, relative imports resolved."""
    package = ["tests", *name.split("/")[:-1]]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found.append(module)
            found += [f"{module}.{alias.name}" for alias in node.names]
    return found


def test_no_test_outside_tests_unit_imports_the_tap():
    wrong = {
        name: [m for m in imported(name, tree) if m == "tap_pendo" or m.startswith("tap_pendo.")]
        for name, tree in outside_unit().items()
    }
    assert not {name: found for name, found in wrong.items() if found}


def test_no_test_imports_another_test_module():
    wrong = {
        name: [m for m in imported(name, tree) if m.split(".")[-1].startswith("test_")]
        for name, tree in modules().items()
    }
    assert not {name: found for name, found in wrong.items() if found}


def test_only_fakes_clocks_and_barriers_read_the_time():
    readers = {}
    for name, tree in outside_unit().items():
        for node in ast.walk(tree):
            called = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            if called and (node.value.id, node.attr) in CLOCK_CALLS:
                readers.setdefault(name, set()).add(f"{node.value.id}.{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
                names = {(node.module, alias.name) for alias in node.names}
                readers.setdefault(name, set()).update(
                    f"from {module} import {what}" for module, what in names & CLOCK_CALLS
                )
    readers = {name: found for name, found in readers.items() if found}
    assert set(readers) <= set(CLOCK_READERS), {
        name: found for name, found in readers.items() if name not in CLOCK_READERS
    }


def test_every_end_to_end_fake_stands_at_a_pinned_clock():
    """End-to-end tests make their fakes with tests/support/fakes.py's `pinned_fake`, whose
    clock is an argument: never with FakePendo or Dataset, whose clock defaults to now."""
    wrong = {}
    for name, tree in modules(*END_TO_END).items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                called = getattr(node.func, "id", getattr(node.func, "attr", None))
                if called in ("FakePendo", "Dataset"):
                    wrong.setdefault(name, []).append(node.lineno)
    assert not wrong
