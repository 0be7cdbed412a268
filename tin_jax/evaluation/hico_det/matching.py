"""HICO-DET matching and 11-point AP of one HOI class, as ``VOCevaldet_bboxpair.m`` computes them.

- detections are concatenated image by image (cell order), then ``sort(-conf)``, which is stable: ties keep
  image order, then row order inside the cell;
- each detection takes the GT pair of its image with the largest ``min(IoU_h, IoU_o)`` (inclusive ``+1``
  pixel IoU; the *first* such pair on ties); TP iff that overlap is ``>= 0.5`` and that pair is still unused,
  otherwise FP (no fall back to the second best pair);
- ``rec = tp / npos``, ``prec = tp / (tp + fp)``; AP is the 11-point VOC AP
  ``ap = sum_t max(prec(rec >= t)) / 11`` over MATLAB's ``0:0.1:1`` (see :data:`MATLAB_THRESHOLDS`);
  recall is ``rec(end)`` (0 without detections). A class without GT gets AP 0 and, if it has detections,
  recall ``0/0 = NaN``, which makes ``mean(REC)`` NaN: reproduced, not hidden.
"""

from __future__ import annotations

import numpy as np

from tin_jax.evaluation.hico_det.detections import ClassDetections
from tin_jax.evaluation.hico_det.matlab_arithmetic import MATLAB_THRESHOLDS

__all__ = ["MIN_OVERLAP", "average_precision_11", "best_gt_pair", "evaluate_class", "match_detections",
           "pair_overlap", "rank_and_match"]

MIN_OVERLAP = 0.5  # eval_one.m min_overlap


def _box_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Inclusive-pixel IoU of row-aligned boxes, with the same floating-point operations as the .m file."""
    iw = (np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])) + 1
    ih = (np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])) + 1
    inter = iw * ih
    ua = ((a[:, 2] - a[:, 0]) + 1) * ((a[:, 3] - a[:, 1]) + 1) + ((b[:, 2] - b[:, 0]) + 1) * ((b[:, 3] - b[:, 1]) + 1)
    ua = ua - inter
    ok = (iw > 0) & (ih > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, inter / np.where(ok, ua, 1.0), 0.0)


def pair_overlap(det: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """``min(IoU_h, IoU_o)`` of row-aligned (n, 8) pairs, both in 1-based coordinates."""
    return np.minimum(_box_overlap(det[:, :4], gt[:, :4]), _box_overlap(det[:, 4:], gt[:, 4:]))


def best_gt_pair(det_image: np.ndarray, det_boxes: np.ndarray, gt_image: np.ndarray,
                 gt_boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(best overlap, best GT row) of each detection (1-based boxes) among one class's GT pairs of its
    image (GT images ascending): ``min(IoU_h, IoU_o)`` maximised, the first GT pair reaching it, as
    VOCevaldet_bboxpair.m picks it. ``-inf`` and ``-1`` for a detection on an image without GT."""
    n = len(det_image)
    start = np.searchsorted(gt_image, det_image, side="left")
    count = np.searchsorted(gt_image, det_image, side="right") - start
    has = count > 0
    ov_max = np.full(n, -np.inf)
    best = np.full(n, -1, dtype=np.int64)
    if not np.any(has):
        return ov_max, best
    first_pair = np.cumsum(count) - count
    det_of_pair = np.repeat(np.arange(n), count)
    gt_row = np.arange(int(count.sum())) - np.repeat(first_pair - start, count)
    ov = pair_overlap(det_boxes[det_of_pair], gt_boxes[gt_row])
    seg = first_pair[has]
    ov_max[has] = np.maximum.reduceat(ov, seg)
    # ``if min_ov > ov_max``: the first GT pair reaching the maximum wins.
    candidate = np.where(ov == ov_max[det_of_pair], np.arange(len(ov)), len(ov))
    best[has] = gt_row[np.minimum.reduceat(candidate, seg)]
    return ov_max, best


def match_detections(det_image: np.ndarray, det_boxes: np.ndarray, gt_image: np.ndarray, gt_boxes: np.ndarray,
                     min_overlap: float = MIN_OVERLAP) -> np.ndarray:
    """TP flags of ranked detections (1-based boxes) against one class's GT (images ascending).

    Why it vectorises: a detection's best GT pair does not depend on earlier decisions (there is no fallback),
    so detection d is a TP iff its best overlap is ``>= min_overlap`` and no earlier detection chose the same
    GT pair with overlap ``>= min_overlap``.
    """
    n = len(det_image)
    ov_max, best = best_gt_pair(det_image, det_boxes, gt_image, gt_boxes)
    qualified = np.flatnonzero(ov_max >= min_overlap)
    _, first_use = np.unique(best[qualified], return_index=True)
    tp = np.zeros(n, dtype=bool)
    tp[qualified[first_use]] = True
    return tp


def average_precision_11(tp: np.ndarray, npos: int,
                         thresholds: np.ndarray = MATLAB_THRESHOLDS) -> tuple[float, float]:
    """(ap, final recall) from ranked TP flags, exactly as VOCevaldet_bboxpair.m + eval_one.m compute them.

    Recall is 0 without detections and NaN (0/0) for detections of a class without GT.
    """
    n = len(tp)
    if n == 0:
        return 0.0, 0.0
    tp_cum = np.cumsum(tp, dtype=np.float64)
    fp_cum = np.cumsum(~tp, dtype=np.float64)
    prec = tp_cum / (fp_cum + tp_cum)
    if npos == 0:  # rec = 0/0 = NaN: no t satisfies rec >= t, so every p is 0
        return 0.0, float("nan")
    rec = tp_cum / npos
    best_after = np.maximum.accumulate(prec[::-1])[::-1]
    ap = 0.0
    for i in np.searchsorted(rec, thresholds, side="left").tolist():
        p = float(best_after[i]) if i < n else 0.0
        ap = ap + p / 11
    return ap, float(rec[-1])


def rank_and_match(gt_image: np.ndarray, gt_boxes: np.ndarray, dets: ClassDetections, *,
                   min_overlap: float = MIN_OVERLAP) -> tuple[np.ndarray, np.ndarray]:
    """(rank order, TP flags in rank order) of one class: stable descending sort, +1 on the boxes, matching.

    Only detections on images with GT of the class need boxes; the others are FP whatever they are.
    """
    order = np.argsort(-dets.scores, kind="stable")
    tp = np.zeros(len(order), dtype=bool)
    if len(gt_image) and len(order):
        pos = np.minimum(np.searchsorted(gt_image, dets.image), len(gt_image) - 1)  # cell order: sorted needles
        on_gt = np.flatnonzero((gt_image[pos] == dets.image)[order])
        rows = order[on_gt]
        tp[on_gt] = match_detections(dets.image[rows], dets.boxes[rows] + 1, gt_image, gt_boxes, min_overlap)
    return order, tp


def evaluate_class(gt_image: np.ndarray, gt_boxes: np.ndarray, dets: ClassDetections, *,
                   min_overlap: float = MIN_OVERLAP,
                   thresholds: np.ndarray = MATLAB_THRESHOLDS) -> tuple[float, float]:
    """(AP, recall) of one class, as VOCevaldet_bboxpair.m + eval_one.m compute them."""
    _, tp = rank_and_match(gt_image, gt_boxes, dets, min_overlap=min_overlap)
    return average_precision_11(tp, len(gt_image), thresholds)
