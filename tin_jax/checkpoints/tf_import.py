"""TF-slim ``resnet_v1_50`` checkpoints (ImageNet, tf-faster-rcnn, TIN) -> SlimResNet50 / Res5.

Variable names are those of the original graph, under ``scope`` (``resnet_v1_50``):

- ``conv1/weights`` and ``conv1/BatchNorm/{gamma,beta,moving_mean,moving_variance}``;
- ``blockK/unit_J/bottleneck_v1/{shortcut,conv1,conv2,conv3}/weights`` and ``.../BatchNorm/*``.

slim kernels are already HWIO, so nothing is transposed. A :class:`SlimBlock` knows its own
``scope`` (``block4``, ``block5``, ...), so a human and an object res5 can be loaded in one call.
``block_map`` redirects a model block to checkpoint blocks; a tuple is a list of candidates, the
first present in the checkpoint wins. TIN's ``Restore_flag=5`` (object res5 ``block5``
initialised from an ImageNet checkpoint's ``block4``) and resuming a TIN checkpoint that already
has ``block5`` are then the same call::

    load_slim_resnet(path, {"trunk": backbone, "res5_o": res5_o},
                     block_map={"block5": ("block5", "block4")}, ignore=TF_TRAINING_STATE)

Reads TF1 (``Saver``) checkpoints and TF2 checkpoints whose keys are these names (e.g. written
with ``tf.compat.v1.train.Saver(var_list={name: var})``); object-based ``tf.train.Checkpoint``
keys (``.../.ATTRIBUTES/VARIABLE_VALUE``) are not slim names and will not match.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from flax import nnx

from tin_jax.checkpoints import assign as core
from tin_jax.models.resnet import Bottleneck, ConvBN, FrozenBatchNorm, SlimBlock, SlimResNet50

# Entries a training checkpoint holds besides weights: optimizer slots and counters.
TF_TRAINING_STATE = (r".*/Momentum", r".*/Adam(_1)?", r"global_step", r"beta[12]_power",
                     r"_CHECKPOINTABLE_OBJECT_GRAPH")
_ALWAYS_SKIPPED = ("_CHECKPOINTABLE_OBJECT_GRAPH",)
BN_NAMES = {"scale": "gamma", "bias": "beta", "mean": "moving_mean", "var": "moving_variance"}


def _child(obj: Any, key: Any) -> Any:
    return obj[key] if isinstance(key, int) else getattr(obj, key)


def _slim_name(module: nnx.Module, path: tuple) -> str:
    """Model path -> slim variable name below the scope, by walking the module types."""
    parts = [module.scope] if isinstance(module, SlimBlock) else []
    obj = module
    for i, key in enumerate(path):
        if isinstance(obj, nnx.Conv):
            parts.append("weights")
            break
        if isinstance(obj, FrozenBatchNorm):
            parts += ["BatchNorm", BN_NAMES[key]]
            break
        child = _child(obj, key)
        if isinstance(child, SlimBlock):
            parts.append(child.scope)
        elif isinstance(child, Bottleneck):
            parts += [str(key), "bottleneck_v1"]
        elif isinstance(child, ConvBN):
            parts.append(str(key))
        elif not isinstance(child, (nnx.Conv, FrozenBatchNorm)):
            raise TypeError(f"no slim name for {core.path_str(path)}: "
                            f"{type(child).__name__} at {key!r}")
        obj = child
    return "/".join(parts)


def slim_variable_names(module: nnx.Module) -> dict[tuple, str]:
    """``{param path: slim name without scope}`` for a SlimResNet50 or SlimBlock/Res5."""
    if not isinstance(module, (SlimResNet50, SlimBlock)):
        raise TypeError(f"expected SlimResNet50 or SlimBlock, got {type(module).__name__}")
    return {path: _slim_name(module, path) for path, _ in nnx.to_flat_state(nnx.state(module))}


def open_tf_checkpoint(path: str) -> Any:
    """``tf.train.load_checkpoint`` (a checkpoint prefix or a directory with a ``checkpoint`` file)."""
    import tensorflow as tf  # noqa: PLC0415 - heavy, only needed here

    try:
        return tf.train.load_checkpoint(path)
    except (ValueError, tf.errors.OpError) as e:
        raise FileNotFoundError(f"cannot read TF checkpoint {path}: {e}") from e


class CheckpointVariables:
    """A TF checkpoint's variables minus the ignored ones, handed out to parameters by name.

    Collects what :func:`tin_jax.checkpoints.assign_from_mapping` needs: the arrays
    (``mapping``), where each parameter came from or why it did not (``sources``), and the
    variables nothing took (``unused``).
    """

    def __init__(self, checkpoint: str | Any, ignore: Iterable[str]):
        self.reader = open_tf_checkpoint(checkpoint) if isinstance(checkpoint, str) else checkpoint
        self.source = checkpoint if isinstance(checkpoint, str) else "TF checkpoint"
        patterns = core.compile_patterns(ignore)
        shapes = self.reader.get_variable_to_shape_map()
        self.ignored = {n for n in shapes if n in _ALWAYS_SKIPPED or core.matches_any(n, patterns)}
        self.available = set(shapes) - self.ignored
        self.mapping: dict[str, np.ndarray] = {}
        self.sources: dict[str, str] = {}
        self._used: set[str] = set()

    def take(self, key: str, name: str) -> None:
        """Parameter ``key`` from variable ``name``, or a note saying why not (for the error)."""
        if name in self.available:
            self.mapping[key] = np.asarray(self.reader.get_tensor(name))
            self.sources[key] = name
            self._used.add(name)
        elif name in self.ignored:
            self.sources[key] = f"{name} (dropped by ignore=)"
        else:
            self.sources[key] = f"{name} (not in checkpoint)"

    @property
    def unused(self) -> set[str]:
        return self.available - self._used


def load_slim_resnet(
    checkpoint: str | Any,
    target: nnx.Module | Mapping[str, nnx.Module],
    *,
    scope: str = "resnet_v1_50",
    block_map: Mapping[str, str | Iterable[str]] | None = None,
    ignore: Iterable[str] = (),
    allow_unused: bool = False,
) -> core.LoadReport:
    """Load a slim ResNet checkpoint into SlimResNet50 / SlimBlock modules, in place.

    Args:
        checkpoint: checkpoint prefix/directory, or an open ``CheckpointReader``.
        target: one module, or ``{label: module}`` to fill several from one checkpoint in one
            strict pass (labels prefix paths in the report).
        scope: the graph's root scope; ``''`` for none.
        block_map: model block scope -> checkpoint block scope, or a sequence of candidates
            (first one with any variable in the checkpoint wins).
        ignore: regexes (full match) of checkpoint variables to drop, e.g.
            :data:`TF_TRAINING_STATE`, ``r'resnet_v1_50/(fc|logits).*'``.
        allow_unused: do not fail on checkpoint variables no parameter uses (still reported).

    Returns:
        A :class:`~tin_jax.checkpoints.LoadReport`; raises
        :class:`~tin_jax.checkpoints.CheckpointMismatchError` listing missing variables,
        unused variables and shape mismatches together.
    """
    variables = CheckpointVariables(checkpoint, ignore)
    prefix = f"{scope}/" if scope else ""

    def ckpt_block(block: str) -> str:
        choice = (block_map or {}).get(block, block)
        candidates = [choice] if isinstance(choice, str) else list(choice)
        for cand in candidates:
            if any(n.startswith(f"{prefix}{cand}/") for n in variables.available):
                return cand
        return candidates[0]

    modules = core.as_module_dict(target)
    for label, module in modules.items():
        for path, name in slim_variable_names(module).items():
            head, _, rest = name.partition("/")
            if head.startswith("block"):
                name = f"{ckpt_block(head)}/{rest}"
            variables.take(core.path_str(((label,) if label else ()) + path), prefix + name)
    return core.assign_modules(modules, variables.mapping, sources=variables.sources,
                               unused_sources=variables.unused, ignored_sources=variables.ignored,
                               allow_unused=allow_unused, source=str(variables.source))


__all__ = ["CheckpointVariables", "TF_TRAINING_STATE", "load_slim_resnet", "open_tf_checkpoint",
           "slim_variable_names"]
