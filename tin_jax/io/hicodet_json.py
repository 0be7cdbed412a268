"""fredzzhang/hicodet ``instances_train2015.json`` / ``instances_test2015.json``: reader, writer, mapping.

Layout: ``annotation`` (one dict per image, in ``filenames`` order, with the per-pair lists ``boxes_h``,
``boxes_o`` ``[x1, y1, x2, y2]``, ``hoi``, ``object``, ``verb``), ``filenames``, ``size`` (``[width, height]``),
``empty`` (indices of the images with no pair), ``objects`` (80 names), ``verbs`` (117 names),
``correspondence`` (600 rows ``[hoi, object, verb]``, 0-based), optional ``rare`` / ``non_rare`` (HOI indices).

Relation to ``anno_bbox.mat`` (``bbox_train`` / ``bbox_test``):

- images: the same files in the same order (``empty`` images are kept in ``filenames``);
- boxes: the file's 1-based inclusive MATLAB coordinates, unchanged (no ``- 1``);
- pairs: one pair per ``connection`` row of each visible HOI annotation, in HOI-entry then connection order,
  the boxes copied into every pair that shares them; invisible HOIs give no pair;
- ``hoi``: the ``id`` minus 1 (``list_action`` order = :data:`tin_jax.schema.classes.HICO_HOIS`);
- ``object`` indexes ``objects`` (HICO's alphabetical ``hico_list_obj`` order in the public file, COCO order
  after the repository's ``convert.py``): mapped by name to TIN's COCO-contiguous ids, never by position;
- ``verb`` indexes ``verbs`` (``hico_list_vb`` order).

Lost in the json: HOI-entry boundaries (eval_one.m lets a repeated HOI id of one image overwrite the earlier
entry; here every pair counts), the ``invis`` entries, ``depth``, and the image-level labels of ``anno.mat``.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

from tin_jax.io.hico_mat.annotations import NUM_HOI, HicoHoiAnno, HicoImageAnno
from tin_jax.io.hico_mat.common import AnnotationError, FieldsEqual
from tin_jax.io.vcoco_json.json_files import dump_json, is_int, load_json
from tin_jax.schema import classes
from tin_jax.schema.body import POSE_LEN

__all__ = [
    "PAIR_KEYS", "TOP_KEYS", "HicoJsonAnno", "HicoJsonImage", "bbox_images", "coco_object_ids", "count_instances",
    "gt_pair_rows", "image_labels", "positive_hois", "read_hicodet_json", "to_json_dict", "write_hicodet_json",
]

TOP_KEYS = ("annotation", "filenames", "empty", "objects", "verbs", "correspondence", "size")
OPTIONAL_KEYS = ("rare", "non_rare")
PAIR_KEYS = ("boxes_h", "boxes_o", "hoi", "object", "verb")


@dataclasses.dataclass(eq=False)
class HicoJsonImage(FieldsEqual):
    """One image: (k, 4) float64 1-based boxes and (k,) int64 ``hoi`` / ``object`` / ``verb`` per pair."""

    filename: str
    width: int
    height: int
    human_boxes: np.ndarray
    object_boxes: np.ndarray
    hoi: np.ndarray
    object: np.ndarray
    verb: np.ndarray

    @property
    def num_pairs(self) -> int:
        return len(self.hoi)


@dataclasses.dataclass(eq=False)
class HicoJsonAnno(FieldsEqual):
    """A whole file. ``correspondence`` is (600, 3) int64; ``rare`` / ``non_rare`` are ``None`` when absent."""

    images: list[HicoJsonImage]
    empty: tuple[int, ...]
    objects: tuple[str, ...]
    verbs: tuple[str, ...]
    correspondence: np.ndarray
    rare: tuple[int, ...] | None = None
    non_rare: tuple[int, ...] | None = None

    @property
    def filenames(self) -> list[str]:
        return [im.filename for im in self.images]


def coco_object_ids(objects: tuple[str, ...] | list[str]) -> np.ndarray:
    """(len(objects),) int64 COCO-contiguous id (1..80) of each json object index, by name."""
    return np.array([classes.coco_id(o) for o in objects], dtype=np.int64)


def _int_list(value: Any, where: str, what: str, upper: int | None = None) -> list[int]:
    if not isinstance(value, list) or not all(is_int(v) for v in value):
        raise AnnotationError(f"{where}: {what} should be a list of integers")
    if upper is not None:
        bad = [v for v in value if not 0 <= v < upper]
        if bad:
            raise AnnotationError(f"{where}: {what} value {bad[0]} outside 0..{upper - 1}")
    return value


def _names(value: Any, name: str, key: str, count: int, known: set[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) != count or not all(isinstance(v, str) for v in value):
        raise AnnotationError(f"{name}: {key} should be a list of {count} names")
    for i, v in enumerate(value):
        if v not in known:
            raise AnnotationError(f"{name}: {key}[{i}] {v!r} is not a HICO-DET name")
    if len(set(value)) != count:
        raise AnnotationError(f"{name}: {key} has repeated names")
    return tuple(value)


def _correspondence(value: Any, name: str, objects: tuple[str, ...], verbs: tuple[str, ...]) -> np.ndarray:
    if not isinstance(value, list) or len(value) != NUM_HOI:
        raise AnnotationError(f"{name}: correspondence should be a list of {NUM_HOI} rows")
    for h, row in enumerate(value):
        where = f"{name}: correspondence[{h}]"
        if not (isinstance(row, list) and len(row) == 3 and all(is_int(v) for v in row)):
            raise AnnotationError(f"{where}: should be [hoi, object, verb] integers, found {row!r:.80}")
        if row[0] != h or not (0 <= row[1] < len(objects) and 0 <= row[2] < len(verbs)):
            raise AnnotationError(f"{where}: {row} is not [{h}, object index, verb index]")
        try:
            hoi = classes.hoi_id(verbs[row[2]], objects[row[1]])
        except KeyError:
            hoi = -1
        if hoi != h:
            raise AnnotationError(f"{where}: ({verbs[row[2]]}, {objects[row[1]]}) is not HICO-DET HOI {h} "
                                  f"{classes.HICO_HOIS[h]}")
    return np.array(value, dtype=np.int64).reshape(NUM_HOI, 3)


def _boxes(value: Any, where: str, key: str, strict: bool) -> np.ndarray:
    if not isinstance(value, list):
        raise AnnotationError(f"{where}: {key} should be a list of boxes")
    for k, b in enumerate(value):
        if not (isinstance(b, list) and len(b) == 4 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                             for v in b)):
            raise AnnotationError(f"{where} pair {k}: {key} should be [x1, y1, x2, y2], found {b!r:.80}")
        if not all(np.isfinite(b)):
            raise AnnotationError(f"{where} pair {k}: {key} has a non-finite coordinate {b}")
        if strict and (b[2] < b[0] or b[3] < b[1]):
            raise AnnotationError(f"{where} pair {k}: {key} {b} is degenerate (x2 < x1 or y2 < y1)")
    return np.array(value, dtype=np.float64).reshape(-1, 4)


def _image(entry: Any, filename: str, size: Any, where: str, corr: np.ndarray, strict: bool) -> HicoJsonImage:
    if not (isinstance(size, list) and len(size) == 2 and all(is_int(v) and v > 0 for v in size)):
        raise AnnotationError(f"{where}: size should be [width, height] positive integers, found {size!r:.80}")
    if not isinstance(entry, dict) or any(k not in entry for k in PAIR_KEYS):
        raise AnnotationError(f"{where}: annotation should be a dict with keys {', '.join(PAIR_KEYS)}")
    hb = _boxes(entry["boxes_h"], where, "boxes_h", strict)
    ob = _boxes(entry["boxes_o"], where, "boxes_o", strict)
    hoi = _int_list(entry["hoi"], where, "hoi", NUM_HOI)
    obj = _int_list(entry["object"], where, "object")
    verb = _int_list(entry["verb"], where, "verb")
    lengths = {k: len(entry[k]) for k in PAIR_KEYS}
    if len(set(lengths.values())) != 1:
        raise AnnotationError(f"{where}: per-pair lists differ in length {lengths}")
    for k, (h, o, v) in enumerate(zip(hoi, obj, verb)):
        if (o, v) != (corr[h, 1], corr[h, 2]):
            raise AnnotationError(f"{where} pair {k}: object {o} / verb {v} do not match correspondence[{h}] = "
                                  f"{corr[h].tolist()}")
    return HicoJsonImage(filename, size[0], size[1], hb, ob, np.array(hoi, np.int64).reshape(-1),
                         np.array(obj, np.int64).reshape(-1), np.array(verb, np.int64).reshape(-1))


def _images(data: dict, name: str, corr: np.ndarray, strict: bool) -> list[HicoJsonImage]:
    annos, files, sizes = data["annotation"], data["filenames"], data["size"]
    for key, v in (("annotation", annos), ("filenames", files), ("size", sizes)):
        if not isinstance(v, list):
            raise AnnotationError(f"{name}: {key} should be a list")
    if not len(annos) == len(files) == len(sizes):
        raise AnnotationError(f"{name}: annotation, filenames and size have {len(annos)}, {len(files)} and "
                              f"{len(sizes)} entries")
    images = []
    for i, (entry, f, size) in enumerate(zip(annos, files, sizes)):
        if not isinstance(f, str) or not f:
            raise AnnotationError(f"{name}: filenames[{i}] should be a file name, found {f!r:.80}")
        images.append(_image(entry, f, size, f"{name}: annotation[{i}] ({f})", corr, strict))
    return images


def _rare_lists(data: dict, name: str) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    if "rare" not in data and "non_rare" not in data:
        return None, None
    rare = _int_list(data.get("rare"), f"{name}: rare", "rare", NUM_HOI)
    non_rare = _int_list(data.get("non_rare"), f"{name}: non_rare", "non_rare", NUM_HOI)
    if sorted(rare + non_rare) != list(range(NUM_HOI)):
        raise AnnotationError(f"{name}: rare and non_rare should split the {NUM_HOI} HOIs, each once")
    return tuple(rare), tuple(non_rare)


def read_hicodet_json(path: str | os.PathLike[str], *, strict_boxes: bool = True) -> HicoJsonAnno:
    """Read ``instances_*.json``; ``strict_boxes`` rejects x2 < x1 or y2 < y1 (non-finite is always rejected)."""
    name, data = load_json(path)
    if not isinstance(data, dict):
        raise AnnotationError(f"{name}: top level should be a JSON object")
    missing = [k for k in TOP_KEYS if k not in data]
    if missing:
        raise AnnotationError(f"{name}: missing key {missing[0]!r}")
    objects = _names(data["objects"], name, "objects", classes.NUM_OBJECTS,
                     set(classes.HICO_OBJECTS) | set(classes.COCO_OBJECTS))
    if len(set(coco_object_ids(objects).tolist())) != classes.NUM_OBJECTS:
        raise AnnotationError(f"{name}: objects name the same COCO class twice")
    verbs = _names(data["verbs"], name, "verbs", classes.NUM_VERBS, set(classes.HICO_VERBS))
    corr = _correspondence(data["correspondence"], name, objects, verbs)
    images = _images(data, name, corr, strict_boxes)
    empty = _int_list(data["empty"], f"{name}: empty", "empty", max(len(images), 1))
    no_pairs = [i for i, im in enumerate(images) if im.num_pairs == 0]
    if sorted(set(empty)) != no_pairs or len(empty) != len(no_pairs):
        extra = sorted(set(empty) ^ set(no_pairs))
        i = extra[0] if extra else (empty[0] if empty else 0)
        raise AnnotationError(f"{name}: empty should list each image without pairs once; image {i} "
                              f"({images[i].filename}) has {images[i].num_pairs} pairs")
    rare, non_rare = _rare_lists(data, name)
    return HicoJsonAnno(images, tuple(empty), objects, verbs, corr, rare, non_rare)


def to_json_dict(anno: HicoJsonAnno) -> dict:
    """The file's dict (key order of the public files)."""
    out = {
        "annotation": [{"boxes_h": im.human_boxes.tolist(), "boxes_o": im.object_boxes.tolist(),
                        "hoi": im.hoi.tolist(), "object": im.object.tolist(), "verb": im.verb.tolist()}
                       for im in anno.images],
        "filenames": anno.filenames,
        "empty": list(anno.empty),
        "objects": list(anno.objects),
        "verbs": list(anno.verbs),
        "correspondence": np.asarray(anno.correspondence).tolist(),
        "size": [[int(im.width), int(im.height)] for im in anno.images],
    }
    if anno.rare is not None:
        out["rare"], out["non_rare"] = list(anno.rare), list(anno.non_rare or ())
    return out


def write_hicodet_json(path: str | os.PathLike[str], anno: HicoJsonAnno) -> None:
    """Write ``anno`` atomically in the public layout."""
    dump_json(os.fspath(path), to_json_dict(anno))


def count_instances(anno: HicoJsonAnno) -> np.ndarray:
    """(600,) int64 pairs per HOI (eval_one.m ``num_inst`` when ``anno`` is the train file)."""
    hois = [im.hoi for im in anno.images]
    return np.bincount(np.concatenate(hois) if hois else np.zeros(0, np.int64), minlength=NUM_HOI).astype(np.int64)


def bbox_images(anno: HicoJsonAnno) -> list[HicoImageAnno]:
    """The images in ``anno_bbox.mat`` form: one visible HOI entry per run of equal ``hoi``, one box per pair.

    ``depth`` is not in the json and is set to 3.
    """
    out = []
    for im in anno.images:
        starts = np.flatnonzero(np.r_[True, im.hoi[1:] != im.hoi[:-1]]) if im.num_pairs else np.zeros(0, int)
        ends = np.r_[starts[1:], im.num_pairs]
        hois = []
        for lo, hi in zip(starts, ends):
            k = np.arange(hi - lo, dtype=np.int64)
            hois.append(HicoHoiAnno(int(im.hoi[lo]), im.human_boxes[lo:hi].copy(), im.object_boxes[lo:hi].copy(),
                                    np.stack([k, k], axis=1), False))
        out.append(HicoImageAnno(im.filename, int(im.width), int(im.height), 3, hois))
    return out


def positive_hois(image: HicoJsonImage) -> list[int]:
    """Sorted HOIs with at least one pair in the image."""
    return sorted({int(h) for h in image.hoi})


def image_labels(anno: HicoJsonAnno) -> np.ndarray:
    """(600, N) float64 in the ``anno.mat`` form: 1 where the HOI has a pair in the image, NaN elsewhere."""
    labels = np.full((NUM_HOI, len(anno.images)), np.nan)
    for i, im in enumerate(anno.images):
        labels[im.hoi, i] = 1.0
    return labels


def gt_pair_rows(image: HicoJsonImage) -> list[dict]:
    """One single-label pair row per json pair: 0-based float32 boxes, COCO-contiguous class, no pose."""
    hb = image.human_boxes.astype(np.float32) - 1
    ob = image.object_boxes.astype(np.float32) - 1
    return [dict(hbox=hb[k], obox=ob[k], cls=int(classes.HOI_TO_OBJECT[h]), labels=[int(h)],
                 pose=np.zeros(POSE_LEN, np.float32), pose_valid=False, score=1.0)
            for k, h in enumerate(image.hoi.tolist())]
