"""Candidate (human, object) pairs of one test image, as TIN's test scripts pick them.

``lib/models/test_HICO_pose_pattern_all_wise_pair.py`` and ``test_VCOCO_D_pose_pattern_naked.py``: for each
'Human' detection with score > ``human_thresh`` (detection order), each detection (humans included) with
score > ``object_thresh`` whose box is not identical to the human's (detection order). Strict ``>``.
HICO 0.8 / 0.3, V-COCO 0.6 / 0.4.

If an image has no such pair, HICO falls back to the top-4 'Human' x top-4 non-'Human' detections of any score
(V-COCO has no fallback). The original fills both lists in lockstep and, once one kind runs out, appends index
``-1``: the *last* detection is then used as a human (or object) again and again. ``fallback='original'``
reproduces that; ``'fixed'`` (default) keeps only the real top-<=4 of each kind (no pair if a kind is absent);
``'none'`` adds nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["FALLBACK_TOP_N", "select_pairs"]

FALLBACK_TOP_N = 4  # human_num_thres / object_num_thres


def _top_n(candidates: np.ndarray, scores: np.ndarray, n: int) -> np.ndarray:
    """First n of ``candidates`` by score descending, lower index first on ties (the original's strict-> scan)."""
    order = np.argsort(-scores[candidates], kind="stable")
    return candidates[order[:n]]


def _fallback_lists(is_human: np.ndarray, scores: np.ndarray, fallback: str) -> tuple[np.ndarray, np.ndarray]:
    """Humans and objects of the zero-pair fallback (l.77-133 of the HICO test script)."""
    eligible = scores > -1.0  # the scan starts from a best score of -1.0 and uses strict >
    humans = _top_n(np.flatnonzero(is_human & eligible), scores, FALLBACK_TOP_N)
    objects = _top_n(np.flatnonzero(~is_human & eligible), scores, FALLBACK_TOP_N)
    if fallback == "original":
        # Both lists grow in lockstep; a kind that ran out contributes index -1, i.e. the last detection.
        n = max(len(humans), len(objects))
        last = len(scores) - 1
        humans = np.concatenate([humans, np.full(n - len(humans), last, np.int64)])
        objects = np.concatenate([objects, np.full(n - len(objects), last, np.int64)])
    return humans, objects


def select_pairs(det_boxes: Any, is_human: Any, classes_: Any, scores: Any, human_thresh: float,
                 object_thresh: float, fallback: str = "fixed") -> tuple[np.ndarray, np.ndarray, bool]:
    """Candidate (human, object) detection indices of one image, in the original's loop order.

    Args:
        det_boxes: (D, 4) detection boxes.
        is_human: (D,) the detector's 'Human' flag.
        classes_: (D,) object classes; not used by the rule (objects may be humans), checked for shape only.
        scores: (D,) detection scores.
        fallback: for an image without a pair: 'fixed' (top-4 humans x top-4 non-humans, no padding),
            'original' (the same with the original's index -1 padding) or 'none'.

    Returns:
        (human_idx, object_idx, is_fallback): int64 index arrays, and whether the thresholded rule found no pair
        (the image is one of the original's ``all_remaining``, where NIS is off).
    """
    if fallback not in ("fixed", "original", "none"):
        raise ValueError(f"fallback should be 'fixed', 'original' or 'none', not {fallback!r}")
    boxes = np.asarray(det_boxes).reshape(-1, 4)
    human = np.asarray(is_human, dtype=bool).reshape(-1)
    score = np.asarray(scores, dtype=np.float64).reshape(-1)
    n = len(boxes)
    if not len(human) == len(score) == np.asarray(classes_).reshape(-1).shape[0] == n:
        raise ValueError(f"select_pairs: {n} boxes, {len(human)} human flags, "
                         f"{np.asarray(classes_).size} classes and {len(score)} scores should have the same length")
    hs = np.flatnonzero(human & (score > human_thresh))
    os_ = np.flatnonzero(score > object_thresh)
    same = np.all(boxes[hs][:, None, :] == boxes[os_][None, :, :], axis=-1)
    hh, oo = np.nonzero(~same)  # row-major: human-major, then object order
    if len(hh) or fallback == "none" or n == 0:
        return hs[hh].astype(np.int64), os_[oo].astype(np.int64), len(hh) == 0
    humans, objects = _fallback_lists(human, score, fallback)
    return (np.repeat(humans, len(objects)).astype(np.int64), np.tile(objects, len(humans)).astype(np.int64),
            True)
