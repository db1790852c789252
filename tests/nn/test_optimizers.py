"""Optimizers: three hand-computed steps of each rule in docs/chapter6.md, defaults, in-place updates, the toy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchrun.nn.optimizers import (
    OPTIMIZERS,
    SGD,
    AdaGrad,
    Adam,
    Momentum,
    Nesterov,
    RMSProp,
    hyperparameter_defaults,
)

# The defaults column of the table in docs/chapter6.md, section 6.1.
BOOK_DEFAULTS = {
    "sgd": {"lr": 0.01},
    "momentum": {"lr": 0.01, "momentum": 0.9},
    "nesterov": {"lr": 0.01, "momentum": 0.9},
    "adagrad": {"lr": 0.01, "eps": 1e-7},
    "rmsprop": {"lr": 0.01, "decay_rate": 0.99, "eps": 1e-7},
    "adam": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
}

# Non-default settings for the hand-computed steps: every value differs from its default.
SETTINGS = {
    "sgd": {"lr": 0.3},
    "momentum": {"lr": 0.05, "momentum": 0.7},
    "nesterov": {"lr": 0.05, "momentum": 0.8},
    "adagrad": {"lr": 0.2, "eps": 1e-3},
    "rmsprop": {"lr": 0.02, "decay_rate": 0.9, "eps": 1e-4},
    "adam": {"lr": 0.01, "beta1": 0.8, "beta2": 0.95, "eps": 1e-4},
}


# ----------------------------------------------------------------------------- the formulas, one scalar at a time
def reference_steps(name: str, hp: dict[str, float], w0: float, gs: list[float]) -> list[float]:
    """W after each update, for one scalar parameter, written out from the table in chapter6.md."""
    w, v, h, m, out = w0, 0.0, 0.0, 0.0, []
    for t, g in enumerate(gs, start=1):
        if name == "sgd":
            w = w - hp["lr"] * g
        elif name == "momentum":
            v = hp["momentum"] * v - hp["lr"] * g
            w = w + v
        elif name == "nesterov":
            v = hp["momentum"] * v - hp["lr"] * g
            w = w + hp["momentum"] * v - hp["lr"] * g
        elif name == "adagrad":
            h = h + g * g
            w = w - hp["lr"] * g / (math.sqrt(h) + hp["eps"])
        elif name == "rmsprop":
            h = hp["decay_rate"] * h + (1 - hp["decay_rate"]) * g * g
            w = w - hp["lr"] * g / (math.sqrt(h) + hp["eps"])
        elif name == "adam":
            m = hp["beta1"] * m + (1 - hp["beta1"]) * g
            v = hp["beta2"] * v + (1 - hp["beta2"]) * g * g
            m_hat = m / (1 - hp["beta1"] ** t)
            v_hat = v / (1 - hp["beta2"] ** t)
            w = w - hp["lr"] * m_hat / (math.sqrt(v_hat) + hp["eps"])
        else:
            raise AssertionError(f"no reference for {name}")
        out.append(w)
    return out


def start_and_gradients(seed: int = 0, steps: int = 3, dtype=np.float64):
    """Two parameters of different shapes, and a different gradient for each of `steps` updates."""
    rng = np.random.default_rng(seed)
    params = {"W": rng.standard_normal((2, 3)).astype(dtype), "b": rng.standard_normal(3).astype(dtype)}
    grads = [
        {key: rng.standard_normal(value.shape).astype(dtype) for key, value in params.items()} for _ in range(steps)
    ]
    return params, grads


@pytest.mark.parametrize("name", list(SETTINGS))
def test_three_steps_match_the_formulas(name):
    hp = SETTINGS[name]
    params, grads = start_and_gradients()
    start = {key: value.copy() for key, value in params.items()}
    optimizer = OPTIMIZERS[name](**hp)
    for step, g in enumerate(grads, start=1):
        optimizer.update(params, g)
        for key, value in params.items():
            expected = np.array(
                [reference_steps(name, hp, float(w0), [float(gs[key].flat[i]) for gs in grads[:step]])[-1]
                 for i, w0 in enumerate(start[key].flat)]
            ).reshape(value.shape)
            np.testing.assert_allclose(
                value, expected, rtol=1e-13, atol=1e-15, err_msg=f"{name} {hp}: {key} after update {step}"
            )


@pytest.mark.parametrize("name", list(SETTINGS))
def test_gradients_are_not_modified(name):
    params, grads = start_and_gradients()
    before = [{key: g.copy() for key, g in step.items()} for step in grads]
    optimizer = OPTIMIZERS[name](**SETTINGS[name])
    for g, g_before in zip(grads, before):
        optimizer.update(params, g)
        for key in g:
            np.testing.assert_array_equal(g[key], g_before[key], err_msg=f"{name} modified the gradient of {key}")


# ----------------------------------------------------------------------------- registry and defaults
def test_registry_has_exactly_the_six_optimizers():
    assert set(OPTIMIZERS) == {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"}
    assert OPTIMIZERS == {
        "sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "adagrad": AdaGrad, "rmsprop": RMSProp, "adam": Adam
    }


@pytest.mark.parametrize("name", list(BOOK_DEFAULTS))
def test_defaults_match_the_table(name):
    assert hyperparameter_defaults(name) == BOOK_DEFAULTS[name]
    optimizer = OPTIMIZERS[name]()
    actual = {key: getattr(optimizer, key) for key in BOOK_DEFAULTS[name]}
    assert actual == BOOK_DEFAULTS[name], f"{name}() sets {actual}, the table says {BOOK_DEFAULTS[name]}"


@pytest.mark.parametrize("name", list(SETTINGS))
def test_constructor_stores_each_hyperparameter(name):
    optimizer = OPTIMIZERS[name](**SETTINGS[name])
    assert {key: getattr(optimizer, key) for key in SETTINGS[name]} == SETTINGS[name]


# ----------------------------------------------------------------------------- in place, dtype, own state
@pytest.mark.parametrize("name", list(SETTINGS))
def test_updates_in_place(name):
    params, grads = start_and_gradients()
    objects = dict(params)
    start = {key: value.copy() for key, value in params.items()}
    optimizer = OPTIMIZERS[name](**SETTINGS[name])
    for g in grads:
        optimizer.update(params, g)
    for key in params:
        assert params[key] is objects[key], f"{name} replaced params[{key!r}] instead of updating it in place"
        assert not np.array_equal(params[key], start[key]), f"{name} did not change {key}"


@pytest.mark.parametrize("name", list(SETTINGS))
def test_float32_params_stay_float32(name):
    params, grads = start_and_gradients(dtype=np.float32)
    optimizer = OPTIMIZERS[name](**SETTINGS[name])
    for g in grads:
        optimizer.update(params, g)
    for key, value in params.items():
        assert value.dtype == np.float32, f"{name} turned {key} into {value.dtype}"
    for state in ("v", "h", "m"):
        for key, value in (getattr(optimizer, state, None) or {}).items():
            assert value.dtype == np.float32, f"{name}'s state {state}[{key!r}] is {value.dtype}"
    # and the float32 result is the float64 one, rounded
    params64, grads64 = start_and_gradients()
    optimizer64 = OPTIMIZERS[name](**SETTINGS[name])
    for g in grads64:
        optimizer64.update(params64, g)
    for key in params:
        np.testing.assert_allclose(params[key], params64[key], rtol=1e-4, atol=1e-5)


def test_each_adam_keeps_its_own_step_count():
    hp = SETTINGS["adam"]
    params_a, grads = start_and_gradients(seed=1)
    params_b = {key: value.copy() for key, value in params_a.items()}
    start = {key: value.copy() for key, value in params_a.items()}
    a, b = Adam(**hp), Adam(**hp)
    for g in grads:
        a.update(params_a, g)
    b.update(params_b, grads[0])  # b's first update must use t = 1, whatever a has done
    assert (a.t, b.t) == (3, 1)
    for key in params_b:
        expected = [reference_steps("adam", hp, float(w0), [float(grads[0][key].flat[i])])[-1]
                    for i, w0 in enumerate(start[key].flat)]
        np.testing.assert_allclose(params_b[key].ravel(), expected, rtol=1e-13, err_msg=f"second Adam, {key}")


def test_first_adam_step_moves_each_weight_by_about_lr():
    """Bias correction makes the first step lr·g/(|g| + ε): about lr in the direction of −g."""
    params, grads = start_and_gradients(seed=2, steps=1)
    start = {key: value.copy() for key, value in params.items()}
    Adam(lr=0.01).update(params, grads[0])
    for key in params:
        np.testing.assert_allclose(params[key] - start[key], -0.01 * np.sign(grads[0][key]), rtol=1e-6)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_each_instance_has_its_own_state(name):
    hp = SETTINGS[name]
    params_a, grads = start_and_gradients(seed=3)
    params_b = {key: value.copy() for key, value in params_a.items()}
    a, b = OPTIMIZERS[name](**hp), OPTIMIZERS[name](**hp)
    for g in grads:
        a.update(params_a, g)
        b.update(params_b, g)
    for key in params_a:
        np.testing.assert_array_equal(params_a[key], params_b[key])


# ----------------------------------------------------------------------------- the book's toy function
def toy_gradient(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """∇ of f(x, y) = x²/20 + y²."""
    return {"x": p["x"] / 10, "y": 2 * p["y"]}


def toy_distance(p: dict[str, np.ndarray]) -> float:
    return float(np.hypot(p["x"][0], p["y"][0]))


# The book's learning rates, plus Nesterov and RMSProp (not in the book) at rates of our own choosing.
TOY_RATES = {"sgd": 0.95, "momentum": 0.1, "adagrad": 1.5, "adam": 0.3, "nesterov": 0.1, "rmsprop": 0.1}


@pytest.mark.parametrize("name", list(TOY_RATES))
def test_toy_function_gets_closer_to_the_minimum(name):
    p = {"x": np.array([-7.0]), "y": np.array([2.0])}
    optimizer = OPTIMIZERS[name](lr=TOY_RATES[name])
    path = [(p["x"][0], p["y"][0])]
    for _ in range(30):
        optimizer.update(p, toy_gradient(p))
        path.append((p["x"][0], p["y"][0]))
    start, end = math.hypot(-7.0, 2.0), toy_distance(p)
    assert np.all(np.isfinite(path))
    assert end < start, f"{name} lr {TOY_RATES[name]}: ended at {path[-1]}, distance {end:.3f} >= start {start:.3f}"


def test_toy_function_sgd_path_is_the_closed_form():
    """SGD lr 0.95: x ← 0.905·x and y ← −0.9·y (the zig-zag in y), so the 30th point is known exactly."""
    p = {"x": np.array([-7.0]), "y": np.array([2.0])}
    optimizer = SGD(lr=0.95)
    for _ in range(30):
        optimizer.update(p, toy_gradient(p))
    assert p["x"][0] == pytest.approx(-7.0 * (1 - 0.95 / 10) ** 30, rel=1e-12)
    assert p["y"][0] == pytest.approx(2.0 * (1 - 0.95 * 2) ** 30, rel=1e-12)
