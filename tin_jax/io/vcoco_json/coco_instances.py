"""``instances_vcoco_all_2014.json`` (COCO instances format): reading and writing, with validation."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from tin_jax.io.hico_mat.common import AnnotationError
from tin_jax.io.vcoco_json.annotations import CocoAnnotation, CocoCategory, CocoImage, CocoInstances
from tin_jax.io.vcoco_json.boxes import box_polygon
from tin_jax.io.vcoco_json.json_files import dump_json, is_int, load_json
from tin_jax.io.vcoco_json.paths import coco_instances_path

__all__ = ["read_coco_instances", "write_coco_instances"]

_IMAGE_KEYS = ("id", "file_name", "width", "height")
_IMAGE_OPTIONAL = {"license": 1, "coco_url": "", "date_captured": "", "flickr_url": ""}
_ANN_KEYS = ("id", "image_id", "category_id", "bbox", "area", "iscrowd")


def read_coco_instances(path: str | os.PathLike[str]) -> CocoInstances:
    """Read a COCO instances json (``instances_vcoco_all_2014.json``)."""
    name, data = load_json(path)
    if not isinstance(data, dict):
        raise AnnotationError(f"{name}: should be a JSON object")
    missing = [k for k in ("images", "annotations", "categories") if k not in data]
    if missing:
        raise AnnotationError(f"{name}: missing key(s) {', '.join(missing)}")
    for k in ("images", "annotations", "categories"):
        if not isinstance(data[k], list):
            raise AnnotationError(f"{name}: {k} should be a list")
    categories = [_read_category(c, f"{name}: categories[{i}]") for i, c in enumerate(data["categories"])]
    cat_ids = {c.id for c in categories}
    images, image_ids = [], set()
    for i, im in enumerate(data["images"]):
        images.append(_read_image(im, f"{name}: images[{i}]", image_ids))
    annotations, ann_ids = [], set()
    for i, a in enumerate(data["annotations"]):
        annotations.append(_read_annotation(a, f"{name}: annotations[{i}]", ann_ids, image_ids, cat_ids))
    info = data.get("info", {})
    licenses = data.get("licenses", [])
    return CocoInstances(images, annotations, categories, info if isinstance(info, dict) else {},
                                              licenses if isinstance(licenses, list) else [])


def _read_category(c: Any, w: str) -> CocoCategory:
    if not isinstance(c, dict) or not is_int(c.get("id")) or not isinstance(c.get("name"), str):
        raise AnnotationError(f"{w}: should be an object with int id and str name, found {c!r:.80}")
    return CocoCategory(c["id"], c["name"], str(c.get("supercategory", "")))


def _read_image(im: Any, w: str, image_ids: set[int]) -> CocoImage:
    """One element of ``images``; its id is added to ``image_ids`` (seen so far, to reject duplicates)."""
    if not isinstance(im, dict):
        raise AnnotationError(f"{w}: should be an object")
    miss = [k for k in _IMAGE_KEYS if k not in im]
    if miss:
        raise AnnotationError(f"{w}: missing key(s) {', '.join(miss)}")
    w = f"{w} (id {im['id']!r})"
    if not all(is_int(im[k]) for k in ("id", "width", "height")) or not isinstance(im["file_name"], str):
        raise AnnotationError(f"{w}: id/width/height should be ints and file_name a string")
    if im["width"] < 1 or im["height"] < 1:
        raise AnnotationError(f"{w}: non-positive size {im['width']}x{im['height']}")
    if im["id"] in image_ids:
        raise AnnotationError(f"{w}: duplicate image id")
    image_ids.add(im["id"])
    return CocoImage(im["id"], im["file_name"], im["width"], im["height"],
                                     **{k: im.get(k, v) for k, v in _IMAGE_OPTIONAL.items()},
                                     extra={k: v for k, v in im.items() if k not in _IMAGE_KEYS and k not in _IMAGE_OPTIONAL})


def _read_annotation(a: Any, w: str, ann_ids: set[int], image_ids: set[int], cat_ids: set[int]) -> CocoAnnotation:
    """One element of ``annotations``; its id is added to ``ann_ids`` (seen so far, to reject duplicates)."""
    if not isinstance(a, dict):
        raise AnnotationError(f"{w}: should be an object")
    miss = [k for k in _ANN_KEYS if k not in a]
    if miss:
        raise AnnotationError(f"{w}: missing key(s) {', '.join(miss)}")
    w = f"{w} (id {a['id']!r})"
    if not all(is_int(a[k]) for k in ("id", "image_id", "category_id")):
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
    return CocoAnnotation(a["id"], a["image_id"], a["category_id"], [float(v) for v in bbox],
                                             float(a["area"]), int(a["iscrowd"]), a.get("segmentation"),
                                             {k: v for k, v in a.items() if k not in _ANN_KEYS + ("segmentation",)})


def write_coco_instances(vcoco_root: str | os.PathLike[str], instances: CocoInstances, *,
                                                  path: str | os.PathLike[str] | None = None) -> str:
    """Write ``<vcoco_root>/data/instances_vcoco_all_2014.json`` (or ``path``); returns the path."""
    name = os.fspath(path) if path is not None else coco_instances_path(vcoco_root)
    cat_ids = set()
    categories = []
    for i, c in enumerate(instances.categories):
        if not isinstance(c, CocoCategory) or not is_int(c.id) or not isinstance(c.name, str):
            raise AnnotationError(f"{name}: categories[{i}]: expected a CocoCategory with int id and str name")
        cat_ids.add(c.id)
        categories.append({"supercategory": c.supercategory, "id": c.id, "name": c.name})
    images, image_ids = [], set()
    for i, im in enumerate(instances.images):
        images.append(_image_json(im, f"{name}: images[{i}]", image_ids))
    annotations, ann_ids = [], set()
    for i, a in enumerate(instances.annotations):
        annotations.append(_annotation_json(a, f"{name}: annotations[{i}]", ann_ids, image_ids, cat_ids))
    obj = {"info": dict(instances.info), "images": images, "licenses": list(instances.licenses),
                  "annotations": annotations, "categories": categories}
    try:
        dump_json(name, obj)
    except TypeError as e:  # a non-JSON value in info/licenses/extra/segmentation
        raise AnnotationError(f"{name}: value not JSON-serialisable ({e})") from e
    return name


def _image_json(im: Any, w: str, image_ids: set[int]) -> dict[str, Any]:
    """A :class:`CocoImage` as a COCO ``images`` element (key order of the released file); adds its id to ``image_ids``."""
    if not isinstance(im, CocoImage):
        raise AnnotationError(f"{w}: expected a CocoImage, got {type(im).__name__}")
    if not all(is_int(getattr(im, k)) for k in ("id", "width", "height")) or not isinstance(im.file_name, str):
        raise AnnotationError(f"{w} (id {im.id!r}): id/width/height should be ints and file_name a str")
    if im.width < 1 or im.height < 1:
        raise AnnotationError(f"{w} (id {im.id}): non-positive size {im.width}x{im.height}")
    if im.id in image_ids:
        raise AnnotationError(f"{w} (id {im.id}): duplicate image id")
    image_ids.add(im.id)
    d = {"license": im.license, "file_name": im.file_name, "coco_url": im.coco_url, "height": im.height,
              "width": im.width, "date_captured": im.date_captured, "flickr_url": im.flickr_url, "id": im.id}
    d.update({k: v for k, v in im.extra.items() if k not in d})
    return d


def _annotation_json(a: Any, w: str, ann_ids: set[int], image_ids: set[int], cat_ids: set[int]) -> dict[str, Any]:
    """A :class:`CocoAnnotation` as a COCO ``annotations`` element; adds its id to ``ann_ids``."""
    if not isinstance(a, CocoAnnotation):
        raise AnnotationError(f"{w}: expected a CocoAnnotation, got {type(a).__name__}")
    w = f"{w} (id {a.id!r})"
    if not all(is_int(getattr(a, k)) for k in ("id", "image_id", "category_id")):
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
    d = {"segmentation": a.segmentation if a.segmentation is not None else box_polygon(bbox),
              "area": float(a.area), "iscrowd": int(a.iscrowd), "image_id": a.image_id, "bbox": bbox,
              "category_id": a.category_id, "id": a.id}
    d.update({k: v for k, v in a.extra.items() if k not in d})
    return d
