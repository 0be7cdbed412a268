"""Every config file loads, and its variant switches mean what the docs say."""

from __future__ import annotations

import glob
import importlib
import os

import pytest

from tests.conftest import ROOT

CONFIGS = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "configs", "*.py"))
                 if not os.path.basename(p).startswith(("_", "common")))


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("arg", [None, "runlocal"])
def test_config_loads(name, arg):
    mod = importlib.import_module(f"configs.{name}")
    c = mod.get_config(arg)
    assert c.total_steps > 0 and c.optim.clip_norm == 1.0 and c.optim.weight_decay == 0.0


def test_variant_switches():
    from configs import common, d_only, rc_d, rp_d_c_d, tin_hico, tin_vcoco
    assert tin_hico.get_config().model.interactiveness and tin_hico.get_config().optim.schedule == "sgdr"
    assert not rc_d.get_config().model.interactiveness and "binary" not in rc_d.get_config().loss.terms
    assert rp_d_c_d.get_config("phase=pretrain").loss.terms == ("H", "O", "sp")
    with pytest.raises(ValueError):
        rp_d_c_d.get_config("phase=nope")
    assert d_only.get_config().loss.terms == ("binary",)
    assert tin_vcoco.get_config().optim.schedule == "exponential"
    assert common.parse_arg("runlocal,steps=7", runlocal=False, steps=1).steps == 7


def test_demo_size_keeps_each_variant_and_changes_only_the_size():
    """``:demo`` (benchmarks/ablation.py, configs/demo.py) sizes a variant for 2 CPU cores; what
    makes the variant (D or not, loss terms, NIS) stays."""
    from configs import common, demo, rc_d, rp_d_c_d, tin_hico
    for mod, arg in ((tin_hico, None), (rc_d, None), (rp_d_c_d, "phase=pretrain")):
        full = mod.get_config(arg)
        small = mod.get_config(f"{arg},demo" if arg else "demo")
        assert small.model.width == 8 and small.optim.name == "adam" and not small.model.d_negative_copy
        assert small.optim.first_decay_steps == small.total_steps  # one cosine over the run
        for key in ("model.interactiveness", "loss.terms", "eval.nis", "data.no_interaction_binary"):
            section, leaf = key.split(".")
            assert small[section][leaf] == full[section][leaf], key
    c = demo.get_config("steps=40")
    assert c.total_steps == c.optim.first_decay_steps == 40 and c.eval_every == 10
    assert common.base_config().optim.name == "momentum" and common.base_config().model.d_negative_copy
