"""The network on the devices: the mesh, the model's graph and its state groups.

Shared by training and inference, so neither reaches into the other.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
from flax import nnx
from jax.sharding import AxisType

from tin_jax.models.resnet import FrozenStat
from tin_jax.models.tin import TIN, TINConfig


def make_mesh() -> jax.sharding.Mesh:
    """The 1-D ``data`` mesh over every device of every host."""
    # Auto axes: the RoI heads reshape batch-sharded arrays, which Explicit axes reject.
    return jax.make_mesh((jax.device_count(),), ("data",), axis_types=(AxisType.Auto,))


@dataclasses.dataclass
class ModelParts:
    """The model's graph and the abstract shapes of its state groups."""
    graphdef: Any
    params: Any  # nnx.State of nnx.Param (abstract)
    stats: Any  # nnx.State of FrozenStat (abstract)
    rest: Any  # everything else (RNG streams), concrete

    def merge(self, params: dict, stats: dict) -> TIN:
        p = jax.tree.map(lambda x: x, self.params)
        nnx.replace_by_pure_dict(p, params)
        s = jax.tree.map(lambda x: x, self.stats)
        nnx.replace_by_pure_dict(s, stats)
        r = jax.tree.map(lambda x: x, self.rest)  # fresh Variables at the current trace level
        return nnx.merge(self.graphdef, p, s, r)


def build(cfg: TINConfig, seed: int, repl, model_cls: type = TIN, *,
          initialise: bool = True) -> tuple[ModelParts, dict, dict]:
    """Initialises on the devices (replicated) and returns (parts, params, stats).
    ``model_cls``: a TIN subclass (benchmarks compare reformulations with it).
    ``initialise=False``: params and stats are ShapeDtypeStructs (sharded ``repl``) for weights
    that a checkpoint fills (evaluation); skips the random initialisation's compile and run."""
    def init():
        model = model_cls(cfg, rngs=nnx.Rngs(params=seed, dropout=seed + 1))
        _, p, s, r = nnx.split(model, nnx.Param, FrozenStat, ...)
        return nnx.to_pure_dict(p), nnx.to_pure_dict(s), r

    abstract = nnx.eval_shape(lambda: model_cls(cfg, rngs=nnx.Rngs(params=seed, dropout=seed + 1)))
    graphdef, p_abs, s_abs, _ = nnx.split(abstract, nnx.Param, FrozenStat, ...)
    if not initialise:  # only the RNG streams, as after init (XLA drops the weights' computation)
        rest = jax.jit(lambda: init()[2], out_shardings=repl)()
        shapes = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=repl),
                              (nnx.to_pure_dict(p_abs), nnx.to_pure_dict(s_abs)))
        return ModelParts(graphdef, p_abs, s_abs, rest), *shapes
    params, stats, rest = jax.jit(init, out_shardings=repl)()
    return ModelParts(graphdef, p_abs, s_abs, rest), params, stats


def abstract(tree, sharding=None):
    """``tree`` as ShapeDtypeStructs (a restore target); ``sharding`` None keeps each array's own."""
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(
        x.shape, x.dtype, sharding=sharding if sharding is not None else getattr(x, "sharding", None)),
        tree)
