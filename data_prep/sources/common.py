"""Validation shared by the dataset readers: every check names file and record."""

from __future__ import annotations

import logging
import numbers
from typing import Any, Callable

import numpy as np

from tin_jax.schema.records import POSE_LEN
from tin_jax.io.errors import DataFormatError


class ProblemLog:
    """Raises on the first bad record, or (``skip_bad``) logs and counts them."""

    def __init__(self, skip_bad: bool = False):
        self.skip_bad = skip_bad
        self.messages: list[str] = []

    def bad(self, message: str) -> None:
        if not self.skip_bad:
            raise DataFormatError(message)
        logging.warning("skipping: %s", message)
        self.messages.append(message)


def as_int(value: Any, where: str, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        if isinstance(value, np.ndarray) and value.size == 1 and np.issubdtype(value.dtype, np.integer):
            return int(value.reshape(()))
        raise DataFormatError(f"{where}: {what} must be an integer, got {value!r:.60}")
    return int(value)


def as_float(value: Any, where: str, what: str) -> float:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataFormatError(f"{where}: {what} must be a number, got {value!r:.60}") from None
    if arr.size != 1 or not np.isfinite(arr).all():
        raise DataFormatError(f"{where}: {what} must be one finite number, got {value!r:.60}")
    return float(arr.reshape(()))


def as_box(value: Any, where: str, what: str) -> np.ndarray:
    """A finite, non-degenerate ``[x1, y1, x2, y2]`` box (0-based, inclusive)."""
    try:
        box = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise DataFormatError(f"{where}: {what} is not a box: {value!r:.80}") from None
    if box.shape != (4,):
        raise DataFormatError(f"{where}: {what} must have 4 numbers [x1,y1,x2,y2], got {box.size}")
    if not np.isfinite(box).all():
        raise DataFormatError(f"{where}: {what} has non-finite coordinates {box.tolist()}")
    if box[2] < box[0] or box[3] < box[1]:
        raise DataFormatError(f"{where}: {what} is degenerate (x2 < x1 or y2 < y1): {box.tolist()}")
    return box.astype(np.float32)


def as_pose(value: Any, where: str) -> tuple[np.ndarray, bool]:
    """The 51-float AlphaPose keypoints, or zeros + False for ``None``."""
    if value is None:
        return np.zeros((POSE_LEN,), np.float32), False
    try:
        pose = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise DataFormatError(f"{where}: pose is not a list of numbers") from None
    if pose.size != POSE_LEN:
        raise DataFormatError(f"{where}: pose must have {POSE_LEN} numbers (17 x (x, y, score)) or be None, got {pose.size}")
    if not np.isfinite(pose).all():
        raise DataFormatError(f"{where}: pose has non-finite values")
    return pose.astype(np.float32), True


def as_sequence(value: Any, where: str, what: str, min_len: int) -> list:
    if not isinstance(value, (list, tuple)):
        raise DataFormatError(f"{where}: {what} must be a list, got {type(value).__name__}")
    if len(value) < min_len:
        raise DataFormatError(f"{where}: {what} must have at least {min_len} fields, got {len(value)}")
    return list(value)


def id_list(value: Any, where: str, what: str, num_classes: int) -> list[int]:
    """A non-empty list of class ids in ``[0, num_classes)``."""
    if isinstance(value, (numbers.Integral, np.integer)):
        value = [value]
    if isinstance(value, np.ndarray):
        value = value.reshape(-1).tolist()
    if not isinstance(value, (list, tuple)) or not value:
        raise DataFormatError(f"{where}: {what} must be a non-empty list of ids, got {value!r:.60}")
    ids = [as_int(v, where, what) for v in value]
    for i in ids:
        if not 0 <= i < num_classes:
            raise DataFormatError(f"{where}: {what} id {i} out of range [0, {num_classes})")
    return ids


def object_class(value: Any, where: str) -> int:
    c = as_int(value, where, "object class")
    if not 1 <= c <= 80:
        raise DataFormatError(f"{where}: object class {c} out of range 1..80")
    return c


def box_in_image(box: np.ndarray, width: int, height: int, where: str, what: str) -> None:
    """Boxes are 0-based inclusive; allow one pixel of slack for 1-based sources."""
    if box[0] < -1 or box[1] < -1 or box[2] > width or box[3] > height:
        raise DataFormatError(
                f"{where}: {what} {np.round(box, 2).tolist()} lies outside the {width}x{height} image")


def group_gt_pairs(gt: Any, path: str, log: ProblemLog,
                   make_row: Callable[[list, str], dict]) -> dict[int, list[dict]]:
    """Validates a ``Trainval_GT`` list and groups its pairs by image, in file order.

    ``make_row(entry, where)`` turns one entry (at least 6 fields; ``entry[0]`` the
    image id, ``entry[5]`` the pose) into the dataset's row; a bad entry is
    reported through ``log`` with the file, the entry index and the image.
    """
    if not isinstance(gt, list):
        raise DataFormatError(f"{path}: expected a list of GT pairs, got {type(gt).__name__}")
    by_image: dict[int, list[dict]] = {}
    for i, entry in enumerate(gt):
        where = f"{path}: entry {i}"
        try:
            e = as_sequence(entry, where, "GT entry", 6)
            image_id = as_int(e[0], where, "image id")
            where = f"{path}: entry {i} (image {image_id})"
            pose, pose_valid = as_pose(e[5], where)
            row = dict(make_row(e, where), hbox=as_box(e[2], where, "human box"),
                       obox=as_box(e[3], where, "object box"), pose=pose,
                       pose_valid=pose_valid, score=1.0)
        except DataFormatError as err:
            log.bad(str(err))
            continue
        by_image.setdefault(image_id, []).append(row)
    return by_image
