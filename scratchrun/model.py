"""The MLP: Affine → [BatchNorm] → activation → [Dropout] per hidden layer, then a linear output layer."""

from __future__ import annotations

import numpy as np

from .config import ModelConfig
from .initializers import init_weights
from .layers import ACTIVATIONS, Affine, BatchNorm, Dropout, Layer
from .losses import softmax_cross_entropy


class MLP:
    """A fully connected classifier whose `params` and `grads` are dicts named as in the book (W1, b1, gamma1, ...).

    The loss it minimises is cross-entropy + (λ/2)·Σ‖W‖² over every weight matrix; biases and BatchNorm
    parameters are never decayed.
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        config: ModelConfig,
        init_rng: np.random.Generator,
        dropout_rng: np.random.Generator | None = None,
        dtype=np.float32,
    ) -> None:
        self.config = config
        self.weight_decay = config.weight_decay
        self.layers: list[Layer] = []
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.batch_norms: dict[int, BatchNorm] = {}
        sizes = [n_in, *config.hidden, n_out]
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            W = init_weights(config.init, fan_in, fan_out, init_rng, config.init_std, dtype)
            self._add(Affine(W, np.zeros(fan_out, dtype)), {"W": f"W{i}", "b": f"b{i}"})
            if i == len(sizes) - 1:
                break  # the output layer is linear: softmax lives in the loss
            if config.batch_norm:
                self.batch_norms[i] = BatchNorm(fan_out, dtype)
                self._add(self.batch_norms[i], {"gamma": f"gamma{i}", "beta": f"beta{i}"})
            self.layers.append(ACTIVATIONS[config.activation]())
            if config.dropout > 0:
                if dropout_rng is None:
                    raise ValueError("dropout > 0 needs a dropout_rng")
                self.layers.append(Dropout(config.dropout, dropout_rng))
        self.decayed = [key for key in self.params if key.startswith("W")]

    def _add(self, layer: Layer, names: dict[str, str]) -> None:
        self.layers.append(layer)
        for local, name in names.items():
            self.params[name] = layer.params[local]
            self.grads[name] = layer.grads[local]

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        """Logits for a batch (B, n_in) -> (B, n_out); `train` switches on dropout and batch statistics."""
        for layer in self.layers:
            x = layer.forward(x, train)
        return x

    def penalty(self) -> float:
        """(λ/2)·Σ‖W‖², the weight-decay term of the loss."""
        if self.weight_decay == 0:
            return 0.0
        return 0.5 * self.weight_decay * sum(float(np.vdot(self.params[k], self.params[k])) for k in self.decayed)

    def loss(self, x: np.ndarray, y: np.ndarray, train: bool = True) -> float:
        """The training objective on a batch, without gradients (used by gradient checks)."""
        loss, _ = softmax_cross_entropy(self.forward(x, train), y)
        return loss + self.penalty()

    def train_step(self, x: np.ndarray, y: np.ndarray) -> float:
        """Forward and backward on one minibatch: returns the loss and leaves its gradient in `grads`."""
        loss, dout = softmax_cross_entropy(self.forward(x, train=True), y)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        if self.weight_decay:
            for key in self.decayed:
                self.grads[key] += self.weight_decay * self.params[key]  # d/dW of (λ/2)‖W‖²
        return loss + self.penalty()

    def state(self) -> dict[str, np.ndarray]:
        """Every array needed to rebuild the trained network: parameters and BatchNorm running statistics."""
        state = dict(self.params)
        for i, bn in self.batch_norms.items():
            state[f"running_mean{i}"] = bn.running_mean
            state[f"running_var{i}"] = bn.running_var
        return state

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Copy saved arrays (from `state()` or a run's model.npz) into this network's parameters."""
        for key, value in self.params.items():
            value[...] = state[key]
        for i, bn in self.batch_norms.items():
            bn.running_mean[...] = state[f"running_mean{i}"]
            bn.running_var[...] = state[f"running_var{i}"]
