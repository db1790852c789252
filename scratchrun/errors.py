"""The one exception family the CLI turns into a sentence and an exit code."""


class ScratchrunError(Exception):
    """A user-facing error: its message is one complete sentence, shown without a traceback."""

    exit_code = 1


class ConfigError(ScratchrunError):
    """A bad config file, override or command-line value (exit code 2)."""

    exit_code = 2


class DataError(ScratchrunError):
    """A dataset file that is missing, unreadable, corrupt or cannot be fetched (exit code 1)."""

    exit_code = 1


class RunDirError(ScratchrunError):
    """The runs folder cannot be created or written (exit code 1)."""

    exit_code = 1


class Interrupted(ScratchrunError):
    """Ctrl-C or SIGTERM stopped a study or search after its records were written (exit code 130; 143 for SIGTERM,
    which the CLI knows). `folder` holds what finished, ready to resume."""

    exit_code = 130

    def __init__(self, message: str, folder=None) -> None:
        super().__init__(message)
        self.folder = folder


class RunFailed(ScratchrunError):
    """A bug stopped a run: its record says `failed` and holds the traceback (exit code 1)."""

    def __init__(self, message: str, run_dir, summary: dict) -> None:
        super().__init__(message)
        self.run_dir, self.summary = run_dir, summary


class RecordError(RunFailed):
    """A run's record could not be written (a full disk, an I/O error, a quota): the run ends `failed` as far as its
    folder can still say so, and what was measured before stays readable (exit code 1). `run_dir` is "" when no
    folder was kept (its config.yaml could not be written)."""


class TooManyFailures(ScratchrunError):
    """`--max-failures` reached: the search stops, keeping everything recorded so far (exit code 1)."""
