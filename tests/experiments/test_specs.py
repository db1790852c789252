"""Study specs: the pure expansion of variants and seeds into run configs, and the sweep grid (experiments/specs.py)."""

from __future__ import annotations

import pytest

from scratchrun.config.loader import Config, config_from_dict, to_dict
from scratchrun.errors import ConfigError
from scratchrun.experiments.specs import Variant, expand, grid, parse_axis, run_folder_name, run_name, variant_of
from scratchrun.records.writer import safe_name

BASE = to_dict(config_from_dict({"name": "base", "optimizer": {"name": "adam", "lr": 0.002}, "train": {"epochs": 2}}))


def test_expand_gives_every_variant_every_seed_with_shared_seeds():
    variants = [Variant("sgd", (("optimizer.name", "sgd"),)), Variant("adam", (("optimizer.name", "adam"),))]
    specs = expand(BASE, variants, [0, 1])
    assert [(s.variant, s.seed) for s in specs] == [("sgd", 0), ("sgd", 1), ("adam", 0), ("adam", 1)]
    assert [s.index for s in specs] == [0, 1, 2, 3]
    assert all(isinstance(s.config, Config) for s in specs)
    assert [s.config.seed for s in specs] == [0, 1, 0, 1]  # variants of one seed share it
    assert specs[0].config.optimizer.name == "sgd" and dict(specs[0].config.optimizer.params) == {"lr": 0.002}
    assert specs[2].config.optimizer.params["beta1"] == 0.9
    assert specs[0].config.model == specs[2].config.model and specs[0].config.data == specs[2].config.data
    assert specs[1].config.name == "sgd-seed1"


def test_expand_is_pure():
    variants = [Variant("x", (("model.hidden", [10]),))]
    before = repr(BASE)
    assert expand(BASE, variants, [3]) == expand(BASE, variants, [3])
    assert repr(BASE) == before


def test_setting_iterations_clears_epochs():
    (spec,) = expand(BASE, [Variant("it", (("train.iterations", 50),))], [0])
    assert (spec.config.train.epochs, spec.config.train.iterations) == (None, 50)


def test_grid_names_say_what_varies():
    axes = [parse_axis("optimizer.name=sgd,adam"), parse_axis("train.batch_size=32,128"), parse_axis("seed=4")]
    assert [v.name for v in grid(axes)] == ["sgd-32", "sgd-128", "adam-32", "adam-128"]
    assert grid(axes)[1].overrides == (("optimizer.name", "sgd"), ("train.batch_size", 128), ("seed", 4))
    assert parse_axis("model.hidden=[100,100],[50]") == ("model.hidden", [[100, 100], [50]])
    assert [v.name for v in grid([parse_axis("model.hidden=[100,100],[50]")])] == ["100x100", "50"]
    assert [v.name for v in grid([])] == ["base"]


@pytest.mark.parametrize("axis", ["optimizer.name", "=1,2", "model..x=1", "a.b=[1,"])
def test_malformed_axes_are_config_errors(axis):
    with pytest.raises(ConfigError):
        parse_axis(axis)


def test_a_bad_value_in_a_variant_is_named():
    with pytest.raises(ConfigError, match="variant rleu.*model.activation = `rleu`"):
        expand(BASE, grid([parse_axis("model.activation=relu,rleu")]), [0])


@pytest.mark.parametrize("variant, seed", [("sgd", 0), ("optimizer.lr=0.01", 12), ("lr-seed3", 1)])
def test_a_run_name_reads_back_as_its_variant(variant, seed):
    """The parser lives next to the writer: what run_name and run_folder_name write, variant_of reads back (the
    folder's variant as a file name has it)."""
    assert variant_of(run_name(variant, seed)) == variant
    assert variant_of(run_folder_name(variant, seed)) == safe_name(variant)


@pytest.mark.parametrize("name", ["trial-003", "sgd-seed", "sgd-seed1x", "seed1"])
def test_a_name_run_name_did_not_write_reads_back_as_it_is(name):
    assert variant_of(name) == name
