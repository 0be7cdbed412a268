"""TIN's losses (``add_loss`` of TIN_HICO.py / TIN_VCOCO.py), with masks for padded pairs.

Per image, as the original (one image per step): sigmoid cross-entropies whose
class weights MULTIPLY THE LOGITS (not the loss terms; at test time the plain
logits are used), each term a mean over all its elements (rows x classes).
A batch of several images averages the per-image losses.

HICO-DET:  H and O on positives, sp and D on positives + negatives, all weight 1.
V-COCO:    2*H + HO + sp + D; H uses the person's full action label with
           ``H_weight``, HO the pair's role label with ``HO_weight`` on the object
           logits, sp unweighted; masks zero the four no-object classes in HO and sp
           (and the original's reduce_mean still divides by all 29 columns).
Part level (TPAMI, ``TIN_HICO_with_part.add_loss``): D's term plus ``binary_part``,
           the same CE on the per-part logits' max, and ``consistency``, the mean
           squared difference of the two weighted logits.
"""

from __future__ import annotations

import math
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

BINARY_WEIGHT_HICO = (math.log(5.0), math.log(1.25))  # ln(1/p): p(inter) = .2, p(non) = .8
BINARY_WEIGHT_VCOCO = (math.log(3.0), math.log(1.5))


def class_weights(counts: Sequence[int], total: float | None = None) -> np.ndarray:
    """``w_i = ln(N / n_i)``, the form of TIN's hard-coded ``HO_weight``.

    The original's 600 numbers fit ``ln(N / n_i)`` with an unstated N (~1.73e6,
    larger than the number of GT pairs); here N defaults to the total count, and
    ``total`` overrides it. Classes never seen count as 1 (the largest weight).
    """
    counts = np.maximum(np.asarray(counts, np.float64), 1.0)
    n = float(total) if total is not None else float(counts.sum())
    return np.log(n / counts).astype(np.float32)


def _sigmoid_ce(labels, logits):
    """``tf.nn.sigmoid_cross_entropy_with_logits``: max(z, 0) - z*y + log(1 + exp(-|z|))."""
    return jnp.maximum(logits, 0) - logits * labels + jnp.log1p(jnp.exp(-jnp.abs(logits)))


def _masked_mean(x, row_mask, num_cols):
    """Mean over the real rows x all columns of each image: (B, P, C) -> (B,)."""
    rows = row_mask.sum(axis=1)
    return (x * row_mask[..., None]).sum(axis=(1, 2)) / jnp.maximum(rows * num_cols, 1.0)


def _binary_per_image(logits, batch, binary_weight):
    """D's weighted sigmoid CE over every real pair of each image: (B,)."""
    bw = jnp.asarray(binary_weight, jnp.float32)
    return _masked_mean(_sigmoid_ce(batch["binary"].astype(jnp.float32), logits["binary"] * bw),
                        batch["pair_mask"].astype(jnp.float32), 2)


def _part_level_per_image(logits, batch, binary_weight):
    """``binary_part`` and ``consistency`` of each image: (B,) each."""
    bw = jnp.asarray(binary_weight, jnp.float32)
    mask = batch["pair_mask"].astype(jnp.float32)
    inst, part = logits["binary"] * bw, logits["binary_part"] * bw
    labels = batch["binary"].astype(jnp.float32)
    return {"binary_part": _masked_mean(_sigmoid_ce(labels, part), mask, 2),
            "consistency": _masked_mean(jnp.square(inst - part), mask, 2)}


def binary_loss(logits, batch, binary_weight) -> tuple[jax.Array, dict]:
    """D's terms alone (``binary``, and with the part level ``binary_part`` + ``consistency``),
    for batches without HOI labels (transfer training on another dataset's images); the same
    values as those terms of the losses above."""
    parts = {"binary": _binary_per_image(logits, batch, binary_weight)}
    if "binary_part" in logits:
        parts.update(_part_level_per_image(logits, batch, binary_weight))
    parts = {k: v.mean() for k, v in parts.items()}
    return sum(parts.values()), parts


def hico_loss(logits, batch, hoi_weight, binary_weight=BINARY_WEIGHT_HICO, *,
              terms: Sequence[str] = ("H", "O", "sp", "binary")) -> tuple[jax.Array, dict]:
    """Returns (total loss, per-term losses), each averaged over the batch's images.

    ``batch`` holds ``labels`` (B, P, C), ``binary`` (B, P, 2), ``pair_mask`` (B, P),
    ``num_pos`` (B,). ``terms`` selects TIN's ``TRAIN_MODULE``: e.g. ('H', 'O', 'sp')
    for HOI-only pretraining, ('binary',) for D-only training; the part level adds
    'binary_part' and 'consistency'. Heads missing from ``logits`` give no term.
    """
    labels = batch["labels"].astype(jnp.float32)
    mask = batch["pair_mask"].astype(jnp.float32)
    p = mask.shape[1]
    pos = (jnp.arange(p)[None, :] < batch["num_pos"][:, None]).astype(jnp.float32) * mask
    w = jnp.asarray(hoi_weight, jnp.float32)
    c = labels.shape[-1]
    parts = {}
    if "sp" in logits:
        parts = {
            "H": _masked_mean(_sigmoid_ce(labels, logits["H"] * w), pos, c),
            "O": _masked_mean(_sigmoid_ce(labels, logits["O"] * w), pos, c),
            "sp": _masked_mean(_sigmoid_ce(labels, logits["sp"] * w), mask, c),
        }
    if "binary" in logits:
        parts["binary"] = _binary_per_image(logits, batch, binary_weight)
    if "binary_part" in logits:
        parts.update(_part_level_per_image(logits, batch, binary_weight))
    parts = {k: v.mean() for k, v in parts.items()}
    total = sum(parts[t] for t in terms if t in parts)
    return total, parts


VCOCO_NO_OBJECT = (3, 17, 22, 27)  # stand/smile/run/walk columns of TIN's 29 classes


def vcoco_loss(logits, batch, ho_weight, h_weight, binary_weight=BINARY_WEIGHT_VCOCO, *,
               terms: Sequence[str] = ("H", "HO", "sp", "binary"),
               h_factor: float = 2.0) -> tuple[jax.Array, dict]:
    """V-COCO's ``2*H + HO + sp + D`` (``person_labels`` hold GT[4], the person's actions)."""
    labels = batch["labels"].astype(jnp.float32)
    person = batch["person_labels"].astype(jnp.float32)
    mask = batch["pair_mask"].astype(jnp.float32)
    p, c = labels.shape[1], labels.shape[2]
    pos = (jnp.arange(p)[None, :] < batch["num_pos"][:, None]).astype(jnp.float32) * mask
    col_mask = jnp.ones((c,), jnp.float32).at[jnp.array(VCOCO_NO_OBJECT)].set(0.0)
    parts = {
        "H": _masked_mean(_sigmoid_ce(person, logits["H"] * jnp.asarray(h_weight)), pos, c),
        "HO": _masked_mean(_sigmoid_ce(labels, logits["O"] * jnp.asarray(ho_weight)) * col_mask, pos, c),
        "sp": _masked_mean(_sigmoid_ce(labels, logits["sp"]) * col_mask, mask, c),
    }
    if "binary" in logits:
        parts["binary"] = _binary_per_image(logits, batch, binary_weight)
    parts = {k: v.mean() for k, v in parts.items()}
    factors = {"H": h_factor}
    total = sum(factors.get(t, 1.0) * parts[t] for t in terms if t in parts)
    return total, parts
