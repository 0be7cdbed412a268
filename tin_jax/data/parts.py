"""The 10 body-part boxes of the TPAMI part-level interactiveness model.

The original ships them precomputed (``GT[8]``, a 10x5 array per pair; the test
detections' ``det[7]``); they come from HAKE's rule, published as
``DirtyHarryLYL/HAKE-Action`` ``script/part_box_generation.py`` (Instance-level-HAKE-Action;
the same rule is ``HAKE-Action-Torch`` ``tools/inference_tools/part_box_generation.py``),
which this module re-implements (in float32, as there):

1. The 17 COCO/AlphaPose keypoints become MPII's 16 joints: pelvis = hip midpoint,
   thorax = shoulder midpoint, head = eye midpoint, upper neck = 3/4 thorax + 1/4 head
   (scores averaged the same way).
2. Each part is a square centred on its joint (Part0..9 = right ankle, right knee, left
   knee, left ankle, pelvis, head, right wrist, right shoulder, left shoulder, left wrist)
   with half-side ``|pelvis - upper neck| * size / 2``, size = ``PART_SIZE``.
3. A joint with score < 0.2 gives the whole human box. If the pelvis or the upper neck
   scores < 0.2 (no body scale), a limb part's half-side is its limb's length instead
   (ankle-hip, wrist-shoulder, head-thorax) when the limb's mean score > 0.2; else,
   and always for the pelvis, the whole human box.

A human without pose gets the whole human box for every part (what the original's
training loader does when a pair has no part boxes).

Training jitters each part box on its own, as the original's
``Augmented_box(part, ..., True, False)`` (``jitter.augment_box``), after clipping it
into the image (``Correct_box``); test boxes are used unclipped, as the original's.
"""

from __future__ import annotations

import numpy as np

from tin_jax.data import jitter
from tin_jax.schema.body import NUM_PARTS

PART_SIZE = (1.2, 1.0, 1.0, 1.2, 1.2, 1.2, 0.9, 1.0, 1.0, 0.9)
MIN_SCORE = 0.2

# MPII joints: 0 r-ankle 1 r-knee 2 r-hip 3 l-hip 4 l-knee 5 l-ankle 6 pelvis 7 thorax
# 8 upper neck 9 head 10 r-wrist 11 r-elbow 12 r-shoulder 13 l-shoulder 14 l-elbow 15 l-wrist
_COCO_OF_MPII = {0: 16, 1: 14, 2: 12, 3: 11, 4: 13, 5: 15,
                 10: 10, 11: 8, 12: 6, 13: 5, 14: 7, 15: 9}
_MIDPOINTS = {6: (11, 12), 7: (5, 6), 9: (1, 2)}
_PART_JOINT = (0, 1, 4, 5, 6, 9, 10, 12, 13, 15)
# Without body scale: the joint pair whose distance sizes each part and the three joints
# whose mean score must pass; None = the human box.
_LIMB = (((0, 2), (0, 1, 2)), ((0, 2), (0, 1, 2)), ((3, 5), (3, 4, 5)), ((3, 5), (3, 4, 5)), None,
         ((7, 9), (7, 8, 9)), ((10, 12), (10, 11, 12)), ((10, 12), (10, 11, 12)),
         ((13, 15), (13, 14, 15)), ((13, 15), (13, 14, 15)))


def mpii_joints(poses: np.ndarray) -> np.ndarray:
    """(N, 51) COCO keypoints ``(x, y, score)`` -> (N, 16, 3) MPII joints (``map_17_to_16``)."""
    coco = np.asarray(poses, np.float32).reshape(-1, 17, 3)
    out = np.zeros((coco.shape[0], 16, 3), np.float32)
    for m, c in _COCO_OF_MPII.items():
        out[:, m] = coco[:, c]
    for m, (a, b) in _MIDPOINTS.items():
        out[:, m] = (coco[:, a] + coco[:, b]) * 0.5
    out[:, 8] = out[:, 7] * np.float32(0.75) + out[:, 9] * np.float32(0.25)
    return out


def _dist(j, a, b):
    return np.hypot(j[:, a, 0] - j[:, b, 0], j[:, a, 1] - j[:, b, 1])


def part_boxes(human_boxes, poses, pose_valid) -> np.ndarray:
    """(N, 10, 4) float32 part boxes ``[x1, y1, x2, y2]`` of N humans.

    Args:
      human_boxes: (N, 4) the humans' boxes (the fallback for unreliable joints).
      poses: (N, 51) 17 COCO keypoints ``(x, y, score)``.
      pose_valid: (N,) bool, False = no pose (every part is the human box).
    """
    human = np.asarray(human_boxes, np.float32).reshape(-1, 4)
    j = mpii_joints(poses)
    score = j[..., 2]
    thr = np.float32(MIN_SCORE)
    scaled = (score[:, 6] >= thr) & (score[:, 8] >= thr)
    body = _dist(j, 6, 8)
    out = np.repeat(human[:, None], NUM_PARTS, axis=1)
    for k, joint in enumerate(_PART_JOINT):
        half = body * np.float32(PART_SIZE[k]) / np.float32(2)
        usable = scaled.copy()
        if _LIMB[k] is not None:
            (a, b), (g0, g1, g2) = _LIMB[k]
            limb_ok = (score[:, g0] + score[:, g1] + score[:, g2]) / np.float32(3) > thr
            half = np.where(scaled, half, _dist(j, a, b))
            usable |= limb_ok
        use = np.asarray(pose_valid, bool) & (score[:, joint] >= thr) & usable
        centre = j[:, joint, :2]
        box = np.concatenate([centre - half[:, None], centre + half[:, None]], axis=1)
        out[:, k] = np.where(use[:, None], box, out[:, k])
    return out.astype(np.float32)


def part_boxes_of(human_boxes, poses: list) -> np.ndarray:
    """:func:`part_boxes` for a list of poses, each (51,) or None (no pose)."""
    valid = np.array([p is not None and np.size(p) == 51 for p in poses], bool)
    flat = np.zeros((len(poses), 51), np.float32)
    for i in np.flatnonzero(valid):
        flat[i] = np.asarray(poses[i], np.float32).reshape(51)
    return part_boxes(human_boxes, flat, valid)


def clip_to_image(boxes: np.ndarray, image_hw) -> np.ndarray:
    """Boxes clipped into ``[0, W-1] x [0, H-1]``: the original's ``Correct_box`` for every
    box overlapping the image (a box wholly outside becomes a line on the border, where
    ``Correct_box`` would leave it inverted or stretch it over the image)."""
    h, w = image_hw[0], image_hw[1]
    hi = np.array([w - 1, h - 1, w - 1, h - 1], np.float64)
    return np.clip(np.asarray(boxes, np.float64), 0.0, hi).astype(np.float32)


def augment_part_boxes(parts: np.ndarray, image_hw, count: int, rows: int, rng) -> np.ndarray:
    """(rows, 10, 4): each part's box plus ``count`` jittered copies (row 0 = the box).

    The original truncates a pair's human, object and 10 part lists to the shortest; here
    the human/object copies never depend on the parts (their own random stream keeps
    non-part training unchanged), so a part list that comes up short repeats its copies.
    ``rng``: a numpy Generator or a ``jitter.IntegerStream`` over one.
    """
    integers = (rng.integers if isinstance(rng, jitter.IntegerStream)
                else lambda a, b: int(rng.integers(a, b)))
    per_part = [jitter.jitter_box(p, image_hw, count, integers) for p in parts]
    out = [[boxes[r % len(boxes)] for boxes in per_part] for r in range(rows)]  # np.resize's cycle
    return np.array(out, np.float64).reshape(rows, len(per_part), 4).astype(np.float32)
