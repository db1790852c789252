"""Parameter update rules of chapter 6.1, each updating a dict of arrays in place with `update(params, grads)`.

Every rule is written exactly as in docs/methods.md: all state (`v`, `h`, `m`) starts at zero, has the
parameter's shape and dtype, and is kept per parameter name; ε sits outside the square root.
Intermediate results go into a scratch array kept per parameter (`np.multiply(..., out=tmp)`), so an
update allocates nothing: for large layers, fresh temporaries cost more than the arithmetic. The base class keeps
that bookkeeping; each rule names its state (`state = ("v",)`) and writes `_step` for one parameter.
"""

from __future__ import annotations

import numpy as np

Arrays = dict[str, np.ndarray]


class Optimizer:
    """Base class: `update` creates the declared state lazily, then applies `_step` to each parameter in place."""

    state: tuple[str, ...] = ()  # names of the per-parameter state dicts (`v`, `h`, `m`), all starting at zero

    def __init__(self, lr: float) -> None:
        self.lr = lr
        self._tmp: Arrays | None = None
        for name in self.state:
            setattr(self, name, None)

    def update(self, params: Arrays, grads: Arrays) -> None:
        if self._tmp is None:
            self._tmp = {key: np.empty_like(w) for key, w in params.items()}
            for name in self.state:
                setattr(self, name, {key: np.zeros_like(w) for key, w in params.items()})
        self._begin_update()
        states = [getattr(self, name) for name in self.state]
        for key, w in params.items():
            self._step(w, grads[key], self._tmp[key], *[state[key] for state in states])

    def _begin_update(self) -> None:
        """Once per update, before the parameters: per-update values such as Adam's step count."""

    def _step(self, w: np.ndarray, g: np.ndarray, tmp: np.ndarray, *state: np.ndarray) -> None:
        """Update one parameter `w` in place from its gradient `g`, through the scratch array `tmp`."""
        raise NotImplementedError


class SGD(Optimizer):
    """W ← W − lr·g  (Robbins & Monro 1951)."""

    def __init__(self, lr: float = 0.01) -> None:
        super().__init__(lr)

    def _step(self, w: np.ndarray, g: np.ndarray, tmp: np.ndarray) -> None:
        w -= np.multiply(g, self.lr, out=tmp)


class Momentum(Optimizer):
    """v ← μ·v − lr·g; W ← W + v  (Polyak 1964)."""

    state = ("v",)

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(lr)
        self.momentum = momentum

    def _step(self, w: np.ndarray, g: np.ndarray, tmp: np.ndarray, v: np.ndarray) -> None:
        v *= self.momentum
        v -= np.multiply(g, self.lr, out=tmp)
        w += v


class Nesterov(Momentum):
    """v ← μ·v − lr·g; W ← W + μ·v − lr·g  (look-ahead form; Sutskever et al. 2013, arXiv:1212.0901)."""

    def _step(self, w: np.ndarray, g: np.ndarray, tmp: np.ndarray, v: np.ndarray) -> None:
        step = np.multiply(g, self.lr, out=tmp)
        v *= self.momentum
        v -= step
        w -= step  # W + μ·v − lr·g, in two in-place steps
        w += np.multiply(v, self.momentum, out=step)


class AdaGrad(Optimizer):
    """h ← h + g²; W ← W − lr·g / (√h + ε)  (Duchi et al. 2011)."""

    state = ("h",)

    def __init__(self, lr: float = 0.01, eps: float = 1e-7) -> None:
        super().__init__(lr)
        self.eps = eps

    def _step(self, w: np.ndarray, g: np.ndarray, tmp: np.ndarray, h: np.ndarray) -> None:
        h += np.multiply(g, g, out=tmp)
        _scaled_step(w, g, h, self.lr, self.eps, tmp)


class RMSProp(Optimizer):
    """h ← ρ·h + (1−ρ)·g²; W ← W − lr·g / (√h + ε)  (Tieleman & Hinton 2012, lecture 6.5)."""

    state = ("h",)

    def __init__(self, lr: float = 0.01, decay_rate: float = 0.99, eps: float = 1e-7) -> None:
        super().__init__(lr)
        self.decay_rate = decay_rate
        self.eps = eps

    def _step(self, w: np.ndarray, g: np.ndarray, tmp: np.ndarray, h: np.ndarray) -> None:
        h *= self.decay_rate
        np.multiply(g, 1 - self.decay_rate, out=tmp)
        h += np.multiply(tmp, g, out=tmp)  # (1 − ρ)·g²
        _scaled_step(w, g, h, self.lr, self.eps, tmp)


class Adam(Optimizer):
    """m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; W ← W − lr·m̂ / (√v̂ + ε)  (Kingma & Ba 2015, arXiv:1412.6980).

    m̂ = m/(1−β1^t) and v̂ = v/(1−β2^t) correct the zero start; t counts this optimizer's updates from 1.
    """

    state = ("m", "v")

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.t = 0

    def _begin_update(self) -> None:
        self.t += 1
        self._m_scale = 1.0 / (1.0 - self.beta1**self.t)
        self._v_scale = 1.0 / (1.0 - self.beta2**self.t)

    def _step(self, w: np.ndarray, g: np.ndarray, tmp: np.ndarray, m: np.ndarray, v: np.ndarray) -> None:
        m *= self.beta1
        m += np.multiply(g, 1 - self.beta1, out=tmp)
        v *= self.beta2
        np.multiply(g, 1 - self.beta2, out=tmp)
        v += np.multiply(tmp, g, out=tmp)  # (1 − β2)·g²
        np.multiply(v, self._v_scale, out=tmp)  # v̂
        np.sqrt(tmp, out=tmp)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)  # m / (√v̂ + ε)
        tmp *= self.lr * self._m_scale  # lr·m̂ / (√v̂ + ε)
        w -= tmp


def _scaled_step(w: np.ndarray, g: np.ndarray, h: np.ndarray, lr: float, eps: float, tmp: np.ndarray) -> None:
    """W ← W − lr·g / (√h + ε), through the scratch array `tmp` (AdaGrad and RMSProp share it)."""
    np.sqrt(h, out=tmp)
    tmp += eps
    np.divide(g, tmp, out=tmp)
    tmp *= lr
    w -= tmp


# The YAML name of each optimizer; the same registry feeds config validation, CLI choices and errors.
OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSProp,
    "adam": Adam,
}


def hyperparameter_defaults(name: str) -> dict[str, float]:
    """The keyword arguments an optimizer takes and their defaults, read from its constructor."""
    import inspect

    signature = inspect.signature(OPTIMIZERS[name].__init__)
    return {p.name: p.default for p in signature.parameters.values() if p.name != "self"}
