"""``config.init_from``: a model's weights from outside the run, for train.py (its initialisation)
and evaluate.py (imported weights evaluated as they are). Imports nothing of training.

Kinds (``config.init_kind``; ``'auto'`` tells them apart):

- ``'workdir'``: one of our train.py workdirs (a folder with ``checkpoints/``): the parameters
  and statistics of its latest checkpoint;
- ``'tf_tin'``: a TF checkpoint of TIN's own graph (the released ``HOI_iter_*.ckpt``, a TF
  checkpoint holding ``classification/...``): every weight, heads included
  (:mod:`~tin_jax.checkpoints.tin_import`); a model without D leaves D's variables out;
- ``'tf_resnet'``: a TF-slim ``resnet_v1_50`` checkpoint (ImageNet, or tf-faster-rcnn's
  detector): the backbone and both res5 streams, the object stream's ``block5`` from the
  checkpoint's ``block4`` when it has none (TIN's ``Restore_flag=5``); the heads keep their
  initialisation;
- ``'torch_resnet'``: a torchvision ResNet-50 state dict (``.pth``/``.pt``/``.safetensors``,
  by extension): the same parts as ``'tf_resnet'``, ``layer1..4`` into ``block1..4`` and
  ``layer4`` into ``block5`` as well. torchvision's network reads RGB in [0, 1] normalised by
  the ImageNet mean and std, TIN's reads BGR minus the Caffe means (0..255): the conversion
  is folded into ``conv1`` (channels reversed, divided by 255 std; the constant offset goes
  into its BN mean) and the BN variances are shifted for slim's eps, so the stem computes
  torchvision's stem on TIN's input (exactly, away from the image border). The units keep
  slim's layout (stride on the last unit of a block), so deeper features are an
  initialisation, not torchvision's own.

Only ``'workdir'`` and ``'tf_tin'`` hold a whole model (:data:`FULL_MODEL_KINDS`). Every
problem is an :class:`InitFromError`: one line naming the source.
"""

from __future__ import annotations

import logging
import os

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from tin_jax.models.resnet import SLIM_BN_EPS, TORCH_BN_EPS, FrozenStat
from tin_jax.state import model as state_model, store

KINDS = ("auto", "workdir", "tf_tin", "tf_resnet", "torch_resnet")
FULL_MODEL_KINDS = ("workdir", "tf_tin")  # a whole TIN; the other kinds fill the backbone only
TORCH_EXTENSIONS = (".pth", ".pt", ".safetensors")
# torchvision's input normalisation (RGB in [0, 1]) and TIN's (BGR minus these, 0..255).
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)


class InitFromError(ValueError):
    """``config.init_from`` cannot give this config's model its weights (one line)."""


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


# -- our workdirs ----------------------------------------------------------------------------

def latest_step(workdir: str) -> int | None:
    return store.latest_step(workdir)


# -- which kind ------------------------------------------------------------------------------

def resolve_kind(src: str, kind: str = "auto") -> str:
    """``kind``, or for ``'auto'`` the kind of ``src``: a folder with ``checkpoints/`` is a
    workdir, ``.pth``/``.pt``/``.safetensors`` a torchvision state dict, a TF checkpoint with
    TIN's classifiers ``tf_tin``, any other TF checkpoint ``tf_resnet``."""
    if kind not in KINDS:
        raise InitFromError(f"unknown init_kind {kind!r}: use {', '.join(repr(k) for k in KINDS)}")
    if kind != "auto":
        return kind
    if os.path.isdir(os.path.join(src, "checkpoints")):
        return "workdir"
    if src.endswith(TORCH_EXTENSIONS):
        return "torch_resnet"
    return "tf_tin" if any(n.startswith("classification/") for n in _tf_names(src)) else "tf_resnet"


def _tf_names(path: str) -> dict:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    try:
        return tf.train.load_checkpoint(path).get_variable_to_shape_map()
    except Exception as e:  # TF raises several types for a bad path
        raise InitFromError(f"{path}: not a TF checkpoint, a torchvision state dict "
                            f"({'/'.join(TORCH_EXTENSIONS)}) or one of our workdirs "
                            f"({_first_line(e)})") from None


# -- loading ---------------------------------------------------------------------------------

def load_initial_weights(config, parts, params: dict, stats: dict,
                         workdir_abstract: dict | None = None) -> tuple[dict, dict]:
    """``(params, stats)`` of ``config.init_from`` (kind ``config.init_kind``) as pure dicts,
    starting from ``params``/``stats`` (the model's initialisation, kept where the source has
    nothing: the heads of a ResNet checkpoint; ShapeDtypeStructs for a whole-model source, see
    ``state_model.build(initialise=False)``). ``parts``: ``train_step.ModelParts``.
    ``workdir_abstract``: the restore target of a workdir source (default: the shapes and
    shardings of ``params``/``stats``)."""
    src = config.init_from
    kind = resolve_kind(src, config.get("init_kind", "auto"))
    if kind == "workdir":
        if latest_step(src) is None:
            raise InitFromError(f"{src}: init_from workdir holds no checkpoint")
        abstract = workdir_abstract or state_model.abstract(dict(params=params, stats=stats))
        try:
            got = store.restore_weights(src, abstract)
        except Exception as e:  # orbax raises several types for a tree that does not fit
            raise InitFromError(f"{src}: its checkpoint does not fit this config's model "
                                f"({_first_line(e)})") from None
        return got["params"], got["stats"]
    from tin_jax.checkpoints.assign import CheckpointMismatchError  # pylint: disable=g-import-not-at-top
    if any(isinstance(x, jax.ShapeDtypeStruct) for x in jax.tree.leaves((params, stats))):
        if kind not in FULL_MODEL_KINDS:  # nothing would fill the heads
            raise InitFromError(f"{src}: a {kind} checkpoint fills the backbone only; the heads "
                                "need initialised parameters")
        model = parts.merge(params, stats)  # abstract: every leaf comes from the checkpoint
    else:
        model = parts.merge(*jax.tree.map(jnp.asarray, jax.device_get((params, stats))))
    try:
        if kind == "tf_tin":
            report = _load_tf_tin(src, model)
        elif kind == "tf_resnet":
            report = _load_tf_resnet(src, model)
        else:
            report = _load_torch_resnet(src, model)
    except CheckpointMismatchError as e:
        logging.warning("%s", e)  # the full list, above the one-line error
        raise InitFromError(_mismatch_line(src, kind, model.cfg, e)) from None
    except Exception as e:  # unreadable: TF, torch, pickle and safetensors raise their own types
        raise InitFromError(f"{src}: cannot read it as {kind} ({_first_line(e)})") from e
    logging.warning("loaded %s", report)
    _, p, s, _ = nnx.split(model, nnx.Param, FrozenStat, ...)
    return nnx.to_pure_dict(p), nnx.to_pure_dict(s)


def _mismatch_line(src: str, kind: str, cfg, e) -> str:
    counts = [f"{len(x)} {what}" for x, what in (
        (e.shape_mismatch, "shape mismatch(es)"), (e.unfilled, "parameter(s) not in it"),
        (e.unmatched, "variable(s) the model does not have")) if x]
    first = (e.shape_mismatch or e.unfilled or e.unmatched or [""])[0]
    return (f"{src}: a {kind} checkpoint that does not match this config's model ({cfg.dataset}, "
            f"{cfg.num_classes} classes, width {cfg.width}, resnet_units {tuple(cfg.resnet_units)}, "
            f"fc_dim {cfg.fc_dim}, interactiveness {cfg.interactiveness}, pose_map {cfg.pose_map}, "
            f"part_level {cfg.part_level}): "
            f"{', '.join(counts)}; first: {first}")


def _load_tf_tin(src: str, model):
    from tin_jax.checkpoints import tin_import  # pylint: disable=g-import-not-at-top
    ignore = tuple(tin_import.TIN_TRAINING_STATE)
    if not model.cfg.interactiveness:  # RC_D from a full TIN checkpoint: drop D
        ignore += (r"(fc_binary|binary_classification)/.*",)
    return tin_import.load_tin_checkpoint(src, model, ignore=ignore)


def _load_tf_resnet(src: str, model):
    from tin_jax.checkpoints import tf_import  # pylint: disable=g-import-not-at-top
    return tf_import.load_slim_resnet(
        src, {"backbone": model.backbone, "block5": model.block5},
        block_map={"block5": ("block5", "block4")},
        ignore=tuple(tf_import.TF_TRAINING_STATE) + (r".*/(logits|fc|predictions)/.*",),
        allow_unused=True)


def _slim_path(torch_path: tuple) -> tuple:
    """TorchResNet50 path -> SlimResNet50 path: ``('layer2', 0, 'bn3', 'var')`` ->
    ``('block2', 'unit_1', 'conv3', 'bn', 'var')``; ``downsample`` is slim's ``shortcut``."""
    if torch_path[0] == "conv1":
        return ("conv1", "conv") + torch_path[1:]
    if torch_path[0] == "bn1":
        return ("conv1", "bn") + torch_path[1:]
    layer, index, name, *rest = torch_path
    unit = ("block" + layer[len("layer"):], f"unit_{index + 1}")
    if name == "downsample":
        return unit + ("shortcut", "conv" if rest[0] == 0 else "bn") + tuple(rest[1:])
    conv = "conv" + name[-1]
    return unit + (conv, "conv" if name.startswith("conv") else "bn") + tuple(rest)


def _fold_torch_input(values: dict) -> None:
    """Make ``conv1`` + its BN read TIN's input (BGR minus the Caffe means) as torchvision's
    stem reads normalised RGB: x_t = (rgb / 255 - mean) / std, rgb = bgr[::-1] + means."""
    from tin_jax.schema.image import PIXEL_MEANS_BGR  # pylint: disable=g-import-not-at-top
    std, mean = np.asarray(IMAGENET_STD_RGB, np.float64), np.asarray(IMAGENET_MEAN_RGB, np.float64)
    offset = (np.asarray(PIXEL_MEANS_BGR, np.float64)[::-1] / 255.0 - mean) / std  # per RGB channel
    kernel = np.asarray(values[("conv1", "kernel")], np.float64)  # HWIO, I = RGB
    values[("conv1", "kernel")] = (kernel / (255.0 * std)[None, None, :, None])[:, :, ::-1, :]
    bias = np.einsum("hwio,i->o", kernel, offset)  # what the offset adds to every output
    values[("bn1", "mean")] = np.asarray(values[("bn1", "mean")], np.float64) - bias


def _load_torch_resnet(src: str, model):
    from tin_jax.checkpoints import assign as core  # pylint: disable=g-import-not-at-top
    from tin_jax.checkpoints import torch_import  # pylint: disable=g-import-not-at-top
    from tin_jax.models.resnet import TorchResNet50  # pylint: disable=g-import-not-at-top
    torch_model = nnx.eval_shape(lambda: TorchResNet50(rngs=nnx.Rngs(0)))
    report = torch_import.load_torch_resnet(src, torch_model)  # strict; fc.* skipped
    keys = {path: key for path, (key, _) in torch_import.torch_key_table(torch_model).items()}
    values = {path: np.asarray(v.get_value()) for path, v in nnx.to_flat_state(nnx.state(torch_model))}
    _fold_torch_input(values)
    mapping, sources = {}, {}
    for path, value in values.items():
        if path[-1] == "var":  # sqrt(var + slim eps) = sqrt(var' + torch eps)
            value = np.maximum(value + (TORCH_BN_EPS - SLIM_BN_EPS), 0.0)
        slim = _slim_path(path)
        targets = [("backbone",) + slim] + ([("block5",) + slim[1:]] if slim[0] == "block4" else [])
        for target in targets:
            mapping[core.path_str(target)] = np.asarray(value, np.float32)
            sources[core.path_str(target)] = keys[path]
    core.assign_modules({"backbone": model.backbone, "block5": model.block5}, mapping,
                        sources=sources, source=src)
    return report


__all__ = ["FULL_MODEL_KINDS", "InitFromError", "KINDS", "latest_step", "load_initial_weights",
           "resolve_kind"]
