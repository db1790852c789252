"""One run end to end (training/run.py): a run stopped early repeats the start of the full run."""

from __future__ import annotations


def test_a_run_stopped_early_is_exactly_the_start_of_the_full_run(tiny, tmp_path):
    """What lets successive halving retrain a promoted trial from scratch: the prefix repeats to the last digit."""
    from scratchrun.config.loader import config_from_dict
    from scratchrun.data.registry import load_raw
    from scratchrun.training.run import run_experiment

    config = config_from_dict({"name": "r", "data": {"dataset": "tiny", "val_fraction": 0.2}, "model": {"hidden": [16], "dropout": 0.2},
                               "train": {"epochs": 4, "batch_size": 32, "lr_schedule": "cosine"}})
    raw = load_raw("tiny", tiny)
    full = run_experiment(config, raw, tmp_path / "full", evaluate_test=False)
    part = run_experiment(config, raw, tmp_path / "part", evaluate_test=False, stop_epochs=2)
    assert (full.status, part.status, part.summary["epochs"]) == ("completed", "stopped", 2)
    full_steps = (full.run_dir / "steps.csv").read_text().splitlines()
    part_steps = (part.run_dir / "steps.csv").read_text().splitlines()
    assert part_steps == full_steps[: len(part_steps)] and len(part_steps) < len(full_steps)
    metrics = lambda run: [line.rsplit(",", 1)[0] for line in (run.run_dir / "metrics.csv").read_text().splitlines()]
    assert metrics(part) == metrics(full)[: len(metrics(part))]
    assert part.summary["final"]["test_acc"] is None
