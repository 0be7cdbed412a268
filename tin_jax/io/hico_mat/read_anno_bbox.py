"""Reading ``anno_bbox.mat``: per-image HOI boxes and connections of ``bbox_train`` / ``bbox_test``."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from tin_jax.io.hico_mat.annotations import (BOX_FIELDS, HOI_FIELDS, IMAGE_FIELDS, NUM_HOI, SIZE_FIELDS,
                                             HicoBboxAnno, HicoHoiAnno, HicoImageAnno)
from tin_jax.io.hico_mat.checks import check_boxes
from tin_jax.io.hico_mat.common import AnnotationError
from tin_jax.io.hico_mat.list_action import read_actions
from tin_jax.io.hico_mat.mat_fields import (char_string, guard, int_scalar, load_mat, numeric_matrix, numeric_scalar,
                                            struct_records)

__all__ = ["read_anno_bbox_mat"]


def _read_boxes(value: Any, where: str, field: str) -> np.ndarray:
    boxes = []
    for b, rec in enumerate(struct_records(value, where, BOX_FIELDS, field)):
        w = f"{where} {field}[{b}]"
        x1, x2, y1, y2 = (numeric_scalar(rec[f], w, f) for f in BOX_FIELDS)
        boxes.append((x1, y1, x2, y2))
    return np.array(boxes, dtype=np.float64).reshape(-1, 4)


def _read_images(value: Any, name: str, var: str, num_actions: int, strict_boxes: bool) -> list[HicoImageAnno]:
    images = []
    for i, rec in enumerate(struct_records(value, name, IMAGE_FIELDS, var)):
        w = f"{name}: {var}[{i}]"
        filename = char_string(rec["filename"], w, "filename")
        w = f"{w} ({filename})"
        size_recs = struct_records(rec["size"], w, SIZE_FIELDS, "size")
        if len(size_recs) != 1:
            raise AnnotationError(f"{w}: size should be a 1x1 struct, found {len(size_recs)} elements")
        width, height, depth = (int_scalar(size_recs[0][f], w, f"size.{f}") for f in SIZE_FIELDS)
        hois = []
        for j, hrec in enumerate(struct_records(rec["hoi"], w, HOI_FIELDS, "hoi")):
            wh = f"{w} hoi[{j}]"
            file_id = int_scalar(hrec["id"], wh, "id")
            if not 1 <= file_id <= NUM_HOI:
                raise AnnotationError(f"{wh}: HOI id {file_id} outside 1..{NUM_HOI}")
            if num_actions and file_id > num_actions:
                raise AnnotationError(f"{wh}: HOI id {file_id} exceeds the {num_actions} entries of list_action")
            human = _read_boxes(hrec["bboxhuman"], wh, "bboxhuman")
            obj = _read_boxes(hrec["bboxobject"], wh, "bboxobject")
            conn = numeric_matrix(hrec["connection"], wh, "connection", 2)
            invis = numeric_scalar(hrec["invis"], wh, "invis")
            if invis not in (0.0, 1.0):
                raise AnnotationError(f"{wh}: invis should be 0 or 1, found {invis!r}")
            if conn.size and (not np.all(np.isfinite(conn)) or np.any(conn != np.round(conn))):
                raise AnnotationError(f"{wh}: connection indices should be integers, found {conn.tolist()}")
            conn_idx = conn.astype(np.int64)
            for r, (h, o) in enumerate(conn_idx):
                if not 1 <= h <= len(human):
                    raise AnnotationError(f"{wh}: connection row {r}: human index {h} out of range for {len(human)} human boxes")
                if not 1 <= o <= len(obj):
                    raise AnnotationError(f"{wh}: connection row {r}: object index {o} out of range for {len(obj)} object boxes")
            hoi = HicoHoiAnno(file_id - 1, human, obj, conn_idx - 1, bool(invis))
            check_boxes(hoi, wh, strict_boxes)
            hois.append(hoi)
        images.append(HicoImageAnno(filename, width, height, depth, hois))
    return images


def read_anno_bbox_mat(path: str | os.PathLike[str], *, strict_boxes: bool = True) -> HicoBboxAnno:
    """Read ``anno_bbox.mat`` (real or synthetic).

    Args:
        path: the file.
        strict_boxes: reject degenerate boxes (x2 < x1 or y2 < y1). Non-finite coordinates are always rejected.
    """
    name, data = load_mat(path, ("list_action", "bbox_train", "bbox_test"))

    def parse() -> HicoBboxAnno:
        actions = read_actions(data["list_action"], name)
        train = _read_images(data["bbox_train"], name, "bbox_train", len(actions), strict_boxes)
        test = _read_images(data["bbox_test"], name, "bbox_test", len(actions), strict_boxes)
        return HicoBboxAnno(actions, train, test)

    return guard(name, parse)
