"""The generic core of every weight import: fill NNX state from ``{param path: array}``,
checking every shape and reporting all problems at once."""


from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

PathLike = str | tuple


def path_str(path: PathLike) -> str:
    """``('block1', 'unit_1', 'conv1')`` -> ``'block1/unit_1/conv1'``; strings pass through."""
    return path if isinstance(path, str) else "/".join(str(k) for k in path)


def compile_patterns(patterns: Iterable[str]) -> list[re.Pattern]:
    return [re.compile(p) for p in patterns]


def matches_any(name: str, patterns: list[re.Pattern]) -> bool:
    """``ignore`` regexes must match the whole name (``re.fullmatch``)."""
    return any(p.fullmatch(name) for p in patterns)


@dataclasses.dataclass
class LoadReport:
    """What a load did: ``loaded`` maps target path -> source name (checkpoint variable/key)."""

    source: str
    loaded: dict[str, str]
    ignored: list[str] = dataclasses.field(default_factory=list)
    unused: list[str] = dataclasses.field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"{self.source}: loaded {len(self.loaded)} arrays"]
        if self.ignored:
            lines.append(f"  ignored {len(self.ignored)} source entries (ignore= / skipped)")
        if self.unused:
            lines.append(f"  {len(self.unused)} source entries unused (allow_unused=True):")
            lines += [f"    {name}" for name in self.unused]
        return "\n".join(lines)


class CheckpointMismatchError(ValueError):
    """Checkpoint and model disagree; the message lists every problem at once."""

    def __init__(self, source: str, *, unfilled: list[str], unmatched: list[str],
                 shape_mismatch: list[str]):
        self.unfilled, self.unmatched, self.shape_mismatch = unfilled, unmatched, shape_mismatch
        lines = [f"{source} does not match the model:"]
        if unfilled:
            lines.append(f"  {len(unfilled)} model parameter(s) not filled:")
            lines += [f"    {x}" for x in unfilled]
        if unmatched:
            lines.append(f"  {len(unmatched)} checkpoint variable(s) not matched to any parameter "
                         "(drop them with ignore=[regex, ...] or allow_unused=True):")
            lines += [f"    {x}" for x in unmatched]
        if shape_mismatch:
            lines.append(f"  {len(shape_mismatch)} shape mismatch(es):")
            lines += [f"    {x}" for x in shape_mismatch]
        super().__init__("\n".join(lines))


def _leaf_spec(variable: Any) -> Any:
    """The array or ShapeDtypeStruct inside a state leaf (works on ``nnx.eval_shape`` states)."""
    return variable.get_value() if isinstance(variable, nnx.Variable) else variable


def assign_from_mapping(
    target: nnx.State | nnx.Module,
    mapping: Mapping[PathLike, Any],
    *,
    sources: Mapping[PathLike, str] | None = None,
    unused_sources: Iterable[str] = (),
    ignored_sources: Iterable[str] = (),
    allow_unused: bool = False,
    source: str = "mapping",
) -> tuple[nnx.State, LoadReport]:
    """Fill every leaf of ``target`` from ``mapping`` {param path: array}; strict.

    Paths are tuples as in ``nnx.to_flat_state`` or ``'/'``-joined strings. Each array must
    have the leaf's exact shape; it is cast to the leaf's dtype (float32 params stay float32)
    and placed with the leaf's sharding when it has one. Leaves may be abstract
    (``nnx.eval_shape``). ``sources`` names where each path's value came from (for the report
    and the error); ``unused_sources`` are checkpoint entries the caller could not place.

    Raises :class:`CheckpointMismatchError` listing unfilled parameters, unmatched entries
    (mapping keys with no such parameter, plus ``unused_sources`` unless ``allow_unused``) and
    shape mismatches together. A module ``target`` is updated in place; the new state is
    returned either way.
    """
    state = nnx.state(target) if isinstance(target, nnx.Module) else target
    flat = list(nnx.to_flat_state(state))
    by_name = {path_str(p): (p, v) for p, v in flat}
    values = {path_str(k): v for k, v in mapping.items()}
    names = {path_str(k): v for k, v in (sources or {}).items()}
    label = lambda p: f"{p} <- {names[p]}" if p in names else p  # noqa: E731

    unfilled = [label(p) for p in by_name if p not in values]
    unmatched = [names.get(p, p) for p in values if p not in by_name]
    unused = sorted(set(unused_sources))
    if not allow_unused:
        unmatched += unused
    shape_mismatch, new_leaves = [], []
    for p, (path, variable) in by_name.items():
        if p not in values:
            continue
        spec = _leaf_spec(variable)
        array = np.asarray(values[p])
        if tuple(array.shape) != tuple(spec.shape):
            shape_mismatch.append(f"{label(p)}: model {tuple(spec.shape)}, "
                                  f"checkpoint {tuple(array.shape)}")
            continue
        sharding = getattr(spec, "sharding", None)
        array = array.astype(spec.dtype)
        value = jax.device_put(array, sharding) if sharding is not None else jnp.asarray(array)
        new_leaves.append((path, variable.replace(value=value) if isinstance(variable, nnx.Variable)
                           else value))
    if unfilled or unmatched or shape_mismatch:
        raise CheckpointMismatchError(source, unfilled=unfilled, unmatched=unmatched,
                                      shape_mismatch=shape_mismatch)
    new_state = nnx.from_flat_state(new_leaves)
    if isinstance(target, nnx.Module):
        nnx.update(target, new_state)
    report = LoadReport(source=source, loaded={p: names.get(p, p) for p in by_name},
                        ignored=sorted(set(ignored_sources)), unused=unused)
    return new_state, report


def as_module_dict(target: nnx.Module | Mapping[str, nnx.Module]) -> dict[str, nnx.Module]:
    """One module or ``{label: module}``; labels prefix the paths in reports and errors."""
    if isinstance(target, nnx.Module):
        return {"": target}
    return dict(target)


def assign_modules(modules: Mapping[str, nnx.Module], mapping: Mapping[str, Any],
                   **kwargs: Any) -> LoadReport:
    """:func:`assign_from_mapping` over several modules at once (one combined error).

    ``mapping`` and ``sources`` keys are ``'label/param/path'`` (just the path for label '').
    """
    if "" in modules and len(modules) > 1:
        raise ValueError("label '' is only for a single module; name every module of a dict")
    states = {label: nnx.state(m) for label, m in modules.items()}
    combined = states[""] if "" in states else nnx.State(states)
    new_state, report = assign_from_mapping(combined, mapping, **kwargs)
    for label, module in modules.items():
        nnx.update(module, new_state if label == "" else new_state[label])
    return report
