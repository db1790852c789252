"""scratchrun: NumPy MLPs on MNIST, trained and recorded the way chapter 6 of *Deep Learning from Scratch* teaches."""

__version__ = "0.1.0"
