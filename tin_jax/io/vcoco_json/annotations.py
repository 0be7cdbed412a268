"""The Python form of the V-COCO files: vsrl action tables, COCO instances and the assembled per-image split."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tin_jax.io.hico_mat.common import FieldsEqual
from tin_jax.io.vcoco_json.boxes import box_polygon
from tin_jax.schema.classes import COCO_CATEGORIES

__all__ = [
        "CocoAnnotation", "CocoCategory", "CocoImage", "CocoInstances", "VcocoActionSpec", "VcocoActionTable",
        "VcocoImage", "VcocoObject", "VcocoPerson", "VcocoSplit",
]


@dataclasses.dataclass(eq=False)
class VcocoActionTable(FieldsEqual):
    """One element of ``vcoco_<split>.json`` as arrays (after ``vsrl_utils.load_vcoco``'s reshape).

    Attributes:
        action_name: e.g. ``'hit'``.
        role_name: ``['agent', ...]``.
        include: per role, the COCO category names allowed to fill it (``[]`` = any).
        image_id, ann_id, label: (N,) int64.
        role_object_id: (N, R) int64; column 0 equals ``ann_id``; 0 = no object.
    """

    action_name: str
    role_name: list[str]
    include: list[list[str]]
    image_id: np.ndarray
    ann_id: np.ndarray
    label: np.ndarray
    role_object_id: np.ndarray


@dataclasses.dataclass
class CocoImage:
    """An element of ``images`` (COCO 2014 keys); ``extra`` keeps any other keys."""

    id: int
    file_name: str
    width: int
    height: int
    license: Any = 1
    coco_url: Any = ""
    date_captured: Any = ""
    flickr_url: Any = ""
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class CocoAnnotation:
    """An element of ``annotations``: ``bbox`` is COCO ``[x, y, w, h]``, ``category_id`` COCO's 1..90 id.

    ``segmentation`` defaults to the box as a polygon (what pycocotools needs to build masks).
    """

    id: int
    image_id: int
    category_id: int
    bbox: list[float]
    area: float
    iscrowd: int = 0
    segmentation: Any = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.segmentation is None:
            try:
                self.segmentation = box_polygon([float(v) for v in self.bbox])
            except (TypeError, ValueError):
                pass  # left None; the writer reports the bad bbox


@dataclasses.dataclass
class CocoCategory:
    """An element of ``categories``: COCO category id (1..90), name, supercategory."""

    id: int
    name: str
    supercategory: str


@dataclasses.dataclass
class CocoInstances:
    """Contents of ``instances_vcoco_all_2014.json``."""

    images: list[CocoImage]
    annotations: list[CocoAnnotation]
    categories: list[CocoCategory] = dataclasses.field(
            default_factory=lambda: [CocoCategory(i, n, s) for i, n, s in COCO_CATEGORIES])
    info: dict[str, Any] = dataclasses.field(default_factory=dict)
    licenses: list[Any] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class VcocoActionSpec:
    """An action of a split: name, role names and the per-role include lists."""

    name: str
    roles: tuple[str, ...]  # roles[0] == 'agent'
    include: tuple[tuple[str, ...], ...]


@dataclasses.dataclass(eq=False)
class VcocoObject(FieldsEqual):
    """A COCO annotation of the image (any category; persons included).

    ``box`` is ``[x1, y1, x2, y2]`` in the requested convention; ``eval_valid`` is ``vsrl_eval``'s filter (area > 0
    and a box larger than one pixel in its convention); invalid objects are dropped by the evaluation.
    """

    ann_id: int
    category_id: int  # COCO 1..90
    contiguous_id: int  # 1..80, as in TIN/iCAN pickles
    bbox_xywh: np.ndarray
    box: np.ndarray
    area: float
    iscrowd: bool
    eval_valid: bool


@dataclasses.dataclass(eq=False)
class VcocoPerson(FieldsEqual):
    """An annotated person.

    Attributes:
        ann_id: COCO annotation id of the person.
        box: ``[x1, y1, x2, y2]`` float64.
        labels: action_name -> 0/1 for every action whose table lists this person.
        roles: action_name -> {role_name: object ann_id (0 = none)} for the non-agent roles of those actions.
    """

    ann_id: int
    box: np.ndarray
    labels: dict[str, int]
    roles: dict[str, dict[str, int]]

    def positive_actions(self) -> list[str]:
        return [a for a, v in self.labels.items() if v == 1]


@dataclasses.dataclass
class VcocoImage:
    """An image of the split: its annotated persons (json order) and all its COCO objects by ann_id."""

    image_id: int
    file_name: str
    width: int
    height: int
    persons: list[VcocoPerson]
    objects: dict[int, VcocoObject]

    def role_object(self, person: VcocoPerson, action: str, role: str) -> VcocoObject | None:
        """The object filling ``role`` of ``action`` for ``person``, or None."""
        ann = person.roles.get(action, {}).get(role, 0)
        return self.objects[ann] if ann else None


@dataclasses.dataclass
class VcocoSplit:
    """A split as :func:`~tin_jax.io.vcoco_json.read_vcoco` returns it."""

    split: str
    actions: list[VcocoActionSpec]
    images: list[VcocoImage]  # in the order of the .ids file

    @property
    def action_names(self) -> list[str]:
        return [a.name for a in self.actions]
