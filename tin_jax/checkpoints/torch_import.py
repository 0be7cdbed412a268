"""PyTorch (torchvision ``resnet50``) state dicts -> :class:`TorchResNet50`.

torchvision key ``layer1.0.downsample.0.weight`` is model path
``('layer1', 0, 'downsample', 0, 'kernel')``: the module mirrors torchvision's names, so the
table is mechanical. Conv weights go OIHW -> HWIO, Linear weights are transposed, BN
``weight/bias/running_mean/running_var`` -> ``scale/bias/mean/var``. ``num_batches_tracked``
is always skipped; ``fc.*`` is skipped unless the model has an ``fc`` (``num_classes``) and
``load_fc`` is not False.

Reads ``.pth``/``.pt`` with ``torch.load(weights_only=True)`` (no code execution) and
``.safetensors`` with the ``safetensors`` package when it is installed (no torch needed).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
from flax import nnx

from tin_jax.checkpoints import assign as core
from tin_jax.models.resnet import TorchResNet50

_BN_KEYS = {"scale": "weight", "bias": "bias", "mean": "running_mean", "var": "running_var"}
_ALWAYS_SKIPPED = r".*num_batches_tracked"


def _to_numpy(value: Any) -> np.ndarray:
    """torch tensors (any dtype, any device) and arrays -> numpy."""
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        if not value.dtype.is_floating_point or value.dtype.itemsize >= 4:
            return value.numpy()
        return value.float().numpy()  # bf16/fp16: numpy has no bf16, float32 is exact
    return np.asarray(value)


def read_torch_state_dict(path: str) -> dict[str, np.ndarray]:
    """``{key: array}`` from ``.safetensors`` or a torch pickle (``weights_only=True``).

    A pickle holding ``{'state_dict': ...}`` or ``{'model': ...}`` (common training checkpoints)
    is unwrapped.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such torch checkpoint: {path}")
    if path.endswith(".safetensors"):
        try:
            from safetensors.numpy import load_file  # noqa: PLC0415
        except ImportError as e:
            raise ImportError(f"{path}: reading .safetensors needs the 'safetensors' package") from e
        return dict(load_file(path))
    import torch  # noqa: PLC0415 - optional dependency

    obj = torch.load(path, map_location="cpu", weights_only=True)
    for wrapper in ("state_dict", "model"):
        if isinstance(obj, Mapping) and wrapper in obj and isinstance(obj[wrapper], Mapping):
            obj = obj[wrapper]
    if not isinstance(obj, Mapping):
        raise ValueError(f"{path}: expected a state dict, got {type(obj).__name__}")
    return {str(k): _to_numpy(v) for k, v in obj.items()}


def _conv_hwio(w: np.ndarray) -> np.ndarray:
    return np.transpose(w, (2, 3, 1, 0))


def torch_key_table(module: TorchResNet50) -> dict[tuple, tuple[str, Callable]]:
    """``{param path: (torch key, convert)}``; convert maps the torch array to the JAX layout."""
    table = {}
    for path, variable in nnx.to_flat_state(nnx.state(module)):
        *parents, leaf = path
        base = ".".join(str(k) for k in parents)
        ndim = len(variable.get_value().shape)
        if leaf in _BN_KEYS:
            if parents and parents[-1] == "fc":
                table[path] = (f"{base}.bias", np.asarray)  # Linear bias
            else:
                table[path] = (f"{base}.{_BN_KEYS[leaf]}", np.asarray)
        elif leaf == "kernel" and ndim == 4:
            table[path] = (f"{base}.weight", _conv_hwio)
        elif leaf == "kernel" and ndim == 2:
            table[path] = (f"{base}.weight", np.transpose)
        else:
            raise TypeError(f"no torch key for {core.path_str(path)}")
    return table


def load_torch_resnet(
    checkpoint: str | Mapping[str, Any],
    target: TorchResNet50,
    *,
    prefix: str = "",
    load_fc: bool | None = None,
    ignore: Iterable[str] = (),
    allow_unused: bool = False,
) -> core.LoadReport:
    """Load a torchvision ResNet-50 state dict into ``target`` in place; strict.

    Args:
        checkpoint: a ``.pth``/``.pt``/``.safetensors`` path or an in-memory state dict.
        target: the :class:`TorchResNet50` to fill.
        prefix: key prefix of the backbone in the file, e.g. ``'backbone.0.body.'`` (DETR);
            keys without it count as unused.
        load_fc: ``None`` loads ``fc`` iff the model has one; ``False`` never; ``True`` requires
            it.
        ignore: regexes (full match, on keys without ``prefix``) of entries to drop.
        allow_unused: do not fail on entries no parameter uses (still reported).
    """
    if load_fc is None:
        load_fc = target.fc is not None
    if load_fc and target.fc is None:
        raise ValueError("load_fc=True but the model has no fc (build it with num_classes=...)")
    if not load_fc and target.fc is not None:
        raise ValueError("load_fc=False would leave the model's fc unfilled; build it without "
                         "num_classes")
    if isinstance(checkpoint, str):
        source, state_dict = checkpoint, read_torch_state_dict(checkpoint)
    else:
        source, state_dict = "torch state dict", {str(k): _to_numpy(v) for k, v in checkpoint.items()}
    skip = [_ALWAYS_SKIPPED] + ([] if load_fc else [r"fc\..*"])
    patterns = core.compile_patterns(list(ignore) + skip)
    entries, ignored, foreign = {}, set(), set()
    for key, value in state_dict.items():
        if not key.startswith(prefix):
            foreign.add(key)
        elif core.matches_any(key[len(prefix):], patterns):
            ignored.add(key)
        else:
            entries[key[len(prefix):]] = value

    mapping, sources, used = {}, {}, set()
    for path, (key, convert) in torch_key_table(target).items():
        name = core.path_str(path)
        sources[name] = prefix + key
        if key in entries:
            mapping[name] = convert(entries[key])
            used.add(key)
        else:
            why = "dropped by ignore=" if prefix + key in ignored else "not in checkpoint"
            sources[name] = f"{prefix}{key} ({why})"
    unused = {prefix + k for k in entries if k not in used} | foreign
    _, report = core.assign_from_mapping(target, mapping, sources=sources, unused_sources=unused,
                                         ignored_sources=ignored, allow_unused=allow_unused,
                                         source=str(source))
    return report


__all__ = ["load_torch_resnet", "read_torch_state_dict", "torch_key_table"]
