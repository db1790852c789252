"""`scratchrun.optimizers` as it was before the package had subpackages; the optimizers live in
scratchrun.nn.optimizers."""

from scratchrun.nn.optimizers import (  # noqa: F401 - re-exported for code written against the old layout
    OPTIMIZERS,
    SGD,
    AdaGrad,
    Adam,
    Momentum,
    Nesterov,
    Optimizer,
    RMSProp,
    hyperparameter_defaults,
)
