"""Writing ``anno_bbox.mat`` and ``anno.mat`` in the original layout (validated first; written atomically)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import IO, Any

import numpy as np
import scipy.io

from tin_jax.io.hico_mat.annotations import (BOX_FIELDS, HOI_FIELDS, IMAGE_FIELDS, SIZE_FIELDS, HicoBboxAnno,
                                             HicoImageAnno, HicoImageLabels)
from tin_jax.io.hico_mat.checks import check_boxes, check_hoi, check_label_values
from tin_jax.io.hico_mat.common import AnnotationError, atomic_write
from tin_jax.io.hico_mat.list_action import action_struct

__all__ = ["write_anno_bbox_mat", "write_anno_mat"]


def _box_struct(boxes: np.ndarray) -> np.ndarray:
    if len(boxes) == 0:
        return np.zeros((0, 0))  # MATLAB [] as in the real file
    arr = np.empty((1, len(boxes)), dtype=[(n, object) for n in BOX_FIELDS])
    for b, (x1, y1, x2, y2) in enumerate(boxes):
        for n, v in zip(BOX_FIELDS, (x1, x2, y1, y2)):
            arr[n][0, b] = float(v)
    return arr


def _image_struct(images: Sequence[HicoImageAnno], where: str, num_actions: int, strict_boxes: bool) -> np.ndarray:
    arr = np.empty((1, len(images)), dtype=[(n, object) for n in IMAGE_FIELDS])
    for i, img in enumerate(images):
        w = f"{where}[{i}]"
        if not isinstance(img, HicoImageAnno):
            raise AnnotationError(f"{w}: expected a HicoImageAnno, got {type(img).__name__}")
        if not isinstance(img.filename, str) or not img.filename:
            raise AnnotationError(f"{w}: filename should be a non-empty str, got {img.filename!r}")
        w = f"{w} ({img.filename})"
        for f in SIZE_FIELDS:
            v = getattr(img, f)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise AnnotationError(f"{w}: {f} should be a positive int, got {v!r}")
        size = np.empty((1, 1), dtype=[(n, object) for n in SIZE_FIELDS])
        for f in SIZE_FIELDS:
            size[f][0, 0] = float(getattr(img, f))
        hoi = np.empty((1, len(img.hois)), dtype=[(n, object) for n in HOI_FIELDS])
        for j, h in enumerate(img.hois):
            wh = f"{w} hoi[{j}]"
            check_hoi(h, wh, num_actions)
            check_boxes(h, wh, strict_boxes)
            conn = h.connections.astype(np.float64) + 1.0
            hoi["id"][0, j] = float(h.hoi_id + 1)
            hoi["bboxhuman"][0, j] = _box_struct(h.human_boxes)
            hoi["bboxobject"][0, j] = _box_struct(h.object_boxes)
            hoi["connection"][0, j] = conn if len(conn) else np.zeros((0, 0))
            hoi["invis"][0, j] = float(bool(h.invis))
        arr["filename"][0, i] = img.filename
        arr["size"][0, i] = size
        arr["hoi"][0, i] = hoi
    return arr


def _savemat(name: str, mdict: dict[str, Any]) -> None:
    def write(f: IO[bytes]) -> None:
        scipy.io.savemat(f, mdict, format="5", do_compression=True, oned_as="column")

    try:
        atomic_write(name, write)
    except OSError as e:
        raise AnnotationError(f"{name}: cannot write ({e})") from e


def write_anno_bbox_mat(path: str | os.PathLike[str], anno: HicoBboxAnno, *, strict_boxes: bool = True) -> None:
    """Write ``anno_bbox.mat`` in the original layout (validated first; written atomically).

    ``strict_boxes=False`` lets degenerate boxes (x2 < x1 or y2 < y1) through, for re-writing a real file that
    was read with ``strict_boxes=False``.
    """
    name = os.fspath(path)
    mdict = {
            "list_action": action_struct(anno.actions, f"{name}: list_action"),
            "bbox_train": _image_struct(anno.train, f"{name}: bbox_train", len(anno.actions), strict_boxes),
            "bbox_test": _image_struct(anno.test, f"{name}: bbox_test", len(anno.actions), strict_boxes),
    }
    _savemat(name, mdict)


def _file_list_cell(files: Sequence[str], where: str) -> np.ndarray:
    cell = np.empty((len(files), 1), dtype=object)
    for i, f in enumerate(files):
        if not isinstance(f, str) or not f:
            raise AnnotationError(f"{where}{{{i}}}: file name should be a non-empty str, got {f!r}")
        cell[i, 0] = f
    return cell


def write_anno_mat(path: str | os.PathLike[str], labels: HicoImageLabels) -> None:
    """Write ``anno.mat`` in the original layout (validated first; written atomically)."""
    name = os.fspath(path)
    num_actions = len(labels.actions)
    mdict: dict[str, Any] = {"list_action": action_struct(labels.actions, f"{name}: list_action")}
    for split in ("train", "test"):
        files = getattr(labels, f"list_{split}")
        mdict[f"list_{split}"] = _file_list_cell(files, f"{name}: list_{split}")
        where = f"{name}: anno_{split}"
        try:
            arr = np.asarray(getattr(labels, f"anno_{split}"), dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise AnnotationError(f"{where}: not a numeric matrix ({e})") from e
        if arr.shape != (num_actions, len(files)):
            raise AnnotationError(f"{where}: shape {arr.shape} does not match {num_actions} actions x {len(files)} images")
        check_label_values(arr, where)
        mdict[f"anno_{split}"] = arr
    _savemat(name, mdict)
