"""The MLP: Affine → [BatchNorm] → activation → [Dropout] per hidden layer, then a linear output layer."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from scratchrun.nn.initializers import init_weights
from scratchrun.nn.layers import ACTIVATIONS, Affine, BatchNorm, Dropout, Layer
from scratchrun.nn.losses import softmax_cross_entropy
from scratchrun.nn.optimizers import Optimizer


class Architecture(Protocol):
    """What the MLP is built from (config.schema.ModelConfig has these keys; the config package sits above nn)."""

    hidden: tuple[int, ...]
    activation: str
    init: str
    init_std: float
    batch_norm: bool
    dropout: float
    weight_decay: float


class MLP:
    """A fully connected classifier whose `params` and `grads` are dicts named as in the book (W1, b1, gamma1, ...).

    The loss it minimises is cross-entropy + (λ/2)·Σ‖W‖² over every weight matrix; biases and BatchNorm
    parameters are never decayed.
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        config: Architecture,
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
        self._owners: dict[str, tuple[Layer, str]] = {}  # book name -> (layer, the layer's own name for it)
        sizes = [n_in, *config.hidden, n_out]
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            W = init_weights(config.init, fan_in, fan_out, init_rng, config.init_std, dtype)
            # the first layer's input is the data: computing its gradient would only waste a matrix product
            affine = Affine(W, np.zeros(fan_out, dtype), input_grad=i > 1)
            self._add(affine, {"W": f"W{i}", "b": f"b{i}"})
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
        self._pack(dtype)

    def _add(self, layer: Layer, names: dict[str, str]) -> None:
        self.layers.append(layer)
        for local, name in names.items():
            self.params[name] = layer.params[local]
            self.grads[name] = layer.grads[local]
            self._owners[name] = (layer, local)

    def _pack(self, dtype) -> None:
        """Move every parameter into one contiguous buffer, and every gradient into another, weights first.

        `params` and the layers keep seeing the same arrays (now views), while `update` hands an optimizer the two
        buffers, so that it updates everything in a few vector operations instead of a few per array, and weight
        decay is one operation over the leading weight block.
        """
        order = sorted(self.params, key=lambda key: not key.startswith("W"))  # stable: W1, W2, ..., then the rest
        flat_params = np.empty(sum(self.params[key].size for key in order), dtype)
        flat_grads = np.zeros_like(flat_params)
        offset = 0
        for key in order:
            shape, size = self.params[key].shape, self.params[key].size
            param = flat_params[offset : offset + size].reshape(shape)  # a view into the buffer
            param[...] = self.params[key]
            grad = flat_grads[offset : offset + size].reshape(shape)
            layer, local = self._owners[key]
            layer.params[local] = self.params[key] = param
            layer.grads[local] = self.grads[key] = grad
            offset += size
        self.n_weights = sum(self.params[key].size for key in order if key.startswith("W"))
        self._flat_params, self._flat_grads = flat_params, flat_grads

    @property
    def n_parameters(self) -> int:
        return self._flat_params.size

    def update(self, optimizer: Optimizer) -> None:
        """One step of `optimizer` on every parameter at once: the whole buffer is one array to it."""
        optimizer.update({"all": self._flat_params}, {"all": self._flat_grads})

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        """Logits for a batch (B, n_in) -> (B, n_out); `train` switches on dropout and batch statistics."""
        for layer in self.layers:
            x = layer.forward(x, train)
        return x

    def penalty(self) -> float:
        """(λ/2)·Σ‖W‖², the weight-decay term of the loss."""
        if self.weight_decay == 0:
            return 0.0
        weights = self._flat_params[: self.n_weights]
        return 0.5 * self.weight_decay * float(np.dot(weights, weights))

    def loss(self, x: np.ndarray, y: np.ndarray, train: bool = True) -> float:
        """The training objective on a batch, without gradients (used by gradient checks)."""
        loss, _ = softmax_cross_entropy(self.forward(x, train), y)
        return loss + self.penalty()

    def train_step(self, x: np.ndarray, y: np.ndarray) -> float:
        """Forward and backward on one minibatch: returns the loss and leaves its gradient in `grads`."""
        loss, dout = softmax_cross_entropy(self.forward(x, train=True), y)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        if self.weight_decay:  # d/dW of (λ/2)‖W‖², over the leading weight block of the buffers
            self._flat_grads[: self.n_weights] += self.weight_decay * self._flat_params[: self.n_weights]
        return loss + self.penalty()

    def snapshot(self) -> list[np.ndarray]:
        """Copies of every array a forward pass in evaluation mode reads (the parameter buffer, the BatchNorm running
        statistics): cheap, one buffer; `restore` puts them back."""
        return [array.copy() for array in self._evaluated_arrays()]

    def restore(self, snapshot: list[np.ndarray]) -> None:
        for array, saved in zip(self._evaluated_arrays(), snapshot, strict=True):
            array[...] = saved

    def _evaluated_arrays(self) -> list[np.ndarray]:
        running = [a for bn in self.batch_norms.values() for a in (bn.running_mean, bn.running_var)]
        return [self._flat_params, *running]

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
