"""HICO-DET ground truth as eval_one.m derives it from ``anno.mat`` and ``anno_bbox.mat`` (test split).

For every image and every HOI annotation of ``bbox_test`` that is not ``invis``, each ``connection`` row gives one
(human box, object box) pair, 1-based as stored. Annotators' duplicate boxes are *not* merged.
``gt_all{hoi_id, i} = boxes`` *overwrites*: if an image lists the same HOI id twice, only the last visible entry
counts. ``num_inst`` (rare iff < 10) counts the non-invisible ``connection`` rows of ``bbox_train``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import numpy as np

from tin_jax.evaluation.hico_det.detections import DetectionFileError
from tin_jax.io import hico_mat
from tin_jax.schema import classes

__all__ = ["COCO_OBJECT_NAMES", "NUM_OBJECTS", "HicoGroundTruth", "ground_truth_from_annotations", "image_ids_of",
           "load_ground_truth"]

NUM_OBJECTS = 80
# get_list_coco_obj.m: COCO-contiguous order, spaces replaced by '_' (HICO's nname spelling).
COCO_OBJECT_NAMES = tuple(name.replace(" ", "_") for name in classes.COCO_OBJECTS)


@dataclasses.dataclass(frozen=True, eq=False)
class HicoGroundTruth:
    """Everything eval_one.m derives from ``anno.mat`` and ``anno_bbox.mat`` for the test split.

    GT pairs are grouped by class (rows ``offsets[c]:offsets[c+1]``), images ascending, and inside an image in
    the file's connection order. Boxes are ``[hx1 hy1 hx2 hy2 ox1 oy1 ox2 oy2]``, 1-based as in the file.
    """

    filenames: tuple[str, ...]
    action_names: tuple[str, ...]  # eval_one.m aname: vname_ing + '_' + nname
    object_names: tuple[str, ...]  # nname per class
    class_object: np.ndarray  # (C,) COCO-contiguous object id 1..80 (get_list_coco_obj.m order)
    object_hoi_range: np.ndarray  # (81, 2) 0-based first/last class of each object (obj_hoi_int - 1); row 0 unused
    offsets: np.ndarray  # (C + 1,) int64
    gt_image: np.ndarray  # (K,) int64 0-based test image index
    gt_boxes: np.ndarray  # (K, 8) float64
    known_object: np.ndarray  # (C, N) bool: images kept for class c in the Known Object setting
    num_train: np.ndarray  # (C,) int64 training instances (num_inst)
    name: str = "anno.mat/anno_bbox.mat"

    @property
    def num_classes(self) -> int:
        return len(self.action_names)

    @property
    def num_images(self) -> int:
        return len(self.filenames)

    @property
    def num_gt(self) -> np.ndarray:
        """(C,) npos of each class."""
        return np.diff(self.offsets)

    @property
    def rare(self) -> np.ndarray:
        """(C,) bool: fewer than 10 training instances (eval_one.m ``s_ind``)."""
        return self.num_train < hico_mat.RARE_THRESHOLD

    def class_gt(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        """(image, boxes) of class c's GT pairs."""
        lo, hi = self.offsets[c], self.offsets[c + 1]
        return self.gt_image[lo:hi], self.gt_boxes[lo:hi]

    def file_rows(self, obj: int) -> int:
        """Rows of ``all_boxes`` in ``detections_<obj>.mat``: the object's HOI range."""
        lo, hi = self.object_hoi_range[obj]
        return int(hi - lo + 1)

    def image_index(self, images: Sequence[int | str], source: str = "<detections>") -> np.ndarray:
        """0-based test indices of images given as file names or numeric ids (Generate_detection.m's parse)."""
        by_name = {f: i for i, f in enumerate(self.filenames)}
        by_id = {int(v): i for i, v in enumerate(image_ids_of(self.filenames)) if v >= 0}
        out = np.empty(len(images), dtype=np.int64)
        for k, im in enumerate(images):
            i = by_name.get(im) if isinstance(im, str) else by_id.get(int(im))
            if i is None:
                raise DetectionFileError(f"{source}: detection {k}: image {im!r} is not in list_test")
            out[k] = i
        return out

    def known_object_violations(self) -> list[tuple[int, int]]:
        """(class, image) pairs with GT on an image the Known Object setting drops (eval_one.m asserts none)."""
        cls = np.repeat(np.arange(self.num_classes), self.num_gt)
        bad = ~self.known_object[cls, self.gt_image]
        return sorted({(int(c), int(i)) for c, i in zip(cls[bad], self.gt_image[bad])})


def _object_ranges(object_names: Sequence[str], name: str) -> tuple[np.ndarray, np.ndarray]:
    """eval_one.m ``obj_hoi_int`` (first/last class per COCO object) and each class's object id."""
    names = np.array(object_names, dtype=object)
    ranges = np.full((NUM_OBJECTS + 1, 2), -1, dtype=np.int64)
    for obj, obj_name in enumerate(COCO_OBJECT_NAMES, start=1):
        idx = np.flatnonzero(names == obj_name)
        if len(idx) == 0:
            raise hico_mat.AnnotationError(f"{name}: list_action has no HOI of object '{obj_name}' "
                                           "(eval_one.m asserts one for each of the 80 COCO objects)")
        ranges[obj] = idx[0], idx[-1]
    lookup = {n: i for i, n in enumerate(COCO_OBJECT_NAMES, start=1)}
    class_object = np.zeros(len(names), dtype=np.int64)
    for c, obj_name in enumerate(object_names):
        if obj_name not in lookup:
            raise hico_mat.AnnotationError(f"{name}: list_action[{c}] object '{obj_name}' is not one of the 80 COCO "
                                           "objects of get_list_coco_obj.m")
        class_object[c] = lookup[obj_name]
    return ranges, class_object


def _known_object_mask(object_names: Sequence[str], anno_test: np.ndarray) -> np.ndarray:
    """eval_one.m KO: ``any(anno_im(nid, :) == 1, 1)`` over the classes ``nid`` sharing the object name."""
    names = np.array(object_names, dtype=object)
    mask = np.zeros(anno_test.shape, dtype=bool)
    for obj_name in dict.fromkeys(object_names):
        rows = names == obj_name
        mask[rows] = np.any(anno_test[rows] == 1, axis=0)
    return mask


def _gt_pairs(images: Sequence[hico_mat.HicoImageAnno], num_classes: int) -> dict[tuple[int, int], np.ndarray]:
    """eval_one.m ``gt_all``: {(class, image): (k, 8) boxes}; a repeated HOI id overwrites the earlier one."""
    gt: dict[tuple[int, int], np.ndarray] = {}
    for i, img in enumerate(images):
        for hoi in img.hois:
            if hoi.invis or hoi.hoi_id >= num_classes:
                continue
            human, obj = hoi.pairs()
            gt[(hoi.hoi_id, i)] = np.concatenate([human, obj], axis=1).reshape(-1, 8)
    return gt


def ground_truth_from_annotations(bbox: hico_mat.HicoBboxAnno, labels: hico_mat.HicoImageLabels, *,
                                  name: str = "anno.mat/anno_bbox.mat") -> HicoGroundTruth:
    """Build the evaluator's GT from the parsed files (``list_action`` comes from anno.mat, as in eval_one.m)."""
    if len(bbox.test) != len(labels.list_test):
        raise hico_mat.AnnotationError(f"{name}: bbox_test has {len(bbox.test)} images but list_test has "
                                       f"{len(labels.list_test)}")
    for i, (img, f) in enumerate(zip(bbox.test, labels.list_test)):
        if img.filename != f:
            raise hico_mat.AnnotationError(f"{name}: bbox_test[{i}] is {img.filename!r} but list_test{{{i}}} is {f!r}")
    object_names = tuple(a.nname for a in labels.actions)
    num_classes = len(object_names)
    ranges, class_object = _object_ranges(object_names, name)
    pairs = _gt_pairs(bbox.test, num_classes)
    keys = sorted(k for k, v in pairs.items() if len(v))
    counts = np.bincount([c for c, _ in keys], weights=[len(pairs[k]) for k in keys],
                         minlength=num_classes).astype(np.int64)
    gt_image = np.array([i for k in keys for i in [k[1]] * len(pairs[k])], dtype=np.int64)
    gt_boxes = np.concatenate([pairs[k] for k in keys]) if keys else np.zeros((0, 8))
    num_train = hico_mat.count_train_instances(bbox)
    num_train = np.pad(num_train, (0, max(0, num_classes - len(num_train))))[:num_classes]
    return HicoGroundTruth(
        filenames=tuple(labels.list_test),
        action_names=tuple(f"{a.vname_ing}_{a.nname}" for a in labels.actions),
        object_names=object_names,
        class_object=class_object,
        object_hoi_range=ranges,
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        gt_image=gt_image,
        gt_boxes=gt_boxes.astype(np.float64),
        known_object=_known_object_mask(object_names, labels.anno_test),
        num_train=num_train.astype(np.int64),
        name=name,
    )


def load_ground_truth(anno_dir: str | os.PathLike[str]) -> HicoGroundTruth:
    """Read ``anno_bbox.mat`` and ``anno.mat`` from ``anno_dir`` (e.g. ``Data/hico_20160224_det``).

    Degenerate GT boxes are accepted (the official code does not check them; they simply never overlap).
    """
    bbox_file = os.path.join(os.fspath(anno_dir), "anno_bbox.mat")
    anno_file = os.path.join(os.fspath(anno_dir), "anno.mat")
    bbox = hico_mat.read_anno_bbox_mat(bbox_file, strict_boxes=False)
    labels = hico_mat.read_anno_mat(anno_file)
    return ground_truth_from_annotations(bbox, labels, name=anno_file)


def image_ids_of(filenames: Sequence[str]) -> np.ndarray:
    """Numeric image id of each file name, as Generate_detection.m parses it: ``str2double(name(end-9:end-4))``.

    ``HICO_test2015_00000123.jpg`` -> 123; a name that does not parse gives -1 (MATLAB's NaN never matches).
    """
    ids = np.full(len(filenames), -1, dtype=np.int64)
    for i, f in enumerate(filenames):
        digits = f[-10:-4]
        if len(f) >= 10 and digits.strip().isdigit():
            ids[i] = int(digits)
    return ids
