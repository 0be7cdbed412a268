"""The model spec a checkpoint carries: its JSON round trip, specs written before a field
existed, and the conflict check of a --config against it."""

from __future__ import annotations

import json
import re

import pytest

from configs import tin_hico
from tin_jax.models.resnet import RESNET50_UNITS
from tin_jax.state import spec as model_spec

METADATA = dict(dataset="hico", num_labels=600, train_pair_counts=[12] * 599 + [3])


def _spec(**model):
    config = tin_hico.get_config()
    config.model.update(model)
    return config, model_spec.spec_of(config, METADATA)


def test_the_spec_survives_json_and_names_its_network():
    _, spec = _spec(width=4, resnet_units=(1, 2, 1, 1), dtype="bfloat16")
    back = model_spec.ModelSpec.from_json(json.loads(model_spec.dumps(spec)), "here")
    assert back == spec and back.model.resnet_units == (1, 2, 1, 1)
    assert back.classes.rare == (599,)


def test_a_spec_written_before_resnet_units_is_resnet_50():
    _, spec = _spec()
    assert spec.model.resnet_units == RESNET50_UNITS  # configs/common.py spells the same units
    old = json.loads(model_spec.dumps(spec))
    del old["model"]["resnet_units"]
    assert model_spec.ModelSpec.from_json(old, "here").model.resnet_units == RESNET50_UNITS == (3, 4, 6, 3)


def test_the_conflicts_are_the_fields_that_differ():
    config, spec = _spec(width=4, resnet_units=(1, 1, 1, 1))
    assert model_spec.config_conflicts(config, spec) == []
    config.model.resnet_units = (3, 4, 6, 3)
    config.model.fc_dim = 32
    assert model_spec.config_conflicts(config, spec) == [
        "model.fc_dim 32 (--config) vs 1024 (checkpoint)",
        "model.resnet_units (3, 4, 6, 3) (--config) vs (1, 1, 1, 1) (checkpoint)"]


@pytest.mark.parametrize("units", [(1, 1, 1, 1, 1, 2, 1, 1), (1, 0, 1, 1), (1, 1, 1)])
def test_resnet_units_other_than_four_counts_are_refused(units):
    config = tin_hico.get_config()
    config.model.resnet_units = units
    with pytest.raises(ValueError, match=r"config.model.resnet_units: four unit counts >= 1 .*got "
                                         + re.escape(str(units))):
        model_spec.spec_of(config, METADATA)
