"""Released TIN checkpoints (TF1 ``Saver``, e.g. ``Weights/TIN_HICO/HOI_iter_1700000.ckpt``) -> TIN.

Every parameter and frozen statistic of :class:`~tin_jax.models.tin.TIN` has exactly one
variable of the original graph (``lib/networks/TIN_HICO.py`` / ``TIN_VCOCO.py``; both
use the same names, only some shapes differ):

======================================  =================================================
model path                              checkpoint variable
======================================  =================================================
``backbone/...``, ``block5/...``        ``resnet_v1_50/{conv1,block1..block5}/...`` (slim
                                        names, see :mod:`~tin_jax.checkpoints.tf_import`)
``sp/conv{1,2}``                        ``resnet_v1_50/conv{1,2}_sp`` (``sp_to_head`` opens
                                        the ``resnet_v1_50`` scope)
``head_phi``, ``head_g``                ``head_phi``, ``head_g``
``Att_{H,O}/fc1_b``                     ``Att_{H,O}/fc1_b``
``bottleneck``                          ``bottleneck/bottleneck`` (``variable_scope(name)``
                                        around ``conv2d(scope=name)``; reused for O)
``{fc8,fc9}_{SH,SO}``, ``Concat_SHsp``,  ``<name>/weights`` + ``<name>/BatchNorm/{gamma,beta,
``fc7_SHsp`` (``FCBN``)                  moving_mean,moving_variance}``; no biases
                                        (``head_to_tail`` opens no variable scope)
``pose_map/conv{1,2}``                  ``fc_binary/conv{1,2}_pose_map``
``fc8_binary_{1,2}``, ``fc9_binary``    ``fc_binary/<name>``
``cls_score_{H,O,sp}``                  ``classification/cls_score_{H,O,sp}``
``cls_score_binary``                    ``binary_classification/cls_score_binary``
======================================  =================================================

Layers outside ``resnet_arg_scope`` are slim defaults: ``weights`` + ``biases``, ReLU, no BN.
The head FCs sit inside it: no bias, frozen BN (gamma, since ``batch_norm_scale=True``), then
ReLU. slim kernels are HWIO (conv) and (in, out) (FC), the layouts of ``nnx.Conv`` /
``nnx.Linear``, so values are copied unchanged.

A training checkpoint also holds the Momentum slots (``<var>/Momentum``) and the global step,
which TIN's solvers create as an unnamed ``tf.Variable`` (checkpoint name ``Variable``);
:data:`TIN_TRAINING_STATE` drops both.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flax import nnx

from tin_jax.checkpoints import assign as core
from tin_jax.checkpoints.tf_import import (
    BN_NAMES,
    TF_TRAINING_STATE,
    CheckpointVariables,
    slim_variable_names,
)
from tin_jax.models.resnet import FrozenBatchNorm, FrozenStat
from tin_jax.models.tin import TIN

SCOPE = "resnet_v1_50"
# The solvers' ``global_step = tf.Variable(iter, trainable=False)`` has no name.
TIN_TRAINING_STATE = (*TF_TRAINING_STATE, r"Variable(_\d+)?")

_FCBN = ("fc8_SH", "fc9_SH", "fc8_SO", "fc9_SO", "Concat_SHsp", "fc7_SHsp")
_LAYER_NAMES = {"kernel": "weights", "bias": "biases"}


def _module_scopes() -> dict[tuple, str]:
    """Model module path -> TF variable scope, for everything but the two ResNets."""
    scopes = {
        ("sp", "conv1"): f"{SCOPE}/conv1_sp",
        ("sp", "conv2"): f"{SCOPE}/conv2_sp",
        ("head_phi",): "head_phi",
        ("head_g",): "head_g",
        ("Att_H", "fc1_b"): "Att_H/fc1_b",
        ("Att_O", "fc1_b"): "Att_O/fc1_b",
        ("bottleneck",): "bottleneck/bottleneck",
        ("pose_map", "conv1"): "fc_binary/conv1_pose_map",
        ("pose_map", "conv2"): "fc_binary/conv2_pose_map",
        ("fc8_binary_1",): "fc_binary/fc8_binary_1",
        ("fc8_binary_2",): "fc_binary/fc8_binary_2",
        ("fc9_binary",): "fc_binary/fc9_binary",
        ("cls_score_binary",): "binary_classification/cls_score_binary",
    }
    for head in ("H", "O", "sp"):
        scopes[(f"cls_score_{head}",)] = f"classification/cls_score_{head}"
    for name in _FCBN:
        scopes[(name, "fc")] = name
        scopes[(name, "BatchNorm")] = f"{name}/BatchNorm"
    return scopes


def _walk(module: nnx.Module, path: tuple) -> Any:
    obj = module
    for key in path:
        obj = obj[key] if isinstance(key, int) else getattr(obj, key)
    return obj


def tin_variable_names(model: TIN) -> dict[tuple, str]:
    """``{param path: checkpoint variable name}`` for every ``nnx.Param`` and ``FrozenStat``.

    Covers the HICO and V-COCO layouts with or without the discriminator; a parameter with
    no known name raises, so a new layer cannot be skipped silently.
    """
    if not isinstance(model, TIN):
        raise TypeError(f"expected TIN, got {type(model).__name__}")
    names: dict[tuple, str] = {}
    for label in ("backbone", "block5"):
        for path, name in slim_variable_names(getattr(model, label)).items():
            names[(label,) + path] = f"{SCOPE}/{name}"
    scopes = _module_scopes()
    unknown = []
    for path, _ in nnx.to_flat_state(nnx.state(model, (nnx.Param, FrozenStat))):
        if path[0] in ("backbone", "block5"):
            continue
        owner, leaf = path[:-1], path[-1]
        scope = scopes.get(owner)
        table = BN_NAMES if isinstance(_walk(model, owner), FrozenBatchNorm) else _LAYER_NAMES
        if scope is None or leaf not in table:
            unknown.append(core.path_str(path))
            continue
        names[path] = f"{scope}/{table[leaf]}"
    if unknown:
        raise TypeError(f"no TIN checkpoint name for: {', '.join(unknown)}")
    if len(set(names.values())) != len(names):  # a wrong table would load one array twice
        raise AssertionError("tin_variable_names maps two parameters to one variable")
    return names


def load_tin_checkpoint(
    checkpoint: str | Any,
    model: TIN,
    *,
    ignore: Iterable[str] = TIN_TRAINING_STATE,
    allow_unused: bool = False,
) -> core.LoadReport:
    """Fill ``model`` (a real or ``nnx.eval_shape`` TIN) in place from a TIN TF checkpoint.

    Args:
        checkpoint: checkpoint prefix / directory, or an open ``CheckpointReader``.
        model: the TIN; its config must match the checkpoint (dataset layout, class count,
            ``interactiveness``, ``pose_map``, ``fc_dim``, ``width=64``).
        ignore: regexes (full match) of checkpoint variables to drop; the default drops the
            optimizer slots and the global step. Loading an RC_D model (no discriminator)
            from a full checkpoint: add ``r'(fc_binary|binary_classification)/.*'``.
        allow_unused: do not fail on checkpoint variables no parameter uses (still reported).

    Returns:
        A :class:`~tin_jax.checkpoints.LoadReport`. Raises
        :class:`~tin_jax.checkpoints.CheckpointMismatchError` listing, in one message, the
        parameters whose variable is missing, the checkpoint variables nothing uses and every
        shape mismatch.
    """
    variables = CheckpointVariables(checkpoint, ignore)
    for path, name in tin_variable_names(model).items():
        variables.take(core.path_str(path), name)
    # Only weights and statistics: the dropout RNG streams are not checkpoint material.
    state = nnx.state(model, (nnx.Param, FrozenStat))
    new_state, report = core.assign_from_mapping(
        state, variables.mapping, sources=variables.sources, unused_sources=variables.unused,
        ignored_sources=variables.ignored, allow_unused=allow_unused, source=str(variables.source))
    nnx.update(model, new_state)
    return report


__all__ = ["TIN_TRAINING_STATE", "load_tin_checkpoint", "tin_variable_names"]
