"""A study's and a search's figures as plotly figure specifications (plain data: traces and a layout).

A study's are the figures it declares (plots/spec.py), drawn from the same numbers as its PNG files; a search's are
the parallel coordinates of every trial, the metric against each value per round with the narrowed ranges, and the
best trials' curves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scratchrun.experiments.search_folder import read_plan
from scratchrun.plots.curves import Curves
from scratchrun.plots.spec import Figure, Line, Runs, gaps, lines, panels
from scratchrun.records.index import strip_stamp
from scratchrun.records.status import counts_text, ordered
from scratchrun.reporting.content import Group, embedded_images, numbers, search_trials, study_variants

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")  # matplotlib's, so that a report's colours match the PNG figures'
TOP_TRIALS = 10


def study_figures(group: Group, curves: Mapping[str, Curves]) -> None:
    """Fill `group` with its study's title, facts and the figures its study.yaml declares; the study's other PNG
    files (and all of them, for a study.yaml that declares none) are embedded as they are."""
    from scratchrun.experiments.study_folder import read_study

    folder = group.info.path
    study = read_study(folder)
    figures = study.figures or ()
    members = study_variants(folder, study.variants, study.seeds, set(curves))
    runs = {name: [curves[Path(run).name] for run in runs] for name, runs in members.items() if runs}
    name = strip_stamp(folder.name)
    group.title = f"{study.kind}: {name}" if name != study.kind else study.kind
    group.facts = [f"{len(study.variants)} variants × {len(study.seeds)} seed{'s' if len(study.seeds) != 1 else ''}",
                   counts_text(r.status for r in group.info.runs), *_command(group)]
    group.figures = [f for f in (chart(figure, runs) for figure in figures) if f["data"]]
    group.images = embedded_images(folder, {figure.file for figure in figures if figure.file})


def _command(group: Group) -> list[str]:
    commands = {run.summary.get("command") for run in group.info.runs} - {None}
    return [f"command: {commands.pop()}"] if len(commands) == 1 else []


def chart(figure: Figure, runs: Runs) -> dict:
    """`figure` as a plotly figure specification: one chart, a grid of panels sharing their axes, or bars."""
    if figure.gap:
        return _bars(figure, runs)
    if figure.grid:
        return _grid(figure, runs)
    layout = {"title": {"text": figure.title}, "height": 420, "xaxis": {"title": {"text": figure.xlabel}},
              "yaxis": {"title": {"text": figure.ylabel}, **({"type": "log", "dtick": 1} if figure.log_y else {})}}
    data = [trace for line in lines(figure, runs) for trace in _traces(line, figure.log_y)]
    return {"name": figure.name, "data": data, "layout": layout}


def _traces(line: Line, log_y: bool, axes: tuple[str, str] = ("x", "y")) -> list[dict]:
    """A line's mean, after its band of ± one std when it has several runs."""
    color = PALETTE[line.color % len(PALETTE)]
    place = {"xaxis": axes[0], "yaxis": axes[1], "legendgroup": line.label}
    traces = []
    if line.runs > 1:
        low, high = line.band(log_y)
        traces.append({"type": "scatter", "x": numbers(np.concatenate([line.x, line.x[::-1]])),
                       "y": numbers(np.concatenate([high, low[::-1]])), "fill": "toself",
                       "fillcolor": _faint(color), "line": {"width": 0}, "hoverinfo": "skip", "showlegend": False,
                       "name": f"{line.label} ± std", **place})
    traces.append({"type": "scatter", "mode": "lines", "x": numbers(line.x), "y": numbers(line.mean),
                   "name": line.name, "line": {"color": color, "width": 2, "dash": "dash" if line.dashed else "solid"},
                   "showlegend": line.legend, **place})
    return traces


def _grid(figure: Figure, runs: Runs) -> dict:
    titles = [title for title, _ in panels(figure, runs)]
    cols = max(1, min(figure.cols, len(titles)))
    rows = max(1, -(-len(titles) // cols))
    gap_x, gap_y = 0.03, 0.12 / rows
    layout: dict[str, Any] = {"title": {"text": figure.title}, "height": 90 + 230 * rows, "annotations": [],
                              "margin": {"t": 80}}
    for k, title in enumerate(titles):
        r, c = divmod(k, cols)
        suffix = "" if k == 0 else str(k + 1)
        layout[f"xaxis{suffix}"] = {"domain": [c / cols + gap_x, (c + 1) / cols - gap_x], "anchor": f"y{suffix}",
                                    **({"matches": "x"} if k else {}), "showticklabels": r == rows - 1,
                                    **({"title": {"text": figure.xlabel}} if r == rows - 1 else {})}
        top = 1 - r / rows
        layout[f"yaxis{suffix}"] = {"domain": [top - 1 / rows + gap_y, top - gap_y / 2], "anchor": f"x{suffix}",
                                    **({"range": list(figure.ylim)} if figure.ylim else {}), "showticklabels": c == 0,
                                    **({"title": {"text": figure.ylabel}} if c == 0 else {})}
        layout["annotations"].append({"text": title, "showarrow": False, "xref": f"x{suffix} domain",
                                      "yref": f"y{suffix} domain", "x": 0.5, "y": 1.0, "yanchor": "bottom",
                                      "font": {"size": 12}})
    data = []
    for line in lines(figure, runs):
        suffix = "" if line.panel == 0 else str(line.panel + 1)
        data += _traces(line, figure.log_y, (f"x{suffix}", f"y{suffix}"))
    return {"name": figure.name, "data": data, "layout": layout}


def _bars(figure: Figure, runs: Runs) -> dict:
    bars = gaps(figure, runs)
    names, means, spread = (list(column) for column in zip(*bars)) if bars else ([], [], [])
    data = [{"type": "bar", "x": names, "y": numbers(np.array(means)), "name": " − ".join(figure.y),
             "error_y": {"type": "data", "array": numbers(np.array(spread)), "visible": True},
             "marker": {"color": [PALETTE[i % len(PALETTE)] for i in range(len(names))]},
             "text": [f"{g:.1%}" for g in means], "textposition": "outside"}] if bars else []
    layout = {"title": {"text": figure.title}, "height": 360,
              "yaxis": {"title": {"text": figure.ylabel}, "tickformat": ".0%"}}
    return {"name": figure.name, "data": data, "layout": layout}


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
