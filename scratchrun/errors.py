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
