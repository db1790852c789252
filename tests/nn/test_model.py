"""The MLP: whole-network float64 gradient checks, weight decay, seeding, the linear output layer, state round trip."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import assert_gradients_match, numeric_gradient

from scratchrun.config.loader import ModelConfig
from scratchrun.nn.layers import Affine, BatchNorm, Dropout
from scratchrun.nn.model import MLP
from scratchrun.nn.optimizers import SGD

N_IN, N_OUT, BATCH = 4, 3, 8


def reseed_dropout(model: MLP, seed: int = 99) -> None:
    """Give each Dropout layer a freshly seeded rng, so every forward pass draws the same masks."""
    for i, layer in enumerate(model.layers):
        if isinstance(layer, Dropout):
            layer.rng = np.random.default_rng([seed, i])


def make_model(config: ModelConfig, seed: int = 0, dtype=np.float64) -> MLP:
    dropout_rng = np.random.default_rng(1000 + seed) if config.dropout > 0 else None
    return MLP(N_IN, N_OUT, config, np.random.default_rng(seed), dropout_rng, dtype=dtype)


def make_batch(seed: int = 0, batch: int = BATCH) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(500 + seed)
    return rng.standard_normal((batch, N_IN)), rng.integers(0, N_OUT, batch)


def randomise(model: MLP, seed: int = 0) -> None:
    """Biases, γ and β away from 0, 1 and 0: the check then sees every path, and no ReLU input sits exactly on its
    kink (with zero biases, a row whose inputs are all dead or dropped reaches the next ReLU as exactly 0)."""
    rng = np.random.default_rng(seed)
    for key, value in model.params.items():
        if key.startswith("b") and not key.startswith("beta"):
            value[...] = rng.normal(0, 0.5, value.shape)
        elif key.startswith("gamma"):
            value[...] = rng.uniform(0.5, 1.5, value.shape)
        elif key.startswith("beta"):
            value[...] = rng.normal(0, 0.5, value.shape)


CONFIGS = {
    "relu-bn-decay": ModelConfig(hidden=(6, 5), batch_norm=True, weight_decay=0.1),
    "sigmoid-bn-decay": ModelConfig(
        hidden=(6, 5), activation="sigmoid", init="xavier", batch_norm=True, weight_decay=0.1
    ),
    "tanh-bn-decay": ModelConfig(hidden=(6, 5), activation="tanh", init="xavier", batch_norm=True, weight_decay=0.1),
    "sigmoid-std-init": ModelConfig(hidden=(6, 5), activation="sigmoid", init="std", init_std=0.5, weight_decay=0.1),
    "tanh-no-bn": ModelConfig(hidden=(6, 5), activation="tanh", weight_decay=0.1),
    "relu-dropout-decay": ModelConfig(hidden=(6, 5), dropout=0.3, weight_decay=0.1),
    "relu-bn-dropout-decay": ModelConfig(hidden=(6, 5), batch_norm=True, dropout=0.3, weight_decay=0.1),
    "relu-plain": ModelConfig(hidden=(6, 5)),
}


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_gradient_matches_central_differences(name, seed):
    config = CONFIGS[name]
    model = make_model(config, seed)
    randomise(model, seed)
    x, y = make_batch(seed)

    reseed_dropout(model)
    step_loss = model.train_step(x, y)
    analytic = {key: grad.copy() for key, grad in model.grads.items()}

    def loss() -> float:
        reseed_dropout(model)
        return model.loss(x, y, train=True)  # also moves BatchNorm's running statistics: train outputs ignore them

    assert step_loss == pytest.approx(loss(), rel=1e-12), "train_step's loss differs from loss(train=True)"
    assert set(analytic) == set(model.params)
    if config.batch_norm:  # the batch mean cancels any bias that feeds BatchNorm
        for key in ("b1", "b2"):
            np.testing.assert_allclose(analytic[key], 0, atol=1e-12, err_msg=f"{key} feeds BatchNorm")
    for key, param in model.params.items():
        # atol: with BatchNorm, b1 and b2 have gradient exactly 0 (the batch mean removes them)
        numeric = numeric_gradient(loss, param)
        assert_gradients_match(analytic[key], numeric, f"MLP {name} seed {seed}: dL/d{key}", atol=1e-8)


def test_parameter_names_follow_the_book():
    model = make_model(ModelConfig(hidden=(6, 5), batch_norm=True))
    assert list(model.params) == ["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"]
    assert [model.params[k].shape for k in ("W1", "W2", "W3")] == [(N_IN, 6), (6, 5), (5, N_OUT)]
    for key, value in model.params.items():
        assert value.dtype == np.float64, f"{key} is {value.dtype}"
        assert model.grads[key].shape == value.shape
    np.testing.assert_array_equal(model.params["b1"], 0)
    np.testing.assert_array_equal(model.params["gamma1"], 1)
    np.testing.assert_array_equal(model.params["beta2"], 0)


def test_float32_by_default():
    model = MLP(N_IN, N_OUT, ModelConfig(hidden=(6, 5), batch_norm=True), np.random.default_rng(0))
    x, y = make_batch()
    model.train_step(x.astype(np.float32), y)
    for key in model.params:
        assert model.params[key].dtype == np.float32, f"param {key} is {model.params[key].dtype}"
        assert model.grads[key].dtype == np.float32, f"grad {key} is {model.grads[key].dtype}"
    assert model.forward(x.astype(np.float32)).dtype == np.float32


# ----------------------------------------------------------------------------- weight decay
@pytest.mark.parametrize("batch_norm", [False, True])
def test_weight_decay_touches_only_the_weight_matrices(batch_norm):
    lam = 0.1
    decayed = make_model(ModelConfig(hidden=(6, 5), batch_norm=batch_norm, weight_decay=lam), seed=3)
    plain = make_model(ModelConfig(hidden=(6, 5), batch_norm=batch_norm), seed=3)
    x, y = make_batch(3)
    loss_decayed = decayed.train_step(x, y)
    loss_plain = plain.train_step(x, y)

    assert loss_decayed == pytest.approx(loss_plain + decayed.penalty(), rel=1e-12)
    for key in decayed.params:
        if key.startswith("W"):
            np.testing.assert_allclose(
                decayed.grads[key], plain.grads[key] + lam * decayed.params[key], rtol=1e-12, atol=1e-15,
                err_msg=f"{key}'s gradient must gain λ·W",
            )
        else:
            np.testing.assert_array_equal(decayed.grads[key], plain.grads[key], err_msg=f"{key} must not be decayed")


def test_penalty_is_half_lambda_times_the_squared_weights():
    lam = 0.37
    model = make_model(ModelConfig(hidden=(6, 5), batch_norm=True, weight_decay=lam), seed=4)
    randomise(model, 4)  # non-zero biases, γ and β: none of them may count
    expected = lam / 2 * sum(float(np.sum(model.params[k] ** 2)) for k in ("W1", "W2", "W3"))
    assert model.penalty() == pytest.approx(expected, rel=1e-12)
    x, y = make_batch(4)
    no_decay = make_model(ModelConfig(hidden=(6, 5), batch_norm=True), seed=4)
    no_decay.load_state(model.state())
    assert model.loss(x, y, train=False) == pytest.approx(no_decay.loss(x, y, train=False) + expected, rel=1e-12)
    assert make_model(ModelConfig(hidden=(6, 5))).penalty() == 0.0


# ----------------------------------------------------------------------------- structure and seeding
@pytest.mark.parametrize("dropout", [0.0, 0.2, 0.5])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_dropout_does_not_change_the_initial_weights(batch_norm, dropout):
    reference = MLP(N_IN, N_OUT, ModelConfig(hidden=(6, 5), batch_norm=batch_norm), np.random.default_rng(42))
    model = MLP(
        N_IN, N_OUT, ModelConfig(hidden=(6, 5), batch_norm=batch_norm, dropout=dropout),
        np.random.default_rng(42), np.random.default_rng(7),
    )
    assert list(model.params) == list(reference.params)
    for key in reference.params:
        np.testing.assert_array_equal(model.params[key], reference.params[key], err_msg=f"{key} depends on dropout")


def test_dropout_needs_an_rng():
    with pytest.raises(ValueError, match="dropout_rng"):
        MLP(N_IN, N_OUT, ModelConfig(hidden=(6,), dropout=0.5), np.random.default_rng(0))


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(hidden=(6, 5)),
        ModelConfig(hidden=(6,), batch_norm=True, dropout=0.5),
        ModelConfig(hidden=(6, 5, 4), activation="tanh", batch_norm=True, dropout=0.2),
    ],
)
def test_output_layer_is_linear_and_layers_come_in_book_order(config):
    model = make_model(config)
    assert isinstance(model.layers[-1], Affine), f"the last layer is {type(model.layers[-1]).__name__}, not Affine"
    per_hidden = [Affine] + [BatchNorm] * config.batch_norm + [type(model.layers[1 + config.batch_norm])]
    per_hidden += [Dropout] * (config.dropout > 0)
    expected = per_hidden * len(config.hidden) + [Affine]
    assert [type(layer) for layer in model.layers] == expected
    assert sum(isinstance(layer, Dropout) for layer in model.layers) == (len(config.hidden) if config.dropout else 0)


def test_same_seed_same_network_different_seed_different_network():
    config = ModelConfig(hidden=(6, 5))
    a, b, c = make_model(config, 0), make_model(config, 0), make_model(config, 1)
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])
    assert not np.array_equal(a.params["W1"], c.params["W1"])


def test_eval_mode_is_deterministic_and_uses_running_statistics():
    model = make_model(ModelConfig(hidden=(6, 5), batch_norm=True, dropout=0.5), seed=5)
    x, y = make_batch(5)
    np.testing.assert_array_equal(model.forward(x), model.forward(x))
    before = model.forward(x)
    model.train_step(x, y)  # moves the running statistics, not the parameters
    assert not np.allclose(model.forward(x), before), "eval output ignores the running statistics"
    one = model.forward(x[:1])  # eval needs no batch: a single example gives the same row
    np.testing.assert_allclose(one, model.forward(x)[:1], rtol=1e-12)


# ----------------------------------------------------------------------------- state round trip
@pytest.mark.parametrize("batch_norm", [False, True])
def test_state_round_trip(tmp_path, batch_norm):
    config = ModelConfig(hidden=(6, 5), batch_norm=batch_norm, dropout=0.2, weight_decay=0.01)
    model = make_model(config, seed=6)
    x, y = make_batch(6)
    optimizer = SGD(lr=0.1)
    for _ in range(3):
        model.train_step(x, y)
        optimizer.update(model.params, model.grads)

    state = model.state()
    expected_keys = set(model.params)
    if batch_norm:
        expected_keys |= {"running_mean1", "running_var1", "running_mean2", "running_var2"}
    assert set(state) == expected_keys
    np.savez(tmp_path / "model.npz", **state)

    other = make_model(config, seed=7)  # different initial weights
    live = {key: value for key, value in other.params.items()}
    with np.load(tmp_path / "model.npz") as saved:
        other.load_state(dict(saved))
    for key in state:
        np.testing.assert_array_equal(other.state()[key], state[key], err_msg=f"{key} not restored")
    for key, value in other.params.items():
        assert value is live[key], f"load_state replaced {key} instead of copying into it (optimizers hold it)"
        assert other.grads[key].shape == value.shape
    np.testing.assert_array_equal(other.forward(x, train=False), model.forward(x, train=False))
    if batch_norm:
        assert not np.allclose(state["running_var1"], 1), "training should have moved the running variance"


# ----------------------------------------------------------------------------- the packed parameter buffer
def test_every_parameter_and_gradient_is_a_view_into_one_buffer():
    model = MLP(12, 3, ModelConfig(hidden=(6, 5), batch_norm=True), np.random.default_rng(0))
    flat_params, flat_grads = model._flat_params, model._flat_grads
    assert flat_params.size == sum(p.size for p in model.params.values())
    for key in model.params:
        assert np.shares_memory(model.params[key], flat_params), key
        assert np.shares_memory(model.grads[key], flat_grads), key
    assert model.n_weights == 12 * 6 + 6 * 5 + 5 * 3  # the weight matrices lead the buffer
    assert all(np.shares_memory(model.params[k], flat_params[: model.n_weights]) for k in ("W1", "W2", "W3"))


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
def test_updating_the_packed_buffer_equals_updating_each_array(name):
    from scratchrun.nn.optimizers import OPTIMIZERS

    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((8, 12)).astype(np.float32), rng.integers(0, 3, 8)
    config = ModelConfig(hidden=(6, 5), batch_norm=True, weight_decay=0.01)
    packed, per_array = (MLP(12, 3, config, np.random.default_rng(1)) for _ in range(2))
    opt_packed, opt_per_array = OPTIMIZERS[name](), OPTIMIZERS[name]()
    for _ in range(3):
        packed.train_step(x, y)
        packed.update(opt_packed)
        per_array.train_step(x, y)
        opt_per_array.update(per_array.params, per_array.grads)
    for key in packed.params:
        np.testing.assert_array_equal(packed.params[key], per_array.params[key], err_msg=key)


def test_the_first_layer_skips_its_input_gradient():
    model = MLP(12, 3, ModelConfig(hidden=(6,)), np.random.default_rng(0))
    first, last = model.layers[0], model.layers[-1]
    assert (first.input_grad, last.input_grad) == (False, True)
    x = np.random.default_rng(1).standard_normal((4, 12)).astype(np.float32)
    first.forward(x, train=True)
    assert first.backward(np.ones((4, 6), np.float32)) is None
