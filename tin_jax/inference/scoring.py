"""A checkpoint as a scoring function: its model rebuilt from the workdir alone (the model
spec every checkpoint carries), its weights restored, and the per-pair forward pass that
evaluate.py, predict.py and ``python -m tin_jax.nis`` share.

Needs no converted dataset and no ``configs/``: only a checkpoint written before checkpoints
carried their spec, or weights imported with ``config.init_from``, read the dataset's
metadata.json (``config.data.dir``) to know the class count.
"""

from __future__ import annotations

import json
import logging
import os
from typing import NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
from jax.sharding import NamedSharding, PartitionSpec as P

from tin_jax.checkpoints import init_from
from tin_jax.data import input_pipeline as ip
from tin_jax.models.tin import hoi_scores
from tin_jax.state import model as state_model, spec as model_spec, store

IMPORTED = "imported"  # the step of config.init_from's weights (eval_imported/)


class LoadedModel(NamedTuple):
    """A restored model: its spec, graph, weights and checkpoint step (or :data:`IMPORTED`)."""
    spec: model_spec.ModelSpec
    parts: state_model.ModelParts
    params: dict
    stats: dict
    step: int | str


def imports_weights(config, workdir: str) -> bool:
    """True when ``workdir`` holds no checkpoint and ``config.init_from`` gives the weights
    instead (e.g. the released TIN weights, evaluated without training)."""
    return bool(config.get("init_from")) and not config.eval.checkpoint_step \
        and init_from.latest_step(workdir) is None


def _dataset_metadata(config, why: str) -> dict:
    if not config.data.get("dir"):
        raise FileNotFoundError(f"{why}: give the converted dataset with --config.data.dir")
    return ip.load_info(config.data.dir).metadata


def checkpoint_spec(config, workdir: str, step: int) -> model_spec.ModelSpec:
    """The spec saved with ``workdir``'s checkpoint ``step``; for a checkpoint written before
    checkpoints carried one, the spec of ``config`` on ``config.data.dir``."""
    spec = store.read_spec(workdir, step)
    if spec is not None:
        return spec
    logging.warning("%s: a checkpoint without its model spec; rebuilding the model from --config "
                    "and %s", workdir, config.data.get("dir"))
    metadata = _dataset_metadata(config, f"{workdir}: its checkpoint does not say its model")
    return model_spec.spec_of(config, metadata)


def load_model(config, workdir: str, repl, *, check_config: bool = True) -> LoadedModel:
    """``workdir``'s checkpoint (the latest, or ``config.eval.checkpoint_step``) with the model
    its spec describes. A workdir without one takes ``config.init_from``'s weights (a TIN TF
    checkpoint or another workdir), step :data:`IMPORTED`. ``check_config``: a ``config.model``
    that describes another network than the checkpoint's is a SpecMismatchError."""
    imported = imports_weights(config, workdir)
    step = config.eval.checkpoint_step or init_from.latest_step(workdir)
    if step is None and not imported:
        raise FileNotFoundError(f"{workdir}: no checkpoint to evaluate (train first, or evaluate "
                                "imported weights with --config.init_from=<TIN checkpoint>)")
    if imported:
        kind = init_from.resolve_kind(config.init_from, config.get("init_kind", "auto"))
        if kind not in init_from.FULL_MODEL_KINDS:
            raise init_from.InitFromError(
                f"{config.init_from}: a {kind} checkpoint holds a backbone, no HOI heads to "
                "evaluate: give evaluate.py a TIN checkpoint or a workdir (or train from it first)")
        spec = model_spec.spec_of(config, _dataset_metadata(config, f"{config.init_from}: imported weights"))
    else:
        spec = checkpoint_spec(config, workdir, step)
        if check_config:
            model_spec.check_config(config, spec, workdir)
    parts, params, stats = state_model.build(spec.model, config.seed, repl, initialise=False)
    target = state_model.abstract(dict(params=params, stats=stats), repl)
    if imported:
        params, stats = init_from.load_initial_weights(config, parts, params, stats, target)
        return LoadedModel(spec, parts, *jax.device_put((params, stats), repl), IMPORTED)
    got = store.restore_weights(workdir, target, step)
    return LoadedModel(spec, parts, got["params"], got["stats"], step)


def predict_fn(parts, params, stats):
    """Per pair: ``hoi_scores`` (TIN's test score), ``binary`` (D's sigmoids, zeros without D)
    and ``human_scores`` = sigmoid(H), which depends on the human alone (V-COCO's agent score
    for the object-less actions; the original ran a separate human-only pass for it).
    A D-only model (TPAMI's part-level D, configs/rcd3.py) gives zero HOI and human scores."""
    @jax.jit
    def fn(image, image_hw, human_boxes, object_boxes, patterns, part_boxes, human_index=None,
           object_index=None):
        model = parts.merge(params, stats)
        logits = model(image, image_hw, human_boxes, object_boxes, patterns, part_boxes=part_boxes,
                       human_index=human_index, object_index=object_index, train=False)
        zeros = lambda c: jnp.zeros(patterns.shape[:2] + (c,), jnp.float32)
        binary = jax.nn.sigmoid(logits["binary"]) if "binary" in logits else zeros(2)
        if "sp" not in logits:
            c = model.cfg.num_classes
            return dict(hoi_scores=zeros(c), binary=binary, human_scores=zeros(c))
        return dict(hoi_scores=hoi_scores(logits), binary=binary,
                    human_scores=jax.nn.sigmoid(logits["H"]))
    return fn


def d_model_config(config, d_workdir: str) -> ml_collections.ConfigDict:
    """The config to restore a separate D model with: ``config`` (its dataset, seed) pointed
    at the D run's newest checkpoint, its model fields from that run's config.json (used only
    when the checkpoint predates model specs)."""
    path = os.path.join(d_workdir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: missing; config.eval.d_workdir must be a train.py workdir")
    with open(path) as f:
        saved = json.load(f)
    d = ml_collections.ConfigDict(config.to_dict())
    d.model.update(saved.get("model", {}))
    d.seed = saved.get("seed", d.seed)
    d.init_from = ""
    d.eval.checkpoint_step = 0
    return d


def _with_separate_d(config, main_fn, mesh):
    """``main_fn`` with D's scores replaced by those of the model in ``config.eval.d_workdir``
    (the released TIN numbers took D from another run; TPAMI's RCD_3 from its part-level D)."""
    d = load_model(d_model_config(config, config.eval.d_workdir), config.eval.d_workdir,
                   NamedSharding(mesh, P()), check_config=False)
    if not d.spec.model.interactiveness:
        raise ValueError(f"{config.eval.d_workdir}: config.eval.d_workdir holds a model without D")
    d_fn = predict_fn(d.parts, d.params, d.stats)

    def fn(*args):
        return dict(main_fn(*args), binary=d_fn(*args)["binary"])
    return fn


def uses_nis(config, spec: model_spec.ModelSpec) -> bool:
    """NIS needs D: the model's own, or a separate one."""
    return bool(config.eval.nis and (config.eval.d_workdir or spec.model.interactiveness))


def inference_options(config) -> dict:
    """Slot size, image buckets and resize of every forward pass over pairs (evaluate.py,
    predict.py, python -m tin_jax.nis): the same as training's."""
    return dict(pairs_per_slot=config.eval.pairs_per_slot, boxes_per_slot=config.eval.boxes_per_slot,
                buckets=tuple(tuple(b) for b in config.data.image_buckets),
                max_long_side=config.data.max_long_side or None)


def scoring_fn(config, parts, params, stats, mesh):
    """``predict_fn`` of a checkpoint, D's scores taken from ``config.eval.d_workdir`` when set
    (evaluate.py and predict.py alike)."""
    fn = predict_fn(parts, params, stats)
    return _with_separate_d(config, fn, mesh) if config.eval.d_workdir else fn
