"""Whether a process is gone: the one answer for the records (a stale run, a study's lock) and the data cache (the
partial download of a fetch that was killed). A top-level module, as both layers ask it."""

from __future__ import annotations

import os


def process_gone(pid: object) -> bool:
    """True when no process `pid` runs on this machine any more (a zombie, dead but not yet reaped, is gone).

    Anything uncertain (not a pid, someone else's process, no permission to ask) is not gone: a reader must
    never call a live run dead.
    """
    if type(pid) is not int or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: it exists, and belongs to another user
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:  # no /proc (macOS), or it ended just now: the signal said it existed
        return False
    return stat[stat.rfind(b")") + 2:][:1] == b"Z"  # the state follows the command name in parentheses
