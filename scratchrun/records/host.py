"""This machine: the host name a record or a lock is written with (scratchrun/processes.py says whether a pid is gone).

A pid means something only on the machine that wrote it, so every record that keeps one keeps the host name
too; a reader on another host cannot look the pid up and falls back on the record's heartbeat.
"""

from __future__ import annotations

import socket


def host_name() -> str:
    """This machine's name, as `hostname` prints it."""
    return socket.gethostname()
