"""Detector output in the COCO results format (what detectron2 and mmdetection write).

Detections: a JSON list of ``{"image_id", "category_id", "bbox": [x, y, w, h], "score"}``,
``category_id`` COCO's sparse id (1..90, person = 1), optionally with ``"keypoints"`` on
person entries. Keypoints: the COCO keypoint results format, a JSON list of
``{"image_id", "category_id": 1, "keypoints": [x, y, v] * 17, "score", "bbox"?}``.

Boxes: COCO ``[x, y, w, h]`` in 0-based pixels becomes TIN's 0-based ``[x1, y1, x2, y2]`` =
``[x, y, x + w, y + h]``, no ±1 (detectron2 and mmdetection write ``w = x2 - x1`` of their
own 0-based boxes, the convention of TIN's detection pickles).

Keypoint matching (:func:`match_keypoints`): keypoint entries in descending score order (file
order among ties) each take the unmatched person detection of their image with the highest
IoU, if that IoU is at least ``iou_thresh`` (default 0.5); an entry's box is its ``bbox``, or
the extent of its keypoints with v > 0 (of all 17 when none). Keypoints given on a detection
entry itself are used as they are and that detection takes no match.

Image ids stay COCO image ids here; :func:`read_images` maps them to file names through a
COCO-style ``{"images": [{"id", "file_name", "height", "width"}]}`` file. (The converter
needs no such file: its records are keyed by the same ids, the number in HICO-DET's
``HICO_test2015_%08d.jpg`` and V-COCO's COCO image id.)
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Any

import numpy as np

from tin_jax.io.errors import DataFormatError
from tin_jax.schema import classes

NUM_KEYPOINTS = 17
PERSON = 1  # COCO category id of person
DEFAULT_IOU = 0.5


@dataclasses.dataclass
class ImageDetections:
    """The detections of one image, in file order."""
    boxes: np.ndarray  # (D, 4) float64, 0-based [x1, y1, x2, y2]
    is_human: np.ndarray  # (D,) bool: category_id 1
    classes: np.ndarray  # (D,) int64, TIN's contiguous 1..80
    scores: np.ndarray  # (D,) float64
    poses: np.ndarray  # (D, 51) float64, 17 x (x, y, v); zeros where not pose_valid
    pose_valid: np.ndarray  # (D,) bool


def _fail(where: str, what: str):
    raise DataFormatError(f"{where}: {what}")


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def load_json_list(path: str, key: str | None = None) -> list:
    """The JSON list in ``path`` (or under ``key`` of its top-level object)."""
    if not os.path.isfile(path):
        _fail(path, "file not found")
    try:
        with open(path) as f:
            data = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        _fail(path, f"not valid JSON ({e})")
    if key is not None:
        if not isinstance(data, dict) or key not in data:
            _fail(path, f"should be an object with a {key!r} list")
        data = data[key]
    if not isinstance(data, list):
        _fail(path, f"should be a JSON list of entries, found {type(data).__name__}")
    return data


def _entry(e: Any, where: str, required: tuple[str, ...]) -> None:
    if not isinstance(e, dict):
        _fail(where, f"should be an object with keys {list(required)}, found {_short(e)}")
    missing = [k for k in required if k not in e]
    if missing:
        _fail(where, f"missing key {missing[0]!r} (expected {list(required)})")
    if not _int(e["image_id"]):
        _fail(where, f"image_id should be an integer, found {_short(e['image_id'])}")


def xywh_to_xyxy(value: Any, where: str) -> list[float]:
    """COCO ``[x, y, w, h]`` -> ``[x, y, x + w, y + h]``; finite, w and h >= 0."""
    if not (isinstance(value, list) and len(value) == 4 and all(map(_number, value))):
        _fail(where, f"bbox should be [x, y, w, h] (4 finite numbers), found {_short(value)}")
    x, y, w, h = (float(v) for v in value)
    if w < 0 or h < 0:
        _fail(where, f"bbox {value} has a negative width or height")
    return [x, y, x + w, y + h]


def _keypoints(value: Any, where: str) -> np.ndarray:
    if not (isinstance(value, list) and len(value) == 3 * NUM_KEYPOINTS and all(map(_number, value))):
        _fail(where, f"keypoints should be {3 * NUM_KEYPOINTS} finite numbers (17 x (x, y, v)), "
                     f"found {_short(value)}")
    return np.asarray(value, np.float64)


def read_images(path: str) -> dict[int, dict]:
    """``{"images": [{"id", "file_name", "height", "width"}]}`` -> id -> that entry."""
    out: dict[int, dict] = {}
    for k, e in enumerate(load_json_list(path, "images")):
        where = f"{path}: images[{k}]"
        if not isinstance(e, dict) or not all(key in e for key in ("id", "file_name")):
            _fail(where, f"should have keys 'id' and 'file_name', found {_short(e)}")
        if not _int(e["id"]) or not isinstance(e["file_name"], str) or not e["file_name"]:
            _fail(where, f"'id' should be an integer and 'file_name' a name, found {_short(e)}")
        for key in ("height", "width"):
            if key in e and not (_int(e[key]) and e[key] > 0):
                _fail(where, f"{key!r} should be a positive integer, found {_short(e[key])}")
        if e["id"] in out:
            _fail(where, f"image id {e['id']} appears twice")
        out[e["id"]] = e
    return out


def read_detections(path: str, keypoints: str | None = None,
                    iou_thresh: float = DEFAULT_IOU) -> dict[int, ImageDetections]:
    """image id -> its detections (file order); ``keypoints``: a keypoint results file
    matched to the person detections (:func:`match_keypoints`)."""
    rows: dict[int, list] = {}
    for k, e in enumerate(load_json_list(path)):
        where = f"{path}: entry {k}"
        _entry(e, where, ("image_id", "category_id", "bbox", "score"))
        where = f"{where} (image {e['image_id']})"
        cid = e["category_id"]
        if not _int(cid) or cid not in classes.COCO_ID_TO_CONTIGUOUS:
            _fail(where, f"unknown COCO category_id {_short(cid)} (COCO's sparse ids 1..90)")
        if not _number(e["score"]):
            _fail(where, f"score should be a finite number, found {_short(e['score'])}")
        pose = None
        if e.get("keypoints") is not None:
            if cid != PERSON:
                _fail(where, f"keypoints on a non-person detection (category_id {cid})")
            pose = _keypoints(e["keypoints"], where)
        rows.setdefault(e["image_id"], []).append(
            (xywh_to_xyxy(e["bbox"], where), cid, float(e["score"]), pose))
    out = {}
    for image_id, r in rows.items():
        poses = np.stack([np.zeros(3 * NUM_KEYPOINTS) if p is None else p for *_, p in r])
        out[image_id] = ImageDetections(
            np.asarray([b for b, *_ in r], np.float64).reshape(-1, 4),
            np.asarray([c == PERSON for _, c, *_ in r], bool),
            np.asarray([classes.COCO_ID_TO_CONTIGUOUS[c] for _, c, *_ in r], np.int64),
            np.asarray([s for *_, s, _ in r], np.float64), poses,
            np.asarray([p is not None for *_, p in r], bool))
    if keypoints is not None:
        match_keypoints(out, read_keypoints(keypoints), iou_thresh)
    return out


def read_keypoints(path: str) -> dict[int, list[tuple[float, np.ndarray, np.ndarray]]]:
    """image id -> [(score, box [x1, y1, x2, y2], keypoints (51,))] of a keypoint results file."""
    out: dict[int, list] = {}
    for k, e in enumerate(load_json_list(path)):
        where = f"{path}: entry {k}"
        _entry(e, where, ("image_id", "keypoints", "score"))
        where = f"{where} (image {e['image_id']})"
        if e.get("category_id", PERSON) != PERSON:
            _fail(where, f"category_id should be 1 (person), found {_short(e['category_id'])}")
        if not _number(e["score"]):
            _fail(where, f"score should be a finite number, found {_short(e['score'])}")
        kps = _keypoints(e["keypoints"], where)
        if e.get("bbox") is not None:
            box = np.asarray(xywh_to_xyxy(e["bbox"], where))
        else:
            xy = kps.reshape(NUM_KEYPOINTS, 3)
            xy = xy[xy[:, 2] > 0] if (xy[:, 2] > 0).any() else xy
            box = np.concatenate([xy[:, :2].min(0), xy[:, :2].max(0)])
        out.setdefault(e["image_id"], []).append((float(e["score"]), box, kps))
    return out


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one [x1, y1, x2, y2] box with each of ``boxes`` (continuous areas, no +1)."""
    lt = np.maximum(box[:2], boxes[:, :2])
    rb = np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area(box) + area(boxes) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def match_keypoints(dets: dict[int, ImageDetections], kps: dict[int, list],
                    iou_thresh: float = DEFAULT_IOU) -> None:
    """Gives person detections without keypoints those of ``kps`` (greedy by score, in place)."""
    for image_id, entries in kps.items():
        d = dets.get(image_id)
        if d is None:
            continue
        free = d.is_human & ~d.pose_valid
        for k in sorted(range(len(entries)), key=lambda k: -entries[k][0]):
            if not free.any():
                break
            overlap = np.where(free, iou(entries[k][1], d.boxes), -1.0)
            best = int(np.argmax(overlap))
            if overlap[best] >= iou_thresh:
                d.poses[best], d.pose_valid[best], free[best] = entries[k][2], True, False
