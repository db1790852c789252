"""Whether a pid is gone on this machine (records/host.py): dead, zombie, alive, or not a pid at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from scratchrun.processes import process_gone
from scratchrun.records.host import host_name


def test_a_live_process_is_not_gone_and_a_reaped_one_is():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert not process_gone(child.pid) and not process_gone(os.getpid())
    finally:
        child.kill()
        child.wait()
    assert process_gone(child.pid)


def test_a_killed_child_not_yet_reaped_is_gone():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    os.kill(child.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not process_gone(child.pid) and time.monotonic() < deadline:  # a zombie until we wait for it
        time.sleep(0.05)
    try:
        assert process_gone(child.pid)
        assert child.returncode is None  # not reaped yet: /proc still lists it, as a zombie
    finally:
        child.wait()


def test_what_is_not_a_pid_is_never_called_gone():
    for value in (None, "123", 0, -1, True, 1.5):
        assert not process_gone(value), value


def test_the_host_name_is_the_machines():
    import socket

    assert host_name() == socket.gethostname() and host_name()
