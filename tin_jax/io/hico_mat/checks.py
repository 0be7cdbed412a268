"""Validation of annotation records, shared by the readers and the writers."""

from __future__ import annotations

from typing import Any

import numpy as np

from tin_jax.io.hico_mat.annotations import LABEL_VALUES, NUM_HOI, HicoBboxAnno, HicoHoiAnno, HicoImageLabels
from tin_jax.io.hico_mat.common import AnnotationError

__all__ = ["check_boxes", "check_consistency", "check_hoi", "check_label_values"]


def check_boxes(hoi: HicoHoiAnno, where: str, strict: bool) -> None:
    """Reject non-finite coordinates, and degenerate boxes when ``strict``."""
    for field, boxes in (("bboxhuman", hoi.human_boxes), ("bboxobject", hoi.object_boxes)):
        for b, box in enumerate(boxes):
            if not np.all(np.isfinite(box)):
                raise AnnotationError(f"{where} {field}[{b}]: non-finite coordinate in {box.tolist()}")
            x1, y1, x2, y2 = box
            if strict and (x2 < x1 or y2 < y1):
                raise AnnotationError(f"{where} {field}[{b}]: degenerate box x1={x1:g} y1={y1:g} x2={x2:g} y2={y2:g} "
                                                            "(x2 < x1 or y2 < y1)")


def check_hoi(hoi: Any, where: str, num_actions: int) -> None:
    """Check a :class:`HicoHoiAnno` about to be written: id range, array shapes, connection indices, invis."""
    if not isinstance(hoi, HicoHoiAnno):
        raise AnnotationError(f"{where}: expected a HicoHoiAnno, got {type(hoi).__name__}")
    if isinstance(hoi.hoi_id, bool) or not isinstance(hoi.hoi_id, (int, np.integer)):
        raise AnnotationError(f"{where}: hoi_id should be an int, got {hoi.hoi_id!r}")
    if not 0 <= hoi.hoi_id < NUM_HOI:
        raise AnnotationError(f"{where}: HOI id {hoi.hoi_id} (0-based) outside 0..{NUM_HOI - 1}")
    if num_actions and hoi.hoi_id >= num_actions:
        raise AnnotationError(f"{where}: HOI id {hoi.hoi_id} (0-based) exceeds the {num_actions} actions")
    for field, arr, ncols in (("human_boxes", hoi.human_boxes, 4), ("object_boxes", hoi.object_boxes, 4),
                                                        ("connections", hoi.connections, 2)):
        if not (isinstance(arr, np.ndarray) and arr.ndim == 2 and arr.shape[1] == ncols and arr.dtype.kind in "iuf"):
            shape = getattr(arr, "shape", type(arr).__name__)
            raise AnnotationError(f"{where}: {field} should be a numeric (n, {ncols}) array, found {shape}")
    if hoi.connections.dtype.kind == "f" and np.any(hoi.connections != np.round(hoi.connections)):
        raise AnnotationError(f"{where}: connections should be integer indices, found {hoi.connections.tolist()}")
    n, m = len(hoi.human_boxes), len(hoi.object_boxes)
    for r, (h, o) in enumerate(hoi.connections.astype(np.int64)):
        if not 0 <= h < n:
            raise AnnotationError(f"{where}: connection row {r}: human index {h} (0-based) out of range for {n} "
                                                        "human boxes")
        if not 0 <= o < m:
            raise AnnotationError(f"{where}: connection row {r}: object index {o} (0-based) out of range for {m} "
                                                        "object boxes")
    if not isinstance(hoi.invis, (bool, np.bool_, int, np.integer)) or int(hoi.invis) not in (0, 1):
        raise AnnotationError(f"{where}: invis should be a bool, got {hoi.invis!r}")


def check_label_values(labels: np.ndarray, where: str) -> None:
    """Reject image-level labels other than 1, 0, -1 and NaN."""
    bad = ~(np.isnan(labels) | np.isin(labels, LABEL_VALUES))
    if np.any(bad):
        a, i = (int(x[0]) for x in np.nonzero(bad))
        raise AnnotationError(f"{where}: label {float(labels[a, i])!r} at (action {a}, image {i}) "
                                                    "is not one of 1, 0, -1, NaN")


def check_consistency(bbox: HicoBboxAnno, labels: HicoImageLabels, *, name: str = "anno.mat/anno_bbox.mat") -> None:
    """Assert what eval_one.m asserts: ``bbox_<split>(i).filename == list_<split>{i}`` for every i."""
    for split, images, files in (("train", bbox.train, labels.list_train), ("test", bbox.test, labels.list_test)):
        if len(images) != len(files):
            raise AnnotationError(f"{name}: bbox_{split} has {len(images)} images but list_{split} has {len(files)}")
        for i, (img, f) in enumerate(zip(images, files)):
            if img.filename != f:
                raise AnnotationError(f"{name}: bbox_{split}[{i}] is {img.filename!r} but list_{split}{{{i}}} is {f!r}")
