"""What Linux says of a running tap: whether it is blocked writing its stdout, and its
peak memory so far. Read from /proc, so that no sleep decides that a tap has stalled."""

from __future__ import annotations

import platform
from pathlib import Path

# The numbers of write(fd, ...) and futex (a thread waiting on a lock or a condition).
SYSCALLS = {"x86_64": (1, 202), "aarch64": (64, 98)}
SYSCALL_WRITE, SYSCALL_FUTEX = SYSCALLS.get(platform.machine(), SYSCALLS["x86_64"])


def threads(pid: int) -> list:
    """(state, syscall number or None, first argument) of each thread of `pid`; the
    syscall is the one the thread is blocked in (None when it is running)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
            syscall = (task / "syscall").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended meanwhile
        state = stat.rsplit(")", 1)[1].split()[0]
        number = int(syscall[0]) if syscall[0].lstrip("-").isdigit() else None
        argument = int(syscall[1], 16) if number is not None and len(syscall) > 1 else None
        found.append((state, number, argument))
    return found


def blocked_writing_stdout(pid: int) -> bool:
    """Is one thread of `pid` asleep in write(1, ...) and every other one asleep on a lock
    or a condition? Then the process is held by its stdout alone: no thread runs, none
    waits for the network, and none will until its stdout is read."""
    seen = threads(pid)
    writing = [t for t in seen if t[0] == "S" and t[1] == SYSCALL_WRITE and t[2] == 1]
    waiting = [t for t in seen if t[0] == "S" and t[1] == SYSCALL_FUTEX]
    return len(writing) == 1 and len(writing) + len(waiting) == len(seen)


def peak_rss_kb(pid: int) -> int | None:
    """The peak resident memory of `pid` so far (VmHWM, KiB); None once it has ended (a
    zombie has no memory left to show)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None
