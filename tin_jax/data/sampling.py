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
from tin_jax.data.spatial import PATTERN_SCALE
from tin_jax.schema.records import PairSet

CHUNK_SIZE = 5  # TIN's interval_divide
POS_AUGMENT = 15
NEG_SELECT = 60


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
    """float32 patterns -> uint8 (exact: ``k / 20`` in float32 is the original value).
    uint8 patterns (``spatial.render_patterns_uint8`` paints them encoded) are returned as they
    are."""
    if patterns.dtype == np.uint8:
        return patterns
    return np.rint(patterns * PATTERN_SCALE).astype(np.uint8)


def num_chunks(num_gt: int, chunk_size: int = CHUNK_SIZE) -> int:
    return -(-num_gt // chunk_size)


def multi_hot(label_lists, num_labels: int) -> np.ndarray:
    out = np.zeros((len(label_lists), num_labels), np.float32)
    lengths = [len(ids) for ids in label_lists]
    flat = np.array([c for ids in label_lists for c in ids], np.intp)
    out[np.repeat(np.arange(len(label_lists)), lengths), flat] = 1.0
    return out


def sample_chunk(gt: PairSet, neg: PairSet, chunk_index: int, image_hw: tuple[int, int],
                 num_labels: int, rng: np.random.Generator,
                 cfg: SamplingConfig = SamplingConfig(),
                 part_rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
    """The pairs of one training step.

    Returns a dict with ``human_boxes``/``object_boxes`` (N, 4) float32, ``labels``
    (N, num_labels) float32, ``person_labels`` (N, num_labels) (V-COCO's all-action
    label of the person, zeros for negatives), ``binary`` (N, 2) float32 (index 0 =
    interactive), ``pattern_geometry`` (N, ``spatial.GEOMETRY_LEN``) int16, the interaction
    patterns as integers (painted in the train step, ``painting.paint_patterns``), and
    ``num_pos``; with ``part_rng`` also ``part_boxes`` (N, 10, 4) float32.
    """
    start = chunk_index * cfg.chunk_size
    idx = list(range(start, min(start + cfg.chunk_size, gt.size)))
    if not idx:
        raise ValueError(f"chunk {chunk_index} is empty for {gt.size} GT pairs")
    budgets = jitter.split_augment_budget(len(idx), cfg.pos_augment)
    hb, ob, rows, copies = [], [], [], []  # rows: each positive's GT index
    with jitter.IntegerStream(rng) as draws:  # the same draws as rng.integers, cheaper
        for i, count in zip(idx, budgets):
            h, o = jitter.augment_pairs(gt.human_boxes[i], gt.object_boxes[i], image_hw, count, draws)
            hb.append(h)
            ob.append(o)
            rows += [i] * len(h)
            copies.append(len(h))
    num_pos = len(rows)
    labels = [gt.labels[i] for i in rows]
    person = [gt.person_labels[i] for i in rows] if gt.person_labels else [[]] * num_pos

    # Negatives: all of them if fewer than neg_select, else a random neg_select
    # (the original draws a full permutation and keeps its head).
    if neg.size < cfg.neg_select:
        chosen = np.arange(neg.size)
    else:
        chosen = rng.permutation(neg.size)[:cfg.neg_select]
    hb.append(np.asarray(neg.human_boxes).reshape(-1, 4)[chosen].astype(np.float64))
    ob.append(np.asarray(neg.object_boxes).reshape(-1, 4)[chosen].astype(np.float64))
    labels += [neg.labels[j] if cfg.negatives_use_stored_label is not False else [] for j in chosen]
    person += [[]] * len(chosen)

    hb, ob = np.concatenate(hb), np.concatenate(ob)
    poses = np.concatenate([np.asarray(gt.poses, np.float64).reshape(-1, 51)[rows],
                            np.asarray(neg.poses, np.float64).reshape(-1, 51)[chosen]])
    drawable = np.concatenate([np.asarray(gt.pose_valid, bool)[rows],
                               np.asarray(neg.pose_valid, bool)[chosen]])
    n = len(labels)
    binary = np.zeros((n, 2), np.float32)
    interactive = np.zeros(n, bool)
    no_inter = set(cfg.no_interaction_labels)
    interactive[:num_pos] = [not set(l) <= no_inter for l in labels[:num_pos]]
    binary[interactive, 0] = 1.0
    binary[~interactive, 1] = 1.0
    out = dict(
        human_boxes=hb.astype(np.float32),
        object_boxes=ob.astype(np.float32),
        labels=multi_hot(labels, num_labels),
        person_labels=multi_hot(person, num_labels),
        binary=binary,
        pattern_geometry=spatial.pattern_geometry(hb, ob, poses, drawable),
        num_pos=np.int32(num_pos),
    )
    if part_rng is not None:
        out["part_boxes"] = _part_boxes(gt, neg, idx, budgets, copies, chosen, image_hw, part_rng)
    return out


def _part_boxes(gt: PairSet, neg: PairSet, idx: list[int], budgets: list[int], copies: list[int],
                chosen: np.ndarray, image_hw, part_rng: np.random.Generator) -> np.ndarray:
    """(N, 10, 4): each GT pair's (clipped) part boxes jittered like its pair (``copies`` rows,
    with the separate ``part_rng``), then the negatives' own clipped part boxes."""
    boxes = parts.clip_to_image(parts.part_boxes(gt.human_boxes[idx], gt.poses[idx],
                                                 gt.pose_valid[idx]), image_hw)
    pb = []
    with jitter.IntegerStream(part_rng) as draws:
        for box, count, rows in zip(boxes, budgets, copies):
            pb.append(parts.augment_part_boxes(box, image_hw, count, rows, draws))
    neg_boxes = parts.part_boxes(neg.human_boxes[chosen], neg.poses[chosen], neg.pose_valid[chosen])
    pb.append(parts.clip_to_image(neg_boxes, image_hw))  # negatives: not jittered
    return np.concatenate(pb).astype(np.float32)
