"""In-memory form of one converted image, shared by the converter and tests.

One :class:`ImageRecord` becomes one ``tf.train.Example`` (see
:mod:`tin_jax.data.features`). Boxes are 0-based ``[x1, y1, x2, y2]`` pixels,
as in the original pickles; object classes are TIN's COCO-contiguous 1..80;
labels are 0-based HICO-DET HOI ids (600) or TIN's V-COCO class ids (29).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tin_jax.schema.body import POSE_LEN  # noqa: F401  (the record field's length)


@dataclasses.dataclass
class PairSet:
    """N human-object pairs with ragged multi-label annotations."""

    human_boxes: np.ndarray  # (N, 4) float32
    object_boxes: np.ndarray  # (N, 4) float32
    object_classes: np.ndarray  # (N,) int64, 1..80, or -1 where the file has none
    labels: list[list[int]]  # per pair: HOI ids (HICO) / role-class ids (V-COCO)
    poses: np.ndarray  # (N, 51) float32, zeros where pose_valid is False
    pose_valid: np.ndarray  # (N,) bool
    scores: np.ndarray  # (N,) float32: object detection score (negatives) or 1
    person_labels: list[list[int]] | None = None  # V-COCO GT[4]: all actions of the person

    @property
    def size(self) -> int:
        return int(self.human_boxes.shape[0])

    @classmethod
    def empty(cls) -> "PairSet":
        return cls(np.zeros((0, 4), np.float32), np.zeros((0, 4), np.float32),
                              np.zeros((0,), np.int64), [], np.zeros((0, POSE_LEN), np.float32),
                              np.zeros((0,), bool), np.zeros((0,), np.float32), [])


@dataclasses.dataclass
class Detections:
    """Object-detector output for one test image (the test pickle's entries)."""

    boxes: np.ndarray  # (D, 4) float32
    is_human: np.ndarray  # (D,) bool ('Human' vs 'Object')
    classes: np.ndarray  # (D,) int64, 1..80
    scores: np.ndarray  # (D,) float32
    poses: np.ndarray  # (D, 51) float32
    pose_valid: np.ndarray  # (D,) bool

    @property
    def size(self) -> int:
        return int(self.boxes.shape[0])

    @classmethod
    def empty(cls) -> "Detections":
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), bool),
                              np.zeros((0,), np.int64), np.zeros((0,), np.float32),
                              np.zeros((0, POSE_LEN), np.float32), np.zeros((0,), bool))


@dataclasses.dataclass
class ImageRecord:
    """Everything the converter stores for one image."""

    image_id: int
    filename: str  # file name only, e.g. HICO_train2015_00000001.jpg
    path: str  # where the converter reads the image from
    gt: PairSet
    neg: PairSet
    det: Detections
    positive_hois: list[int] = dataclasses.field(default_factory=list)  # anno.mat image labels == 1
