"""A study's and a search's figures as plotly figure specifications (plain data: traces and a layout).

They are the interactive versions of what `plots.study` draws into PNG files: per variant the mean over seeds with a
± one std band, the book's panels (bn-study, overfit-study), and for a search the parallel coordinates of every
trial, the metric against each value per round with the narrowed ranges, and the best trials' curves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scratchrun.experiments.search_folder import read_plan
from scratchrun.records.index import strip_stamp
from scratchrun.records.status import counts_text, ordered
from scratchrun.reporting.content import Curves, Group, embedded_images, numbers, search_trials, study_variants

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")  # matplotlib's, so that a report's colours match the PNG figures'
TOP_TRIALS = 10
# per study kind, the PNG figures the report draws interactively (the others are embedded as they are)
INTERACTIVE_PNGS = {"compare-optimizers": {"loss.png", "accuracy.png"}, "init-study": {"loss.png"},
                    "bn-study": {"bn.png"}, "overfit-study": {"overfit.png"}}
Pick = Callable[[Curves], tuple[np.ndarray, np.ndarray]]


def study_figures(group: Group, curves: Mapping[str, Curves]) -> None:
    """Fill `group` with its study's title, facts and figures."""
    from scratchrun.experiments.study_folder import read_study

    folder = group.info.path
    kind, _, variants, seeds = read_study(folder)
    members = study_variants(folder, variants, seeds, set(curves))
    series = {name: [curves[Path(run).name] for run in runs] for name, runs in members.items() if runs}
    group.title = f"{kind}: {strip_stamp(folder.name)}" if strip_stamp(folder.name) != kind else kind
    group.facts = [f"{len(variants)} variants × {len(seeds)} seed{'s' if len(seeds) != 1 else ''}",
                   counts_text(r.status for r in group.info.runs), *_command(group)]
    if kind == "bn-study":
        figures = [_bn_panels(series)]
    elif kind == "overfit-study":
        figures = [panels_figure("overfit", "train (solid) and validation (dashed) accuracy per epoch",
                                 [(name, [(name, runs)]) for name, runs in series.items()],
                                 [("train_acc", "solid"), ("val_acc", "dash")], cols=2), gap_figure(series)]
    else:  # compare-optimizers, init-study, a sweep: the loss and the validation accuracy of each variant
        figures = [band_figure("loss", "minibatch loss by variant", "minibatch loss (moving average)", series,
                               lambda c: (c.iterations, c.loss), log_y=True),
                   band_figure("val_acc", "validation accuracy by variant", "validation accuracy", series,
                               lambda c: c.series("val_acc"))]
    group.figures = [f for f in figures if f["data"]]
    group.images = embedded_images(folder, INTERACTIVE_PNGS.get(kind, set()))


def _bn_panels(series: Mapping[str, list[Curves]]) -> dict:
    """bn-study's grid: one panel per initial weight scale, batch norm against plain (variants `bn-<std>`,
    `plain-<std>`)."""
    panels: dict[str, list[tuple[str, list[Curves]]]] = {}
    for name, runs in series.items():
        label, _, scale = name.partition("-")
        panels.setdefault(f"weight std {scale}", []).append(({"bn": "batch norm"}.get(label, label), runs))
    return panels_figure("bn", "training accuracy per epoch, with and without batch norm", list(panels.items()),
                         [("train_acc", "solid")], cols=4)


def _command(group: Group) -> list[str]:
    commands = {run.summary.get("command") for run in group.info.runs} - {None}
    return [f"command: {commands.pop()}"] if len(commands) == 1 else []


def band_figure(name: str, title: str, ylabel: str, series: Mapping[str, Sequence[Curves]], pick: Pick,
                log_y: bool = False, xlabel: str = "update") -> dict:
    """One line per series (the mean over its runs) with a ± one std band when it has several."""
    data = []
    for i, (label, runs) in enumerate(series.items()):
        data += band_traces(label, PALETTE[i % len(PALETTE)], [pick(c) for c in runs], log_y)
    layout = {"title": {"text": title}, "height": 420, "xaxis": {"title": {"text": xlabel}},
              "yaxis": {"title": {"text": ylabel}, **({"type": "log", "dtick": 1} if log_y else {})}}
    return {"name": name, "data": data, "layout": layout}


def band_traces(label: str, color: str, pairs: Sequence[tuple[np.ndarray, np.ndarray]], log_y: bool = False,
                axes: tuple[str, str] = ("x", "y"), dash: str = "solid", legend: bool = True) -> list[dict]:
    """The mean of (x, y) curves over their common length, and the band of ± one std when there are several."""
    pairs = [(x, y) for x, y in pairs if len(y)]
    if not pairs:
        return []
    n = min(len(y) for _, y in pairs)
    x = pairs[0][0][:n]
    stack = np.vstack([y[:n] for _, y in pairs])
    with np.errstate(invalid="ignore"):
        mean = stack.mean(axis=0)
        std = stack.std(axis=0)
    name = label if len(pairs) == 1 else f"{label} (mean of {len(pairs)})"
    place = {"xaxis": axes[0], "yaxis": axes[1], "legendgroup": label}
    traces = []
    if len(pairs) > 1:
        low = np.maximum(mean - std, mean * 1e-3) if log_y else mean - std  # a log axis drops points at or below 0
        traces.append({"type": "scatter", "x": numbers(np.concatenate([x, x[::-1]])),
                       "y": numbers(np.concatenate([mean + std, low[::-1]])), "fill": "toself",
                       "fillcolor": _faint(color), "line": {"width": 0}, "hoverinfo": "skip", "showlegend": False,
                       "name": f"{label} ± std", **place})
    traces.append({"type": "scatter", "mode": "lines", "x": numbers(x), "y": numbers(mean), "name": name,
                   "line": {"color": color, "width": 2, "dash": dash}, "showlegend": legend, **place})
    return traces


def panels_figure(name: str, title: str, panels: Sequence[tuple[str, Sequence[tuple[str, Sequence[Curves]]]]],
                  metrics: Sequence[tuple[str, str]], cols: int, x: str = "epoch") -> dict:
    """A grid of panels sharing their axes; panel (title, [(label, runs), ...]) draws each metric of each label."""
    cols = max(1, min(cols, len(panels)))
    rows = -(-len(panels) // cols)
    gap_x, gap_y = 0.03, 0.12 / rows
    layout: dict[str, Any] = {"title": {"text": title}, "height": 90 + 230 * rows, "annotations": [],
                              "margin": {"t": 80}}
    data: list[dict] = []
    labels: list[str] = []
    for k, (panel_title, members) in enumerate(panels):
        r, c = divmod(k, cols)
        suffix = "" if k == 0 else str(k + 1)
        layout[f"xaxis{suffix}"] = {"domain": [c / cols + gap_x, (c + 1) / cols - gap_x], "anchor": f"y{suffix}",
                                    **({"matches": "x"} if k else {}), "showticklabels": r == rows - 1,
                                    **({"title": {"text": x}} if r == rows - 1 else {})}
        top = 1 - r / rows
        layout[f"yaxis{suffix}"] = {"domain": [top - 1 / rows + gap_y, top - gap_y / 2], "anchor": f"x{suffix}",
                                    "range": [0, 1.02], "showticklabels": c == 0,
                                    **({"title": {"text": "accuracy"}} if c == 0 else {})}
        layout["annotations"].append({"text": panel_title, "showarrow": False, "xref": f"x{suffix} domain",
                                      "yref": f"y{suffix} domain", "x": 0.5, "y": 1.0, "yanchor": "bottom",
                                      "font": {"size": 12}})
        for label, runs in members:
            if label not in labels:
                labels.append(label)
            color = PALETTE[labels.index(label) % len(PALETTE)]
            for metric, dash in metrics:
                legend = k == 0 or f"{label} {metric}" not in {t["legendgroup"] for t in data}
                traces = band_traces(f"{label} {metric}", color, [c.series(metric, x) for c in runs],
                                     axes=(f"x{suffix}", f"y{suffix}"), dash=dash, legend=legend)
                data += traces
    return {"name": name, "data": data, "layout": layout}


def gap_figure(series: Mapping[str, Sequence[Curves]]) -> dict:
    """overfit-study's gap: the last evaluation's training minus validation accuracy per variant (mean ± std)."""
    names, gaps, spread = [], [], []
    for name, runs in series.items():
        values = [c.evals["train_acc"][-1] - c.evals["val_acc"][-1] for c in runs if len(c.evals["iteration"])]
        values = [v for v in values if np.isfinite(v)]
        if values:
            names.append(name)
            gaps.append(float(np.mean(values)))
            spread.append(float(np.std(values)))
    data = [{"type": "bar", "x": names, "y": numbers(np.array(gaps)), "name": "train − validation",
             "error_y": {"type": "data", "array": numbers(np.array(spread)), "visible": len(spread) > 0},
             "marker": {"color": [PALETTE[i % len(PALETTE)] for i in range(len(names))]},
             "text": [f"{g:.1%}" for g in gaps], "textposition": "outside"}] if names else []
    layout = {"title": {"text": "the overfitting gap after the last epoch (training − validation accuracy)"},
              "height": 360, "yaxis": {"title": {"text": "accuracy gap"}, "tickformat": ".0%"}}
    return {"name": "gap", "data": data, "layout": layout}


def search_figures(group: Group, curves: Mapping[str, Curves]) -> None:
    """Fill `group` with its search's title, facts and figures."""
    folder = group.info.path
    plan = read_plan(folder)
    trials = search_trials(folder, plan)
    metric = plan.metric
    group.title = f"search: {strip_stamp(folder.name).removeprefix('search-')}"
    group.facts = [f"{plan.trials} trials × {plan.rounds} round{'s' if plan.rounds != 1 else ''}, ranked by {metric}"
                   + (f", successive halving from {plan.prune.min_epochs} epoch(s) keeping 1/{plan.prune.eta}"
                      if plan.prune else ""),
                   counts_text(r.status for r in group.info.runs), *_command(group)]
    if not trials:
        group.problem = f"{folder / 'trials.csv'} does not exist yet: no trial has finished."
        return
    spaces = round_spaces(plan, trials)
    best = _best(trials, metric)
    if best:
        values = ", ".join(f"{d.key} = {_short(best[d.key])}" for d in plan.space)
        group.facts.insert(1, f"best: trial {best['trial']}, {metric} {best[metric]:.4g} ({values})")
    group.figures = [parallel_coordinates(plan, trials, spaces[0]), rounds_figure(plan, trials, spaces),
                     top_trials_figure(plan, trials, curves)]
    group.figures = [f for f in group.figures if f["data"]]
    group.images = embedded_images(folder, {"search.png", "top.png"})


def round_spaces(plan, trials: Sequence[dict]) -> list[tuple]:
    """The space each round sampled from, narrowed after each round the way the search did it (the same pure
    functions of the same results, see search_rounds)."""
    from scratchrun.experiments.sampling import best_trials, narrow

    spaces = [tuple(plan.space)]
    for number in range(1, plan.rounds):
        done = [t for t in trials if t["round"] == number]
        if not done or not any(t["round"] == number + 1 for t in trials):
            break
        spaces.append(narrow(spaces[-1], best_trials(done, plan.metric, plan.keep, with_pruned=True)))
    return spaces


def _best(trials: Sequence[dict], metric: str) -> dict | None:
    from scratchrun.experiments.sampling import best_trials

    best = best_trials(trials, metric, 1)
    return best[0] if best else None


def parallel_coordinates(plan, trials: Sequence[dict], space: Sequence) -> dict:
    """Every trial as a line through its sampled values (log_uniform ones on log axes labelled in real units, choices
    as categories), its round and status when they vary, and its metric, which also colours it."""
    from scratchrun.config.search import METRICS

    metric = plan.metric
    dimensions = [_dimension(dim, [t.get(dim.key) for t in trials]) for dim in space]
    if plan.rounds > 1:
        dimensions.append({"label": "round", "values": [t["round"] for t in trials],
                           "tickvals": list(range(1, plan.rounds + 1)), "range": [1, plan.rounds]})
    statuses = ordered(t["status"] for t in trials)
    if statuses != ["completed"]:
        dimensions.append({"label": "status", "values": [statuses.index(t["status"]) for t in trials],
                           "tickvals": list(range(len(statuses))), "ticktext": statuses,
                           "range": [0, max(1, len(statuses) - 1)]})
    if any(t["status"] == "pruned" for t in trials):
        dimensions.append({"label": "epochs trained", "values": [t.get("epochs") or 0 for t in trials]})
    scores = [t.get(metric) for t in trials]
    known = [s for s in scores if s is not None]
    floor = (min(known) - 0.05 * ((max(known) - min(known)) or 1)) if known else 0.0  # no score: below every score
    shown = [floor if s is None else s for s in scores]
    dimensions.append({"label": metric + (" (no score: bottom)" if len(known) < len(scores) else ""),
                       "values": numbers(np.array(shown))})
    line = {"color": numbers(np.array(shown)), "colorscale": "Viridis", "reversescale": METRICS[metric] == "min",
            "showscale": True, "colorbar": {"title": {"text": metric}}}
    layout = {"title": {"text": f"every trial ({len(trials)}): drag along an axis to select a range"},
              "height": 460, "margin": {"l": 90, "r": 60, "t": 110}}
    return {"name": "parcoords", "data": [{"type": "parcoords", "line": line, "dimensions": dimensions,
                                           "labelangle": 0, "labelside": "top"}], "layout": layout}


def _dimension(dim, values: Sequence[Any]) -> dict:
    """A parallel-coordinates axis of one searched key on the scale it was sampled on."""
    if dim.kind == "choice":
        texts = [str(c) for c in dim.choices]
        return {"label": dim.key, "values": [texts.index(str(v)) if str(v) in texts else -1 for v in values],
                "tickvals": list(range(len(texts))), "ticktext": texts, "range": [0, max(1, len(texts) - 1)]}
    if dim.kind == "log_uniform":
        logs = [math.log10(v) if isinstance(v, int | float) and v > 0 else math.log10(dim.low) for v in values]
        low, high = min([math.log10(dim.low), *logs]), max([math.log10(dim.high), *logs])
        ticks = log_ticks(low, high)
        return {"label": f"{dim.key} (log)", "values": logs, "range": [low, high],
                "tickvals": [math.log10(t) for t in ticks], "ticktext": [real_units(t) for t in ticks]}
    numeric = [v if isinstance(v, int | float) else dim.low for v in values]
    return {"label": dim.key, "values": numeric, "range": [min([dim.low, *numeric]), max([dim.high, *numeric])]}


def log_ticks(low: float, high: float) -> list[float]:
    """Tick values in real units between 10**low and 10**high: the powers of ten, with 2 and 5 times them when the
    range spans fewer than 3 decades."""
    steps = (1,) if high - low >= 3 else (1, 2, 5)
    ticks = [m * 10.0**k for k in range(math.floor(low), math.ceil(high) + 1) for m in steps]
    inside = [t for t in ticks if low - 1e-9 <= math.log10(t) <= high + 1e-9]
    return inside or [10.0**low, 10.0**high]


def real_units(value: float) -> str:
    """A tick label as the value is written in a config: 0.01, 1e-5 (not 1e-05, nor plotly's SI prefix 10µ)."""
    text = f"{value:g}"
    mantissa, e, exponent = text.partition("e")
    return f"{mantissa}e{int(exponent)}" if e else text


def rounds_figure(plan, trials: Sequence[dict], spaces: Sequence[tuple]) -> dict:
    """The metric against each searched value, a colour per round, pruned trials as crosses, and each narrowed
    round's range shaded in its colour."""
    metric, dims = plan.metric, list(plan.space)
    n = len(dims)
    title = (f"{metric} against each searched value, by round "
             "(crosses: pruned, scored after fewer epochs; shading: a round's range)")
    layout: dict[str, Any] = {"title": {"text": title},
                              "height": 400, "shapes": [], "margin": {"t": 80}}
    data: list[dict] = []
    for k, dim in enumerate(dims):
        suffix = "" if k == 0 else str(k + 1)
        layout[f"xaxis{suffix}"] = {"domain": [k / n + 0.02, (k + 1) / n - 0.02], "anchor": f"y{suffix}",
                                    "title": {"text": dim.key}, "exponentformat": "e",
                                    "type": {"log_uniform": "log", "choice": "category"}.get(dim.kind, "linear"),
                                    **({"categoryorder": "array", "categoryarray": [str(c) for c in dim.choices]}
                                       if dim.kind == "choice" else {})}
        layout[f"yaxis{suffix}"] = {"anchor": f"x{suffix}", **({"matches": "y"} if k else {}),
                                    **({"title": {"text": metric}} if k == 0 else {"showticklabels": False})}
        for r in sorted({t["round"] for t in trials}):
            color = PALETTE[(r - 1) % len(PALETTE)]
            for pruned in (False, True):
                shown = [t for t in trials if t["round"] == r and t.get(metric) is not None
                         and (t["status"] == "pruned") == pruned]
                if not shown:
                    continue
                data.append({
                    "type": "scatter", "mode": "markers", "xaxis": f"x{suffix}", "yaxis": f"y{suffix}",
                    "x": [str(t[dim.key]) if dim.kind == "choice" else t[dim.key] for t in shown],
                    "y": [t[metric] for t in shown], "name": f"round {r}" + (" (pruned)" if pruned else ""),
                    "legendgroup": f"{r}{pruned}", "showlegend": k == 0,
                    "text": [f"trial {t['trial']} ({t['status']}, {_short(t.get('epochs'))} epochs)" for t in shown],
                    "hovertemplate": "%{text}<br>%{x}: %{y}<extra></extra>",
                    "marker": {"color": color, "symbol": "x" if pruned else "circle", "size": 7,
                               "opacity": 0.45 if pruned else 0.9}})
        if dim.kind != "choice":
            for r, space in enumerate(spaces[1:], start=2):
                narrowed = space[k]
                layout["shapes"].append({"type": "rect", "xref": f"x{suffix}", "yref": f"y{suffix} domain",
                                         "x0": narrowed.low, "x1": narrowed.high, "y0": 0, "y1": 1, "layer": "below",
                                         "fillcolor": PALETTE[(r - 1) % len(PALETTE)], "opacity": 0.12,
                                         "line": {"width": 0}})
    return {"name": "rounds", "data": data, "layout": layout}


def top_trials_figure(plan, trials: Sequence[dict], curves: Mapping[str, Curves]) -> dict:
    """Validation accuracy per epoch of the best completed trials, best first (the book's figure 6-24)."""
    from scratchrun.experiments.sampling import best_trials

    best = best_trials(trials, plan.metric, TOP_TRIALS)
    data = []
    for i, trial in enumerate(best):
        run = curves.get(Path(trial["run_dir"]).name)
        if run is None:
            continue
        x, y = run.series("val_acc", "epoch")
        data.append({"type": "scatter", "mode": "lines", "x": numbers(x), "y": numbers(y),
                     "name": f"trial {trial['trial']}: {trial[plan.metric]:.4g}",
                     "line": {"color": PALETTE[i % len(PALETTE)], "width": 2 if i == 0 else 1.2}})
    layout = {"title": {"text": f"validation accuracy per epoch of the {len(data)} best trials (best first)"},
              "height": 400, "xaxis": {"title": {"text": "epoch"}},
              "yaxis": {"title": {"text": "validation accuracy"}}}
    return {"name": "top", "data": data, "layout": layout}


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _faint(color: str, alpha: float = 0.18) -> str:
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"
