"""The Python form of ``anno_bbox.mat`` / ``anno.mat`` (dataclasses) and the MATLAB field layout they map to."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tin_jax.io.hico_mat.common import FieldsEqual, values_equal

__all__ = [
        "ACTION_FIELDS", "BOX_FIELDS", "HOI_FIELDS", "HicoAction", "HicoBboxAnno", "HicoHoiAnno", "HicoImageAnno",
        "HicoImageLabels", "IMAGE_FIELDS", "LABEL_VALUES", "NUM_HOI", "SIZE_FIELDS",
]

NUM_HOI = 600

ACTION_FIELDS = ("nname", "vname", "vname_ing", "syn", "def", "synset", "add_def")
IMAGE_FIELDS = ("filename", "size", "hoi")
SIZE_FIELDS = ("width", "height", "depth")
HOI_FIELDS = ("id", "bboxhuman", "bboxobject", "connection", "invis")
BOX_FIELDS = ("x1", "x2", "y1", "y2")  # the file's order; Python boxes are [x1, y1, x2, y2]
LABEL_VALUES = (1.0, 0.0, -1.0)  # plus NaN


@dataclasses.dataclass(eq=False)
class HicoAction(FieldsEqual):
    """One row of ``list_action``: HOI ``vname``/``vname_ing`` + object ``nname``.

    ``syn``, ``definition`` (MATLAB field ``def``), ``synset`` and ``add_def`` hold the file's values as plain
    Python (str, float, list for a cell, dict for a 1x1 struct, ``None`` for ``[]``); ``extra`` keeps any further
    fields, in file order.
    """

    nname: str
    vname: str
    vname_ing: str
    syn: Any = None
    definition: Any = None
    synset: Any = None
    add_def: Any = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def name(self) -> str:
        """``'<vname> <nname>'``, e.g. ``'board airplane'``."""
        return f"{self.vname} {self.nname}"


@dataclasses.dataclass(eq=False)
class HicoHoiAnno:
    """One element of ``bbox_*(i).hoi``.

    Attributes:
        hoi_id: 0-based HOI class (the file's ``id`` minus 1).
        human_boxes: (n, 4) float64 ``[x1, y1, x2, y2]`` in the file's 1-based inclusive pixel coordinates.
        object_boxes: (m, 4) float64, same convention.
        connections: (k, 2) int64 0-based ``[human_index, object_index]`` pairs (the file's ``connection`` - 1).
        invis: the file's ``invis`` flag; the evaluation skips invisible HOIs entirely.
    """

    hoi_id: int
    human_boxes: np.ndarray
    object_boxes: np.ndarray
    connections: np.ndarray
    invis: bool = False

    def __post_init__(self) -> None:
        self.human_boxes = _as_rows(self.human_boxes, 4, np.float64)
        self.object_boxes = _as_rows(self.object_boxes, 4, np.float64)
        self.connections = _as_rows(self.connections, 2, np.int64)

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(k, 4) human and (k, 4) object boxes of each connection (1-based coordinates)."""
        c = self.connections
        return self.human_boxes[c[:, 0]], self.object_boxes[c[:, 1]]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HicoHoiAnno):
            return NotImplemented
        return (self.hoi_id == other.hoi_id and bool(self.invis) == bool(other.invis)
                        and values_equal(self.human_boxes, other.human_boxes)
                        and values_equal(self.object_boxes, other.object_boxes)
                        and values_equal(self.connections, other.connections))


@dataclasses.dataclass
class HicoImageAnno:
    """One element of ``bbox_train``/``bbox_test``."""

    filename: str
    width: int
    height: int
    depth: int
    hois: list[HicoHoiAnno] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class HicoBboxAnno:
    """Contents of ``anno_bbox.mat``."""

    actions: list[HicoAction]
    train: list[HicoImageAnno]
    test: list[HicoImageAnno]


@dataclasses.dataclass(eq=False)
class HicoImageLabels(FieldsEqual):
    """Contents of ``anno.mat``: image-level labels, (num_actions, num_images) float64 in {1, 0, -1, NaN}."""

    actions: list[HicoAction]
    list_train: list[str]
    list_test: list[str]
    anno_train: np.ndarray
    anno_test: np.ndarray


def _as_rows(value: Any, ncols: int, dtype: Any) -> Any:
    """Normalise an empty array to shape (0, ncols); anything else is left for validation."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        return value
    if arr.size == 0:
        return np.zeros((0, ncols), dtype=dtype)
    if arr.dtype.kind in "biuf":
        return arr.astype(dtype) if dtype is np.float64 or np.all(np.mod(arr, 1) == 0) else arr
    return value
