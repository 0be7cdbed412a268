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
