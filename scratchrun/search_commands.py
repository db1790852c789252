"""`scratchrun search`: rounds of random trials on the validation set, the ranges narrowed between rounds."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Annotated

import typer
import yaml

from .cli import EXIT_SIGINT, DataDir, _fail, app, check_data_dir, console, out
from .errors import ConfigError, ScratchrunError
from .study_commands import Jobs, Overrides, RunsDir


@app.command()
def search(
    config: Annotated[Path, typer.Argument(help="A config with a search: section.", show_default=False)],
    overrides: Overrides = None,
    trials: Annotated[int | None, typer.Option("--trials", min=1, help="Trials per round (default: the config's).", show_default=False)] = None,
    jobs: Jobs = 0,
    runs_dir: RunsDir = Path("runs"),
    data_dir: DataDir = None,
) -> None:
    """Random search (chapter 6.5): sample every range, train briefly, score on the validation set, narrow, repeat."""
    from dataclasses import replace

    from .config import config_from_dict, dump_yaml, load_config, parse_yaml, to_dict
    from .executor import preload, run_all
    from .runs import create_run_dir
    from .schema import is_config_key
    from .search import best_trials, describe, narrow, parse_search, sample, trial_seed
    from .studies import RunSpec, set_dotted

    try:
        base_config = load_config(config, overrides or [])
        raw = parse_yaml(config.read_text(encoding="utf-8"), str(config))
        if "search" not in raw:
            raise ConfigError(f"{config} has no search: section; add one (see README, \"Hyper-parameter search\").")
        plan = parse_search(raw["search"], str(config), is_config_key)
        if plan.prune is not None:  # say so rather than silently train every trial to the end
            raise ConfigError(f"{config}: search.prune (successive halving) is not implemented yet; remove it to "
                              "train every trial for its full budget.")
        plan = replace(plan, trials=trials or plan.trials)
        base = to_dict(base_config)

        def make_spec(trial: int, space) -> tuple[RunSpec, dict]:
            values = sample(space, base_config.seed, trial)
            run = copy.deepcopy(base)
            for key, value in values.items():
                set_dotted(run, key, value)
            run["seed"], run["name"] = trial_seed(base_config.seed, trial), f"trial-{trial:03d}"
            return RunSpec(trial, f"trial-{trial:03d}", run["seed"], config_from_dict(run, f"{config} (trial {trial})")), values

        make_spec(0, plan.space)  # a bad value fails here, before any folder exists
        check_data_dir(data_dir)
        preload(base_config.data.dataset, data_dir)
        folder = create_run_dir(runs_dir, f"search-{base_config.name}")
    except ScratchrunError as e:
        _fail(e)
    (folder / "search.yaml").write_text(yaml.safe_dump({"search": raw["search"], "base": base}, sort_keys=False), encoding="utf-8")
    workers = jobs or os.cpu_count() or 1
    rows, ranges, space = [], [], plan.space
    try:
        for round_number in range(1, plan.rounds + 1):
            ranges.append({"round": round_number, **describe(space)})
            first = (round_number - 1) * plan.trials
            made = [make_spec(first + i, space) for i in range(plan.trials)]
            values = {spec.index: v for spec, v in made}
            console.print(f"round {round_number}/{plan.rounds}: {plan.trials} trials on {workers} worker(s); ranges "
                          + "; ".join(f"{k} {v}" for k, v in describe(space).items()))

            def report(result, round_number=round_number, values=values) -> None:
                final = result.summary.get("final") or {}
                rows.append({"trial": result.index, "round": round_number, **values[result.index], "status": result.status,
                             plan.metric: final.get(plan.metric), "epochs": result.summary.get("epochs"),
                             "seconds": result.summary.get("wall_time_s"), "run_dir": Path(result.run_dir).name})
                best = best_trials(rows, plan.metric, 1)
                score = final.get(plan.metric)
                console.print(f"  trial {result.index:3d}: {result.status}, {plan.metric} "
                              + ("-" if score is None else f"{score:.4f}")
                              + (f" (best so far {best[0][plan.metric]:.4f}, trial {best[0]['trial']})" if best else ""))

            run_all([spec for spec, _ in made], folder, data_dir, workers, report, evaluate_test=False)
            if round_number < plan.rounds:
                old = describe(space)
                space = narrow(space, best_trials(rows, plan.metric, plan.keep))
                for key, new in describe(space).items():
                    console.print(f"  {key}: {old[key]} → {new}")
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted:[/] {len(rows)} trials finished; they are in {folder}")
        _write_search(folder, rows, ranges, plan, base, None)
        raise typer.Exit(EXIT_SIGINT) from None
    best = best_trials(rows, plan.metric, 1)
    best_config = load_config(folder / best[0]["run_dir"] / "config.yaml") if best else None
    _write_search(folder, rows, ranges, plan, base, best_config and dump_yaml(best_config))
    if best:
        out.print(f"best: trial {best[0]['trial']}, {plan.metric} {best[0][plan.metric]:.4f}: "
                  + ", ".join(f"{d.key} = {best[0][d.key]:.3g}" if isinstance(best[0][d.key], float) else f"{d.key} = {best[0][d.key]}"
                              for d in plan.space))
    out.print(str(folder), soft_wrap=True)


def _write_search(folder: Path, rows: list, ranges: list, plan, base: dict, best_yaml: str | None) -> None:
    """trials.csv, ranges.csv, best.yaml and the figures."""
    from .study_folder import write_csv
    from .study_plots import search_figure, top_figure

    keys = [d.key for d in plan.space]
    rows = sorted(rows, key=lambda r: r["trial"])
    write_csv(folder / "trials.csv", rows, ["trial", "round", *keys, "status", plan.metric, "epochs", "seconds", "run_dir"])
    write_csv(folder / "ranges.csv", ranges, ["round", *keys])
    if best_yaml:
        (folder / "best.yaml").write_text(best_yaml, encoding="utf-8")
    if rows:
        search_figure(folder / "search.png", rows, plan)
        top_figure(folder / "top.png", folder, rows, plan.metric)
