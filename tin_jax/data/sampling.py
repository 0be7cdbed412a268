"""Builds one training step's pairs from one image, exactly as TIN's blob builders.

TIN (``Augmented_HO_Neg_HICO_pose_pattern_version2`` and the V-COCO
``..._spNeg_...`` twin) trains on one *chunk* per step: at most 5 GT pairs of one
image. Each GT pair gets jittered copies (15 spread over the chunk, IoU > 0.7),
all labelled with that pair's multi-hot label; then up to 60 negatives from
``Trainval_Neg`` follow. Positives come first, ``num_pos`` of them.

Randomness comes from a ``numpy.random.Generator`` the caller seeds from
(seed, epoch, image, chunk), so every step is reproducible; the original used
Python's unseeded ``random`` (a documented irreproducibility we fix).

With ``part_rng``, each pair also gets the 10 body-part boxes of the TPAMI part
model (``parts``), jittered with that separate generator so that the pairs
themselves stay exactly what a run without parts samples.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tin_jax.data import jitter, parts, spatial
from tin_jax.schema.records import PairSet

CHUNK_SIZE = 5  # TIN's interval_divide
POS_AUGMENT = 15
NEG_SELECT = 60
# Every value of an interaction pattern is a multiple of 1/20 (boxes 1, no-pose
# fill 0.05, limb gray levels 0.15..0.95), so k/20 is stored as the byte k.
PATTERN_SCALE = 20


@dataclasses.dataclass(frozen=True)
class SamplingConfig:
    chunk_size: int = CHUNK_SIZE
    pos_augment: int = POS_AUGMENT
    neg_select: int = NEG_SELECT
    # HICO: negatives are labelled one-hot at their no_interaction HOI (Neg[1]).
    # V-COCO: negatives get all-zero labels. None: decided by the dataset.
    negatives_use_stored_label: bool | None = None
    # Positives labelled only with these ids (HICO-DET's no_interaction HOIs) get the binary
    # label "non-interactive". The original labels every positive "interactive" (flagged as a
    # known problem in its ult.py), which teaches D that annotated non-interacting pairs
    # interact; () keeps that.
    no_interaction_labels: tuple[int, ...] = ()

    @property
    def max_positives(self) -> int:
        """Most positives a chunk can have: each GT pair gives itself + its share of pos_augment."""
        return self.pos_augment + self.chunk_size

    @property
    def max_pairs(self) -> int:
        """Largest possible pair count: positives first, then negatives."""
        return self.max_positives + self.neg_select


def encode_patterns(patterns: np.ndarray) -> np.ndarray:
    """float32 patterns -> uint8 (exact: ``k / 20`` in float32 is the original value)."""
    return np.rint(patterns * PATTERN_SCALE).astype(np.uint8)


def num_chunks(num_gt: int, chunk_size: int = CHUNK_SIZE) -> int:
    return -(-num_gt // chunk_size)


def multi_hot(label_lists, num_labels: int) -> np.ndarray:
    out = np.zeros((len(label_lists), num_labels), np.float32)
    for i, ids in enumerate(label_lists):
        out[i, list(ids)] = 1.0
    return out


def sample_chunk(gt: PairSet, neg: PairSet, chunk_index: int, image_hw: tuple[int, int],
                 num_labels: int, rng: np.random.Generator,
                 cfg: SamplingConfig = SamplingConfig(),
                 part_rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
    """The pairs of one training step.

    Returns a dict with ``human_boxes``/``object_boxes`` (N, 4) float32, ``labels``
    (N, num_labels) float32, ``person_labels`` (N, num_labels) (V-COCO's all-action
    label of the person, zeros for negatives), ``binary`` (N, 2) float32 (index 0 =
    interactive), ``patterns`` (N, 64, 64, 3) float32 and ``num_pos``; with
    ``part_rng`` also ``part_boxes`` (N, 10, 4) float32.
    """
    start = chunk_index * cfg.chunk_size
    idx = list(range(start, min(start + cfg.chunk_size, gt.size)))
    if not idx:
        raise ValueError(f"chunk {chunk_index} is empty for {gt.size} GT pairs")
    budgets = jitter.split_augment_budget(len(idx), cfg.pos_augment)
    hb, ob, labels, person, poses, pb = [], [], [], [], [], []
    for i, count in zip(idx, budgets):
        h, o = jitter.augment_pairs(gt.human_boxes[i], gt.object_boxes[i], image_hw, count, rng)
        hb.append(h)
        ob.append(o)
        if part_rng is not None:
            one = slice(i, i + 1)
            box = parts.part_boxes(gt.human_boxes[one], gt.poses[one], gt.pose_valid[one])[0]
            pb.append(parts.augment_part_boxes(parts.clip_to_image(box, image_hw), image_hw,
                                               count, len(h), part_rng))
        labels += [gt.labels[i]] * len(h)
        person += [gt.person_labels[i] if gt.person_labels else []] * len(h)
        poses += [gt.poses[i] if gt.pose_valid[i] else None] * len(h)
    num_pos = len(labels)

    # Negatives: all of them if fewer than neg_select, else a random neg_select
    # (the original draws a full permutation and keeps its head).
    if neg.size < cfg.neg_select:
        chosen = np.arange(neg.size)
    else:
        chosen = rng.permutation(neg.size)[:cfg.neg_select]
    for j in chosen:
        hb.append(neg.human_boxes[j][None].astype(np.float64))
        ob.append(neg.object_boxes[j][None].astype(np.float64))
        labels.append(neg.labels[j] if cfg.negatives_use_stored_label is not False else [])
        person.append([])
        poses.append(neg.poses[j] if neg.pose_valid[j] else None)

    human_boxes = np.concatenate(hb).astype(np.float32)
    object_boxes = np.concatenate(ob).astype(np.float32)
    n = len(labels)
    binary = np.zeros((n, 2), np.float32)
    interactive = np.zeros(n, bool)
    interactive[:num_pos] = [not set(l) <= set(cfg.no_interaction_labels) for l in labels[:num_pos]]
    binary[interactive, 0] = 1.0
    binary[~interactive, 1] = 1.0
    out = dict(
        human_boxes=human_boxes,
        object_boxes=object_boxes,
        labels=multi_hot(labels, num_labels),
        person_labels=multi_hot(person, num_labels),
        binary=binary,
        patterns=spatial.interaction_patterns(np.concatenate(hb), np.concatenate(ob), poses),
        num_pos=np.int32(num_pos),
    )
    if part_rng is not None:  # negatives: their own (clipped) part boxes, not jittered
        boxes = parts.part_boxes(neg.human_boxes[chosen], neg.poses[chosen], neg.pose_valid[chosen])
        pb.append(parts.clip_to_image(boxes, image_hw))
        out["part_boxes"] = np.concatenate(pb).astype(np.float32)
    return out
