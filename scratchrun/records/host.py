"""This machine and its processes: the host name a record or a lock is written with, and whether a pid is gone.

A pid means something only on the machine that wrote it, so every record that keeps one keeps the host name
too; a reader on another host cannot look the pid up and falls back on the record's heartbeat.
"""

from __future__ import annotations

import os
import socket


def host_name() -> str:
    """This machine's name, as `hostname` prints it."""
    return socket.gethostname()


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
