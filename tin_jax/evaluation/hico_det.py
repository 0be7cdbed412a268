"""HICO-DET evaluation: the official ho-rcnn protocol, vectorised, with identical results.

Official code (vendored verbatim by TIN): ywchao/ho-rcnn ``evaluation/eval_one.m`` +
``VOCevaldet_bboxpair.m``, fed by TIN's ``HICO-DET_Benchmark/Generate_detection.m``. What it does, and what
this module reproduces exactly (``tests/test_hico_eval.py`` checks it against a loop-by-loop transcription and,
when Octave is installed, against the MATLAB files themselves):

Ground truth (``anno_bbox.mat: bbox_test``). For every image and every HOI annotation that is not ``invis``,
each ``connection`` row gives one (human box, object box) pair, 1-based as stored. Annotators' duplicate boxes
are *not* merged. ``gt_all{hoi_id, i} = boxes`` *overwrites*: if an image lists the same HOI id twice, only the
last visible entry counts.

Detections (``detections_XX.mat``, one per COCO object, ``all_boxes{k, i}`` = n x 9 rows
``[hbox(4) obox(4) score]`` for HOI ``k`` of that object's range and test image ``i``). Boxes are 0-based;
``Generate_detection.m`` rounds them (MATLAB ``round``: halves away from zero) when it builds the file and
``eval_one.m`` adds 1. The 19,999-per-HOI cap is TIN's export, not part of the evaluator.

Per HOI class (``VOCevaldet_bboxpair.m``):

- detections are concatenated image by image (cell order), then ``sort(-conf)``, which is stable: ties keep
  image order, then row order inside the cell;
- each detection takes the GT pair of its image with the largest ``min(IoU_h, IoU_o)`` (inclusive ``+1``
  pixel IoU; the *first* such pair on ties); TP iff that overlap is ``>= 0.5`` and that pair is still unused,
  otherwise FP (no fall back to the second best pair);
- ``rec = tp / npos``, ``prec = tp / (tp + fp)``; AP is the 11-point VOC AP
  ``ap = sum_t max(prec(rec >= t)) / 11`` over MATLAB's ``0:0.1:1`` (see :data:`MATLAB_THRESHOLDS`);
  recall is ``rec(end)`` (0 without detections). A class without GT gets AP 0 and, if it has detections,
  recall ``0/0 = NaN``, which makes ``mean(REC)`` NaN: reproduced, not hidden.

Settings. Default: all test images. Known Object: for HOI ``i`` of object ``o``, keep only the *detections* on
images with ``anno_test(j, img) == 1`` for some HOI ``j`` of object ``o`` (by ``list_action.nname`` of
``anno.mat``). GT is *not* filtered; ``eval_one.m`` asserts instead that no GT lies outside those images (the
assertion is reproduced as an error, ``check_known_object=False`` skips it).

Summary: Full / Rare / Non-Rare = ``mean`` over all / ``num_inst < 10`` / ``num_inst >= 10`` classes, where
``num_inst`` counts non-invisible ``connection`` rows of ``bbox_train`` (138 / 462 on the real data). Every class
counts, with or without GT. Means are left-to-right sums divided by the count, as Octave computes them (MATLAB
may add in another order, which can only move the last bit).

Usage::

    gt = load_ground_truth("Data/hico_20160224_det")          # anno_bbox.mat + anno.mat
    dets = read_official_detections("dets/", gt)              # or read_tin_detections(...), or
    # HicoDetections.from_arrays(hoi, image, hbox, obox, score, num_images=gt.num_images, round_boxes=True)
    result = evaluate(gt, dets)                               # Default + Known Object
    print(result.format_table())                              # also "markdown", "matlab"; to_json(), write_csv()

Command line: ``python -m tin_jax.evaluation.hico_det --anno_dir DIR --detections DIR [--format tin]
[--out_json F] [--out_csv F]``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import math
import os
import sys
import zipfile
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.io

from tin_jax.schema import classes
from tin_jax.io import hico_mat
from tin_jax.io.errors import DataFormatError

__all__ = [
    "ClassDetections", "DetectionFileError", "HicoDetResult", "HicoDetections", "HicoGroundTruth",
    "MATLAB_THRESHOLDS", "MIN_OVERLAP", "OCTAVE_THRESHOLDS", "SettingResult", "average_precision_11",
    "detection_filename", "evaluate", "evaluate_class", "evaluate_setting", "ground_truth_from_annotations",
    "image_ids_of", "load_ground_truth", "main", "match_detections", "matlab_colon", "matlab_round",
    "pair_overlap", "rank_and_match", "read_official_detection_file", "read_official_detections",
    "read_tin_detections", "write_official_detections", "COMPACT_KEYS", "read_compact_detections",
    "write_compact_detections",
]

MIN_OVERLAP = 0.5  # eval_one.m min_overlap
NUM_OBJECTS = 80
MAX_DETECTIONS_PER_HOI = 19999  # TIN's export cap (Generate_HICO_detection_nis.py), not applied here
SETTINGS = ("def", "ko")  # eval_one.m eval_mode values, in eval_run.m order
SETTING_NAMES = {"def": "Default", "ko": "Known Object"}
# get_list_coco_obj.m: COCO-contiguous order, spaces replaced by '_' (HICO's nname spelling).
COCO_OBJECT_NAMES = tuple(name.replace(" ", "_") for name in classes.COCO_OBJECTS)


class DetectionFileError(DataFormatError):
    """A detection file or array is malformed; the message names the file (or source) and the entry."""


# --------------------------------------------------------------------------------------------------
# MATLAB arithmetic that the published numbers depend on
# --------------------------------------------------------------------------------------------------


def matlab_round(x: np.ndarray) -> np.ndarray:
    """MATLAB ``round``: nearest integer, halves away from zero (numpy rounds halves to even).

    ``x - trunc(x)`` is exact in binary floating point, so 0.49999999999999994 stays 0 (``floor(x + 0.5)``
    would give 1).
    """
    x = np.asarray(x, dtype=np.float64)
    whole = np.trunc(x)
    return whole + np.where(np.abs(x - whole) >= 0.5, np.sign(x), 0.0)


def matlab_colon(a: float, d: float, b: float) -> np.ndarray:
    """MATLAB's ``a:d:b`` for doubles, following MathWorks' documented algorithm (``colonop.m``).

    Why: the 11-point AP loops over ``t = 0:0.1:1`` and compares ``rec >= t`` exactly. MATLAB does not compute
    ``a + k*d`` for every k: the lower half is ``a + k*d`` and the upper half ``b - (n-k)*d`` (the vector is
    symmetric about its midpoint, which for even n is ``(a+b)/2``). For ``0:0.1:1`` that gives ``3*0.1 =
    0.30000000000000004`` (not 0.3) but ``1 - 4*0.1 = 0.6`` and ``1 - 3*0.1 = 0.7`` exactly, where Octave and
    numpy (``k*0.1`` throughout) give 0.6000000000000001 and 0.7000000000000001.
    """
    eps = np.finfo(np.float64).eps
    tol = 2.0 * eps * max(abs(a), abs(b))
    if not (math.isfinite(a) and math.isfinite(d) and math.isfinite(b)):
        raise ValueError("matlab_colon: non-finite argument")
    if d == 0 or (a < b and d < 0) or (b < a and d > 0):
        return np.zeros(0)
    sig = math.copysign(1.0, d)
    if a == math.floor(a) and d == 1:
        n = int(math.floor(b) - a)
    elif a == math.floor(a) and d == math.floor(d):
        q = math.floor(a / d)
        n = int(math.floor((b - (a - q * d)) / d) - q)
    else:
        ratio = (b - a) / d
        n = int(math.copysign(math.floor(abs(ratio) + 0.5), ratio))  # MATLAB round
        if sig * (a + n * d - b) > tol:
            n -= 1
    c = a + n * d
    if sig * (c - b) > -tol:
        c = b
    v = np.zeros(n + 1)
    for k in range(n // 2 + 1):
        v[k] = a + k * d
        v[n - k] = c - k * d
    if n % 2 == 0:
        v[n // 2] = (a + c) / 2
    return v


# The t values of ``for t = 0:0.1:1`` in VOCevaldet_bboxpair.m under MATLAB (the published numbers).
MATLAB_THRESHOLDS = matlab_colon(0.0, 0.1, 1.0)
MATLAB_THRESHOLDS.setflags(write=False)
# The same loop under GNU Octave (base + k*increment); use it to compare with Octave runs bit for bit.
OCTAVE_THRESHOLDS = np.arange(11) * 0.1
OCTAVE_THRESHOLDS.setflags(write=False)


def _matlab_mean(values: np.ndarray) -> float:
    """``mean`` of a vector: left-to-right sum over the count; NaN for an empty vector, as MATLAB."""
    if len(values) == 0:
        return float("nan")
    total = 0.0
    for v in values.tolist():
        total += v
    return total / len(values)


# --------------------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class HicoGroundTruth:
    """Everything eval_one.m derives from ``anno.mat`` and ``anno_bbox.mat`` for the test split.

    GT pairs are grouped by class (rows ``offsets[c]:offsets[c+1]``), images ascending, and inside an image in
    the file's connection order. Boxes are ``[hx1 hy1 hx2 hy2 ox1 oy1 ox2 oy2]``, 1-based as in the file.
    """

    filenames: tuple[str, ...]
    action_names: tuple[str, ...]  # eval_one.m aname: vname_ing + '_' + nname
    object_names: tuple[str, ...]  # nname per class
    class_object: np.ndarray  # (C,) COCO-contiguous object id 1..80 (get_list_coco_obj.m order)
    object_hoi_range: np.ndarray  # (81, 2) 0-based first/last class of each object (obj_hoi_int - 1); row 0 unused
    offsets: np.ndarray  # (C + 1,) int64
    gt_image: np.ndarray  # (K,) int64 0-based test image index
    gt_boxes: np.ndarray  # (K, 8) float64
    known_object: np.ndarray  # (C, N) bool: images kept for class c in the Known Object setting
    num_train: np.ndarray  # (C,) int64 training instances (num_inst)
    name: str = "anno.mat/anno_bbox.mat"

    @property
    def num_classes(self) -> int:
        return len(self.action_names)

    @property
    def num_images(self) -> int:
        return len(self.filenames)

    @property
    def num_gt(self) -> np.ndarray:
        """(C,) npos of each class."""
        return np.diff(self.offsets)

    @property
    def rare(self) -> np.ndarray:
        """(C,) bool: fewer than 10 training instances (eval_one.m ``s_ind``)."""
        return self.num_train < hico_mat.RARE_THRESHOLD

    def class_gt(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        """(image, boxes) of class c's GT pairs."""
        lo, hi = self.offsets[c], self.offsets[c + 1]
        return self.gt_image[lo:hi], self.gt_boxes[lo:hi]

    def file_rows(self, obj: int) -> int:
        """Rows of ``all_boxes`` in ``detections_<obj>.mat``: the object's HOI range."""
        lo, hi = self.object_hoi_range[obj]
        return int(hi - lo + 1)

    def image_index(self, images: Sequence[int | str], source: str = "<detections>") -> np.ndarray:
        """0-based test indices of images given as file names or numeric ids (Generate_detection.m's parse)."""
        by_name = {f: i for i, f in enumerate(self.filenames)}
        by_id = {int(v): i for i, v in enumerate(image_ids_of(self.filenames)) if v >= 0}
        out = np.empty(len(images), dtype=np.int64)
        for k, im in enumerate(images):
            i = by_name.get(im) if isinstance(im, str) else by_id.get(int(im))
            if i is None:
                raise DetectionFileError(f"{source}: detection {k}: image {im!r} is not in list_test")
            out[k] = i
        return out

    def known_object_violations(self) -> list[tuple[int, int]]:
        """(class, image) pairs with GT on an image the Known Object setting drops (eval_one.m asserts none)."""
        cls = np.repeat(np.arange(self.num_classes), self.num_gt)
        bad = ~self.known_object[cls, self.gt_image]
        return sorted({(int(c), int(i)) for c, i in zip(cls[bad], self.gt_image[bad])})


def _object_ranges(object_names: Sequence[str], name: str) -> tuple[np.ndarray, np.ndarray]:
    """eval_one.m ``obj_hoi_int`` (first/last class per COCO object) and each class's object id."""
    names = np.array(object_names, dtype=object)
    ranges = np.full((NUM_OBJECTS + 1, 2), -1, dtype=np.int64)
    for obj, obj_name in enumerate(COCO_OBJECT_NAMES, start=1):
        idx = np.flatnonzero(names == obj_name)
        if len(idx) == 0:
            raise hico_mat.AnnotationError(f"{name}: list_action has no HOI of object '{obj_name}' "
                                           "(eval_one.m asserts one for each of the 80 COCO objects)")
        ranges[obj] = idx[0], idx[-1]
    lookup = {n: i for i, n in enumerate(COCO_OBJECT_NAMES, start=1)}
    class_object = np.zeros(len(names), dtype=np.int64)
    for c, obj_name in enumerate(object_names):
        if obj_name not in lookup:
            raise hico_mat.AnnotationError(f"{name}: list_action[{c}] object '{obj_name}' is not one of the 80 COCO "
                                           "objects of get_list_coco_obj.m")
        class_object[c] = lookup[obj_name]
    return ranges, class_object


def _known_object_mask(object_names: Sequence[str], anno_test: np.ndarray) -> np.ndarray:
    """eval_one.m KO: ``any(anno_im(nid, :) == 1, 1)`` over the classes ``nid`` sharing the object name."""
    names = np.array(object_names, dtype=object)
    mask = np.zeros(anno_test.shape, dtype=bool)
    for obj_name in dict.fromkeys(object_names):
        rows = names == obj_name
        mask[rows] = np.any(anno_test[rows] == 1, axis=0)
    return mask


def _gt_pairs(images: Sequence[hico_mat.HicoImageAnno], num_classes: int) -> dict[tuple[int, int], np.ndarray]:
    """eval_one.m ``gt_all``: {(class, image): (k, 8) boxes}; a repeated HOI id overwrites the earlier one."""
    gt: dict[tuple[int, int], np.ndarray] = {}
    for i, img in enumerate(images):
        for hoi in img.hois:
            if hoi.invis or hoi.hoi_id >= num_classes:
                continue
            human, obj = hoi.pairs()
            gt[(hoi.hoi_id, i)] = np.concatenate([human, obj], axis=1).reshape(-1, 8)
    return gt


def ground_truth_from_annotations(bbox: hico_mat.HicoBboxAnno, labels: hico_mat.HicoImageLabels, *,
                                  name: str = "anno.mat/anno_bbox.mat") -> HicoGroundTruth:
    """Build the evaluator's GT from the parsed files (``list_action`` comes from anno.mat, as in eval_one.m)."""
    if len(bbox.test) != len(labels.list_test):
        raise hico_mat.AnnotationError(f"{name}: bbox_test has {len(bbox.test)} images but list_test has "
                                       f"{len(labels.list_test)}")
    for i, (img, f) in enumerate(zip(bbox.test, labels.list_test)):
        if img.filename != f:
            raise hico_mat.AnnotationError(f"{name}: bbox_test[{i}] is {img.filename!r} but list_test{{{i}}} is {f!r}")
    object_names = tuple(a.nname for a in labels.actions)
    num_classes = len(object_names)
    ranges, class_object = _object_ranges(object_names, name)
    pairs = _gt_pairs(bbox.test, num_classes)
    keys = sorted(k for k, v in pairs.items() if len(v))
    counts = np.bincount([c for c, _ in keys], weights=[len(pairs[k]) for k in keys],
                         minlength=num_classes).astype(np.int64)
    gt_image = np.array([i for k in keys for i in [k[1]] * len(pairs[k])], dtype=np.int64)
    gt_boxes = np.concatenate([pairs[k] for k in keys]) if keys else np.zeros((0, 8))
    num_train = hico_mat.count_train_instances(bbox)
    num_train = np.pad(num_train, (0, max(0, num_classes - len(num_train))))[:num_classes]
    return HicoGroundTruth(
        filenames=tuple(labels.list_test),
        action_names=tuple(f"{a.vname_ing}_{a.nname}" for a in labels.actions),
        object_names=object_names,
        class_object=class_object,
        object_hoi_range=ranges,
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        gt_image=gt_image,
        gt_boxes=gt_boxes.astype(np.float64),
        known_object=_known_object_mask(object_names, labels.anno_test),
        num_train=num_train.astype(np.int64),
        name=name,
    )


def load_ground_truth(anno_dir: str | os.PathLike[str]) -> HicoGroundTruth:
    """Read ``anno_bbox.mat`` and ``anno.mat`` from ``anno_dir`` (e.g. ``Data/hico_20160224_det``).

    Degenerate GT boxes are accepted (the official code does not check them; they simply never overlap).
    """
    bbox_file = os.path.join(os.fspath(anno_dir), "anno_bbox.mat")
    anno_file = os.path.join(os.fspath(anno_dir), "anno.mat")
    bbox = hico_mat.read_anno_bbox_mat(bbox_file, strict_boxes=False)
    labels = hico_mat.read_anno_mat(anno_file)
    return ground_truth_from_annotations(bbox, labels, name=anno_file)


def image_ids_of(filenames: Sequence[str]) -> np.ndarray:
    """Numeric image id of each file name, as Generate_detection.m parses it: ``str2double(name(end-9:end-4))``.

    ``HICO_test2015_00000123.jpg`` -> 123; a name that does not parse gives -1 (MATLAB's NaN never matches).
    """
    ids = np.full(len(filenames), -1, dtype=np.int64)
    for i, f in enumerate(filenames):
        digits = f[-10:-4]
        if len(f) >= 10 and digits.strip().isdigit():
            ids[i] = int(digits)
    return ids


# --------------------------------------------------------------------------------------------------
# Detections
# --------------------------------------------------------------------------------------------------


def _check_detections(image: np.ndarray, boxes: np.ndarray, scores: np.ndarray, num_images: int,
                      where: Callable[[int], str]) -> None:
    """Raise DetectionFileError for the first bad entry: image index, non-finite values, x2 < x1 or y2 < y1."""
    checks = (
        ((image < 0) | (image >= num_images), lambda i: f"image index {int(image[i])} outside 0..{num_images - 1}"),
        (~np.all(np.isfinite(boxes), axis=1), lambda i: f"non-finite box coordinate in {boxes[i].tolist()}"),
        (~np.isfinite(scores), lambda i: f"non-finite score {float(scores[i])!r}"),
        ((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1]),
         lambda i: f"human box has x2 < x1 or y2 < y1: {boxes[i, :4].tolist()}"),
        ((boxes[:, 6] < boxes[:, 4]) | (boxes[:, 7] < boxes[:, 5]),
         lambda i: f"object box has x2 < x1 or y2 < y1: {boxes[i, 4:].tolist()}"),
    )
    for bad, message in checks:
        if np.any(bad):
            i = int(np.argmax(bad))
            raise DetectionFileError(f"{where(i)}: {message(i)}")


@dataclasses.dataclass(frozen=True, eq=False)
class ClassDetections:
    """Detections of one HOI class, in cell order: images ascending, then row order inside the image's cell.

    That order is what eval_one.m builds before its stable sort, so it decides score ties; rows are put in it
    (stably, by image) on construction.

    Attributes:
        image: (n,) int64 0-based index into ``list_test``.
        boxes: (n, 8) float64 ``[hx1 hy1 hx2 hy2 ox1 oy1 ox2 oy2]`` as stored in ``detections_XX.mat``: 0-based
            (the evaluator adds 1, as eval_one.m does).
        scores: (n,) float64.
    """

    image: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        image = np.asarray(self.image, dtype=np.int64).reshape(-1)
        boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 8)
        scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        if not len(image) == len(boxes) == len(scores):
            raise ValueError(f"ClassDetections: {len(image)} images, {len(boxes)} boxes, {len(scores)} scores")
        if len(image) > 1 and np.any(image[1:] < image[:-1]):
            order = np.argsort(image, kind="stable")
            image, boxes, scores = image[order], boxes[order], scores[order]
        object.__setattr__(self, "image", image)
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "scores", scores)

    def __len__(self) -> int:
        return len(self.scores)


_EMPTY = ClassDetections(np.zeros(0, np.int64), np.zeros((0, 8)), np.zeros(0))


@dataclasses.dataclass(frozen=True, eq=False)
class HicoDetections:
    """Detections of every HOI class (``per_class[c]``, c 0-based) on a test set of ``num_images`` images."""

    per_class: tuple[ClassDetections, ...]
    num_images: int

    @property
    def num_detections(self) -> np.ndarray:
        return np.array([len(d) for d in self.per_class], dtype=np.int64)

    @classmethod
    def empty(cls, num_images: int, num_classes: int = classes.NUM_HOIS) -> HicoDetections:
        return cls(tuple([_EMPTY] * num_classes), num_images)

    @classmethod
    def from_arrays(cls, hoi: Any, image: Any, human_boxes: Any, object_boxes: Any, scores: Any, *,
                    num_images: int, num_classes: int = classes.NUM_HOIS, round_boxes: bool = False,
                    source: str = "<detections>") -> HicoDetections:
        """Build from flat arrays (one row per detection; the row order breaks score ties within an image).

        Args:
            hoi: (n,) 0-based HOI class.
            image: (n,) 0-based index into ``list_test`` (:meth:`HicoGroundTruth.image_index` maps file names
                and numeric image ids).
            human_boxes, object_boxes: (n, 4) 0-based ``[x1, y1, x2, y2]``.
            scores: (n,).
            round_boxes: apply MATLAB ``round`` as Generate_detection.m does when it exports TIN's float boxes;
                leave False for boxes that are already in the official layout.
            source: named in error messages.
        """
        try:
            hoi = np.asarray(hoi).reshape(-1)
            image = np.asarray(image).reshape(-1)
            boxes = np.concatenate([np.asarray(human_boxes, dtype=np.float64).reshape(-1, 4),
                                    np.asarray(object_boxes, dtype=np.float64).reshape(-1, 4)], axis=1)
            scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as e:
            raise DetectionFileError(f"{source}: detections are not numeric arrays of the expected shapes ({e})") from e
        if not len(hoi) == len(image) == len(boxes) == len(scores):
            raise DetectionFileError(f"{source}: {len(hoi)} HOI ids, {len(image)} image indices, {len(boxes)} box "
                                     f"pairs and {len(scores)} scores should have the same length")
        for arr, what in ((hoi, "HOI id"), (image, "image index")):
            if arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f" and np.all(arr == np.round(arr))):
                raise DetectionFileError(f"{source}: {what}s should be integers")
        hoi, image = hoi.astype(np.int64), image.astype(np.int64)
        bad = (hoi < 0) | (hoi >= num_classes)
        if np.any(bad):
            i = int(np.argmax(bad))
            raise DetectionFileError(f"{source}: detection {i}: HOI id {hoi[i]} outside 0..{num_classes - 1}")
        _check_detections(image, boxes, scores, num_images, lambda i: f"{source}: detection {i} (HOI {hoi[i]})")
        if round_boxes:
            boxes = matlab_round(boxes)
        return cls(_split_by_class(hoi, image, boxes, scores, num_classes), num_images)


def _split_by_class(hoi: np.ndarray, image: np.ndarray, boxes: np.ndarray, scores: np.ndarray,
                    num_classes: int) -> tuple[ClassDetections, ...]:
    order = np.argsort(hoi, kind="stable")
    bounds = np.searchsorted(hoi[order], np.arange(num_classes + 1))
    out = []
    for c in range(num_classes):
        rows = order[bounds[c]:bounds[c + 1]]
        out.append(ClassDetections(image[rows], boxes[rows], scores[rows]) if len(rows) else _EMPTY)
    return tuple(out)


# --------------------------------------------------------------------------------------------------
# Detection files
# --------------------------------------------------------------------------------------------------


def detection_filename(obj: int) -> str:
    """``detections_%02d.mat`` for COCO object 1..80."""
    return f"detections_{obj:02d}.mat"


def _load_all_boxes(path: str) -> Any:
    if not os.path.isfile(path):
        raise DetectionFileError(f"{path}: file not found")
    try:
        data = scipy.io.loadmat(path, squeeze_me=False, variable_names=["all_boxes"])
    except NotImplementedError as e:
        raise DetectionFileError(f"{path}: cannot read this .mat version ({e}); save it with -v7 or -v6") from e
    except Exception as e:  # noqa: BLE001 - any parse failure of a foreign file is a format error
        raise DetectionFileError(f"{path}: not a readable MATLAB .mat file ({type(e).__name__}: {e})") from e
    if "all_boxes" not in data:
        raise DetectionFileError(f"{path}: missing variable all_boxes")
    return data["all_boxes"]


def _is_empty(value: Any) -> bool:
    """MATLAB ``isempty`` for a loaded cell element."""
    return isinstance(value, np.ndarray) and value.size == 0


def read_official_detection_file(path: str | os.PathLike[str], num_rows: int,
                                 num_images: int) -> list[ClassDetections]:
    """Read one ``detections_XX.mat``: ``all_boxes`` = num_rows x num_images cell of n x 9 ``[h o score]``."""
    name = os.fspath(path)
    cells = _load_all_boxes(name)
    if not (isinstance(cells, np.ndarray) and cells.dtype.kind == "O" and cells.ndim == 2):
        kind = getattr(cells, "dtype", type(cells).__name__)
        raise DetectionFileError(f"{name}: all_boxes should be a {num_rows}x{num_images} cell array, found "
                                 f"{kind} of shape {getattr(cells, 'shape', '?')}")
    if cells.shape != (num_rows, num_images):
        raise DetectionFileError(f"{name}: all_boxes should be a {num_rows}x{num_images} cell array (HOIs of the "
                                 f"object x test images), found {cells.shape[0]}x{cells.shape[1]}")
    return [_read_cell_row(name, r, cells[r], num_images) for r in range(num_rows)]


def _bad_cell(name: str, r: int, j: int, value: Any) -> DetectionFileError | None:
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf" and value.ndim == 2 and value.shape[1] == 9:
        return None
    shape = getattr(value, "shape", type(value).__name__)
    return DetectionFileError(f"{name}: all_boxes{{{r + 1},{j + 1}}}: should be a numeric n x 9 matrix "
                              f"[hbox obox score], found {getattr(value, 'dtype', '')} {shape}")


def _read_cell_row(name: str, r: int, row: np.ndarray, num_images: int) -> ClassDetections:
    """One class: its cells concatenated in cell order (fast path: one np.concatenate, checked afterwards)."""
    filled = [j for j, v in enumerate(row) if not _is_empty(v)]
    if not filled:
        return _EMPTY
    values = [row[j] for j in filled]
    data = None
    try:
        data = np.concatenate(values)
    except (ValueError, TypeError):
        pass
    if data is None or data.dtype.kind not in "biuf" or data.ndim != 2 or data.shape[1] != 9:
        for j, v in zip(filled, values):
            error = _bad_cell(name, r, j, v)
            if error:
                raise error
        raise DetectionFileError(f"{name}: all_boxes row {r + 1}: cells are not numeric n x 9 matrices")
    lengths = np.array([len(v) for v in values], dtype=np.int64)
    image = np.repeat(np.array(filled, dtype=np.int64), lengths)
    data = data.astype(np.float64, copy=False)
    cell_row = np.arange(len(image)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    _check_detections(image, data[:, :8], data[:, 8], num_images,
                      lambda i: f"{name}: all_boxes{{{r + 1},{image[i] + 1}}} row {cell_row[i] + 1}")
    return ClassDetections(image, data[:, :8], data[:, 8])


def read_official_detections(det_dir: str | os.PathLike[str], gt: HicoGroundTruth) -> HicoDetections:
    """Read the 80 ``detections_XX.mat`` files of the official layout (what eval_one.m loads)."""
    per_class: list[ClassDetections] = [_EMPTY] * gt.num_classes
    for obj in range(1, NUM_OBJECTS + 1):
        path = os.path.join(os.fspath(det_dir), detection_filename(obj))
        first = int(gt.object_hoi_range[obj, 0])
        for k, dets in enumerate(read_official_detection_file(path, gt.file_rows(obj), gt.num_images)):
            c = first + k
            if gt.class_object[c] == obj:  # eval_one.m reads class c only from its own object's file
                per_class[c] = dets
    return HicoDetections(tuple(per_class), gt.num_images)


def _tin_rows(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """TIN's pre-MATLAB list: rows ``[Hbox(4), Obox(4), image_id, k-b, score]`` as an N x 5 cell (or N x 11)."""
    cells = _load_all_boxes(path)
    if _is_empty(cells):
        z = np.zeros(0)
        return z.astype(np.int64), z.astype(np.int64), np.zeros((0, 8)), z, z.astype(np.int64)
    if isinstance(cells, np.ndarray) and cells.dtype.kind in "biuf" and cells.ndim == 2 and cells.shape[1] == 11:
        data = cells.astype(np.float64)
        ids, ks = data[:, 8], data[:, 9]
        for arr, what in ((ids, "image id"), (ks, "HOI index")):
            bad = ~np.isfinite(arr) | (arr != np.round(arr))
            if np.any(bad):
                i = int(np.argmax(bad))
                raise DetectionFileError(f"{path}: all_boxes({i + 1},:): {what} {float(arr[i])!r} is not an integer")
        return (ids.astype(np.int64), ks.astype(np.int64), data[:, :8], data[:, 10],
                np.arange(len(data), dtype=np.int64))
    if not (isinstance(cells, np.ndarray) and cells.dtype.kind == "O" and cells.ndim == 2 and cells.shape[1] == 5):
        raise DetectionFileError(f"{path}: all_boxes should be an N x 5 cell array of [Hbox, Obox, image_id, k, "
                                 f"score] rows (TIN layout), found {getattr(cells, 'dtype', '?')} "
                                 f"{getattr(cells, 'shape', '?')}")
    fast = _tin_columns(cells)
    if fast is not None:
        return fast
    n = len(cells)
    boxes, ids, ks, scores = np.zeros((n, 8)), np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n)
    for i in range(n):  # slow path: find the first bad row and name it
        where = f"{path}: all_boxes{{{i + 1},:}}"
        parts = []
        for col, (what, size) in enumerate((("Hbox", 4), ("Obox", 4), ("image id", 1), ("HOI index", 1),
                                            ("score", 1))):
            v = cells[i, col]
            if not (isinstance(v, np.ndarray) and v.dtype.kind in "biuf" and v.size == size):
                raise DetectionFileError(f"{where}: {what} should be {size} number(s), found "
                                         f"{getattr(v, 'dtype', type(v).__name__)} {getattr(v, 'shape', '')}")
            parts.append(v.astype(np.float64).reshape(-1))
        for what, v in (("image id", parts[2][0]), ("HOI index", parts[3][0])):
            if not math.isfinite(v) or v != round(v):
                raise DetectionFileError(f"{where}: {what} {v!r} is not an integer")
        boxes[i, :4], boxes[i, 4:] = parts[0], parts[1]
        ids[i], ks[i], scores[i] = int(parts[2][0]), int(parts[3][0]), parts[4][0]
    return ids, ks, boxes, scores, np.arange(n, dtype=np.int64)


def _tin_columns(cells: np.ndarray) -> tuple[np.ndarray, ...] | None:
    """Fast path for an N x 5 cell of well-formed rows: one concatenate per column; None if anything is off."""
    n = len(cells)
    columns = []
    for col, width in enumerate((4, 4, 1, 1, 1)):
        try:
            values = np.concatenate(cells[:, col].tolist())
        except (ValueError, TypeError):
            return None
        if values.shape != (n, width) or values.dtype.kind not in "biuf":
            return None
        columns.append(values.astype(np.float64))
    ids, ks = columns[2][:, 0], columns[3][:, 0]
    if not (np.all(np.isfinite(ids) & (ids == np.round(ids))) and np.all(np.isfinite(ks) & (ks == np.round(ks)))):
        return None
    return (ids.astype(np.int64), ks.astype(np.int64), np.concatenate(columns[:2], axis=1), columns[4][:, 0],
            np.arange(n, dtype=np.int64))


def _positions(file_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Index of each id in ``file_ids`` (-1 when absent), like Generate_detection.m's ``find(list == imageId)``."""
    if len(file_ids) == 0:
        return np.full(len(ids), -1, dtype=np.int64)
    order = np.argsort(file_ids, kind="stable")
    pos = np.minimum(np.searchsorted(file_ids[order], ids), len(order) - 1)
    return np.where((ids >= 0) & (file_ids[order][pos] == ids), order[pos], -1)


def read_tin_detections(det_dir: str | os.PathLike[str], gt: HicoGroundTruth, *,
                        round_boxes: bool = True) -> HicoDetections:
    """Read TIN's ``detections_XX.mat`` lists (Generate_HICO_detection_nis.py output) as Generate_detection.m does.

    Each row lands in ``all_boxes{k-b+1, i}`` with ``i`` = the test image whose name parses to ``image_id``; rows
    keep file order inside a cell; boxes are MATLAB-rounded unless ``round_boxes=False``.
    """
    file_ids = image_ids_of(gt.filenames)
    hoi_parts, image_parts, box_parts, score_parts = [], [], [], []
    for obj in range(1, NUM_OBJECTS + 1):
        path = os.path.join(os.fspath(det_dir), detection_filename(obj))
        ids, ks, boxes, scores, rows = _tin_rows(path)
        where = lambda i, p=path, r=rows: f"{p}: all_boxes{{{r[i] + 1},:}}"  # noqa: E731
        bad = (ks < 0) | (ks >= gt.file_rows(obj))
        if np.any(bad):
            i = int(np.argmax(bad))
            raise DetectionFileError(f"{where(i)}: HOI index k-b = {ks[i]} outside 0..{gt.file_rows(obj) - 1} "
                                     f"for object {obj} ({COCO_OBJECT_NAMES[obj - 1]})")
        image = _positions(file_ids, ids)
        if np.any(image < 0):
            i = int(np.argmax(image < 0))
            raise DetectionFileError(f"{where(i)}: image id {ids[i]} is not in list_test")
        _check_detections(image, boxes, scores, gt.num_images, where)
        hoi_parts.append(gt.object_hoi_range[obj, 0] + ks)
        image_parts.append(image)
        box_parts.append(boxes)
        score_parts.append(scores)
    boxes = np.concatenate(box_parts)
    if round_boxes:
        boxes = matlab_round(boxes)
    hoi = np.concatenate(hoi_parts)
    image = np.concatenate(image_parts)
    scores = np.concatenate(score_parts)
    # eval_one.m reads a class only from its own object's file (they differ only for an odd list_action).
    keep = gt.class_object[hoi] == np.repeat(np.arange(1, NUM_OBJECTS + 1), [len(p) for p in hoi_parts])
    return HicoDetections(_split_by_class(hoi[keep], image[keep], boxes[keep], scores[keep], gt.num_classes),
                          gt.num_images)


# MAT-file level 5 constants (MathWorks "MAT-File Format", the layout scipy.io.savemat also writes).
_MI_INT8, _MI_INT32, _MI_UINT32, _MI_DOUBLE, _MI_MATRIX, _MI_COMPRESSED = 1, 5, 6, 9, 14, 15
_MX_CELL_CLASS, _MX_DOUBLE_CLASS = 1, 6
_CELL_HEAD = 56  # bytes of one n x 9 double cell before its data: 7 tag/data pairs of 2 x uint32


def _mat5_file_header() -> bytes:
    text = b"MATLAB 5.0 MAT-file, Platform: posix, Created by: tin_jax"
    return text.ljust(116, b"\0") + b"\0" * 8 + np.array([0x0100], "<u2").tobytes() + b"IM"


def _mat5_cell_matrix(name: str, num_rows: int, num_cols: int,
                      rows: Sequence[tuple[np.ndarray, np.ndarray] | None]) -> bytes:
    """One miMATRIX element: a num_rows x num_cols cell of ``[]`` or n x 9 double matrices, built with numpy.

    Why not scipy.io.savemat: it writes ~10 us per cell in Python, ~2 minutes for the 5.8 M cells of a full
    HICO-DET export. ``rows[k]`` = (image, (n, 9) values) of cell row k in cell order (images ascending), or None.
    The bytes equal savemat's (uncompressed) for the same cell array (tests/test_hico_eval.py checks).
    """
    counts = np.zeros((num_rows, num_cols), dtype=np.int64)
    for k, block in enumerate(rows):
        if block is not None and len(block[0]):
            counts[k] = np.bincount(block[0], minlength=num_cols)
    n = counts.ravel(order="F")  # MATLAB linear order: rows vary fastest
    name_bytes = name.encode("ascii")
    head = 8 + 16 + 16 + 8 + -(-len(name_bytes) // 8) * 8
    sizes = _CELL_HEAD + 72 * n
    offsets = head + np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    buf = np.zeros(head + int(sizes.sum()), dtype=np.uint8)
    words = buf.view("<u4")
    words[:12] = [_MI_MATRIX, len(buf) - 8, _MI_UINT32, 8, _MX_CELL_CLASS, 0, _MI_INT32, 8, num_rows, num_cols,
                  _MI_INT8, len(name_bytes)]
    buf[48:48 + len(name_bytes)] = np.frombuffer(name_bytes, dtype=np.uint8)
    w = offsets // 4
    for i, value in enumerate((_MI_MATRIX, 48 + 72 * n, _MI_UINT32, 8, _MX_DOUBLE_CLASS, 0, _MI_INT32, 8, n,
                               np.where(n > 0, 9, 0), _MI_INT8, 0, _MI_DOUBLE, 72 * n)):
        words[w + i] = value
    doubles = buf.view("<f8")
    for k, block in enumerate(rows):
        if block is None or not len(block[0]):
            continue
        image, values = block
        cell = image * num_rows + k
        row_in_cell = np.arange(len(image)) - np.searchsorted(image, image, side="left")
        first = (offsets[cell] + _CELL_HEAD) // 8 + row_in_cell
        doubles[first[:, None] + np.arange(9)[None, :] * n[cell][:, None]] = values  # column-major cells
    return buf.tobytes()


def _mat5_file(name: str, element: bytes, compress: bool) -> bytes:
    if compress:
        packed = zlib.compress(element, 1)
        element = np.array([_MI_COMPRESSED, len(packed)], "<u4").tobytes() + packed
    return _mat5_file_header() + element


COMPACT_KEYS = ("hoi", "image", "boxes", "scores")


def write_compact_detections(path: str | os.PathLike[str], dets: HicoDetections, gt: HicoGroundTruth) -> None:
    """Our compact layout: one ``.npz`` of flat rows, ``hoi`` (0-based), ``image`` (the test image's file
    name), ``boxes`` (n, 8) 0-based ``[h, o]`` as in the official files, ``scores`` (float64, so ranks
    survive). A few MB where the official layout is 80 MATLAB files; written atomically."""
    counts = dets.num_detections
    arrays = dict(
        hoi=np.repeat(np.arange(len(counts)), counts).astype(np.int16),
        image=np.asarray(gt.filenames, dtype=object)[np.concatenate(
            [d.image for d in dets.per_class] + [np.zeros(0, np.int64)])].astype(str),
        boxes=np.concatenate([d.boxes for d in dets.per_class] + [np.zeros((0, 8))]),
        scores=np.concatenate([d.scores for d in dets.per_class] + [np.zeros(0)]))
    path = os.fspath(path)
    tmp = path + ".partial.npz"
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def read_compact_detections(path: str | os.PathLike[str], gt: HicoGroundTruth) -> HicoDetections:
    """Read :func:`write_compact_detections`' file (any model can write one: four flat arrays)."""
    name = os.fspath(path)
    try:
        with np.load(name, allow_pickle=False) as f:
            missing = [k for k in COMPACT_KEYS if k not in f.files]
            if missing:
                raise DetectionFileError(f"{name}: missing arrays {missing} (needs {list(COMPACT_KEYS)})")
            arrays = {k: f[k] for k in COMPACT_KEYS}
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise DetectionFileError(f"{name}: not a readable .npz file ({e})") from None
    image = gt.image_index(arrays["image"].tolist(), source=name)
    boxes = np.asarray(arrays["boxes"], np.float64).reshape(-1, 8) if arrays["boxes"].size else np.zeros((0, 8))
    return HicoDetections.from_arrays(arrays["hoi"], image, boxes[:, :4], boxes[:, 4:], arrays["scores"],
                                      num_images=gt.num_images, num_classes=gt.num_classes, source=name)


def write_official_detections(det_dir: str | os.PathLike[str], dets: HicoDetections, gt: HicoGroundTruth, *,
                              compress: bool = True) -> None:
    """Write the 80 ``detections_XX.mat`` in the official layout (each file atomically).

    Rows go into ``all_boxes{k, i}`` in ClassDetections order, so score ties resolve the same when MATLAB reads
    the files back. Empty cells are ``[]``. ``compress`` zlib-compresses each file (as MATLAB's -v7 does).
    """
    if dets.num_images != gt.num_images or len(dets.per_class) != gt.num_classes:
        raise DetectionFileError(f"{det_dir}: detections cover {len(dets.per_class)} classes x {dets.num_images} "
                                 f"images, the annotations {gt.num_classes} x {gt.num_images}")
    for obj in range(1, NUM_OBJECTS + 1):
        first = int(gt.object_hoi_range[obj, 0])
        rows: list[tuple[np.ndarray, np.ndarray] | None] = []
        for k in range(gt.file_rows(obj)):
            d = dets.per_class[first + k]
            own = gt.class_object[first + k] == obj
            rows.append((d.image, np.concatenate([d.boxes, d.scores[:, None]], axis=1)) if own and len(d) else None)
        data = _mat5_file("all_boxes", _mat5_cell_matrix("all_boxes", len(rows), gt.num_images, rows), compress)
        path = os.path.join(os.fspath(det_dir), detection_filename(obj))
        try:
            hico_mat.atomic_write(path, lambda f, data=data: f.write(data))
        except OSError as e:
            raise DetectionFileError(f"{path}: cannot write ({e})") from e


# --------------------------------------------------------------------------------------------------
# Matching and AP (VOCevaldet_bboxpair.m)
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class SettingResult:
    """Per-class AP / recall of one setting (eval_one.m ``AP`` and ``REC``) and their Full/Rare/Non-Rare means."""

    setting: str  # 'def' or 'ko'
    ap: np.ndarray  # (C,)
    recall: np.ndarray  # (C,)
    num_detections: np.ndarray  # (C,) detections evaluated (after the KO filter)
    rare: np.ndarray  # (C,) bool

    @property
    def name(self) -> str:
        return SETTING_NAMES[self.setting]

    @property
    def map_full(self) -> float:
        return _matlab_mean(self.ap)

    @property
    def map_rare(self) -> float:
        return _matlab_mean(self.ap[self.rare])

    @property
    def map_non_rare(self) -> float:
        return _matlab_mean(self.ap[~self.rare])

    @property
    def mrec_full(self) -> float:
        return _matlab_mean(self.recall)

    @property
    def mrec_rare(self) -> float:
        return _matlab_mean(self.recall[self.rare])

    @property
    def mrec_non_rare(self) -> float:
        return _matlab_mean(self.recall[~self.rare])

    def summary(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in ("map_full", "map_rare", "map_non_rare",
                                               "mrec_full", "mrec_rare", "mrec_non_rare")}


def _pct(x: float) -> str:
    return "nan" if math.isnan(x) else f"{100 * x:.2f}"


def _matlab_num(x: float) -> str:
    return "NaN" if math.isnan(x) else f"{x:.4f}"


def _json_value(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


@dataclasses.dataclass(frozen=True, eq=False)
class HicoDetResult:
    """Both settings of eval_run.m (Default, then Known Object) plus the class metadata for reporting."""

    default: SettingResult
    known_object: SettingResult
    action_names: tuple[str, ...]
    num_gt: np.ndarray
    num_train: np.ndarray
    num_images: int

    @property
    def rare(self) -> np.ndarray:
        return self.default.rare

    @property
    def settings(self) -> tuple[SettingResult, SettingResult]:
        return self.default, self.known_object

    def format_table(self, style: str = "console") -> str:
        """The result table: ``console`` (aligned, %), ``markdown`` (README rows) or ``matlab`` (eval_one.m lines)."""
        n_rare = int(self.rare.sum())
        head = (f"HICO-DET official protocol: {len(self.rare)} HOI classes ({n_rare} rare / "
                f"{len(self.rare) - n_rare} non-rare), {self.num_images} test images")
        if style == "markdown":
            lines = ["| HICO-DET | Default (Full / Rare / Non-Rare) | Known Object (Full / Rare / Non-Rare) |",
                     "|---|---|---|"]
            for label, keys in (("mAP (%)", ("map_full", "map_rare", "map_non_rare")),
                                ("mRec (%)", ("mrec_full", "mrec_rare", "mrec_non_rare"))):
                cells = [" / ".join(_pct(getattr(s, k)) for k in keys) for s in self.settings]
                lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
            return "\n".join(lines)
        if style == "matlab":
            lines = []
            for s in self.settings:
                lines += [f"setting:     {s.setting}",
                          f"  mAP / mRec (full):      {_matlab_num(s.map_full)} / {_matlab_num(s.mrec_full)}",
                          f"  mAP / mRec (rare):      {_matlab_num(s.map_rare)} / {_matlab_num(s.mrec_rare)}",
                          f"  mAP / mRec (non-rare):  {_matlab_num(s.map_non_rare)} / {_matlab_num(s.mrec_non_rare)}",
                          ""]
            return "\n".join(lines).rstrip("\n")
        if style != "console":
            raise ValueError(f"unknown table style {style!r} (console, markdown, matlab)")
        lines = [head, f"{'':14}{'mAP (%)':^26}  {'mean recall (%)':^26}",
                 f"{'setting':14}{'Full':>8}{'Rare':>8}{'Non-Rare':>10}  {'Full':>8}{'Rare':>8}{'Non-Rare':>10}"]
        for s in self.settings:
            lines.append(f"{s.name:14}{_pct(s.map_full):>8}{_pct(s.map_rare):>8}{_pct(s.map_non_rare):>10}  "
                         f"{_pct(s.mrec_full):>8}{_pct(s.mrec_rare):>8}{_pct(s.mrec_non_rare):>10}")
        nan_classes = int(np.isnan(self.default.recall).sum())
        if nan_classes:
            lines.append(f"({nan_classes} classes have detections but no GT: recall 0/0 = NaN, as in eval_one.m)")
        return "\n".join(lines)

    def to_dict(self, per_class: bool = True) -> dict[str, Any]:
        """Plain-Python result (fractions, not %; NaN becomes None)."""
        out: dict[str, Any] = {
            "protocol": "ho-rcnn eval_one.m / VOCevaldet_bboxpair.m (11-point AP, min overlap 0.5)",
            "num_classes": len(self.rare), "num_rare": int(self.rare.sum()), "num_images": self.num_images,
            "settings": {s.name: {k: _json_value(v) for k, v in s.summary().items()} for s in self.settings},
        }
        if per_class:
            out["per_class"] = [row for row in self._rows()]
        return out

    def to_json(self, per_class: bool = True) -> str:
        return json.dumps(self.to_dict(per_class), indent=1)

    def _rows(self) -> list[dict[str, Any]]:
        rows = []
        for c, name in enumerate(self.action_names):
            row: dict[str, Any] = {"hoi": c + 1, "action": name, "rare": bool(self.rare[c]),
                                   "num_train": int(self.num_train[c]), "num_gt": int(self.num_gt[c])}
            for s, key in ((self.default, "default"), (self.known_object, "known_object")):
                row[f"num_det_{key}"] = int(s.num_detections[c])
                row[f"ap_{key}"] = _json_value(float(s.ap[c]))
                row[f"rec_{key}"] = _json_value(float(s.recall[c]))
            rows.append(row)
        return rows

    def write_csv(self, path: str | os.PathLike[str]) -> None:
        """Per-class CSV (hoi is 1-based as in list_action; empty cell = NaN), written atomically."""
        rows = self._rows()
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["hoi"], lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else repr(v) if isinstance(v, float) else v) for k, v in row.items()})
        _write_text(path, buf.getvalue())

    def write_json(self, path: str | os.PathLike[str]) -> None:
        _write_text(path, self.to_json() + "\n")


def _write_text(path: str | os.PathLike[str], text: str) -> None:
    try:
        hico_mat.atomic_write(path, lambda f: f.write(text.encode("utf-8")))
    except OSError as e:
        raise DataFormatError(f"{os.fspath(path)}: cannot write ({e})") from e


# --------------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------------


def _check_shapes(gt: HicoGroundTruth, dets: HicoDetections) -> None:
    if dets.num_images != gt.num_images:
        raise DetectionFileError(f"detections are for {dets.num_images} test images, {gt.name} has "
                                 f"{gt.num_images} (eval_one.m asserts numel(det) == numel(gt_bbox))")
    if len(dets.per_class) != gt.num_classes:
        raise DetectionFileError(f"detections cover {len(dets.per_class)} HOI classes, {gt.name} has "
                                 f"{gt.num_classes}")


def _check_known_object(gt: HicoGroundTruth) -> None:
    bad = gt.known_object_violations()
    if bad:
        c, i = bad[0]
        raise hico_mat.AnnotationError(
            f"{gt.name}: Known Object: HOI {c + 1} ({gt.action_names[c]}) has ground truth on "
            f"{gt.filenames[i]}, but anno_test has no positive label for its object there "
            f"({len(bad)} such (HOI, image) pairs); eval_one.m asserts this never happens "
            "(check_known_object=False, --no_ko_check on the command line, skips the check)")


def _evaluate(gt: HicoGroundTruth, dets: HicoDetections, settings: Sequence[str], check_known_object: bool,
              min_overlap: float, thresholds: np.ndarray) -> dict[str, SettingResult]:
    """Rank and match each class once for all settings.

    Why that is exact for Known Object: KO drops whole images, a stable sort of the kept rows equals the kept
    rows of the stable sort, and a detection's TP/FP depends only on earlier detections of its own image.
    """
    for setting in settings:
        if setting not in SETTINGS:
            raise ValueError(f"unknown setting {setting!r} (def, ko)")
    _check_shapes(gt, dets)
    if "ko" in settings and check_known_object:
        _check_known_object(gt)
    num_classes = gt.num_classes
    ap = {s: np.zeros(num_classes) for s in settings}
    rec = {s: np.zeros(num_classes) for s in settings}
    num = {s: np.zeros(num_classes, dtype=np.int64) for s in settings}
    for c in range(num_classes):
        d = dets.per_class[c]
        gt_image, gt_boxes = gt.class_gt(c)
        order, tp = rank_and_match(gt_image, gt_boxes, d, min_overlap=min_overlap)
        for s in settings:
            kept = tp if s == "def" else tp[gt.known_object[c, d.image[order]]]
            ap[s][c], rec[s][c] = average_precision_11(kept, len(gt_image), thresholds)
            num[s][c] = len(kept)
    return {s: SettingResult(s, ap[s], rec[s], num[s], gt.rare.copy()) for s in settings}


def evaluate_setting(gt: HicoGroundTruth, dets: HicoDetections, setting: str = "def", *,
                     check_known_object: bool = True, min_overlap: float = MIN_OVERLAP,
                     thresholds: np.ndarray = MATLAB_THRESHOLDS) -> SettingResult:
    """One eval_one.m run: ``setting`` 'def' (Default) or 'ko' (Known Object)."""
    return _evaluate(gt, dets, (setting,), check_known_object, min_overlap, thresholds)[setting]


def evaluate(gt: HicoGroundTruth, dets: HicoDetections, *, check_known_object: bool = True,
             min_overlap: float = MIN_OVERLAP, thresholds: np.ndarray = MATLAB_THRESHOLDS) -> HicoDetResult:
    """Default and Known Object results, as eval_run.m produces them."""
    res = _evaluate(gt, dets, SETTINGS, check_known_object, min_overlap, thresholds)
    return HicoDetResult(res["def"], res["ko"], gt.action_names, gt.num_gt, gt.num_train, gt.num_images)


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m tin_jax.evaluation.hico_det",
                description="HICO-DET mAP with the official ho-rcnn protocol (Default and Known Object).")
    p.add_argument("--anno_dir", required=True, help="folder with anno_bbox.mat and anno.mat")
    p.add_argument("--detections", required=True,
                   help="folder with detections_01.mat .. detections_80.mat, or a compact .npz file")
    p.add_argument("--format", choices=("official", "tin", "compact"), default="official",
                   help="official: all_boxes{k, image} cells (Generate_detection.m output, what eval_one.m reads); "
                        "tin: TIN's [Hbox, Obox, image_id, k, score] lists (rounded as Generate_detection.m does); "
                        "compact: our .npz of flat rows (hoi, image file name, boxes, scores); "
                        "a path ending in .npz is read as compact")
    p.add_argument("--out_json", help="write the summary and per-class results as JSON")
    p.add_argument("--out_csv", help="write per-class AP / recall as CSV")
    p.add_argument("--style", choices=("console", "markdown", "matlab"), default="console")
    p.add_argument("--no_ko_check", action="store_true",
                   help="skip eval_one.m's assertion that no GT lies on images the Known Object setting drops")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        gt = load_ground_truth(args.anno_dir)
        fmt = "compact" if str(args.detections).endswith(".npz") else args.format
        reader = {"official": read_official_detections, "tin": read_tin_detections,
                  "compact": read_compact_detections}[fmt]
        dets = reader(args.detections, gt)
        result = evaluate(gt, dets, check_known_object=not args.no_ko_check)
        print(result.format_table(args.style))
        if args.out_json:
            result.write_json(args.out_json)
        if args.out_csv:
            result.write_csv(args.out_csv)
    except (DataFormatError, OSError) as e:
        sys.stderr.write(f"error: {' '.join(str(e).split())}\n")
        return 2
    except MemoryError:
        sys.stderr.write("error: out of memory\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130
    except Exception as e:  # noqa: BLE001 - the CLI promises one line, never a traceback
        sys.stderr.write(f"error: unexpected {type(e).__name__}: {' '.join(str(e).split())}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
