"""Every PNG keeps its text on the canvas, at the default options and at reduced ones: each title, axis label, tick
label and legend lies inside the figure, and no title or label lies over another (a figure's title over its panels'
titles). Measured from the drawn artists' window extents against the figure's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import scratchrun.plots.figure as plot_figure
import scratchrun.plots.search as plot_search
import scratchrun.plots.study as plot_study
from scratchrun.experiments.presets import define_study, sweep
from scratchrun.plots.curves import EVAL_KEYS, Curves
from scratchrun.plots.run import curves_figure
from scratchrun.plots.study import study_figure

TOLERANCE = 1.0  # pixels: a text drawn exactly at the edge is inside


def clipped_or_overlapping(fig) -> list[str]:
    """What of a drawn figure lies off its canvas, or over another title or label."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    canvas = fig.bbox
    named = [(f"figure title {fig._suptitle.get_text()!r}", fig._suptitle)] if fig._suptitle else []
    named += [(f"figure legend {i}", legend) for i, legend in enumerate(fig.legends)]
    areas = [(f"axes {i} (ticks included)", ax) for i, ax in enumerate(fig.axes) if ax.axison]
    for i, ax in enumerate(fig.axes):
        for what, text in (("title", ax.title), ("x label", ax.xaxis.label), ("y label", ax.yaxis.label)):
            named.append((f"axes {i} {what} {text.get_text()!r}", text))
        named += [(f"axes {i} text {text.get_text()!r}", text) for text in ax.texts]  # e.g. a bar's value
        if ax.get_legend() is not None:
            areas.append((f"axes {i} legend", ax.get_legend()))
    named = [(name, artist) for name, artist in named if artist.get_visible()
             and (not hasattr(artist, "get_text") or artist.get_text().strip())]
    boxes = [(name, artist.get_window_extent(renderer)) for name, artist in named]
    panels = [(name, artist.get_tightbbox(renderer)) for name, artist in areas]
    problems = [f"{name} is off the canvas: {box.bounds} not inside {canvas.bounds}" for name, box in boxes + panels
                if box.x0 < -TOLERANCE or box.y0 < -TOLERANCE or box.x1 > canvas.x1 + TOLERANCE
                or box.y1 > canvas.y1 + TOLERANCE]
    for a, (first, box) in enumerate(boxes):
        # titles, labels and texts never overlap; the figure's title and legends overlap no panel either
        for second, other in boxes[a + 1:] + (panels if first.startswith("figure") else []):
            both = box.intersection(box, other)
            if both is not None and min(both.width, both.height) > TOLERANCE:
                problems.append(f"{first} overlaps {second}")
    return problems


def fake_runs(variants, seeds: int = 2, epochs: int = 20, iterations: int = 400) -> dict[str, list[Curves]]:
    """Curves as a study's runs leave them: a falling loss, rising accuracies, an evaluation per epoch."""
    rng = np.random.default_rng(0)
    runs = {}
    for k, variant in enumerate(variants):
        runs[variant.name] = []
        for _ in range(seeds):
            steps = np.arange(1, iterations + 1, dtype=np.float64)
            loss = 2.3 * np.exp(-steps / (100 + 30 * k)) + 0.05 + 0.02 * rng.random(iterations)
            epoch = np.arange(epochs + 1, dtype=np.float64)
            acc = 0.1 + 0.85 * (1 - np.exp(-epoch / (3 + k)))
            evals = dict(zip(EVAL_KEYS, (epoch * iterations / epochs, epoch, 1 / (acc + 0.1), acc, 1 / acc,
                                         acc - 0.05)))
            runs[variant.name].append(Curves(steps, loss, 8, evals))
    return runs


STUDIES = [  # (label, the study's definition): the default options, then reduced ones
    ("compare-optimizers", lambda: define_study("compare-optimizers")),
    ("compare-optimizers --optimizers sgd", lambda: define_study("compare-optimizers", optimizers=["sgd"])),
    ("compare-optimizers --optimizers sgd,adam",
     lambda: define_study("compare-optimizers", optimizers=["sgd", "adam"])),
    ("overfit-study", lambda: define_study("overfit-study")),
    ("bn-study", lambda: define_study("bn-study")),
    *((f"bn-study --scales {n}", lambda n=n: define_study("bn-study", scales=n)) for n in (1, 2, 4, 5)),
    ("init-study", lambda: define_study("init-study")),
    ("init-study --inits he --activations relu", lambda: define_study("init-study", inits=["he"],
                                                                        activations=["relu"])),
    ("sweep of 3", lambda: sweep({"name": "small"}, ["optimizer.lr=0.1,0.01,0.001"])),
    ("sweep of 1", lambda: sweep({"name": "small"}, ["optimizer.lr=0.1"])),
]


@pytest.mark.parametrize("label, define", STUDIES, ids=[label for label, _ in STUDIES])
def test_every_figure_a_study_declares_keeps_its_text_on_the_canvas(label, define):
    definition = define()
    assert definition.figures
    runs = fake_runs(definition.variants)
    for figure in definition.figures:
        assert clipped_or_overlapping(study_figure(figure, runs)) == [], (label, figure.name)


def test_a_figure_with_one_seed_and_a_variant_left_without_runs_keeps_its_text_on_the_canvas():
    definition = define_study("bn-study", scales=3)
    runs = fake_runs(definition.variants[:-2], seeds=1)  # the last weight scale interrupted before it trained
    for figure in definition.figures:
        assert clipped_or_overlapping(study_figure(figure, runs)) == [], figure.name


@pytest.fixture
def drawn(monkeypatch) -> dict:
    """The figures the plots modules would save, by file name, kept instead of written."""
    found = {}
    for module in (plot_study, plot_search, plot_figure):
        monkeypatch.setattr(module, "save", lambda fig, path, dpi=110: found.__setitem__(Path(path).name, fig))
    return found


@pytest.mark.parametrize("optimizers", [None, ["sgd"], ["sgd", "adam"]])
def test_the_toy_optimizer_paths_keep_their_text_on_the_canvas(drawn, tmp_path, optimizers):
    define_study("compare-optimizers", optimizers=optimizers).side_figures(tmp_path, None)
    assert clipped_or_overlapping(drawn["paths.png"]) == []


@pytest.mark.parametrize("inits, activations", [(("std:1", "std:0.01", "xavier", "he"), ("sigmoid", "tanh", "relu")),
                                                (("he",), ("relu",)), (("std:0.01", "xavier"), ("sigmoid",))])
def test_init_studys_activations_and_gradients_keep_their_text_on_the_canvas(tiny, drawn, tmp_path, inits,
                                                                               activations):
    definition = define_study("init-study", None, ["data.dataset=tiny"], inits=inits, activations=activations)
    definition.side_figures(tmp_path, None)
    for name in ("activations.png", "gradients.png"):
        assert clipped_or_overlapping(drawn[name]) == [], name


@pytest.mark.parametrize("title", ["2026-01-01_12-00-00_mnist (completed)",
                                   "2026-01-01_12-00-00_" + "a-run-with-a-very-long-name-" * 6 + " (diverged)"])
def test_a_runs_curves_keep_their_text_on_the_canvas(title):
    losses = list(2.3 * np.exp(-np.arange(300) / 80) + 0.05)
    history = [{"iteration": i, "epoch": i / 100, "train_loss": 1.0, "train_acc": 0.5 + i / 1000, "val_loss": 1.1,
                "val_acc": 0.5 + i / 1100} for i in (0, 100, 200, 300)]
    assert clipped_or_overlapping(curves_figure(losses, history, title)) == []


def test_a_searchs_figures_and_a_comparison_keep_their_text_on_the_canvas(real_runs, drawn, tmp_path):
    from scratchrun.experiments.sampling import best_trials
    from scratchrun.experiments.search_folder import read_plan
    from scratchrun.plots.compare import compare_figure
    from scratchrun.plots.search import search_figure, top_figure
    from scratchrun.records import index as ix
    from scratchrun.records.reader import read_trials

    folder = next(p for p in sorted(real_runs.iterdir()) if p.name.endswith("search-small-search"))
    plan, trials = read_plan(folder), read_trials(folder)
    search_figure(tmp_path / "search.png", trials, plan)
    for n in (1, 6):
        top_figure(tmp_path / "top.png", folder, best_trials(trials, plan.metric, n), plan.metric)
        assert clipped_or_overlapping(drawn["top.png"]) == [], n
    runs = ix.runs_of(ix.scan(real_runs))[:4]
    compare_figure(tmp_path / "compare.png", runs, [run.name for run in runs])
    for name in ("search.png", "compare.png"):
        assert clipped_or_overlapping(drawn[name]) == [], name


def test_the_check_sees_a_cut_off_label_and_a_title_over_a_panel_title():
    """The check can fail: a y label pushed off the left edge, and a figure title drawn over its panel's title."""
    fig, ax = plot_figure.subplots(figsize=(4, 3))
    ax.set_ylabel("accuracy")
    ax.set_title("panel")
    fig.subplots_adjust(left=0.02, top=0.92)
    fig.suptitle("the figure's title", y=0.97)
    problems = clipped_or_overlapping(fig)
    assert any("y label 'accuracy' is off the canvas" in p for p in problems), problems
    assert any("figure title" in p and "overlaps axes 0 title 'panel'" in p for p in problems), problems
