"""The data folder a user names (--data-dir, SCRATCHRUN_DATA_DIR), checked before anything else is done.

Kept apart from the registry so that the command line can check it without importing NumPy.
"""

from __future__ import annotations

from pathlib import Path

from scratchrun.errors import ConfigError


def check_data_dir(data_dir: Path | None) -> None:
    """An explicit data folder that does not exist is a typo, not a reason to go looking elsewhere."""
    if data_dir is not None and not Path(data_dir).is_dir():
        raise ConfigError(
            f"Data folder {data_dir} (from --data-dir or SCRATCHRUN_DATA_DIR) is not a folder: give the folder "
            "that holds mnist/ (and fashion-mnist/), or leave it unset to use the cache or a download."
        )
