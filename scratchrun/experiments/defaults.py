"""The chapter-6 studies' own defaults, in one place for the library (presets.py), the Python API and the commands.

Plain values only, so that `scratchrun --help` can show them without importing a study.
"""

ALL_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")  # compare-optimizers --optimizers
BOOK_INITS = ("std:1", "std:0.01", "xavier", "he")  # init-study --inits
BOOK_ACTIVATIONS = ("sigmoid", "tanh", "relu")  # init-study --activations
DEFAULT_WEIGHT_DECAY = 0.1  # overfit-study --weight-decay: the book's λ
DEFAULT_DROPOUT = 0.2  # overfit-study --dropout: the book's p
DEFAULT_SCALES = 16  # bn-study --scales: the book's 16 weight scales from 1 to 1e-4
