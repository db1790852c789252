"""Where a run came from: the command that started it, and the git commit and state of the folder it was started in.

Computed once, in the process that starts the runs (a study's workers and a Dask cluster get it with each run),
from that process's working folder: the user's own repository, not scratchrun's source, which an installed
package does not have.
"""

from __future__ import annotations

import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

GIT_TIMEOUT_S = 5.0  # per git call; a slower git (a huge repository, a hung network mount) records null instead


@dataclass(frozen=True)
class Provenance:
    command: str | None  # e.g. "scratchrun train mnist optimizer.lr=0.01"; None: the caller gave none
    git_commit: str | None  # HEAD of the repository the run was started in; None: not in one, or no git
    git_dirty: bool | None  # tracked files differed from that commit; None when there is no commit

    @classmethod
    def here(cls, command: str | None, folder: Path | None = None) -> Provenance:
        """`command`, and the commit and state of `folder` (default: the working folder); never an error."""
        try:
            folder = Path.cwd() if folder is None else folder
        except OSError:  # the working folder was deleted
            return cls(command, None, None)
        commit = _git(folder, "rev-parse", "--verify", "HEAD") or None
        # untracked files do not count: the runs folder itself is one, and would make every run after the first dirty
        changes = _git(folder, "status", "--porcelain", "--untracked-files=no") if commit else None
        return cls(command, commit, None if changes is None else changes != "")

    def fields(self) -> dict:
        """The summary.json keys: command, git_commit, git_dirty."""
        return asdict(self)


UNKNOWN = Provenance(None, None, None)


def _git(folder: Path, *args: str) -> str | None:
    """git's output in `folder`, stripped; None when git is missing, fails (not a repository, no commit yet) or
    hangs."""
    try:
        done = subprocess.run(["git", "--no-optional-locks", "-C", str(folder), *args], capture_output=True, text=True,
                              errors="replace", timeout=GIT_TIMEOUT_S, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()
