"""HICO-DET scoring: LIS, NIS and the top-k per HOI (``HICO-DET_Benchmark/Generate_HICO_detection_nis.py``).

For each object class c and each HOI k of its range, over the pairs whose object class is c, in pair order:
``score = S[k] * LIS(h) * LIS(o)`` with LIS = (6, 10, 1.4, 0) (:mod:`.lis`), in float64 (the original's scalars
promote to it). The pair is dropped for k iff ``P_noninter > thr_no`` and ``P_inter < thr_in`` and k is not a
no_interaction HOI and the image is not a fallback image. D's scores pass through float32 arrays there
(``cal_rank_600``), so they are rounded to float32 here too before the float64 comparison. Thresholds:
(0.9, 0.1) plus 11 hand-tuned classes (:data:`HICO_NIS_OVERRIDES`). Then ``np.argsort(score)[::-1]``, top
19,999 rows per HOI. Tie order there is whatever numpy's quicksort gives; here it is the reversed stable order
(score descending, then *later* pairs first), which is what that expression gives for a stable sort.

Boxes stay 0-based floats; the result is built with ``HicoDetections.from_arrays(..., round_boxes=True)``,
i.e. rounded as ``Generate_detection.m`` rounds the exported rows, cells filled in row order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from tin_jax.evaluation.hico_det import HicoDetections
from tin_jax.inference.postprocess.lis import HICO_LIS, lis_weight
from tin_jax.schema import classes

__all__ = ["HICO_NIS_OVERRIDES", "HICO_NIS_THRESHOLDS", "HICO_TOP_K", "HicoImagePairs", "NO_INTERACTION_HOI_MASK",
           "hico_detections", "hico_non_interactive"]

HICO_TOP_K = 19999
HICO_NIS_THRESHOLDS = (0.9, 0.1)  # (thr_no, thr_in): Test_TIN_HICO.py defaults
# (thr_no, thr_in) by COCO class, Generate_HICO_detection_nis.py l.78-110.
HICO_NIS_OVERRIDES: Mapping[int, tuple[float, float]] = {
    63: (0.95, 0.15), 43: (0.85, 0.1), 57: (0.85, 0.2), 48: (0.85, 0.2), 41: (0.85, 0.15), 2: (0.85, 0.2),
    4: (0.85, 0.15), 31: (0.85, 0.1), 19: (0.85, 0.2), 1: (0.85, 0.05), 11: (0.85, 0.15),
}
NO_INTERACTION_HOI_MASK = np.zeros(classes.NUM_HOIS, dtype=bool)  # NIS never drops these HOIs
NO_INTERACTION_HOI_MASK[list(classes.NO_INTERACTION_HOIS)] = True


class HicoImagePairs(NamedTuple):
    """The scored pairs of one HICO-DET test image (one value of TIN's test pickle)."""

    image_index: int          # 0-based index into anno.mat list_test
    human_boxes: Any          # (N, 4) 0-based [x1, y1, x2, y2]
    object_boxes: Any         # (N, 4)
    object_class: Any         # (N,) COCO class 1..80
    hoi_scores: Any           # (N, 600) sig(sp) * (sig(H) + sig(O))
    human_score: Any          # (N,) detection scores
    object_score: Any         # (N,)
    binary: Any               # (N, 2) D's (P_inter, P_noninter)
    is_fallback_image: bool   # pairs came from the zero-pair fallback: NIS is off there


class _HicoFlat(NamedTuple):
    image: np.ndarray
    human_boxes: np.ndarray
    object_boxes: np.ndarray
    object_class: np.ndarray
    hoi_scores: np.ndarray
    human_score: np.ndarray
    object_score: np.ndarray
    binary: np.ndarray
    fallback: np.ndarray


def _flatten_hico(per_image: Sequence[HicoImagePairs]) -> _HicoFlat:
    """Concatenate all pairs in list order (the original's dict order), checking shapes per image."""
    parts: list[list[np.ndarray]] = [[] for _ in range(9)]
    for r in per_image:
        n = np.asarray(r.object_class).reshape(-1).shape[0]
        try:
            arrays = (np.full(n, int(r.image_index), np.int64),
                      np.asarray(r.human_boxes, np.float64).reshape(n, 4),
                      np.asarray(r.object_boxes, np.float64).reshape(n, 4),
                      np.asarray(r.object_class).reshape(n),
                      np.asarray(r.hoi_scores).reshape(n, classes.NUM_HOIS),  # dtype kept: 600 x pairs is big
                      np.asarray(r.human_score, np.float64).reshape(n),
                      np.asarray(r.object_score, np.float64).reshape(n),
                      np.asarray(r.binary).reshape(n, 2),
                      np.full(n, bool(r.is_fallback_image)))
        except (TypeError, ValueError) as e:
            raise ValueError(f"hico_detections: image index {r.image_index}: {n} pairs, but ({e})") from None
        for p, a in zip(parts, arrays):
            p.append(a)
    empty = (np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros((0, 4)), np.zeros(0, np.int64),
             np.zeros((0, classes.NUM_HOIS)), np.zeros(0), np.zeros(0), np.zeros((0, 2)), np.zeros(0, bool))
    flat = _HicoFlat(*(np.concatenate(p) if p else e for p, e in zip(parts, empty)))
    cls = flat.object_class
    if cls.dtype.kind not in "iu" and not np.all(cls == np.round(cls)):
        raise ValueError("hico_detections: object classes should be integers 1..80")
    cls = cls.astype(np.int64)
    if np.any((cls < 1) | (cls > classes.NUM_OBJECTS)):
        raise ValueError(f"hico_detections: object class {int(cls[(cls < 1) | (cls > 80)][0])} outside 1..80")
    return flat._replace(object_class=cls)


def _class_thresholds(default: tuple[float, float], overrides: Mapping[int, tuple[float, float]] | None):
    """(thr_no, thr_in) per COCO class 0..80."""
    thr = np.tile(np.asarray(default, np.float64), (classes.NUM_OBJECTS + 1, 1))
    for c, t in (overrides or {}).items():
        thr[int(c)] = t
    return thr[:, 0], thr[:, 1]


def hico_non_interactive(binary: Any, object_class: Any,
                         thresholds: tuple[float, float] = HICO_NIS_THRESHOLDS,
                         overrides: Mapping[int, tuple[float, float]] | None = HICO_NIS_OVERRIDES) -> np.ndarray:
    """NIS's test per pair: ``P_noninter > thr_no and P_inter < thr_in`` with the object class's (thr_no, thr_in).

    ``binary``: (N, 2) D's (P_inter, P_noninter), rounded to float32 first as ``cal_rank_600`` holds them.
    """
    thr_no, thr_in = _class_thresholds(thresholds, overrides)
    d = np.asarray(binary).astype(np.float32).astype(np.float64).reshape(-1, 2)
    c = np.asarray(object_class).astype(np.int64).reshape(-1)
    return (d[:, 1] > thr_no[c]) & (d[:, 0] < thr_in[c])


def hico_detections(per_image: Sequence[HicoImagePairs], *, num_images: int,
                    lis: Sequence[float] | None = HICO_LIS, nis: bool = True,
                    nis_thresholds: tuple[float, float] = HICO_NIS_THRESHOLDS,
                    nis_overrides: Mapping[int, tuple[float, float]] | None = HICO_NIS_OVERRIDES,
                    exempt_fallback_images: bool = True, top_k: int = HICO_TOP_K) -> HicoDetections:
    """Generate_HICO_detection_nis.py + Generate_detection.m: LIS, NIS and the top-k per HOI.

    Args:
        per_image: pairs of each test image, in the test pickle's order (it decides score ties).
        num_images: test set size (``len(list_test)``).
        lis: (a, b, c, d) of LIS, None for none (score = S[k]).
        nis: drop pairs D calls non-interactive (never for no_interaction HOIs).
        nis_thresholds: default (thr_no, thr_in); ``nis_overrides``: per COCO class.
        exempt_fallback_images: no NIS on images whose pairs came from the fallback (the original's rule).
        top_k: rows kept per HOI over the whole test set.
    """
    f = _flatten_hico(per_image)
    lis_h = lis_o = np.ones(len(f.image))
    if lis is not None:
        lis_h, lis_o = lis_weight(f.human_score, lis), lis_weight(f.object_score, lis)
    ranges = classes.HOI_RANGE_BY_OBJECT[f.object_class].astype(np.int64)  # (P, 2) 0-based inclusive
    counts = ranges[:, 1] - ranges[:, 0] + 1
    pair = np.repeat(np.arange(len(f.image)), counts)
    starts = np.cumsum(counts) - counts
    hoi = ranges[pair, 0] + np.arange(len(pair)) - starts[pair]
    score = f.hoi_scores[pair, hoi].astype(np.float64) * lis_h[pair] * lis_o[pair]
    if nis:
        non_inter = hico_non_interactive(f.binary, f.object_class, nis_thresholds, nis_overrides)
        if exempt_fallback_images:
            non_inter &= ~f.fallback
        keep = ~(non_inter[pair] & ~NO_INTERACTION_HOI_MASK[hoi])
        pair, hoi, score = pair[keep], hoi[keep], score[keep]
    # Per HOI: score descending, later pair first on ties (= a stable argsort, reversed).
    order = np.lexsort((-pair, -score, hoi))
    pair, hoi, score = pair[order], hoi[order], score[order]
    first = np.searchsorted(hoi, hoi, side="left")
    rank = np.arange(len(hoi)) - first
    keep = rank < top_k
    pair, hoi, score = pair[keep], hoi[keep], score[keep]
    return HicoDetections.from_arrays(hoi, f.image[pair], f.human_boxes[pair], f.object_boxes[pair], score,
                                      num_images=num_images, round_boxes=True, source="hico_detections")
