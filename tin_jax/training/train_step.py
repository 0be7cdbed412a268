"""The model's state and the jitted train step: what runs on the accelerator.

Free of TensorFlow and of the training loop (``tin_jax.training.trainer``), so the step can be
built, traced and timed where only JAX is installed (``benchmarks/``).

- ``build``: the TIN graph and its parameters / frozen statistics, initialised on the devices.
- ``make_train_step``: forward, loss, gradient (frozen parameters as constants), clipping,
  momentum; the transfer step variant holds the HOI classifier.
- ``make_mesh`` / ``optimizer_state_sharding``: the 1-D ``data`` mesh and ZeRO-1 momentum.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax import nnx
from jax.sharding import AxisType, NamedSharding, PartitionSpec as P

from tin_jax.training import optim
from tin_jax.schema import classes
from tin_jax.data import encoding, sampling
from tin_jax.models import losses
from tin_jax.models.resnet import FrozenStat
from tin_jax.models.tin import TIN, TINConfig

BATCH_KEYS = ("image", "image_hw", "human_boxes", "object_boxes", "patterns", "labels",
              "person_labels", "binary", "pair_mask", "num_pos", "part_boxes")


# A transfer step uses another dataset's images for D: no HOI labels.
SOURCE_KEYS = tuple(k for k in BATCH_KEYS if k not in ("labels", "person_labels"))


def make_mesh() -> jax.sharding.Mesh:
    # Auto axes: the RoI heads reshape batch-sharded arrays, which Explicit axes reject.
    return jax.make_mesh((jax.device_count(),), ("data",), axis_types=(AxisType.Auto,))


def model_config(config: ml_collections.ConfigDict, metadata: dict) -> TINConfig:
    m = config.model
    return TINConfig(num_classes=int(metadata["num_labels"]), dataset=metadata["dataset"],
                     interactiveness=m.interactiveness, pose_map=m.pose_map,
                     d_negative_copy=m.d_negative_copy, part_level=m.part_level,
                     hoi_classifier=m.hoi_classifier, fc_dim=m.fc_dim, width=m.width,
                     dtype=None if m.dtype == "float32" else jnp.dtype(m.dtype))


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


def loss_weights(metadata: dict, config) -> dict[str, np.ndarray]:
    total = config.loss.class_weight_total or None
    w = {"hoi": losses.class_weights(metadata["train_pair_counts"], total),
         "binary": (losses.BINARY_WEIGHT_HICO if metadata["dataset"] == "hico"
                    else losses.BINARY_WEIGHT_VCOCO)}
    if metadata["dataset"] == "vcoco":
        w["hoi"][list(losses.VCOCO_NO_OBJECT)] = 0.0  # the original's HO_weight is 0 there
        w["person"] = losses.class_weights(metadata["train_person_label_counts"], total)
    return w


def device_batch(batch: dict):
    """Widens the pipeline's compact host encodings on the device."""
    image = encoding.normalize_image(batch["image"], batch["image_hw"], xp=jnp)
    patterns = encoding.decode_patterns(batch["patterns"], xp=jnp)
    return image, patterns


def _dict_path(path) -> str:
    """The parameter path inside any pytree that mirrors the parameters (e.g. momentum)."""
    return "/".join(str(k.key) for k in path if isinstance(k, jax.tree_util.DictKey))


def hold_matching(pattern: str, new, old):
    """``new`` with the leaves whose parameter path matches ``pattern`` taken from ``old``.

    Works on parameters and on optimizer states alike (their momentum mirrors the
    parameters), so held parameters neither move nor advance their momentum: what
    TF's optimizer does for variables a loss does not reach.
    """
    rx = re.compile(pattern)
    return jax.tree_util.tree_map_with_path(
        lambda p, n, o: o if rx.search(_dict_path(p)) else n, new, old)


def sampling_config(config, dataset: str = "hico") -> sampling.SamplingConfig:
    """The pipeline's sampling from ``config.data`` (the step relies on its positives bound)."""
    fix = config.data.get("no_interaction_binary", "interactive") == "non_interactive" and dataset == "hico"
    return sampling.SamplingConfig(pos_augment=config.data.pos_augment,
                                   neg_select=config.data.neg_select,
                                   no_interaction_labels=tuple(classes.NO_INTERACTION_HOIS) if fix else ())


def make_train_step(parts: ModelParts, tx, schedule, weights, config, dataset: str, *,
                    source: bool = False):
    """The jitted step's body. ``source``: a transfer step on another dataset's images,
    D's loss only, the HOI classifier held (``config.transfer.hold``)."""
    seed = config.seed
    terms = tuple(config.loss.terms)
    # positives come first and number at most this many (the pipeline checks it)
    positive_rows = sampling_config(config).max_positives
    frozen = optim.frozen_predicate(config.optim)

    def train_step(state, batch):
        step = state["step"]
        image, patterns = device_batch(batch)
        p = batch["pair_mask"].shape[1]
        positive = jnp.arange(p)[None, :] < batch["num_pos"][:, None]

        def loss_fn(params):
            model = parts.merge(optim.stop_frozen_gradients(params, frozen), state["stats"])
            nnx.reseed(model, dropout=jax.random.fold_in(jax.random.key(seed), step))
            logits = model(image, batch["image_hw"], batch["human_boxes"], batch["object_boxes"],
                           patterns, part_boxes=batch.get("part_boxes"), positive=positive,
                           positive_rows=positive_rows, train=True)
            if source:
                return losses.binary_loss(logits, batch, weights["binary"])
            if dataset == "hico":
                return losses.hico_loss(logits, batch, weights["hoi"], terms=terms)
            return losses.vcoco_loss(logits, batch, weights["hoi"], weights["person"],
                                     terms=tuple({"O": "HO"}.get(t, t) for t in terms))

        (loss, parts_), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"])
        updates, opt = tx.update(grads, state["opt"], state["params"])
        params = optax.apply_updates(state["params"], updates)
        if source:
            params = hold_matching(config.transfer.hold, params, state["params"])
            opt = hold_matching(config.transfer.hold, opt, state["opt"])
        metrics = dict(loss=loss, lr=schedule(step), grad_norm=optax.tree.norm(grads),
                       pairs=batch["pair_mask"].sum(), **{f"loss_{k}": v for k, v in parts_.items()})
        if source:  # logged apart from the target's losses
            metrics = {("source_" + k if k.startswith("loss") else k): v for k, v in metrics.items()}
        return dict(params=params, stats=state["stats"], opt=opt, step=step + 1), metrics

    return train_step


def optimizer_state_sharding(opt_abstract, mesh):
    """Shards each optimizer-state array over the ``data`` axis along its largest dimension
    that the device count divides (ZeRO-1: each device keeps 1/N of the momentum); the
    rest stays replicated. XLA adds the gathers the update needs."""
    n = mesh.shape["data"]

    def spec(x):
        dims = sorted(range(x.ndim), key=lambda d: -x.shape[d])
        axis = next((d for d in dims if x.shape[d] % n == 0 and x.shape[d] >= n), None)
        if axis is None or n == 1:
            return NamedSharding(mesh, P())
        return NamedSharding(mesh, P(*[("data" if d == axis else None) for d in range(x.ndim)]))

    return jax.tree.map(spec, opt_abstract)

