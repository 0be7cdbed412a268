"""Read and write V-COCO annotations in the layout of the s-gupta/v-coco repository.

``<vcoco_root>`` is the repository root; the files are

- ``data/vcoco/vcoco_{train,val,test,trainval}.json``: a JSON list of 26 per-action dicts with keys (file order)
    ``image_id``, ``ann_id``, ``role_object_id``, ``label``, ``action_name``, ``role_name``, ``include``.
    ``image_id``/``ann_id``/``label`` are flat lists of length N (one row per annotated person, the same persons in
    the same order for every action in the released files); ``role_name`` is ``['agent', ...]`` (R roles);
    ``include`` holds one list of COCO category names per role (which objects may fill it); ``role_object_id`` is a
    flat list of N*R ints stored **role-major**: ``vsrl_utils.load_vcoco`` does
    ``np.array(role_object_id).reshape((R, -1)).T`` to get an (N, R) matrix whose column 0 equals ``ann_id``; 0
    means "no object for this role". ``label`` is 1/0. The files are written by ``json.dumps`` with the default
    separators and no trailing newline.
- ``data/instances_vcoco_all_2014.json``: COCO instances format (``info``, ``images``, ``licenses``,
    ``annotations``, ``categories``); annotation ``bbox`` is ``[x, y, w, h]`` and ``category_id`` uses COCO's sparse
    1..90 ids. ``vsrl_eval`` maps them to contiguous 1..80 ids in sorted order (:data:`COCO_ID_TO_CONTIGUOUS`),
    which is what TIN/iCAN's pickles use.
- ``data/splits/vcoco_{split}.ids``: one COCO image id per line (newline-terminated); ``vsrl_eval`` asserts
    that they equal the sorted unique ``image_id`` of the json.

:func:`read_vcoco` assembles these into per-image persons with their action labels and role objects.
Boxes are converted from COCO ``[x, y, w, h]`` to ``[x1, y1, x2, y2]``; two conventions exist in the v-coco code
(see :func:`coco_box_to_xyxy`) and ``vsrl_eval``'s (the evaluation's) is the default. Bad content raises
:class:`~tin_jax.io.hico_mat.AnnotationError` naming the file and the record.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from tin_jax.io.hico_mat import AnnotationError, FieldsEqual, atomic_write

__all__ = [
        "AnnotationError", "BOX_CONVENTIONS", "COCO_CATEGORIES", "COCO_ID_TO_CONTIGUOUS", "COCO_ID_TO_NAME",
        "COCO_NAME_TO_ID", "CONTIGUOUS_TO_COCO_ID", "CocoAnnotation", "CocoCategory", "CocoImage", "CocoInstances",
        "VCOCO_ACTIONS", "VCOCO_JSON_KEYS", "VcocoActionSpec", "VcocoActionTable", "VcocoImage", "VcocoObject",
        "VcocoPerson", "VcocoSplit", "action_tables_from_images", "coco_box_to_xyxy", "coco_instances_path",
        "ids_path", "read_coco_instances", "read_ids", "read_vcoco", "read_vcoco_json", "vcoco_json_path",
        "write_coco_instances", "write_ids", "write_vcoco_json", "write_vcoco_split",
]

# (COCO id, name, supercategory) of the 80 COCO detection categories, in id order.
COCO_CATEGORIES: tuple[tuple[int, str, str], ...] = (
        (1, "person", "person"), (2, "bicycle", "vehicle"), (3, "car", "vehicle"), (4, "motorcycle", "vehicle"),
        (5, "airplane", "vehicle"), (6, "bus", "vehicle"), (7, "train", "vehicle"), (8, "truck", "vehicle"),
        (9, "boat", "vehicle"), (10, "traffic light", "outdoor"), (11, "fire hydrant", "outdoor"),
        (13, "stop sign", "outdoor"), (14, "parking meter", "outdoor"), (15, "bench", "outdoor"),
        (16, "bird", "animal"), (17, "cat", "animal"), (18, "dog", "animal"), (19, "horse", "animal"),
        (20, "sheep", "animal"), (21, "cow", "animal"), (22, "elephant", "animal"), (23, "bear", "animal"),
        (24, "zebra", "animal"), (25, "giraffe", "animal"), (27, "backpack", "accessory"),
        (28, "umbrella", "accessory"), (31, "handbag", "accessory"), (32, "tie", "accessory"),
        (33, "suitcase", "accessory"), (34, "frisbee", "sports"), (35, "skis", "sports"), (36, "snowboard", "sports"),
        (37, "sports ball", "sports"), (38, "kite", "sports"), (39, "baseball bat", "sports"),
        (40, "baseball glove", "sports"), (41, "skateboard", "sports"), (42, "surfboard", "sports"),
        (43, "tennis racket", "sports"), (44, "bottle", "kitchen"), (46, "wine glass", "kitchen"),
        (47, "cup", "kitchen"), (48, "fork", "kitchen"), (49, "knife", "kitchen"), (50, "spoon", "kitchen"),
        (51, "bowl", "kitchen"), (52, "banana", "food"), (53, "apple", "food"), (54, "sandwich", "food"),
        (55, "orange", "food"), (56, "broccoli", "food"), (57, "carrot", "food"), (58, "hot dog", "food"),
        (59, "pizza", "food"), (60, "donut", "food"), (61, "cake", "food"), (62, "chair", "furniture"),
        (63, "couch", "furniture"), (64, "potted plant", "furniture"), (65, "bed", "furniture"),
        (67, "dining table", "furniture"), (70, "toilet", "furniture"), (72, "tv", "electronic"),
        (73, "laptop", "electronic"), (74, "mouse", "electronic"), (75, "remote", "electronic"),
        (76, "keyboard", "electronic"), (77, "cell phone", "electronic"), (78, "microwave", "appliance"),
        (79, "oven", "appliance"), (80, "toaster", "appliance"), (81, "sink", "appliance"),
        (82, "refrigerator", "appliance"), (84, "book", "indoor"), (85, "clock", "indoor"), (86, "vase", "indoor"),
        (87, "scissors", "indoor"), (88, "teddy bear", "indoor"), (89, "hair drier", "indoor"),
        (90, "toothbrush", "indoor"),
)
COCO_ID_TO_CONTIGUOUS: dict[int, int] = {cid: i + 1 for i, (cid, _, _) in enumerate(COCO_CATEGORIES)}
CONTIGUOUS_TO_COCO_ID: dict[int, int] = {v: k for k, v in COCO_ID_TO_CONTIGUOUS.items()}
COCO_ID_TO_NAME: dict[int, str] = {cid: name for cid, name, _ in COCO_CATEGORIES}
COCO_NAME_TO_ID: dict[str, int] = {name: cid for cid, name, _ in COCO_CATEGORIES}
PERSON_CATEGORY_ID = 1

# The 26 actions of the released vcoco_*.json in file order: (action_name, role names, per-role include lists).
VCOCO_ACTIONS: tuple[tuple[str, tuple[str, ...], tuple[tuple[str, ...], ...]], ...] = (
        ("hold", ("agent", "obj"), ((), ())),
        ("stand", ("agent",), ((),)),
        ("sit", ("agent", "instr"), ((), ("bicycle", "motorcycle", "horse", "elephant", "bench", "chair", "couch", "bed",
                                                                            "toilet", "dining table", "suitcase", "handbag", "backpack"))),
        ("ride", ("agent", "instr"), ((), ("bicycle", "motorcycle", "bus", "truck", "boat", "train", "airplane", "car",
                                                                              "horse", "elephant"))),
        ("walk", ("agent",), ((),)),
        ("look", ("agent", "obj"), ((), ())),
        ("hit", ("agent", "instr", "obj"), ((), ("tennis racket", "baseball bat"), ("sports ball",))),
        ("eat", ("agent", "obj", "instr"), ((), ("banana", "apple", "sandwich", "orange", "carrot", "broccoli",
                                                                                          "hot dog", "pizza", "cake", "donut"), ("fork", "knife", "spoon"))),
        ("jump", ("agent", "instr"), ((), ("snowboard", "skis", "skateboard", "surfboard"))),
        ("lay", ("agent", "instr"), ((), ("bench", "dining table", "toilet", "bed", "couch", "chair"))),
        ("talk_on_phone", ("agent", "instr"), ((), ("cell phone",))),
        ("carry", ("agent", "obj"), ((), ())),
        ("throw", ("agent", "obj"), ((), ("sports ball", "frisbee"))),
        ("catch", ("agent", "obj"), ((), ("sports ball", "frisbee"))),
        ("cut", ("agent", "instr", "obj"), ((), ("scissors", "fork", "knife"), ())),
        ("run", ("agent",), ((),)),
        ("work_on_computer", ("agent", "instr"), ((), ("laptop",))),
        ("ski", ("agent", "instr"), ((), ("skis",))),
        ("surf", ("agent", "instr"), ((), ("surfboard",))),
        ("skateboard", ("agent", "instr"), ((), ("skateboard",))),
        ("smile", ("agent",), ((),)),
        ("drink", ("agent", "instr"), ((), ("wine glass", "bottle", "cup", "bowl"))),
        ("kick", ("agent", "obj"), ((), ("sports ball",))),
        ("point", ("agent", "instr"), ((), ())),
        ("read", ("agent", "obj"), ((), ("book",))),
        ("snowboard", ("agent", "instr"), ((), ("snowboard",))),
)

VCOCO_JSON_KEYS = ("image_id", "ann_id", "role_object_id", "label", "action_name", "role_name", "include")
BOX_CONVENTIONS = ("vsrl_eval", "vsrl_utils")


# --------------------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------------------


def _check_split(split: str) -> str:
    if not isinstance(split, str) or not split or not split.replace("_", "").isalnum():
        raise ValueError(f"bad V-COCO split name {split!r} (e.g. 'train', 'val', 'test', 'trainval')")
    return split


def vcoco_json_path(vcoco_root: str | os.PathLike[str], split: str) -> str:
    return os.path.join(os.fspath(vcoco_root), "data", "vcoco", f"vcoco_{_check_split(split)}.json")


def coco_instances_path(vcoco_root: str | os.PathLike[str]) -> str:
    return os.path.join(os.fspath(vcoco_root), "data", "instances_vcoco_all_2014.json")


def ids_path(vcoco_root: str | os.PathLike[str], split: str) -> str:
    return os.path.join(os.fspath(vcoco_root), "data", "splits", f"vcoco_{_check_split(split)}.ids")


# --------------------------------------------------------------------------------------------------
# Boxes
# --------------------------------------------------------------------------------------------------


def coco_box_to_xyxy(bbox: Sequence[float], convention: str = "vsrl_eval", width: float | None = None,
                                          height: float | None = None) -> np.ndarray:
    """COCO ``[x, y, w, h]`` -> ``[x1, y1, x2, y2]`` float64.

    ``"vsrl_eval"`` (``VCOCOeval._add_gt_annotations``, used to score detections): ``x2 = x + max(0, w - 1)``,
    ``y2 = y + max(0, h - 1)``, then clipped to ``[0, width - 1] x [0, height - 1]`` when the image size is given.
    ``"vsrl_utils"`` (``vsrl_utils.xyhw_to_xyxy``): ``x2 = x + w``, ``y2 = y + h``, no clipping.
    """
    x, y, w, h = (float(v) for v in bbox)
    if convention == "vsrl_utils":
        return np.array([x, y, x + w, y + h], dtype=np.float64)
    if convention != "vsrl_eval":
        raise ValueError(f"unknown box convention {convention!r}; use one of {BOX_CONVENTIONS}")
    box = np.array([x, y, x + max(0.0, w - 1.0), y + max(0.0, h - 1.0)], dtype=np.float64)
    if width is not None and height is not None:
        box[[0, 2]] = np.minimum(width - 1.0, np.maximum(0.0, box[[0, 2]]))
        box[[1, 3]] = np.minimum(height - 1.0, np.maximum(0.0, box[[1, 3]]))
    return box


# --------------------------------------------------------------------------------------------------
# Data classes
# --------------------------------------------------------------------------------------------------


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
                self.segmentation = _box_polygon([float(v) for v in self.bbox])
            except (TypeError, ValueError):
                pass  # left None; the writer reports the bad bbox


@dataclasses.dataclass
class CocoCategory:
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
    split: str
    actions: list[VcocoActionSpec]
    images: list[VcocoImage]  # in the order of the .ids file

    @property
    def action_names(self) -> list[str]:
        return [a.name for a in self.actions]


# --------------------------------------------------------------------------------------------------
# JSON helpers
# --------------------------------------------------------------------------------------------------


def _load_json(path: str | os.PathLike[str]) -> tuple[str, Any]:
    name = os.fspath(path)
    if not os.path.exists(name):
        raise AnnotationError(f"{name}: file not found")
    if not os.path.isfile(name):
        raise AnnotationError(f"{name}: not a regular file")
    try:
        with open(name, "rb") as f:
            return name, json.loads(f.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise AnnotationError(f"{name}: not readable JSON ({type(e).__name__}: {e})") from e


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int_list(value: Any, where: str, what: str) -> np.ndarray:
    if not isinstance(value, list):
        raise AnnotationError(f"{where}: {what} should be a list of ints, found {type(value).__name__}")
    for k, v in enumerate(value):
        if not _is_int(v):
            raise AnnotationError(f"{where}: {what}[{k}] should be an int, found {v!r}")
    return np.array(value, dtype=np.int64).reshape(-1)


def _str_list(value: Any, where: str, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AnnotationError(f"{where}: {what} should be a list of strings, found {value!r:.80}")
    return list(value)


def _dump_json(path: str, obj: Any, trailing_newline: bool = False) -> None:
    text = json.dumps(obj) + ("\n" if trailing_newline else "")
    try:
        atomic_write(path, lambda f: f.write(text.encode("utf-8")))
    except OSError as e:
        raise AnnotationError(f"{path}: cannot write ({e})") from e


# --------------------------------------------------------------------------------------------------
# vcoco_<split>.json
# --------------------------------------------------------------------------------------------------


def _table_from_json(entry: Any, where: str) -> VcocoActionTable:
    if not isinstance(entry, dict):
        raise AnnotationError(f"{where}: should be an object, found {type(entry).__name__}")
    missing = [k for k in VCOCO_JSON_KEYS if k not in entry]
    if missing:
        raise AnnotationError(f"{where}: missing key(s) {', '.join(missing)}")
    name = entry["action_name"]
    if not isinstance(name, str) or not name:
        raise AnnotationError(f"{where}: action_name should be a non-empty string, found {name!r}")
    where = f"{where} ({name})"
    roles = _str_list(entry["role_name"], where, "role_name")
    if not roles or roles[0] != "agent":
        raise AnnotationError(f"{where}: role_name should start with 'agent', found {roles}")
    include = entry["include"]
    if not isinstance(include, list) or len(include) != len(roles):
        raise AnnotationError(f"{where}: include should be a list of {len(roles)} lists (one per role), "
                                                    f"found {include!r:.80}")
    include = [_str_list(v, where, f"include[{r}]") for r, v in enumerate(include)]
    image_id = _int_list(entry["image_id"], where, "image_id")
    ann_id = _int_list(entry["ann_id"], where, "ann_id")
    label = _int_list(entry["label"], where, "label")
    flat = _int_list(entry["role_object_id"], where, "role_object_id")
    n = len(ann_id)
    if len(image_id) != n or len(label) != n:
        raise AnnotationError(f"{where}: image_id, ann_id and label lengths differ ({len(image_id)}, {n}, {len(label)})")
    if len(flat) != n * len(roles):
        raise AnnotationError(f"{where}: role_object_id has {len(flat)} entries, expected {n} persons x {len(roles)} roles")
    role_object_id = flat.reshape(len(roles), n).T  # as vsrl_utils.load_vcoco
    table = VcocoActionTable(name, roles, include, image_id, ann_id, label, role_object_id)
    _check_table(table, where)
    return table


def _check_table(t: VcocoActionTable, where: str) -> None:
    n = len(t.ann_id)
    if t.role_object_id.shape != (n, len(t.role_name)):
        raise AnnotationError(f"{where}: role_object_id shape {t.role_object_id.shape} != ({n}, {len(t.role_name)})")
    bad = np.nonzero(~np.isin(t.label, (0, 1)))[0]
    if bad.size:
        k = int(bad[0])
        raise AnnotationError(f"{where}: person {k} (ann_id {int(t.ann_id[k])}): label {int(t.label[k])} is not 0 or 1")
    bad = np.nonzero(t.role_object_id[:, 0] != t.ann_id)[0]
    if bad.size:
        k = int(bad[0])
        raise AnnotationError(f"{where}: person {k} (ann_id {int(t.ann_id[k])}): role_object_id agent column is "
                                                    f"{int(t.role_object_id[k, 0])}, should equal ann_id")
    if np.any(t.role_object_id < 0):
        k, r = (int(x[0]) for x in np.nonzero(t.role_object_id < 0))
        raise AnnotationError(f"{where}: person {k} (ann_id {int(t.ann_id[k])}): negative object id for role "
                                                    f"{t.role_name[r]}")
    uniq, counts = np.unique(t.ann_id, return_counts=True)
    if np.any(counts > 1):
        raise AnnotationError(f"{where}: ann_id {int(uniq[counts > 1][0])} is listed more than once")


def read_vcoco_json(path: str | os.PathLike[str]) -> list[VcocoActionTable]:
    """Read a ``vcoco_<split>.json`` file into one :class:`VcocoActionTable` per action (file order)."""
    name, data = _load_json(path)
    if not isinstance(data, list) or not data:
        raise AnnotationError(f"{name}: should be a non-empty JSON list of per-action objects")
    tables = [_table_from_json(entry, f"{name}: action[{i}]") for i, entry in enumerate(data)]
    seen: dict[str, int] = {}
    for i, t in enumerate(tables):
        if t.action_name in seen:
            raise AnnotationError(f"{name}: action[{i}] ({t.action_name}) repeats action[{seen[t.action_name]}]")
        seen[t.action_name] = i
    person_image: dict[int, tuple[int, int]] = {}
    for i, t in enumerate(tables):
        for a, im in zip(t.ann_id.tolist(), t.image_id.tolist()):
            prev = person_image.setdefault(a, (im, i))
            if prev[0] != im:
                raise AnnotationError(f"{name}: action[{i}] ({t.action_name}): ann_id {a} is in image {im} but "
                                                            f"action[{prev[1]}] puts it in image {prev[0]}")
    return tables


def _table_to_json(t: Any, where: str) -> dict[str, Any]:
    if not isinstance(t, VcocoActionTable):
        raise AnnotationError(f"{where}: expected a VcocoActionTable, got {type(t).__name__}")
    if not isinstance(t.action_name, str) or not t.action_name:
        raise AnnotationError(f"{where}: action_name should be a non-empty str, got {t.action_name!r}")
    where = f"{where} ({t.action_name})"
    if (not isinstance(t.role_name, (list, tuple)) or not t.role_name or t.role_name[0] != "agent"
            or not all(isinstance(r, str) for r in t.role_name)):
        raise AnnotationError(f"{where}: role_name should be ['agent', ...], got {t.role_name!r}")
    if (not isinstance(t.include, (list, tuple)) or len(t.include) != len(t.role_name)
            or not all(isinstance(v, (list, tuple)) and all(isinstance(c, str) for c in v) for v in t.include)):
        raise AnnotationError(f"{where}: include should hold one list of category names per role, got {t.include!r:.80}")
    arrays = {}
    for key in ("image_id", "ann_id", "label", "role_object_id"):
        arr = np.asarray(getattr(t, key))
        if arr.dtype.kind not in "iu" and not (arr.size == 0 or (arr.dtype.kind == "f" and np.all(arr == np.round(arr)))):
            raise AnnotationError(f"{where}: {key} should hold integers, got dtype {arr.dtype}")
        arrays[key] = arr.astype(np.int64)
    n = arrays["ann_id"].size
    for key in ("image_id", "ann_id", "label"):
        arrays[key] = arrays[key].reshape(-1)
        if arrays[key].size != n:
            raise AnnotationError(f"{where}: {key} has {arrays[key].size} entries, expected {n}")
    roles = arrays["role_object_id"]
    if roles.size == 0:
        roles = roles.reshape(n, len(t.role_name))
    if roles.shape != (n, len(t.role_name)):
        raise AnnotationError(f"{where}: role_object_id shape {roles.shape} != ({n}, {len(t.role_name)})")
    checked = VcocoActionTable(t.action_name, list(t.role_name), [list(v) for v in t.include], arrays["image_id"],
                                                          arrays["ann_id"], arrays["label"], roles)
    _check_table(checked, where)
    return {
            "image_id": checked.image_id.tolist(),
            "ann_id": checked.ann_id.tolist(),
            "role_object_id": checked.role_object_id.T.reshape(-1).tolist(),  # role-major, as load_vcoco expects
            "label": checked.label.tolist(),
            "action_name": checked.action_name,
            "role_name": checked.role_name,
            "include": checked.include,
    }


def write_vcoco_json(path: str | os.PathLike[str], tables: Sequence[VcocoActionTable]) -> None:
    """Write a ``vcoco_<split>.json`` file (key order and formatting as the released files; atomic)."""
    name = os.fspath(path)
    if not tables:
        raise AnnotationError(f"{name}: need at least one action table")
    _dump_json(name, [_table_to_json(t, f"{name}: action[{i}]") for i, t in enumerate(tables)])


def write_vcoco_split(vcoco_root: str | os.PathLike[str], split: str, tables: Sequence[VcocoActionTable]) -> str:
    """Write ``<vcoco_root>/data/vcoco/vcoco_<split>.json``; returns the path."""
    path = vcoco_json_path(vcoco_root, split)
    write_vcoco_json(path, tables)
    return path


# --------------------------------------------------------------------------------------------------
# instances_vcoco_all_2014.json
# --------------------------------------------------------------------------------------------------

_IMAGE_KEYS = ("id", "file_name", "width", "height")
_IMAGE_OPTIONAL = {"license": 1, "coco_url": "", "date_captured": "", "flickr_url": ""}
_ANN_KEYS = ("id", "image_id", "category_id", "bbox", "area", "iscrowd")


def read_coco_instances(path: str | os.PathLike[str]) -> CocoInstances:
    """Read a COCO instances json (``instances_vcoco_all_2014.json``)."""
    name, data = _load_json(path)
    if not isinstance(data, dict):
        raise AnnotationError(f"{name}: should be a JSON object")
    missing = [k for k in ("images", "annotations", "categories") if k not in data]
    if missing:
        raise AnnotationError(f"{name}: missing key(s) {', '.join(missing)}")
    for k in ("images", "annotations", "categories"):
        if not isinstance(data[k], list):
            raise AnnotationError(f"{name}: {k} should be a list")
    categories = []
    for i, c in enumerate(data["categories"]):
        w = f"{name}: categories[{i}]"
        if not isinstance(c, dict) or not _is_int(c.get("id")) or not isinstance(c.get("name"), str):
            raise AnnotationError(f"{w}: should be an object with int id and str name, found {c!r:.80}")
        categories.append(CocoCategory(c["id"], c["name"], str(c.get("supercategory", ""))))
    cat_ids = {c.id for c in categories}
    images, image_ids = [], set()
    for i, im in enumerate(data["images"]):
        w = f"{name}: images[{i}]"
        if not isinstance(im, dict):
            raise AnnotationError(f"{w}: should be an object")
        miss = [k for k in _IMAGE_KEYS if k not in im]
        if miss:
            raise AnnotationError(f"{w}: missing key(s) {', '.join(miss)}")
        w = f"{w} (id {im['id']!r})"
        if not all(_is_int(im[k]) for k in ("id", "width", "height")) or not isinstance(im["file_name"], str):
            raise AnnotationError(f"{w}: id/width/height should be ints and file_name a string")
        if im["width"] < 1 or im["height"] < 1:
            raise AnnotationError(f"{w}: non-positive size {im['width']}x{im['height']}")
        if im["id"] in image_ids:
            raise AnnotationError(f"{w}: duplicate image id")
        image_ids.add(im["id"])
        images.append(CocoImage(im["id"], im["file_name"], im["width"], im["height"],
                                                        **{k: im.get(k, v) for k, v in _IMAGE_OPTIONAL.items()},
                                                        extra={k: v for k, v in im.items() if k not in _IMAGE_KEYS and k not in _IMAGE_OPTIONAL}))
    annotations, ann_ids = [], set()
    for i, a in enumerate(data["annotations"]):
        w = f"{name}: annotations[{i}]"
        if not isinstance(a, dict):
            raise AnnotationError(f"{w}: should be an object")
        miss = [k for k in _ANN_KEYS if k not in a]
        if miss:
            raise AnnotationError(f"{w}: missing key(s) {', '.join(miss)}")
        w = f"{w} (id {a['id']!r})"
        if not all(_is_int(a[k]) for k in ("id", "image_id", "category_id")):
            raise AnnotationError(f"{w}: id/image_id/category_id should be ints")
        bbox = a["bbox"]
        if (not isinstance(bbox, list) or len(bbox) != 4
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in bbox)):
            raise AnnotationError(f"{w}: bbox should be 4 finite numbers [x, y, w, h], found {bbox!r:.80}")
        if bbox[2] < 0 or bbox[3] < 0:
            raise AnnotationError(f"{w}: bbox {bbox} has a negative width or height")
        if not isinstance(a["area"], (int, float)) or isinstance(a["area"], bool):
            raise AnnotationError(f"{w}: area should be a number, found {a['area']!r}")
        if a["iscrowd"] not in (0, 1) or isinstance(a["iscrowd"], bool):
            raise AnnotationError(f"{w}: iscrowd should be 0 or 1, found {a['iscrowd']!r}")
        if a["id"] in ann_ids:
            raise AnnotationError(f"{w}: duplicate annotation id")
        if a["image_id"] not in image_ids:
            raise AnnotationError(f"{w}: image_id {a['image_id']} is not in images")
        if a["category_id"] not in cat_ids:
            raise AnnotationError(f"{w}: category_id {a['category_id']} is not in categories")
        ann_ids.add(a["id"])
        annotations.append(CocoAnnotation(a["id"], a["image_id"], a["category_id"], [float(v) for v in bbox],
                                                                            float(a["area"]), int(a["iscrowd"]), a.get("segmentation"),
                                                                            {k: v for k, v in a.items() if k not in _ANN_KEYS + ("segmentation",)}))
    info = data.get("info", {})
    licenses = data.get("licenses", [])
    return CocoInstances(images, annotations, categories, info if isinstance(info, dict) else {},
                                              licenses if isinstance(licenses, list) else [])


def _box_polygon(bbox: Sequence[float]) -> list[list[float]]:
    x, y, w, h = bbox
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


def write_coco_instances(vcoco_root: str | os.PathLike[str], instances: CocoInstances, *,
                                                  path: str | os.PathLike[str] | None = None) -> str:
    """Write ``<vcoco_root>/data/instances_vcoco_all_2014.json`` (or ``path``); returns the path."""
    name = os.fspath(path) if path is not None else coco_instances_path(vcoco_root)
    cat_ids = set()
    categories = []
    for i, c in enumerate(instances.categories):
        if not isinstance(c, CocoCategory) or not _is_int(c.id) or not isinstance(c.name, str):
            raise AnnotationError(f"{name}: categories[{i}]: expected a CocoCategory with int id and str name")
        cat_ids.add(c.id)
        categories.append({"supercategory": c.supercategory, "id": c.id, "name": c.name})
    images, image_ids = [], set()
    for i, im in enumerate(instances.images):
        w = f"{name}: images[{i}]"
        if not isinstance(im, CocoImage):
            raise AnnotationError(f"{w}: expected a CocoImage, got {type(im).__name__}")
        if not all(_is_int(getattr(im, k)) for k in ("id", "width", "height")) or not isinstance(im.file_name, str):
            raise AnnotationError(f"{w} (id {im.id!r}): id/width/height should be ints and file_name a str")
        if im.width < 1 or im.height < 1:
            raise AnnotationError(f"{w} (id {im.id}): non-positive size {im.width}x{im.height}")
        if im.id in image_ids:
            raise AnnotationError(f"{w} (id {im.id}): duplicate image id")
        image_ids.add(im.id)
        d = {"license": im.license, "file_name": im.file_name, "coco_url": im.coco_url, "height": im.height,
                  "width": im.width, "date_captured": im.date_captured, "flickr_url": im.flickr_url, "id": im.id}
        d.update({k: v for k, v in im.extra.items() if k not in d})
        images.append(d)
    annotations, ann_ids = [], set()
    for i, a in enumerate(instances.annotations):
        w = f"{name}: annotations[{i}]"
        if not isinstance(a, CocoAnnotation):
            raise AnnotationError(f"{w}: expected a CocoAnnotation, got {type(a).__name__}")
        w = f"{w} (id {a.id!r})"
        if not all(_is_int(getattr(a, k)) for k in ("id", "image_id", "category_id")):
            raise AnnotationError(f"{w}: id/image_id/category_id should be ints")
        try:
            bbox = [float(v) for v in a.bbox]
        except (TypeError, ValueError) as e:
            raise AnnotationError(f"{w}: bbox should be 4 numbers ({e})") from e
        if len(bbox) != 4 or not all(np.isfinite(bbox)) or bbox[2] < 0 or bbox[3] < 0:
            raise AnnotationError(f"{w}: bbox should be 4 finite numbers [x, y, w, h] with w, h >= 0, got {a.bbox!r}")
        if a.id in ann_ids:
            raise AnnotationError(f"{w}: duplicate annotation id")
        if a.image_id not in image_ids:
            raise AnnotationError(f"{w}: image_id {a.image_id} is not in images")
        if a.category_id not in cat_ids:
            raise AnnotationError(f"{w}: category_id {a.category_id} is not in categories")
        if a.iscrowd not in (0, 1):
            raise AnnotationError(f"{w}: iscrowd should be 0 or 1, got {a.iscrowd!r}")
        ann_ids.add(a.id)
        d = {"segmentation": a.segmentation if a.segmentation is not None else _box_polygon(bbox),
                  "area": float(a.area), "iscrowd": int(a.iscrowd), "image_id": a.image_id, "bbox": bbox,
                  "category_id": a.category_id, "id": a.id}
        d.update({k: v for k, v in a.extra.items() if k not in d})
        annotations.append(d)
    obj = {"info": dict(instances.info), "images": images, "licenses": list(instances.licenses),
                  "annotations": annotations, "categories": categories}
    try:
        _dump_json(name, obj)
    except TypeError as e:  # a non-JSON value in info/licenses/extra/segmentation
        raise AnnotationError(f"{name}: value not JSON-serialisable ({e})") from e
    return name


# --------------------------------------------------------------------------------------------------
# vcoco_<split>.ids
# --------------------------------------------------------------------------------------------------


def read_ids(path: str | os.PathLike[str]) -> list[int]:
    """Read a ``.ids`` file: one integer image id per line."""
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise AnnotationError(f"{name}: file not found" if not os.path.exists(name) else f"{name}: not a regular file")
    try:
        with open(name, encoding="ascii") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise AnnotationError(f"{name}: cannot read ({type(e).__name__}: {e})") from e
    ids, seen = [], {}
    for k, line in enumerate(lines):
        s = line.strip()
        if not s:
            continue
        if not s.isdigit():
            raise AnnotationError(f"{name}: line {k + 1}: {s!r:.40} is not an image id")
        v = int(s)
        if v in seen:
            raise AnnotationError(f"{name}: line {k + 1}: image id {v} repeats line {seen[v]}")
        seen[v] = k + 1
        ids.append(v)
    return ids


def write_ids(vcoco_root: str | os.PathLike[str], split: str, image_ids: Iterable[int], *,
                            path: str | os.PathLike[str] | None = None) -> str:
    """Write ``<vcoco_root>/data/splits/vcoco_<split>.ids`` (or ``path``), one id per line; returns the path."""
    name = os.fspath(path) if path is not None else ids_path(vcoco_root, split)
    ids = list(image_ids)
    seen = set()
    for k, v in enumerate(ids):
        if not (_is_int(v) or isinstance(v, np.integer)) or v < 0:
            raise AnnotationError(f"{name}: entry {k}: {v!r} is not a non-negative int image id")
        if int(v) in seen:
            raise AnnotationError(f"{name}: entry {k}: duplicate image id {v}")
        seen.add(int(v))
    text = "".join(f"{int(v)}\n" for v in ids)
    try:
        atomic_write(name, lambda f: f.write(text.encode("ascii")))
    except OSError as e:
        raise AnnotationError(f"{name}: cannot write ({e})") from e
    return name


# --------------------------------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------------------------------


def read_vcoco(vcoco_root: str | os.PathLike[str], split: str, *, box_convention: str = "vsrl_eval",
                              instances: CocoInstances | None = None) -> VcocoSplit:
    """Read one split into per-image persons with action labels and role objects.

    Args:
        vcoco_root: the v-coco repository root (``data/`` below it).
        split: ``'train'``, ``'val'``, ``'test'`` or ``'trainval'``.
        box_convention: see :func:`coco_box_to_xyxy`.
        instances: an already-read ``instances_vcoco_all_2014.json`` (it is large; reuse it across splits).

    Checks what ``vsrl_eval`` asserts or relies on: the .ids file and the json's image ids are the same set,
    every person and role object is a COCO annotation of the same image, persons are category 1.
    """
    if box_convention not in BOX_CONVENTIONS:
        raise ValueError(f"unknown box convention {box_convention!r}; use one of {BOX_CONVENTIONS}")
    jpath, ipath, cpath = vcoco_json_path(vcoco_root, split), ids_path(vcoco_root, split), coco_instances_path(vcoco_root)
    tables = read_vcoco_json(jpath)
    ids = read_ids(ipath)
    coco = instances if instances is not None else read_coco_instances(cpath)

    json_ids = set()
    for t in tables:
        json_ids.update(t.image_id.tolist())
    if set(ids) != json_ids:
        only_ids = sorted(set(ids) - json_ids)[:5]
        only_json = sorted(json_ids - set(ids))[:5]
        raise AnnotationError(f"{ipath}: image ids differ from {jpath} (only in .ids: {only_ids}, only in json: "
                                                    f"{only_json})")

    coco_images = {im.id: im for im in coco.images}
    anns_by_image: dict[int, list[CocoAnnotation]] = {}
    ann_by_id: dict[int, CocoAnnotation] = {}
    for a in coco.annotations:
        anns_by_image.setdefault(a.image_id, []).append(a)
        ann_by_id[a.id] = a
    for k, image_id in enumerate(ids):
        if image_id not in coco_images:
            raise AnnotationError(f"{ipath}: line {k + 1}: image id {image_id} is not in {cpath}")

    persons: dict[int, VcocoPerson] = {}
    person_order: dict[int, list[int]] = {i: [] for i in ids}
    for ti, t in enumerate(tables):
        where = f"{jpath}: action[{ti}] ({t.action_name})"
        for k in range(len(t.ann_id)):
            aid, image_id = int(t.ann_id[k]), int(t.image_id[k])
            ann = ann_by_id.get(aid)
            if ann is None:
                raise AnnotationError(f"{where}: person {k}: ann_id {aid} is not an annotation of {cpath}")
            if ann.image_id != image_id:
                raise AnnotationError(f"{where}: person {k}: ann_id {aid} belongs to image {ann.image_id}, not {image_id}")
            if ann.category_id != PERSON_CATEGORY_ID:
                raise AnnotationError(f"{where}: person {k}: ann_id {aid} has category {ann.category_id}, not person (1)")
            roles = {}
            for r, role in enumerate(t.role_name[1:], start=1):
                oid = int(t.role_object_id[k, r])
                if oid:
                    obj = ann_by_id.get(oid)
                    if obj is None:
                        raise AnnotationError(f"{where}: person {k} (ann_id {aid}): {role} object {oid} is not an "
                                                                    f"annotation of {cpath}")
                    if obj.image_id != image_id:
                        raise AnnotationError(f"{where}: person {k} (ann_id {aid}): {role} object {oid} belongs to image "
                                                                    f"{obj.image_id}, not {image_id}")
                roles[role] = oid
            person = persons.get(aid)
            if person is None:
                im = coco_images[image_id]
                box = coco_box_to_xyxy(ann.bbox, box_convention, im.width, im.height)
                person = persons[aid] = VcocoPerson(aid, box, {}, {})
                person_order[image_id].append(aid)
            person.labels[t.action_name] = int(t.label[k])
            if len(t.role_name) > 1:
                person.roles[t.action_name] = roles

    images = []
    for image_id in ids:
        im = coco_images[image_id]
        objects = {}
        for a in anns_by_image.get(image_id, []):
            if a.category_id not in COCO_ID_TO_CONTIGUOUS:
                raise AnnotationError(f"{cpath}: annotation id {a.id}: category_id {a.category_id} is not a COCO-80 id")
            eval_box = coco_box_to_xyxy(a.bbox, "vsrl_eval", im.width, im.height)
            valid = a.area > 0 and eval_box[2] > eval_box[0] and eval_box[3] > eval_box[1]
            objects[a.id] = VcocoObject(a.id, a.category_id, COCO_ID_TO_CONTIGUOUS[a.category_id],
                                                                    np.array(a.bbox, dtype=np.float64),
                                                                    coco_box_to_xyxy(a.bbox, box_convention, im.width, im.height),
                                                                    float(a.area), bool(a.iscrowd), bool(valid))
        images.append(VcocoImage(image_id, im.file_name, im.width, im.height,
                                                          [persons[a] for a in person_order[image_id]], objects))
    actions = [VcocoActionSpec(t.action_name, tuple(t.role_name), tuple(tuple(v) for v in t.include)) for t in tables]
    return VcocoSplit(split, actions, images)


def action_tables_from_images(actions: Sequence[VcocoActionSpec], images: Sequence[VcocoImage]
                                                            ) -> list[VcocoActionTable]:
    """Inverse of the assembly in :func:`read_vcoco`: one table per action, persons in image order.

    A person appears in an action's table iff that action is in ``person.labels`` (the released files list every
    person in every action); missing role entries are written as 0 (no object).
    """
    tables = []
    for spec in actions:
        image_id, ann_id, label, role_ids = [], [], [], []
        for im in images:
            for p in im.persons:
                if spec.name not in p.labels:
                    continue
                image_id.append(im.image_id)
                ann_id.append(p.ann_id)
                label.append(int(p.labels[spec.name]))
                roles = p.roles.get(spec.name, {})
                role_ids.append([p.ann_id] + [int(roles.get(r, 0)) for r in spec.roles[1:]])
        tables.append(VcocoActionTable(
                spec.name, list(spec.roles), [list(v) for v in spec.include], np.array(image_id, dtype=np.int64),
                np.array(ann_id, dtype=np.int64), np.array(label, dtype=np.int64),
                np.array(role_ids, dtype=np.int64).reshape(len(ann_id), len(spec.roles))))
    return tables
