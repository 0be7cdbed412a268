"""The jitted train step: what runs on the accelerator.

Free of TensorFlow and of the training loop (``tin_jax.training.trainer``), so the step can be
built, traced and timed where only JAX is installed (``benchmarks/``).

- ``make_train_step``: forward, loss, gradient (frozen parameters as constants), clipping,
  momentum; the transfer step variant holds the HOI classifier.
- ``optimizer_state_sharding``: ZeRO-1 momentum over the ``data`` mesh (``tin_jax.state.model``).
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import NamedSharding, PartitionSpec as P

from tin_jax.data import encoding, painting, sampling
from tin_jax.models import losses
from tin_jax.schema import classes
from tin_jax.state.model import ModelParts
from tin_jax.training import optim

BATCH_KEYS = ("image", "image_hw", "human_boxes", "object_boxes", "pattern_geometry", "labels",
              "person_labels", "binary", "pair_mask", "num_pos", "part_boxes", "human_table",
              "human_index")
# present only when the config asks: part boxes (part level), the distinct-human table
OPTIONAL_KEYS = ("part_boxes", "human_table", "human_index")


# A transfer step uses another dataset's images for D: no HOI labels.
SOURCE_KEYS = tuple(k for k in BATCH_KEYS if k not in ("labels", "person_labels"))


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
    """Widens the pipeline's compact host encodings on the device: the image normalized, the
    interaction patterns painted from their geometry (float32, the original's values)."""
    image = encoding.normalize_image(batch["image"], batch["image_hw"], xp=jnp)
    patterns = painting.float_patterns(batch["pattern_geometry"], xp=jnp)
    return image, patterns


def padded_shapes(local_batch: dict) -> np.ndarray:
    """(image height, image width, human table rows) of a host's batch: the shapes it was
    padded to (its bucket, its table size; 0 rows without a table)."""
    table = local_batch.get("human_table")
    return np.array([*local_batch["image"].shape[1:3], 0 if table is None else table.shape[1]])


def pad_to_shapes(local_batch: dict, shapes) -> dict:
    """The batch zero-padded to the shapes ``(height, width, table rows)``, no smaller than its
    own (see ``padded_shapes``). Hosts pad their batches to the largest of all hosts' shapes
    (``trainer``): one global array needs every host's part alike. Zeros are what the
    pipeline pads with (outside ``image_hw``; table rows no pair reads)."""
    h, w, rows = (int(v) for v in shapes)
    image = local_batch["image"]
    out = dict(local_batch, image=np.pad(image, ((0, 0), (0, h - image.shape[1]),
                                                 (0, w - image.shape[2]), (0, 0))))
    if "human_table" in local_batch:
        table = local_batch["human_table"]
        out["human_table"] = np.pad(table, ((0, 0), (0, rows - table.shape[1]), (0, 0)))
    return out


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
            logits = model(image, batch["image_hw"], batch.get("human_table", batch["human_boxes"]),
                           batch["object_boxes"], patterns, part_boxes=batch.get("part_boxes"),
                           human_index=batch.get("human_index"), positive=positive,
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

