"""Training speed of scratchrun against PyTorch (CPU) and a float64 "textbook" NumPy net, plus start-up and memory.

Run by hand, never in CI (roughly 25 minutes with the defaults on a 2-core machine):

    SCRATCHRUN_DATA_DIR=../shared/data python benchmarks/train_speed.py
    python benchmarks/train_speed.py --quick --cases book-b100-adam --threads 1    # smoke test

Options: --repeats N (default 6), --rounds N (default 3), --quick (2 repeats), --threads 1,2, --cases NAME,NAME,
--out FILE (default benchmarks/results/train_speed.json), --data-dir DIR (real MNIST, for start-up and memory),
--no-extras.

What it measures, for every case (network, batch size, optimizer) and BLAS thread count:
  training samples per second on MNIST-shaped random data (54,000 x 784 uint8 pixels, labels 0..9, fixed
  seed), median and min-max of --repeats repeats after one warm-up repeat, for
    scratchrun  its own trainer through `run_experiment`, the code path `scratchrun train` uses (float32);
    PyTorch     the same network in torch.nn on the CPU, same optimizer and hyper-parameters (float32),
                with the optimizer's default implementation (on the CPU that is the per-parameter for-loop);
    PyTorch foreach   the same with `foreach=True`: one multi-tensor kernel per operation over all parameters
                (Adam and SGD cases);
    PyTorch fused     the same with `fused=True`: one fused kernel does the whole update (Adam cases only);
    textbook    the book's `common/` code style written out below: layers creating new arrays, float64.
  A PyTorch variant this torch build refuses (its constructor or first step raises) is recorded as
  unavailable, with the reason, and the other columns are measured all the same.
  Ratios: scratchrun / PyTorch default, scratchrun / the fastest PyTorch variant of that case (PyTorch at its
  best), scratchrun / textbook. The targets stay defined against PyTorch's default.
  A repeat is one full epoch (54,000 samples), except where the table says "N steps": there, each repeat
  is N consecutive minibatch steps (reshuffling at epoch ends), because a full epoch would take too long.
Every measurement runs in a fresh worker process (this file with --worker), so PyTorch's OpenMP threads,
allocator and imports never share a process with a NumPy measurement.
Then, unless --no-extras: the cost of one evaluation pass over the 54,000 images; the time from starting
`scratchrun train configs/mnist.yaml` to its first training step with the data cached; and the peak RSS of
that command for one full-MNIST epoch (both need real MNIST: --data-dir or SCRATCHRUN_DATA_DIR).
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "benchmarks" / "results" / "train_speed.json"
N_TRAIN, N_FEATURES, N_CLASSES, N_TEST = 54_000, 784, 10, 1_000
SEED = 0
HYPER = {"sgd": {"lr": 0.01}, "adam": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}}
TORCH_INSTALL = "pip install torch==2.13.0"  # a CPU build of exactly this version is on the project's machines
IMPLS = ("scratchrun", "pytorch", "pytorch_foreach", "pytorch_fused", "textbook")
# The PyTorch implementations: the optimizer's keyword arguments of each ("pytorch" is torch's own default).
TORCH_VARIANTS = {"pytorch": {}, "pytorch_foreach": {"foreach": True}, "pytorch_fused": {"fused": True}}
TORCH_LABEL = {"pytorch": "default", "pytorch_foreach": "foreach", "pytorch_fused": "fused"}
BOOK = (100, 100, 100, 100)


@dataclass(frozen=True)
class Case:
    name: str
    hidden: tuple[int, ...]
    batch_size: int
    optimizer: str  # sgd | adam, with the hyper-parameters in HYPER
    batch_norm: bool = False
    dropout: float = 0.0
    textbook_steps: int | None = None  # None: a repeat is a full epoch; else this many steps (textbook only)
    torch_target: float | None = None  # required scratchrun / PyTorch ratio at 1 BLAS thread
    textbook_target: float | None = None  # required scratchrun / textbook ratio at 1 BLAS thread

    def impls(self) -> tuple[str, ...]:
        """The implementations measured for this case: fused PyTorch only for Adam."""
        return tuple(impl for impl in IMPLS if impl != "pytorch_fused" or self.optimizer == "adam")

    def describe(self) -> str:
        extras = [x for x, on in (("BatchNorm", self.batch_norm), (f"dropout {self.dropout}", self.dropout)) if on]
        net = "-".join(map(str, (N_FEATURES, *self.hidden, N_CLASSES)))
        return f"{net} ReLU, {self.optimizer}, batch {self.batch_size}" + "".join(f", {x}" for x in extras)


CASES = (
    Case("book-b100-sgd", BOOK, 100, "sgd", torch_target=1.5),
    Case("book-b100-adam", BOOK, 100, "adam", torch_target=1.6, textbook_target=2.5),
    Case("book-b128-sgd", BOOK, 128, "sgd"),
    Case("book-b128-adam", BOOK, 128, "adam"),
    Case("book-b100-adam-bn-dropout", BOOK, 100, "adam", batch_norm=True, dropout=0.5, torch_target=1.8),
    Case("wide-1024-b100-adam", (1024, 1024), 100, "adam", textbook_steps=100, torch_target=1.0),
)
CASE_BY_NAME = {case.name: case for case in CASES}


def random_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST-shaped random training data (and a small test split), the same in every worker.

    Pixels are uint8, as MNIST stores them: scratchrun keeps them so and scales each batch, the way
    `scratchrun train` does; PyTorch and the textbook code get them scaled to floats once, outside the clock.
    """
    rng = np.random.default_rng(SEED)
    x = rng.integers(0, 256, (N_TRAIN, N_FEATURES), dtype=np.uint8)
    y = rng.integers(0, N_CLASSES, N_TRAIN).astype(np.intp)
    x_test = rng.integers(0, 256, (N_TEST, N_FEATURES), dtype=np.uint8)
    y_test = rng.integers(0, N_CLASSES, N_TEST).astype(np.intp)
    return x, y, x_test, y_test


def numpy_blas() -> list[dict]:
    """NumPy's BLAS as threadpoolctl sees it right now (call inside the thread limits that apply)."""
    from threadpoolctl import threadpool_info

    keys = ("internal_api", "version", "architecture", "corename", "threading_layer", "num_threads")
    return [{k: p[k] for k in keys if k in p} for p in threadpool_info() if p.get("user_api") == "blas"]


def summarize(rates: list[float], unit: str) -> dict:
    return {"median": statistics.median(rates), "min": min(rates), "max": max(rates), "rates": rates, "unit": unit}


def timed_repeats(step, indices, steps_per_repeat: int, repeats: int) -> list[float]:
    """Samples/s of each repeat of `steps_per_repeat` steps, the warm-up repeat dropped.

    The clock covers everything a training loop does: the reshuffle at an epoch start, the batch gather,
    forward, backward, update, and reading the loss back as a Python float.
    """
    rates = []
    for _ in range(repeats + 1):
        samples, start = 0, time.perf_counter()
        for _ in range(steps_per_repeat):
            index = next(indices)
            step(index)
            samples += len(index)
        rates.append(samples / (time.perf_counter() - start))
    return rates[1:]


def index_batches(n: int, batch_size: int, permutation):
    """Minibatch index arrays forever: a fresh permutation per epoch, the last batch of an epoch may be smaller."""
    while True:
        order = permutation(n)
        for start in range(0, n, batch_size):
            yield order[start : start + batch_size]


# ----------------------------------------------------------------------------- 1. scratchrun
def run_scratchrun(case: Case, threads: int, repeats: int) -> dict:
    """`run_experiment`, as `scratchrun train` calls it, for repeats + 1 epochs; a callback clocks each epoch.

    Epoch k's time runs from the end of the evaluation before it (the callback's `on_eval`, the last thing an
    evaluation does) to the end of its last step (the callback's `on_step`, called after the run's own
    callbacks). So it holds the reshuffle, every gather, step, update and the run's logging, and no evaluation:
    the same thing the run's summary calls samples_per_s, but per epoch. (metrics.csv's `seconds` is rounded to
    1 ms and would need each evaluation's duration subtracted; this is exact.)
    """
    from scratchrun.config.loader import config_from_dict
    from scratchrun.data.splits import Data, Split
    from scratchrun.training.run import run_experiment
    from scratchrun.training.trainer import Callback

    class EpochClock(Callback):
        def on_train_start(self, total_iterations: int, per_epoch: int) -> None:
            self.per_epoch, self.seconds, self.blas = per_epoch, [], numpy_blas()  # inside the run's BLAS limits

        def on_eval(self, row: dict) -> None:
            self.epoch_start = time.perf_counter()

        def on_step(self, iteration: int, epoch: int, loss: float) -> None:
            if iteration % self.per_epoch == 0:
                self.seconds.append(time.perf_counter() - self.epoch_start)

    x, y, x_test, y_test = random_data()
    data = Data(train=Split(x, y), val=None, test=Split(x_test, y_test), n_features=N_FEATURES,
                n_classes=N_CLASSES, dataset="random")
    config = config_from_dict({
        "name": f"bench-{case.name}", "seed": SEED,
        "model": {"hidden": list(case.hidden), "activation": "relu", "init": "he",
                  "batch_norm": case.batch_norm, "dropout": case.dropout},
        "optimizer": {"name": case.optimizer, **HYPER[case.optimizer]},
        "train": {"epochs": repeats + 1, "batch_size": case.batch_size, "eval_every": None},
    })
    clock = EpochClock()
    with tempfile.TemporaryDirectory() as runs:
        outcome = run_experiment(config, None, runs_dir=Path(runs), callbacks=[clock], data=data, blas_threads=threads)
    if outcome.status != "completed":
        raise RuntimeError(f"the scratchrun run ended {outcome.status}: {outcome.summary.get('message')}")
    rates = [N_TRAIN / seconds for seconds in clock.seconds[1:]]  # epoch 1 is the warm-up
    return {**summarize(rates, "epoch"), "blas": clock.blas, "summary_samples_per_s": outcome.summary["samples_per_s"]}


# ----------------------------------------------------------------------------- 2. PyTorch
def run_pytorch(case: Case, threads: int, repeats: int, variant: str = "pytorch") -> dict:
    """The same network and optimizer in torch.nn on the CPU, float32, full epochs.

    `variant` names the optimizer implementation (TORCH_VARIANTS): torch's default, `foreach=True` or
    `fused=True`. If this torch build refuses a non-default one, the result is {"unavailable": reason}.
    """
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(SEED)
    layers, n_in = [], N_FEATURES
    for width in case.hidden:
        layers.append(nn.Linear(n_in, width))
        if case.batch_norm:
            layers.append(nn.BatchNorm1d(width, eps=1e-5, momentum=0.1))
        layers.append(nn.ReLU())
        if case.dropout:
            layers.append(nn.Dropout(case.dropout))
        n_in = width
    layers.append(nn.Linear(n_in, N_CLASSES))
    for layer in layers:
        if isinstance(layer, nn.Linear):  # He init, as scratchrun (only for parity: it does not change the speed)
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
    model = nn.Sequential(*layers).train()
    h, flags = HYPER[case.optimizer], TORCH_VARIANTS[variant]
    loss_fn = nn.CrossEntropyLoss()
    x, y, _, _ = random_data()
    xs, ys = torch.from_numpy(x.astype(np.float32) / 255), torch.from_numpy(y.astype(np.int64))
    generator = torch.Generator().manual_seed(SEED)

    def step(index) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(xs.index_select(0, index)), ys.index_select(0, index))
        loss.backward()
        optimizer.step()
        loss.item()  # scratchrun hands every loss back as a Python float; so does this loop

    try:  # a build may refuse foreach or fused in the constructor or only at the first step: try both here
        if case.optimizer == "sgd":
            optimizer = torch.optim.SGD(model.parameters(), lr=h["lr"], **flags)
        else:
            optimizer = torch.optim.Adam(model.parameters(), lr=h["lr"], betas=(h["beta1"], h["beta2"]),
                                         eps=h["eps"], **flags)
        step(torch.arange(case.batch_size))  # before the warm-up repeat, outside the clock, for every variant
    except (RuntimeError, ValueError, TypeError, NotImplementedError) as e:
        if not flags:
            raise  # torch's default implementation failing is an error, not a missing feature
        reason = (str(e).strip().splitlines() or [""])[0]
        return {"unavailable": f"{type(e).__name__}: {reason}"[:300], "variant": variant, "torch": torch.__version__}
    indices = index_batches(N_TRAIN, case.batch_size, lambda n: torch.randperm(n, generator=generator))
    per_epoch = -(-N_TRAIN // case.batch_size)
    rates = timed_repeats(step, indices, per_epoch, repeats)
    info = torch.__config__.parallel_info()
    keep = ("get_num_threads", "Math Kernel Library", "MKL-DNN", "parallel backend")
    return {**summarize(rates, "epoch"), "variant": variant,
            "optimizer_flags": {k: optimizer.defaults.get(k) for k in ("foreach", "fused")},
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "parallel_info": [line.strip() for line in info.splitlines() if any(k in line for k in keep)],
            "mkl": (re.findall(r"Math Kernel Library Version ([\d.]*\d)", info) or ["?"])[0],
            "onednn": (re.findall(r"MKL-DNN (v\S+)", info) or ["?"])[0],
            "mkldnn": torch.backends.mkldnn.is_available()}


# ----------------------------------------------------------------------------- 3. the float64 textbook net
# The book's common/layers.py, multi_layer_net_extend.py and optimizer.py, compacted: every layer creates new
# arrays each step, parameters live in a dict, dropout is the book's non-inverted kind, everything is float64.
class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x, train_flg):
        self.x = x
        return np.dot(x, self.W) + self.b

    def backward(self, dout):
        self.dW, self.db = np.dot(self.x.T, dout), np.sum(dout, axis=0)
        return np.dot(dout, self.W.T)


class Relu:
    def forward(self, x, train_flg):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        return dout


class BatchNormalization:
    def __init__(self, gamma, beta, momentum=0.9):
        self.gamma, self.beta, self.momentum = gamma, beta, momentum
        self.running_mean = self.running_var = None

    def forward(self, x, train_flg):
        if self.running_mean is None:
            self.running_mean, self.running_var = np.zeros(x.shape[1]), np.zeros(x.shape[1])
        if train_flg:
            mu = x.mean(axis=0)
            xc = x - mu
            var = np.mean(xc**2, axis=0)
            std = np.sqrt(var + 10e-7)
            xn = xc / std
            self.batch_size, self.xc, self.xn, self.std = x.shape[0], xc, xn, std
            self.running_mean = self.momentum * self.running_mean + (1 - self.momentum) * mu
            self.running_var = self.momentum * self.running_var + (1 - self.momentum) * var
        else:
            xn = (x - self.running_mean) / np.sqrt(self.running_var + 10e-7)
        return self.gamma * xn + self.beta

    def backward(self, dout):
        self.dbeta, self.dgamma = dout.sum(axis=0), np.sum(self.xn * dout, axis=0)
        dxn = self.gamma * dout
        dxc = dxn / self.std
        dstd = -np.sum((dxn * self.xc) / (self.std * self.std), axis=0)
        dvar = 0.5 * dstd / self.std
        dxc += (2.0 / self.batch_size) * self.xc * dvar
        dmu = np.sum(dxc, axis=0)
        return dxc - dmu / self.batch_size


class Dropout:
    def __init__(self, ratio, rng):
        self.ratio, self.rng = ratio, rng

    def forward(self, x, train_flg):
        if train_flg:
            self.mask = self.rng.random(x.shape) > self.ratio
            return x * self.mask
        return x * (1.0 - self.ratio)

    def backward(self, dout):
        return dout * self.mask


class SoftmaxWithLoss:
    def forward(self, x, t):
        x = x - np.max(x, axis=1, keepdims=True)
        self.t, self.y = t, np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)
        return -np.sum(np.log(self.y[np.arange(len(t)), t] + 1e-7)) / len(t)

    def backward(self, dout=1):
        dx = self.y.copy()
        dx[np.arange(len(self.t)), self.t] -= 1
        return dx / len(self.t)


class MultiLayerNet:
    """Affine -> [BatchNorm] -> ReLU -> [Dropout] per hidden layer, then Affine and softmax with loss; He init."""

    def __init__(self, sizes, batch_norm, dropout, rng):
        self.params, self.layers = {}, []
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes), start=1):
            self.params[f"W{i}"] = np.sqrt(2.0 / n_in) * rng.standard_normal((n_in, n_out))
            self.params[f"b{i}"] = np.zeros(n_out)
            self.layers.append((i, Affine(self.params[f"W{i}"], self.params[f"b{i}"])))
            if i == len(sizes) - 1:
                break
            if batch_norm:
                self.params[f"gamma{i}"], self.params[f"beta{i}"] = np.ones(n_out), np.zeros(n_out)
                self.layers.append((i, BatchNormalization(self.params[f"gamma{i}"], self.params[f"beta{i}"])))
            self.layers.append((i, Relu()))
            if dropout:
                self.layers.append((i, Dropout(dropout, rng)))
        self.last_layer = SoftmaxWithLoss()

    def gradient(self, x, t):
        """Forward in training mode, then backward; returns the loss and the gradients by parameter name."""
        for _, layer in self.layers:
            x = layer.forward(x, True)
        loss = self.last_layer.forward(x, t)
        dout = self.last_layer.backward(1)
        for _, layer in reversed(self.layers):
            dout = layer.backward(dout)
        grads = {}
        for i, layer in self.layers:
            if isinstance(layer, Affine):
                grads[f"W{i}"], grads[f"b{i}"] = layer.dW, layer.db
            elif isinstance(layer, BatchNormalization):
                grads[f"gamma{i}"], grads[f"beta{i}"] = layer.dgamma, layer.dbeta
        return loss, grads


class BookSGD:
    def __init__(self, lr):
        self.lr = lr

    def update(self, params, grads):
        for key in params:
            params[key] -= self.lr * grads[key]


class BookAdam:
    def __init__(self, lr, beta1, beta2):
        self.lr, self.beta1, self.beta2, self.iter, self.m, self.v = lr, beta1, beta2, 0, None, None

    def update(self, params, grads):
        if self.m is None:
            self.m = {key: np.zeros_like(val) for key, val in params.items()}
            self.v = {key: np.zeros_like(val) for key, val in params.items()}
        self.iter += 1
        lr_t = self.lr * np.sqrt(1.0 - self.beta2**self.iter) / (1.0 - self.beta1**self.iter)
        for key in params:
            self.m[key] += (1 - self.beta1) * (grads[key] - self.m[key])
            self.v[key] += (1 - self.beta2) * (grads[key] ** 2 - self.v[key])
            params[key] -= lr_t * self.m[key] / (np.sqrt(self.v[key]) + 1e-7)  # the book's ε


def run_textbook(case: Case, threads: int, repeats: int) -> dict:
    """The textbook net above on the same data as float64, under `threadpool_limits(threads, "blas")`."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(SEED)
    x, y, _, _ = random_data()
    x = x.astype(np.float64) / 255  # float64 throughout, converted once outside the clock
    net = MultiLayerNet((N_FEATURES, *case.hidden, N_CLASSES), case.batch_norm, case.dropout, rng)
    h = HYPER[case.optimizer]
    optimizer = BookSGD(h["lr"]) if case.optimizer == "sgd" else BookAdam(h["lr"], h["beta1"], h["beta2"])

    def step(index) -> None:
        loss, grads = net.gradient(x[index], y[index])
        optimizer.update(net.params, grads)
        float(loss)

    steps = case.textbook_steps or -(-N_TRAIN // case.batch_size)
    with threadpool_limits(limits=threads, user_api="blas"):
        blas = numpy_blas()
        rates = timed_repeats(step, index_batches(N_TRAIN, case.batch_size, rng.permutation), steps, repeats)
    unit = f"{case.textbook_steps} steps" if case.textbook_steps else "epoch"
    return {**summarize(rates, unit), "blas": blas}


# ----------------------------------------------------------------------------- extras
def run_evaluate(threads: int, repeats: int = 5) -> dict:
    """Seconds of one `scratchrun.training.trainer.evaluate` pass of the book net over the 54,000 training images."""
    from threadpoolctl import threadpool_limits

    from scratchrun.config.loader import config_from_dict
    from scratchrun.data.splits import Data, Split
    from scratchrun.training.run import build
    from scratchrun.training.trainer import evaluate

    x, y, x_test, y_test = random_data()
    data = Data(Split(x, y), None, Split(x_test, y_test), N_FEATURES, N_CLASSES, "random")
    model, _, _ = build(config_from_dict({"seed": SEED, "model": {"hidden": list(BOOK)}}), data)
    seconds = []
    with threadpool_limits(limits=threads, user_api="blas"):
        for _ in range(repeats + 1):
            start = time.perf_counter()
            evaluate(model, data.train)
            seconds.append(time.perf_counter() - start)
    seconds = seconds[1:]  # the first pass warms up
    return {"median": statistics.median(seconds), "min": min(seconds), "max": max(seconds), "seconds": seconds}


# Runs `scratchrun train` exactly as `python -m scratchrun` does, with one extra callback that writes the wall
# clock (time.time(), comparable across processes) at the start of training and at the end of its first step.
PROBE = r"""
import time; T0 = time.time()
import json, sys
import scratchrun.training.run as experiment
from scratchrun.training.trainer import Callback
out_path, marks = sys.argv[1], {"code_start": T0}

class Probe(Callback):
    def on_train_start(self, total_iterations, per_epoch):
        marks["train_start"] = time.time()  # before the evaluation that precedes the first step
    def on_eval(self, row):
        marks.setdefault("first_eval_done", time.time())
    def on_step(self, iteration, epoch, loss):
        if iteration == 1:
            marks["first_step_done"] = time.time()
            with open(out_path, "w") as f:
                json.dump(marks, f)

original = experiment.run_experiment
def with_probe(config, raw, runs_dir, callbacks=(), **kwargs):
    return original(config, raw, runs_dir, [*callbacks, Probe()], **kwargs)
experiment.run_experiment = with_probe  # the CLI imports run_experiment from the module when `train` runs
sys.argv = ["scratchrun", *sys.argv[2:]]
from scratchrun.cli.app import run
run()
"""

# Runs its arguments as a child and prints the child's peak RSS (KiB on Linux): RUSAGE_CHILDREN of a fresh process
# only ever covers that one child (and what the child itself waited for), whatever ran before.
RSS_WRAPPER = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def find_mnist(data_dir: str | None) -> Path | None:
    """A folder holding mnist/ with the four IDX files: --data-dir, SCRATCHRUN_DATA_DIR, else ../shared/data."""
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    for candidate in (data_dir, os.environ.get("SCRATCHRUN_DATA_DIR"), REPO.parent / "shared" / "data"):
        if candidate:
            folder = Path(candidate).expanduser().resolve()
            if all((folder / "mnist" / n).is_file() or (folder / "mnist" / f"{n}.gz").is_file() for n in names):
                return folder
    return None


def measure_process(data_dir: Path, repeats: int = 3) -> dict:
    """Peak RSS and time to first step of real `scratchrun train configs/mnist.yaml train.epochs=1` processes.

    All runs share a fresh temporary cache folder (SCRATCHRUN_CACHE_DIR), so the user's cache is left alone: the
    first run fills it (its RSS is reported as the cache-filling run), later runs start from the cached data.
    """
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SCRATCHRUN_DATA_DIR": str(data_dir), "SCRATCHRUN_CACHE_DIR": str(Path(tmp) / "cache")}
        train = ["-m", "scratchrun", "train", str(REPO / "configs" / "mnist.yaml"), "train.epochs=1",
                 "--runs-dir", str(Path(tmp) / "runs"), "--quiet"]

        def peak_rss_mib() -> float:
            out = subprocess.run([sys.executable, "-c", RSS_WRAPPER, sys.executable, *train], env=env, cwd=REPO,
                                 check=True, capture_output=True, text=True).stdout
            return int(out.split()[-1]) / 1024  # KiB -> MiB, as benchmarks/core_speed.py reports it

        rss_filling, rss_cached = peak_rss_mib(), peak_rss_mib()
        interpreter, probes = [], []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            interpreter.append(time.perf_counter() - start)
        for i in range(repeats):
            marks_file = Path(tmp) / f"marks-{i}.json"
            spawned = time.time()
            subprocess.run([sys.executable, "-c", PROBE, str(marks_file), *train[2:]], env=env, cwd=REPO,
                           check=True, stdout=subprocess.DEVNULL)
            if not marks_file.exists():
                raise RuntimeError("the probe saw no training step: has the CLI stopped calling run_experiment?")
            marks = json.loads(marks_file.read_text())
            probes.append({
                "start_to_first_step": marks["first_step_done"] - spawned,
                "interpreter_until_code": marks["code_start"] - spawned,
                "code_until_train_start": marks["train_start"] - marks["code_start"],
                "initial_evaluation": marks["first_eval_done"] - marks["train_start"],
                "first_step": marks["first_step_done"] - marks["first_eval_done"],
            })
    median = lambda key: statistics.median(p[key] for p in probes)
    return {
        "peak_rss_mib_cache_filling_run": rss_filling, "peak_rss_mib_cached": rss_cached,
        "python_c_pass_s": statistics.median(interpreter),
        "first_step": {key: median(key) for key in probes[0]}, "first_step_runs": probes,
    }


# ----------------------------------------------------------------------------- orchestration
WORKERS = {"scratchrun": run_scratchrun, "textbook": run_textbook}


def worker(spec: dict) -> dict:
    if spec["kind"] == "evaluate":
        return run_evaluate(spec["threads"])
    case = CASE_BY_NAME[spec["case"]]
    if spec["kind"] in TORCH_VARIANTS:
        return run_pytorch(case, spec["threads"], spec["repeats"], spec["kind"])
    return WORKERS[spec["kind"]](case, spec["threads"], spec["repeats"])


def busy_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (Linux /proc/stat), None elsewhere."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def in_worker(spec: dict) -> dict:
    """Run one measurement in a fresh process; its result is the last line it prints.

    Also reports `background_cores`: the CPU the rest of the machine used meanwhile (busy CPU time minus the
    worker's own, over the wall time). On a 2-core machine anything above ~0.1 disturbs the numbers.
    """
    busy, cpu, start = busy_cpu_seconds(), children_cpu_seconds(), time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], cwd=REPO,
                          capture_output=True, text=True, check=False)
    wall, end_busy = time.perf_counter() - start, busy_cpu_seconds()
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if busy is not None and end_busy is not None:
        result["background_cores"] = round(max(0.0, end_busy - busy - (children_cpu_seconds() - cpu)) / wall, 3)
    return result


def rate(result: dict | None, short: bool = False) -> str:
    """A table cell: the median, then the min–max and the unit of a repeat when it is not a full epoch.

    `short`: an unavailable PyTorch variant is the one word (the table prints the reasons under it).
    """
    if result is None:
        return "skipped"
    if "unavailable" in result:
        return "[yellow]unavailable[/]" + ("" if short else f": {result['unavailable'][:60]}")
    if "error" in result:
        return f"[red]error[/]: {result['error'][:60]}"
    unit = "" if result["unit"] == "epoch" else f" [dim]/{result['unit']}[/]"
    return f"{result['median']:,.0f}\n[dim]{result['min']:,.0f}–{result['max']:,.0f}[/]{unit}"


def ratio_of(a: dict | None, b: dict | None) -> float | None:
    ok = a is not None and b is not None and "median" in a and "median" in b
    return a["median"] / b["median"] if ok else None


def best_pytorch(row: dict) -> str | None:
    """The fastest PyTorch variant of a result row (highest median samples/s), None if none was measured."""
    measured = [impl for impl in TORCH_VARIANTS if "median" in (row.get(impl) or {})]
    return max(measured, key=lambda impl: row[impl]["median"]) if measured else None


def met(value: float | None, target: float, higher_is_better: bool = True) -> bool:
    return value is not None and (value >= target if higher_is_better else value < target)


def mark(ok: bool) -> str:
    return "[green]met[/]" if ok else "[red]NOT met[/]"


def blas_line(result: dict | None) -> str:
    if not result or "error" in result or "unavailable" in result:
        return "—"
    if "torch_threads" in result:
        flags = ", ".join(f"{k}={v}" for k, v in result.get("optimizer_flags", {}).items())
        return (f"torch {result['torch']}: MKL {result['mkl']}, oneDNN {result['onednn']} "
                f"(mkldnn available: {result['mkldnn']}), torch.get_num_threads() = {result['torch_threads']}"
                + (f"; optimizer {flags}" if flags else ""))
    return "; ".join(
        f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture') or p.get('corename', '?')}, "
        f"{p.get('threading_layer', '?')}), {p.get('num_threads')} thread(s)" for p in result["blas"]) or "no BLAS seen"


def measure_speed(cases: list[Case], threads: list[int], repeats: int, rounds: int, have_torch: bool,
                  console) -> list[dict]:
    """Every (thread count, case, implementation), interleaved in `rounds` so that a pair sees the same machine.

    On a shared virtual machine the speed drifts by ±10% over minutes. Each round runs one worker per
    implementation in turn (scratchrun, PyTorch default, PyTorch foreach, PyTorch fused for Adam, textbook),
    each timing its share of the repeats after its own warm-up; the rates of all rounds are pooled. Drift then
    hits both sides of a ratio alike. A PyTorch variant found unavailable is not tried again in later rounds.
    """
    per_round = max(1, -(-repeats // rounds))
    results = []
    for t in threads:
        for case in cases:
            row = {"case": case.name, "threads": t}
            for impl in IMPLS:
                row[impl] = None
            for _ in range(rounds):
                for impl in case.impls():
                    if (impl in TORCH_VARIANTS and not have_torch) or "unavailable" in (row[impl] or {}):
                        continue
                    part = in_worker({"kind": impl, "case": case.name, "threads": t, "repeats": per_round})
                    row[impl] = _pool(row[impl], part)
            for impl in case.impls():
                bg = (row[impl] or {}).get("background_cores")
                console.print(f"  {case.name:<26} {t} thread(s)  {impl:<15} {rate(row[impl]).replace(chr(10), '  ')}"
                              + (f"  [dim](other load {bg:.2f} cores)[/]" if bg is not None else ""))
            row["vs_pytorch"] = ratio_of(row["scratchrun"], row["pytorch"])
            row["vs_pytorch_foreach"] = ratio_of(row["scratchrun"], row["pytorch_foreach"])
            row["vs_pytorch_fused"] = ratio_of(row["scratchrun"], row["pytorch_fused"])
            row["pytorch_best"] = best_pytorch(row)
            best = row[row["pytorch_best"]] if row["pytorch_best"] else None
            row["vs_pytorch_best"] = ratio_of(row["scratchrun"], best)
            row["vs_textbook"] = ratio_of(row["scratchrun"], row["textbook"])
            results.append(row)
    return results


def _pool(pooled: dict | None, part: dict) -> dict:
    """Merge one round's result into the pooled one: all rates together, the worst background load."""
    if pooled is None or "error" in part or "unavailable" in part:
        return part
    if "error" in pooled or "unavailable" in pooled:
        return pooled
    merged = {**part, **summarize(pooled["rates"] + part["rates"], part["unit"])}
    loads = [r.get("background_cores") for r in (pooled, part) if r.get("background_cores") is not None]
    if loads:
        merged["background_cores"] = max(loads)
    return merged


def speed_table(results: list[dict], repeats: int, targets: list[dict]):
    """The samples/s table with the ratios, each next to its target (1 BLAS thread); appends to `targets`.

    scratchrun / PyTorch is against torch's default optimizer (the targets are defined so); scratchrun / best
    PyTorch is against the fastest of default, foreach and fused for that case, named under the ratio.
    """
    from rich.table import Table

    table = Table(title=f"Training samples/s, median and min–max of {repeats} repeats after a warm-up "
                        f"(MNIST-shaped random data, 54,000 x 784)")
    for column in ("case", "BLAS\nthreads", "scratchrun\nfloat32", "PyTorch CPU\nfloat32", "PyTorch\nforeach",
                   "PyTorch\nfused", "textbook\nfloat64", "scratchrun /\nPyTorch", "scratchrun /\nbest PyTorch",
                   "scratchrun /\ntextbook", "other\nload"):
        table.add_column(column, justify="left" if column == "case" else "right")
    for row in results:
        case = CASE_BY_NAME[row["case"]]
        cells = []
        for value, target, what in ((row["vs_pytorch"], case.torch_target, "PyTorch"),
                                    (row["vs_textbook"], case.textbook_target, "textbook")):
            cell = f"{value:.2f}x" if value is not None else "—"
            if target and row["threads"] == 1:
                cell += f"\n≥ {target}x {mark(met(value, target))}"
                targets.append({"target": f"{case.name}: scratchrun ≥ {target}x {what} (1 BLAS thread)",
                                "measured": f"{value:.2f}x" if value is not None else "n/a",
                                "met": met(value, target)})
            cells.append(cell)
        best = row.get("pytorch_best")
        best_cell = (f"{row['vs_pytorch_best']:.2f}x\n[dim]{TORCH_LABEL[best]}[/]"
                     if row.get("vs_pytorch_best") is not None else "—")
        cells.insert(1, best_cell)
        load = max((row.get(impl) or {}).get("background_cores", 0.0) for impl in IMPLS)
        speeds = [rate(row.get(impl), short=True) if impl in case.impls() else "[dim]n/a[/]" for impl in IMPLS]
        table.add_row(case.name, str(row["threads"]), *speeds, *cells,
                      f"{load:.2f}" if load < 0.1 else f"[red]{load:.2f}[/]", end_section=True)
    return table


def blas_table(results: list[dict]):
    from rich.table import Table

    table = Table(title="BLAS and threads each implementation reported while training "
                        "(first case of each thread count)")
    for column in ("BLAS threads", "implementation", "library, version, architecture, threads"):
        table.add_column(column)
    seen = set()
    for row in results:
        if row["threads"] not in seen:
            seen.add(row["threads"])
            for impl in CASE_BY_NAME[row["case"]].impls():
                table.add_row(str(row["threads"]), impl, blas_line(row[impl]))
    return table


def measure_extras(threads: list[int], data_dir_option: str | None, console) -> dict:
    extras: dict = {"evaluate_s": {str(t): in_worker({"kind": "evaluate", "threads": t}) for t in threads}}
    data_dir = find_mnist(data_dir_option)
    if data_dir is None:
        console.print("[yellow]Real MNIST not found (--data-dir, SCRATCHRUN_DATA_DIR or ../shared/data): "
                      "start-up time and peak RSS are skipped.[/]")
        return extras
    try:
        extras["process"] = measure_process(data_dir)
    except (subprocess.CalledProcessError, RuntimeError, KeyError) as e:
        console.print(f"[red]start-up / RSS measurement failed:[/] {e}")
    return extras


def extras_table(extras: dict, targets: list[dict]):
    """Evaluation cost, start-up time and peak RSS, with their targets; appends to `targets`."""
    from rich.table import Table

    table = Table(title="Evaluation, start-up and memory (real `scratchrun train` processes on real MNIST)")
    for column, justify in (("what", "left"), ("measured", "right"), ("target", "left")):
        table.add_column(column, justify=justify)
    for t, ev in extras["evaluate_s"].items():
        value = f"{ev['median']:.3f} s ({ev['min']:.3f}–{ev['max']:.3f})" if "median" in ev else ev["error"]
        table.add_row(f"one evaluate() pass of the book net over 54,000 images, {t} BLAS thread(s), median of 5",
                      value, "")
    if "process" not in extras:
        return table
    p = extras["process"]
    fs, total = p["first_step"], p["first_step"]["start_to_first_step"]
    table.add_row("`python -c pass`: interpreter start alone, median of 5", f"{p['python_c_pass_s']:.3f} s", "")
    table.add_row("`scratchrun train configs/mnist.yaml train.epochs=1`, data cached: process start to the end of "
                  "its first training step, median of 3", f"{total:.3f} s", f"< 1 s {mark(met(total, 1.0, False))}")
    for key, label in (("interpreter_until_code", "interpreter start"),
                       ("code_until_train_start", "imports, config, data loading and split, run folder"),
                       ("initial_evaluation", "the evaluation before the first step (train + validation)"),
                       ("first_step", "the first step")):
        table.add_row(f"    of which {label}", f"{fs[key]:.3f} s", "")
    targets.append({"target": "process start to first training step < 1 s (data cached)",
                    "measured": f"{total:.3f} s", "met": met(total, 1.0, False)})
    for key, label in (("peak_rss_mib_cached", "data cached"),
                       ("peak_rss_mib_cache_filling_run", "first run, filling the cache")):
        table.add_row(f"peak RSS of `scratchrun train configs/mnist.yaml train.epochs=1`, {label}",
                      f"{p[key]:.0f} MiB", f"< 400 MB {mark(met(p[key], 400, False))}")
        targets.append({"target": f"peak RSS < 400 MB ({label})", "measured": f"{p[key]:.0f} MiB",
                        "met": met(p[key], 400, False)})
    return table


def targets_table(targets: list[dict]):
    from rich.table import Table

    table = Table(title="Targets")
    for column in ("target", "measured", ""):
        table.add_column(column)
    for t in targets:
        table.add_row(t["target"], t["measured"], mark(t["met"]))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=6, help="timed repeats in all, after warm-ups (default 6)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds the repeats are split into, against drift (default 3)")
    parser.add_argument("--quick", action="store_true", help="2 repeats: a smoke test, not a measurement")
    parser.add_argument("--threads", default="1,2", help="BLAS thread counts, comma-separated (default 1,2)")
    parser.add_argument("--cases", default=",".join(CASE_BY_NAME), help="case names, comma-separated (default all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="JSON results file (default benchmarks/results/train_speed.json)")
    parser.add_argument("--data-dir", help="folder holding mnist/ (default SCRATCHRUN_DATA_DIR, else ../shared/data)")
    parser.add_argument("--no-extras", action="store_true", help="only the speed table")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    repeats, rounds = (2, 1) if args.quick else (args.repeats, args.rounds)
    names = [name.strip() for name in args.cases.split(",") if name.strip()]
    if unknown := [name for name in names if name not in CASE_BY_NAME]:
        parser.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(CASE_BY_NAME)}")
    threads = [int(t) for t in args.threads.split(",")]
    if repeats < 1 or rounds < 1 or min(threads) < 1:
        parser.error("--repeats, --rounds and --threads must be at least 1")
    cases = [CASE_BY_NAME[name] for name in names]

    from rich.console import Console

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    have_torch = importlib.util.find_spec("torch") is not None
    if not have_torch:
        console.print("[yellow]PyTorch is not installed, so its columns are skipped; "
                      f"install it with `{TORCH_INSTALL}`.[/]")
    started, wall_start, load_start = datetime.now(), time.perf_counter(), os.getloadavg()
    console.print(f"train_speed: {len(cases)} case(s) x BLAS threads {threads} x {repeats} repeats in {rounds} "
                  f"interleaved round(s) (+1 warm-up per worker); "
                  f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
                  f"load average {load_start[0]:.2f}")
    if load_start[0] > 0.5:
        console.print("[yellow]warning: the machine is busy (load average > 0.5): other processes will slow every "
                      "measurement; see the `other load` column.[/]")

    targets: list[dict] = []
    results = measure_speed(cases, threads, repeats, rounds, have_torch, console)
    console.print(speed_table(results, repeats, targets))
    console.print("A repeat is one full epoch (54,000 samples), except "
                  + "".join(f"the textbook on {c.name}: /{c.textbook_steps} steps = {c.textbook_steps} consecutive "
                            f"steps ({c.textbook_steps * c.batch_size:,} samples) per repeat, "
                            "as its full epoch is slow; "
                            for c in cases if c.textbook_steps) + "`other load`: cores kept busy by other processes "
                  "during the measurement (red above 0.1: the numbers are disturbed). PyTorch: torch's default "
                  "optimizer, then `foreach=True` and `fused=True` (fused for Adam only: n/a for SGD); "
                  "`best PyTorch` divides by the fastest of them, named below the ratio.")
    for row in results:
        for impl in TORCH_VARIANTS:
            if "unavailable" in (row.get(impl) or {}):
                console.print(f"[yellow]{TORCH_LABEL[impl]} PyTorch unavailable[/] ({row['case']}, {row['threads']} "
                              f"thread(s)): {row[impl]['unavailable']}")
    console.print("Cases: " + "; ".join(f"{c.name} = {c.describe()}" for c in cases))
    console.print(blas_table(results))

    extras: dict = {}
    if not args.no_extras:
        extras = measure_extras(threads, args.data_dir, console)
        console.print(extras_table(extras, targets))
    console.print(targets_table(targets))
    total_s = time.perf_counter() - wall_start
    console.print(f"Total time {total_s / 60:.1f} min; load average at the start {load_start[0]:.2f}, "
                  f"now {os.getloadavg()[0]:.2f}.")

    report = {
        "started": started.isoformat(timespec="seconds"), "total_seconds": round(total_s, 1),
        "command": " ".join(["python", *sys.argv]),
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "cpus": os.cpu_count(),
                    "platform": platform.platform(), "load_average_start": load_start,
                    "load_average_end": os.getloadavg()},
        "settings": {"repeats": repeats, "threads": threads, "n_train": N_TRAIN, "seed": SEED, "hyper": HYPER},
        "cases": [asdict(case) for case in cases], "results": results, "extras": extras, "targets": targets,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    console.print(f"JSON written to {args.out}")


if __name__ == "__main__":
    main()
