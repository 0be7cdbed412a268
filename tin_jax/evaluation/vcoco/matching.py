"""V-COCO matching and AP, as ``vsrl_eval._do_agent_eval`` / ``_do_role_eval`` / ``voc_ap`` compute them.

Matching, per image and action (and role): valid detections in descending score order (``argsort()[::-1]`` on
float32, the original's very calls, so tied scores come in the same order as there); each is assigned to the GT
person of maximum IoU (first on ties; no one-to-one search). Unannotated GT person -> skipped. TP iff that person
has the action, IoU >= 0.5 and (roles) the role IoU >= 0.5, and the person is not yet covered for this action
(role); a second hit on a covered person is a FP. Role IoU is the predicted role box against the GT role object
of *that* person; when the person has no GT role object, scenario 1 counts the role as correct only if the
predicted box is all zeros or all NaN, scenario 2 always. IoU uses inclusive pixels (``+1`` on widths and
heights) and float32 arithmetic. A detection on an image without any valid GT person (``argmax`` of an empty
array there) is a FP.

AP: all kept detections of an action (role), sorted by score (``argsort()[::-1]`` again), cumulative TP/FP,
recall = TP / #positive GT persons of the action (the same #pos for every role of the action), and the area
under the precision envelope at each recall change (VOC 2010+ "all points", not 11-point). An action with no
positive GT person (``assert`` on NaN recall there) has AP NaN; an action (role) with no kept detection
(``np.amax`` of an empty array there) has AP 0.

NumPy >= 2 evaluates the original's ``np.float32`` scalar expressions in float32 where NumPy 1 used float64
for a few terms (the detection box area); this can move an IoU by one float32 ulp, never more.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["SCENARIOS", "ap_from_hits", "box_overlaps", "greedy_match", "role_overlaps", "voc_ap"]

SCENARIOS = ("scenario_1", "scenario_2")


def box_overlaps(gt: np.ndarray, det: np.ndarray) -> np.ndarray:
    """(D, P) IoU of each detection with each GT box, as ``vsrl_eval.get_overlap`` (``+1``, float32)."""
    gt = np.asarray(gt, dtype=np.float32).reshape(-1, 4)
    det = np.asarray(det, dtype=np.float32).reshape(-1, 4)
    with np.errstate(invalid="ignore", divide="ignore"):
        ixmin = np.maximum(gt[None, :, 0], det[:, None, 0])
        iymin = np.maximum(gt[None, :, 1], det[:, None, 1])
        ixmax = np.minimum(gt[None, :, 2], det[:, None, 2])
        iymax = np.minimum(gt[None, :, 3], det[:, None, 3])
        iw = np.maximum(ixmax - ixmin + 1.0, 0.0)
        ih = np.maximum(iymax - iymin + 1.0, 0.0)
        inters = iw * ih
        det_area = (det[:, 2] - det[:, 0] + 1.0) * (det[:, 3] - det[:, 1] + 1.0)
        gt_area = (gt[:, 2] - gt[:, 0] + 1.0) * (gt[:, 3] - gt[:, 1] + 1.0)
        return inters / (det_area[:, None] + gt_area[None, :] - inters)


def role_overlaps(gt_roles: np.ndarray, det_roles: np.ndarray, scenario: str) -> np.ndarray:
    """(D, P) role overlap used by the match: IoU, or the scenario's rule where the person has no GT role."""
    has_gt = ~np.all(gt_roles == -1, axis=1)
    if scenario == "scenario_1":
        with np.errstate(invalid="ignore"):
            no_pred = np.all(det_roles == 0.0, axis=1) | np.all(np.isnan(det_roles), axis=1)
        fill = np.where(no_pred, 1.0, 0.0).astype(np.float32)[:, None]
    elif scenario == "scenario_2":
        fill = np.float32(1.0)
    else:
        raise ValueError(f"unknown scenario {scenario!r}; use one of {SCENARIOS}")
    return np.where(has_gt[None, :], box_overlaps(gt_roles, det_roles), fill)


def greedy_match(scores: np.ndarray, overlaps: np.ndarray, ignore: np.ndarray, positive: np.ndarray,
                 role_overlaps: np.ndarray | None, thresh: float) -> list[tuple[np.float32, int]]:
    """vsrl_eval's assignment in one image: (score, tp) of the kept detections, in visiting order."""
    valid = np.where(~np.isnan(scores))[0]
    order = valid[scores[valid].argsort()[::-1]]
    covered = np.zeros(len(ignore), dtype=bool)
    out = []
    for d in order:
        if not len(ignore):  # no GT person at all: a plain FP (vsrl_eval would crash here)
            out.append((scores[d], 0))
            continue
        jmax = int(overlaps[d].argmax())
        if ignore[jmax]:
            continue
        hit = (positive[jmax] and overlaps[d].max() >= thresh
               and (role_overlaps is None or role_overlaps[d, jmax] >= thresh))
        out.append((scores[d], int(bool(hit) and not covered[jmax])))
        if hit:
            covered[jmax] = True
    return out


def voc_ap(rec: np.ndarray, prec: np.ndarray) -> float:
    """Area under the precision envelope (``vsrl_eval.voc_ap``); 0 for no detections."""
    mrec = np.concatenate(([0.0], np.asarray(rec), [1.0]))
    mpre = np.concatenate(([0.0], np.asarray(prec), [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def ap_from_hits(hits: Sequence[tuple[np.float32, int]], npos: float) -> float:
    """AP of one action (role) from its kept detections; NaN when it has no positive GT."""
    if npos <= 0:
        return math.nan
    sc = np.array([s for s, _ in hits], dtype=np.float32)
    tp = np.array([t for _, t in hits], dtype=np.float32)
    idx = sc.argsort()[::-1]
    fp = np.cumsum(1.0 - tp[idx], dtype=np.float32)
    tp = np.cumsum(tp[idx], dtype=np.float32)
    rec = tp / float(npos)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return voc_ap(rec, prec)
