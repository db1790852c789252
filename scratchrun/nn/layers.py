"""The layers of an MLP, each with `forward(x, train)` and, right beneath it, `backward(dout)`.

A layer caches exactly what its backward pass needs and never modifies an array it was handed.
Layers with parameters expose them as `params` (name -> array) and their gradients as `grads`,
refreshed by every backward pass; an optimizer updates `params` in place.
"""

from __future__ import annotations

import numpy as np

Arrays = dict[str, np.ndarray]


class Layer:
    """A step of the network; parameter-free by default."""

    def __init__(self) -> None:
        self.params: Arrays = {}
        self.grads: Arrays = {}

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Affine(Layer):
    """y = x·W + b.

    With `input_grad=False` (the first layer, whose input is the data) backward skips dx and returns None.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, input_grad: bool = True) -> None:
        self.params = {"W": W, "b": b}
        self.grads = {"W": np.zeros_like(W), "b": np.zeros_like(b)}
        self.input_grad = input_grad
        self.x: np.ndarray | None = None

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        if train:  # an evaluation chunk is not kept alive after its pass
            self.x = x  # (B, n_in)
        y = np.matmul(x, self.params["W"])  # (B, n_out)
        y += self.params["b"]  # in place: one array per call, not two
        return y

    def backward(self, dout: np.ndarray) -> np.ndarray:
        np.matmul(self.x.T, dout, out=self.grads["W"])
        np.sum(dout, axis=0, out=self.grads["b"])
        return dout @ self.params["W"].T if self.input_grad else None


class ReLU(Layer):
    """y = max(0, x); the gradient passes where x > 0."""

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        if train:  # evaluation needs no mask: one pass over the activations fewer
            self.positive = x > 0
        return np.maximum(x, 0)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self.positive


class Sigmoid(Layer):
    """y = 1 / (1 + e^−x); dy/dx = y(1 − y)."""

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        # tanh form: the same function, without overflow in exp for large |x|
        self.y = 0.5 * (np.tanh(0.5 * x) + 1)
        return self.y

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self.y * (1 - self.y)


class Tanh(Layer):
    """y = tanh(x); dy/dx = 1 − y²."""

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        self.y = np.tanh(x)
        return self.y

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * (1 - self.y * self.y)


class BatchNorm(Layer):
    """y = γ·(x − μ)/√(σ² + ε) + β over the minibatch; running averages for evaluation (Ioffe & Szegedy 2015,
    arXiv:1502.03167).

    Training uses the batch's mean and biased variance and updates `running ← m·running + (1−m)·batch`;
    evaluation uses the running averages, which start at mean 0 and variance 1.
    """

    def __init__(self, size: int, dtype=np.float32, momentum: float = 0.9, eps: float = 1e-5) -> None:
        self.params = {"gamma": np.ones(size, dtype), "beta": np.zeros(size, dtype)}
        self.grads = {"gamma": np.zeros(size, dtype), "beta": np.zeros(size, dtype)}
        self.running_mean = np.zeros(size, dtype)
        self.running_var = np.ones(size, dtype)
        self.momentum = momentum
        self.eps = eps

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        if not train:
            x_hat = (x - self.running_mean) / np.sqrt(self.running_var + self.eps)
            return self.params["gamma"] * x_hat + self.params["beta"]
        batch = x.shape[0]
        mean = x.sum(axis=0) / batch  # (D,)
        centered = x - mean  # (B, D)
        var = np.einsum("ij,ij->j", centered, centered) / batch  # biased, (D,)
        self.inv_std = 1 / np.sqrt(var + self.eps)  # (D,)
        self.x_hat = centered * self.inv_std  # (B, D)
        self.running_mean *= self.momentum
        self.running_mean += (1 - self.momentum) * mean
        self.running_var *= self.momentum
        self.running_var += (1 - self.momentum) * var
        y = self.x_hat * self.params["gamma"]
        y += self.params["beta"]
        return y

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dgamma = np.sum(dout * self.x_hat, axis=0, out=self.grads["gamma"])  # (D,)
        dbeta = np.sum(dout, axis=0, out=self.grads["beta"])  # (D,)
        # dx = (γ·inv_std/B)·(B·dout − Σdout − x̂·Σ(dout·x̂)): the exact gradient through μ and σ²,
        # with the two sums taken from dβ and dγ instead of being recomputed
        batch = dout.shape[0]
        dx = dout * batch
        dx -= dbeta
        dx -= self.x_hat * dgamma
        dx *= self.params["gamma"] * (self.inv_std / batch)
        return dx


class Dropout(Layer):
    """Inverted dropout: drop each unit with probability p and scale the kept ones by 1/(1 − p) (Srivastava et al.
    2014).

    At evaluation it is the identity, so the expected output is the same in both modes.
    """

    def __init__(self, p: float, rng: np.random.Generator) -> None:
        super().__init__()
        self.p = p
        self.rng = rng

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        if not train:
            return x
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.p
        self.mask = keep * np.asarray(1 / (1 - self.p), dtype=x.dtype)  # (B, D): 0 or 1/(1 − p)
        return x * self.mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self.mask


# The YAML name of each activation.
ACTIVATIONS: dict[str, type[Layer]] = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}
