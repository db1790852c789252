"""scratchrun: NumPy MLPs on MNIST, trained and recorded the way chapter 6 of *Deep Learning from Scratch* teaches.

The Python API (see scratchrun.api and scratchrun.records.frames) is imported on first use, so that
`import scratchrun` and `scratchrun --help` stay fast:

    import scratchrun
    run = scratchrun.train("mnist", overrides=["train.epochs=2"])
    study = scratchrun.compare_optimizers(overrides=["train.iterations=500"], optimizers=["sgd", "adam"])
    runs = scratchrun.load_runs(study.folder)        # a pandas DataFrame: pip install 'scratchrun[pandas]'
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

_API = {
    **dict.fromkeys(("train", "study", "sweep", "compare_optimizers", "init_study", "bn_study", "overfit_study",
                     "search", "report", "export_tensorboard", "export_optuna", "search_importance", "new_config",
                     "Run", "Study"), "scratchrun.api"),
    "Search": "scratchrun.experiments.search",  # what `search` returns
    **dict.fromkeys(("load_runs", "load_history", "load_search"), "scratchrun.records.frames"),
}
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'scratchrun' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
