"""Interactiveness ("binary") AP of TIN's discriminator D on HICO-DET test, in its two published forms.

Both score human-object pairs given per test image as 0-based ``[x1, y1, x2, y2]`` boxes and D's
``(P_inter, P_noninter)``, against the non-invisible HOIs of ``anno_bbox.mat:bbox_test`` (1-based inclusive
pixel boxes, read by :func:`tin_jax.io.hico_mat.read_anno_bbox_mat`). They answer different questions:

Master (CVPR code, ``HICO-DET_Benchmark/HICO_Benchmark_Binary.py``) -- :func:`master_binary_ap`
    A pair *classification* score over the detected pairs; no GT pair can be missed.

    - Label: a pair is "inter" iff some GT connection has ``IoU_h > 0.5`` **and** ``IoU_o > 0.5`` (strict), with
      no object-class or HOI check and no one-to-one assignment (many pairs may match one GT pair); otherwise
      "no-inter". IoU counts inclusive pixels (``+1``) on integer boxes: the detection is truncated with
      ``int()`` and the GT cast to int32, and the 0-based detection is compared with the 1-based GT **without
      any shift** (the script's one-pixel offset is kept).
    - **Only the image's first HOI annotation is searched.** The script loops over ``info['id'].tolist()`` of
      the (1, K) struct array that ``scipy.io.loadmat`` returns, a list of one row, so ``index`` is only ever 0:
      connections of the 2nd, 3rd... HOI of the image are never looked at, and an image whose first HOI is
      invisible yields no "inter" pair. ``first_hoi_only=False`` searches every non-invisible HOI, as the script
      evidently intended (and as the spec summarises it).
    - AP: rank all pairs by ``P_inter`` (``argsort(-score)``), precision/recall with recall relative to the
      number of "inter" *pairs* (not GT), 11-point VOC AP ``sum_t max(prec[rec >= t]) / 11``; the same for
      ``P_noninter`` against "no-inter"; ``binary_mAP`` = their mean.
    - Pair order: images in ascending image id (what Python 2's dict iteration gave for these int keys), pairs
      in their given order; it only matters for tied scores.

TPAMI (branch TIN-PAMI, ``eval/eval_HICO_DET_binary.py``) -- :func:`detection_binary_ap`
    A *detection* AP of interactive pairs: every GT pair must be found.

    - GT: the unique (human box, object box) pairs of the image's non-invisible HOIs. The branch reads them from
      ``lib/ult/gt_binary_HICO_DET.pkl`` (7829 images, 24473 pairs), whose construction is not published; here
      they are built from ``anno_bbox.mat`` and shifted to the detections' 0-based pixels (file ``- 1``).
      ``include_no_interaction`` decides whether pairs annotated only with a no_interaction HOI count (the
      pickle's 7829 images, against 9658 test images, hint that they may not have).
    - Match: pairs in descending ``P_inter`` (``argsort(score)[::-1]``) take the GT pair of their image with the
      largest ``min(IoU_h, IoU_o)`` (first on ties); TP iff that value >= 0.5 and the GT pair is still unused,
      else FP (duplicates are FP, no fall-back to the second best). IoU has **no** ``+1``, float64.
    - AP: recall = TP / #GT pairs, precision = TP / rank, 11-point AP skipping empty recall levels.

Where the originals crash or divide by zero, this module returns NaN: no "inter" (or "no-inter") pair in the
master protocol (``max()`` of an empty sequence there), no GT pair in the TPAMI one (0/0 there). Scores are
float32, as in TIN's pickles.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tin_jax.schema.classes import NO_INTERACTION_HOIS
from tin_jax.io.errors import DataFormatError
from tin_jax.io.hico_mat import HicoBboxAnno, HicoImageAnno, read_anno_bbox_mat
from tin_jax.io.safe_pickle import load_pickle

__all__ = [
    "DetectionBinaryResult",
    "GtPairs",
    "MasterBinaryResult",
    "PairScores",
    "detection_binary_ap",
    "eleven_point_ap",
    "gt_pairs_from_anno",
    "hico_image_id",
    "iou_inclusive_int",
    "iou_no_plus1",
    "main",
    "master_binary_ap",
    "master_interactiveness_labels",
    "pairs_from_tin_output",
    "read_gt_pairs",
    "read_tin_pairs",
    "unique_gt_pairs",
]

TIN_SCORE_INDEX = 6  # master test pickle: element[6] = (P_inter, P_noninter)
TPAMI_SCORE_INDEX = 3  # TIN-PAMI part-model pickle: element[3][0] = (P_inter, P_noninter)


# --------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class PairScores:
    """Scored pairs of one image: (N, 4) 0-based boxes and (N, 2) float32 ``[P_inter, P_noninter]``."""

    human_boxes: np.ndarray
    object_boxes: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        h = np.asarray(self.human_boxes, dtype=np.float64).reshape(-1, 4)
        o = np.asarray(self.object_boxes, dtype=np.float64).reshape(-1, 4)
        s = np.asarray(self.scores, dtype=np.float32).reshape(-1, 2)
        if not len(h) == len(o) == len(s):
            raise ValueError(f"PairScores: {len(h)} human boxes, {len(o)} object boxes, {len(s)} score rows")
        if not (np.all(np.isfinite(h)) and np.all(np.isfinite(o))):
            raise ValueError("PairScores: non-finite box coordinate")
        object.__setattr__(self, "human_boxes", h)
        object.__setattr__(self, "object_boxes", o)
        object.__setattr__(self, "scores", s)

    def __len__(self) -> int:
        return len(self.scores)


@dataclasses.dataclass(frozen=True, eq=False)
class GtPairs:
    """Connections of the non-invisible HOIs of one image, in file order.

    Attributes:
        human_boxes, object_boxes: (K, 4) float64 ``[x1, y1, x2, y2]`` in the file's 1-based coordinates.
        hoi_ids: (K,) 0-based HOI class.
        hoi_index: (K,) position of the HOI annotation in the image's ``hoi`` list (invisible ones counted).
    """

    human_boxes: np.ndarray
    object_boxes: np.ndarray
    hoi_ids: np.ndarray
    hoi_index: np.ndarray


def hico_image_id(filename: str) -> int:
    """``'HICO_test2015_00000123.jpg'`` -> 123, the key of TIN's test pickles (``int(name[-9:-4])``)."""
    stem = os.path.splitext(os.path.basename(filename))[0]
    digits = stem.rsplit("_", 1)[-1]
    if not digits.isdigit():
        raise DataFormatError(f"{filename}: no image number at the end of the file name")
    return int(digits)


def _image_pairs(image: HicoImageAnno) -> GtPairs:
    h, o, ids, idx = [], [], [], []
    for k, hoi in enumerate(image.hois):
        if hoi.invis:
            continue
        hb, ob = hoi.pairs()
        h.append(hb)
        o.append(ob)
        ids += [hoi.hoi_id] * len(hb)
        idx += [k] * len(hb)
    cat = (lambda xs: np.concatenate(xs).reshape(-1, 4)) if h else (lambda xs: np.zeros((0, 4)))
    return GtPairs(cat(h), cat(o), np.asarray(ids, dtype=np.int64), np.asarray(idx, dtype=np.int64))


def gt_pairs_from_anno(anno: HicoBboxAnno | Sequence[HicoImageAnno]) -> dict[int, GtPairs]:
    """Image id -> GT pairs of ``anno.test`` (or of the given images)."""
    images = anno.test if isinstance(anno, HicoBboxAnno) else anno
    out: dict[int, GtPairs] = {}
    for image in images:
        key = hico_image_id(image.filename)
        if key in out:
            raise DataFormatError(f"{image.filename}: image number {key} appears twice in bbox_test")
        out[key] = _image_pairs(image)
    return out


def read_gt_pairs(anno_bbox_path: str | os.PathLike[str]) -> dict[int, GtPairs]:
    """GT pairs of ``anno_bbox.mat:bbox_test``."""
    return gt_pairs_from_anno(read_anno_bbox_mat(anno_bbox_path))


def _pair_scores(value: Any, score_index: int, where: str) -> PairScores:
    if not isinstance(value, (list, tuple)):
        raise DataFormatError(f"{where}: should be a list of pairs, found {type(value).__name__}")
    h, o, s = [], [], []
    for k, element in enumerate(value):
        w = f"{where} pair {k}"
        if not isinstance(element, (list, tuple)) or len(element) <= max(1, score_index):
            raise DataFormatError(f"{w}: should be a list with at least {max(2, score_index + 1)} items")
        try:
            hb = np.asarray(element[0], dtype=np.float64).reshape(4)
            ob = np.asarray(element[1], dtype=np.float64).reshape(4)
            sc = np.asarray(element[score_index], dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as e:
            raise DataFormatError(f"{w}: boxes should be 4 numbers and item {score_index} the D scores ({e})") from None
        if sc.size < 2:
            raise DataFormatError(f"{w}: item {score_index} should hold (P_inter, P_noninter), found {sc.size} value(s)")
        if not (np.all(np.isfinite(hb)) and np.all(np.isfinite(ob))):
            raise DataFormatError(f"{w}: non-finite box coordinate")
        h.append(hb)
        o.append(ob)
        s.append(sc[:2])
    return PairScores(np.reshape(h, (-1, 4)), np.reshape(o, (-1, 4)), np.reshape(s, (-1, 2)))


def pairs_from_tin_output(data: Any, *, score_index: int = TIN_SCORE_INDEX,
                          source: str = "<pairs>") -> dict[int, PairScores]:
    """Image id -> pairs from TIN's test-output layout ``{image_id: [[Hbox, Obox, ..., D, ...], ...]}``.

    ``element[score_index]`` flattened gives ``(P_inter, P_noninter)``: index 6 for the master pickle
    (``cls_prob_binary``), 3 for the TIN-PAMI part-model pickle (``element[3][0]``).
    """
    if not isinstance(data, Mapping):
        raise DataFormatError(f"{source}: should be a dict image_id -> list of pairs, found {type(data).__name__}")
    out: dict[int, PairScores] = {}
    for key, value in data.items():
        if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer)):
            raise DataFormatError(f"{source}: key {key!r:.40} is not an integer image id")
        out[int(key)] = _pair_scores(value, score_index, f"{source}: image {int(key)}")
    return out


def read_tin_pairs(path: str | os.PathLike[str], *, score_index: int = TIN_SCORE_INDEX) -> dict[int, PairScores]:
    """Read a TIN test-output pickle without running its code."""
    name = os.fspath(path)
    return pairs_from_tin_output(load_pickle(name), score_index=score_index, source=name)


# --------------------------------------------------------------------------------------------------
# Master protocol
# --------------------------------------------------------------------------------------------------


def iou_inclusive_int(gt: np.ndarray, det: np.ndarray) -> np.ndarray:
    """(N, K) IoU of integer boxes with ``+1`` widths, as the master script's ``IOU`` (0 without overlap)."""
    gt = np.asarray(gt, dtype=np.int64).reshape(-1, 4)
    det = np.asarray(det, dtype=np.int64).reshape(-1, 4)
    iw = np.minimum(gt[None, :, 2], det[:, None, 2]) - np.maximum(gt[None, :, 0], det[:, None, 0]) + 1
    ih = np.minimum(gt[None, :, 3], det[:, None, 3]) - np.maximum(gt[None, :, 1], det[:, None, 1]) + 1
    inter = iw * ih
    gt_area = (gt[:, 2] - gt[:, 0] + 1) * (gt[:, 3] - gt[:, 1] + 1)
    det_area = (det[:, 2] - det[:, 0] + 1) * (det[:, 3] - det[:, 1] + 1)
    union = gt_area[None, :] + det_area[:, None] - inter
    ok = (iw > 0) & (ih > 0) & (union > 0)
    return np.where(ok, inter / np.where(ok, union, 1).astype(np.float64), 0.0)


def master_interactiveness_labels(pairs: PairScores, gt: GtPairs, *, first_hoi_only: bool = True,
                                  include_no_interaction: bool = True) -> np.ndarray:
    """(N,) bool: the master script's "inter" label of each pair (see the module docstring).
    ``include_no_interaction=False``: only GT pairs of interactive HOIs make a pair "inter" (the
    master script counts a match with a no_interaction annotation as interactive)."""
    keep = gt.hoi_index == 0 if first_hoi_only else np.ones(len(gt.hoi_index), dtype=bool)
    if not include_no_interaction:
        keep &= ~np.isin(gt.hoi_ids, NO_INTERACTION_HOIS)
    # int() on the detection and int32 on the GT both truncate toward zero; no 0/1-based shift.
    gh, go = np.trunc(gt.human_boxes[keep]), np.trunc(gt.object_boxes[keep])
    dh, do = np.trunc(pairs.human_boxes), np.trunc(pairs.object_boxes)
    hit = (iou_inclusive_int(gh, dh) > 0.5) & (iou_inclusive_int(go, do) > 0.5)
    return np.any(hit, axis=1)


def eleven_point_ap(rec: np.ndarray, prec: np.ndarray) -> float:
    """``sum_t max(prec[rec >= t]) / 11`` over t = 0, 0.1, ..., 1, accumulated in that order; empty levels add 0."""
    ap = 0.0
    for i in range(11):
        mask = rec >= i / 10.0
        if np.any(mask):
            ap += np.max(prec[mask]) / 11.0
    return float(ap)


def _master_ap(scores: np.ndarray, positive: np.ndarray) -> float:
    """One side of the master AP: rank by ``scores``, recall over the positive *pairs*."""
    labels = positive.astype(np.int32)
    num = np.sum(labels)
    if num == 0:
        return math.nan
    order = np.argsort(-scores)
    tp = np.cumsum(labels[order])
    fp = np.cumsum(1 - labels[order])
    prec = tp.astype(np.float32) / (tp + fp)
    rec = tp.astype(np.float32) / num
    return eleven_point_ap(rec, prec)


@dataclasses.dataclass(frozen=True)
class MasterBinaryResult:
    ap_inter: float
    ap_noninter: float
    num_pairs: int
    num_inter: int
    num_noninter: int
    first_hoi_only: bool

    @property
    def binary_map(self) -> float:
        return (self.ap_inter + self.ap_noninter) / 2.0

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["binary_map"] = self.binary_map
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}

    def format(self) -> str:
        return (f"ap_inter: {self.ap_inter}\nap_no_inter: {self.ap_noninter}\nbinary_mAP: {self.binary_map}\n"
                f"(pairs {self.num_pairs}: inter {self.num_inter}, no-inter {self.num_noninter}; "
                f"{'first HOI of each image only' if self.first_hoi_only else 'all HOIs'})")


def _missing_image(key: int) -> DataFormatError:
    return DataFormatError(f"image {key}: not an image of anno_bbox.mat:bbox_test")


def master_binary_ap(pairs: Mapping[int, PairScores], gt: Mapping[int, GtPairs], *,
                     first_hoi_only: bool = True, include_no_interaction: bool = True) -> MasterBinaryResult:
    """Interactiveness AP exactly as TIN master's ``HICO_Benchmark_Binary.py`` (module docstring);
    ``include_no_interaction=False`` labels by interactive HOIs only (see
    :func:`master_interactiveness_labels`)."""
    labels, inter, noninter = [], [], []
    for key in sorted(pairs):
        p = pairs[key]
        if key not in gt:
            raise _missing_image(key)
        labels.append(master_interactiveness_labels(p, gt[key], first_hoi_only=first_hoi_only,
                                                    include_no_interaction=include_no_interaction))
        inter.append(p.scores[:, 0])
        noninter.append(p.scores[:, 1])
    lab = np.concatenate(labels) if labels else np.zeros(0, dtype=bool)
    s_in = np.concatenate(inter) if inter else np.zeros(0, dtype=np.float32)
    s_no = np.concatenate(noninter) if noninter else np.zeros(0, dtype=np.float32)
    return MasterBinaryResult(_master_ap(s_in, lab), _master_ap(s_no, ~lab), int(lab.size), int(lab.sum()),
                              int((~lab).sum()), first_hoi_only)


# --------------------------------------------------------------------------------------------------
# TPAMI protocol
# --------------------------------------------------------------------------------------------------


def iou_no_plus1(gt: np.ndarray, det: np.ndarray) -> np.ndarray:
    """(N, K) IoU without ``+1`` and with negative sizes clamped, as TIN-PAMI's ``iou(det, gt)``."""
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    det = np.asarray(det, dtype=np.float64).reshape(-1, 4)
    det_area = np.maximum(det[:, 2] - det[:, 0], 0) * np.maximum(det[:, 3] - det[:, 1], 0)
    gt_area = np.maximum(gt[:, 2] - gt[:, 0], 0) * np.maximum(gt[:, 3] - gt[:, 1], 0)
    xi = np.maximum(np.minimum(det[:, None, 2], gt[None, :, 2]) - np.maximum(det[:, None, 0], gt[None, :, 0]), 0)
    yi = np.maximum(np.minimum(det[:, None, 3], gt[None, :, 3]) - np.maximum(det[:, None, 1], gt[None, :, 1]), 0)
    inter = xi * yi
    ok = inter > 0
    union = det_area[:, None] + gt_area[None, :] - inter
    return np.where(ok, inter / np.where(ok, union, 1.0), 0.0)


def unique_gt_pairs(gt: GtPairs, *, include_no_interaction: bool = True) -> np.ndarray:
    """(K, 8) ``[h(4), o(4)]`` unique GT pairs in first-seen order, in 0-based pixels (file boxes - 1)."""
    keep = np.ones(len(gt.hoi_ids), dtype=bool)
    if not include_no_interaction:
        keep = ~np.isin(gt.hoi_ids, NO_INTERACTION_HOIS)
    rows = np.concatenate([gt.human_boxes[keep], gt.object_boxes[keep]], axis=1) - 1.0
    seen: dict[tuple[float, ...], None] = {}
    for row in rows:
        seen.setdefault(tuple(row.tolist()), None)
    return np.array(list(seen), dtype=np.float64).reshape(-1, 8)


@dataclasses.dataclass(frozen=True)
class DetectionBinaryResult:
    ap: float
    max_recall: float
    num_gt: int
    num_pairs: int
    num_tp: int
    include_no_interaction: bool

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}

    def format(self) -> str:
        return (f"Binary mAP: {self.ap:.4f}\n(max recall {self.max_recall:.4f}; {self.num_tp} TP of {self.num_pairs} "
                f"pairs; {self.num_gt} GT pairs)")


def detection_binary_ap(pairs: Mapping[int, PairScores], gt: Mapping[int, GtPairs], *,
                        include_no_interaction: bool = True, min_iou: float = 0.5) -> DetectionBinaryResult:
    """Detection-style interactiveness AP as TIN-PAMI's ``eval_HICO_DET_binary.py`` (module docstring)."""
    gt_rows = {k: unique_gt_pairs(g, include_no_interaction=include_no_interaction) for k, g in gt.items()}
    npos = sum(len(r) for r in gt_rows.values())
    keys = sorted(pairs)
    for key in keys:
        if key not in gt:
            raise _missing_image(key)
    # Per image: each pair's best GT (first on ties, -1 if no overlap) and that min-IoU.
    best, best_ov, scores = [], [], []
    for key in keys:
        p, g = pairs[key], gt_rows[key]
        ov = np.minimum(iou_no_plus1(g[:, :4], p.human_boxes), iou_no_plus1(g[:, 4:], p.object_boxes))
        top = ov.max(axis=1) if g.size else np.zeros(len(p))
        best.append(np.where(top > 0, ov.argmax(axis=1) if g.size else -1, -1))
        best_ov.append(top)
        scores.append(p.scores[:, 0])
    owner = np.repeat(np.arange(len(keys)), [len(pairs[k]) for k in keys])
    best_a = np.concatenate(best) if best else np.zeros(0, dtype=np.int64)
    ov_a = np.concatenate(best_ov) if best_ov else np.zeros(0)
    score_a = np.concatenate(scores) if scores else np.zeros(0, dtype=np.float32)
    if npos == 0:
        return DetectionBinaryResult(math.nan, math.nan, 0, int(score_a.size), 0, include_no_interaction)
    if score_a.size == 0:
        return DetectionBinaryResult(0.0, 0.0, npos, 0, 0, include_no_interaction)
    used: set[tuple[int, int]] = set()
    hit = np.zeros(score_a.size, dtype=np.int64)
    for j, d in enumerate(np.argsort(score_a)[::-1]):
        k = int(best_a[d])
        if ov_a[d] >= min_iou and (owner[d], k) not in used:
            hit[j] = 1
            used.add((owner[d], k))
    tp = np.cumsum(hit)
    rec = tp / npos
    prec = tp / (np.arange(len(tp)) + 1)
    return DetectionBinaryResult(eleven_point_ap(rec, prec), float(np.max(rec)), npos, int(score_a.size),
                                 int(tp[-1]), include_no_interaction)


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tin_jax.evaluation.binary",
                                description="HICO-DET interactiveness AP of TIN-style pair scores.")
    p.add_argument("--anno_bbox", required=True, help="hico_20160224_det/anno_bbox.mat")
    p.add_argument("--detections", required=True, help="TIN test pickle {image_id: [[Hbox, Obox, ...], ...]}")
    p.add_argument("--protocol", choices=("master", "tpami", "both"), default="both")
    p.add_argument("--score_index", type=int, default=TIN_SCORE_INDEX,
                   help="pair item holding (P_inter, P_noninter): 6 master pickle, 3 TIN-PAMI pickle")
    p.add_argument("--all_hois", action="store_true",
                   help="master: search every HOI of the image, not only the first (the script's behaviour)")
    p.add_argument("--exclude_no_interaction", action="store_true",
                   help="tpami: drop GT pairs annotated only with no_interaction HOIs")
    p.add_argument("--out_json", "--json", dest="json", default=None, help="also write the results as JSON to this file")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    out: dict[str, Any] = {}
    try:
        gt = read_gt_pairs(args.anno_bbox)
        pairs = read_tin_pairs(args.detections, score_index=args.score_index)
        if args.protocol in ("master", "both"):
            res = master_binary_ap(pairs, gt, first_hoi_only=not args.all_hois)
            print("[master HICO_Benchmark_Binary]\n" + res.format())
            out["master"] = res.to_dict()
        if args.protocol in ("tpami", "both"):
            det = detection_binary_ap(pairs, gt, include_no_interaction=not args.exclude_no_interaction)
            print("[TIN-PAMI eval_HICO_DET_binary]\n" + det.format())
            out["tpami"] = det.to_dict()
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                f.write(json.dumps(out, indent=2) + "\n")
    except (DataFormatError, OSError) as e:
        print(f"error: {e}".replace("\n", " "), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
