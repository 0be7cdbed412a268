"""HICO-DET detection containers: one class's rows in eval_one.m's cell order, and all classes of a test set."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from tin_jax.evaluation.hico_det.matlab_arithmetic import matlab_round
from tin_jax.io.errors import DataFormatError
from tin_jax.schema import classes

__all__ = ["NO_DETECTIONS", "ClassDetections", "DetectionFileError", "HicoDetections", "check_detections",
           "split_by_class"]


class DetectionFileError(DataFormatError):
    """A detection file or array is malformed; the message names the file (or source) and the entry."""


def check_detections(image: np.ndarray, boxes: np.ndarray, scores: np.ndarray, num_images: int,
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


# The empty ClassDetections (immutable), shared by every class without detections.
NO_DETECTIONS = ClassDetections(np.zeros(0, np.int64), np.zeros((0, 8)), np.zeros(0))


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
        return cls(tuple([NO_DETECTIONS] * num_classes), num_images)

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
        check_detections(image, boxes, scores, num_images, lambda i: f"{source}: detection {i} (HOI {hoi[i]})")
        if round_boxes:
            boxes = matlab_round(boxes)
        return cls(split_by_class(hoi, image, boxes, scores, num_classes), num_images)


def split_by_class(hoi: np.ndarray, image: np.ndarray, boxes: np.ndarray, scores: np.ndarray,
                   num_classes: int) -> tuple[ClassDetections, ...]:
    """Flat detection rows grouped into one ClassDetections per class (row order kept inside a class)."""
    order = np.argsort(hoi, kind="stable")
    bounds = np.searchsorted(hoi[order], np.arange(num_classes + 1))
    out = []
    for c in range(num_classes):
        rows = order[bounds[c]:bounds[c + 1]]
        out.append(ClassDetections(image[rows], boxes[rows], scores[rows]) if len(rows) else NO_DETECTIONS)
    return tuple(out)
