"""Reads the original HICO-DET inputs of TIN (the ``Data/`` folder) into records.

Files, relative to ``data_dir`` (the layout of TIN's ``script/download_dataset.sh``):

- ``Trainval_GT_HICO_with_pose.pkl``  list of ``[image_id, [hoi ids], hbox, obox, _, pose]``
- ``Trainval_Neg_HICO_with_pose.pkl`` dict ``image_id -> [[image_id, noint_hoi, hbox, obox, hois, cls, score, pose], ...]``
- ``Test_Faster_RCNN_R-50-PFN_2x_HICO_DET_with_pose.pkl`` dict ``image_id -> [[image_id, 'Human'|'Object', box, nan, cls, score, pose], ...]``
  (or ``test_detections``: another file, TIN's pickle layout or a COCO results json; see
  :func:`read_test_detections`)
- ``hico_20160224_det/anno_bbox.mat`` (test ground truth, rare split), ``hico_20160224_det/anno.mat`` (image labels, for Known-Object)
- ``hico_20160224_det/images/{train2015,test2015}/HICO_{train,test}2015_%08d.jpg``
"""

from __future__ import annotations

import os
import re

import numpy as np

from data_prep.sources import common
from data_prep.sources.common import ProblemLog
from tin_jax.schema import classes
from tin_jax.schema.records import Detections, ImageRecord, PairSet
from tin_jax.io import coco_results, hico_mat, hicodet_json
from tin_jax.io.errors import DataFormatError
from tin_jax.io.safe_pickle import load_pickle

TRAIN_GT = "Trainval_GT_HICO_with_pose.pkl"
TRAIN_NEG = "Trainval_Neg_HICO_with_pose.pkl"
TEST_DET = "Test_Faster_RCNN_R-50-PFN_2x_HICO_DET_with_pose.pkl"
ROOT = "hico_20160224_det"
ANNO_BBOX = f"{ROOT}/anno_bbox.mat"
ANNO = f"{ROOT}/anno.mat"
NUM_LABELS = 600


def image_filename(split: str, image_id: int) -> str:
    return f"HICO_{split}2015_{image_id:08d}.jpg"


def image_path(data_dir: str, split: str, image_id: int) -> str:
    return os.path.join(data_dir, ROOT, "images", f"{split}2015", image_filename(split, image_id))


def image_id_from_filename(name: str, where: str) -> int:
    m = re.fullmatch(r"HICO_(?:train|test)2015_(\d{8})\.jpg", name)
    if not m:
        raise DataFormatError(f"{where}: unexpected image file name {name!r}")
    return int(m.group(1))


def pair_set(rows: list[dict]) -> PairSet:
    if not rows:
        return PairSet.empty()
    return PairSet(
            human_boxes=np.stack([r["hbox"] for r in rows]).astype(np.float32),
            object_boxes=np.stack([r["obox"] for r in rows]).astype(np.float32),
            object_classes=np.array([r["cls"] for r in rows], np.int64),
            labels=[r["labels"] for r in rows],
            poses=np.stack([r["pose"] for r in rows]).astype(np.float32),
            pose_valid=np.array([r["pose_valid"] for r in rows], bool),
            scores=np.array([r["score"] for r in rows], np.float32),
            person_labels=[r.get("person_labels", []) for r in rows],
    )


def _hoi_object(hois: list[int], where: str) -> int:
    objs = {int(classes.HOI_TO_OBJECT[h]) for h in hois}
    if len(objs) != 1:
        raise DataFormatError(f"{where}: HOI ids {hois} belong to different objects {sorted(objs)}")
    return objs.pop()


def parse_train_gt(gt, path: str, log: ProblemLog) -> dict[int, list[dict]]:
    """Groups the GT pairs by image, in file order (TIN's ``changeForm`` order)."""
    def row(e, where):
        hois = common.id_list(e[1], where, "HOI", NUM_LABELS)
        return dict(cls=_hoi_object(hois, where), labels=hois)

    return common.group_gt_pairs(gt, path, log, row)


def parse_train_neg(neg, path: str, log: ProblemLog, *, use_label: bool = True
                    ) -> dict[int, list[dict]]:
    """``Trainval_Neg``: per image, the detection pairs matching no GT pair.

    ``use_label``: HICO-DET labels a negative with its object's no_interaction HOI
    (Neg[1]); V-COCO's training ignores Neg[1] (negatives get all-zero labels).
    """
    if not isinstance(neg, dict):
        raise DataFormatError(f"{path}: expected a dict image_id -> negative pairs, got {type(neg).__name__}")
    out: dict[int, list[dict]] = {}
    for key, entries in neg.items():
        image_id = common.as_int(key, path, "dict key (image id)")
        where0 = f"{path}: image {image_id}"
        if not isinstance(entries, (list, tuple)):
            log.bad(f"{where0}: expected a list of negative pairs, got {type(entries).__name__}")
            continue
        rows = []
        for j, entry in enumerate(entries):
            where = f"{where0} pair {j}"
            try:
                e = common.as_sequence(entry, where, "negative pair", 8)
                hoi = common.id_list(e[1], where, "no_interaction HOI", NUM_LABELS) if use_label else []
                pose, pose_valid = common.as_pose(e[7], where)
                rows.append(dict(hbox=common.as_box(e[2], where, "human box"),
                                                  obox=common.as_box(e[3], where, "object box"),
                                                  cls=common.object_class(e[5], where), labels=hoi,
                                                  pose=pose, pose_valid=pose_valid,
                                                  score=common.as_float(e[6], where, "object score")))
            except DataFormatError as err:
                log.bad(str(err))
        out[image_id] = rows
    return out


def parse_test_detections(det, path: str, log: ProblemLog) -> dict[int, Detections]:
    if not isinstance(det, dict):
        raise DataFormatError(f"{path}: expected a dict image_id -> detections, got {type(det).__name__}")
    out = {}
    for key, entries in det.items():
        image_id = common.as_int(key, path, "dict key (image id)")
        where0 = f"{path}: image {image_id}"
        if not isinstance(entries, (list, tuple)):
            log.bad(f"{where0}: expected a list of detections, got {type(entries).__name__}")
            continue
        boxes, human, cls, scores, poses, valid = [], [], [], [], [], []
        for j, entry in enumerate(entries):
            where = f"{where0} detection {j}"
            try:
                e = common.as_sequence(entry, where, "detection", 7)
                kind = e[1].decode("latin1") if isinstance(e[1], bytes) else e[1]
                if kind not in ("Human", "Object"):
                    raise DataFormatError(f"{where}: kind must be 'Human' or 'Object', got {kind!r:.40}")
                box = common.as_box(e[2], where, "box")
                c = common.object_class(e[4], where)
                s = common.as_float(e[5], where, "score")
                pose, pv = common.as_pose(e[6], where)
            except DataFormatError as err:
                log.bad(str(err))
                continue
            boxes.append(box); human.append(kind == "Human"); cls.append(c)
            scores.append(s); poses.append(pose); valid.append(pv)
        if boxes:
            out[image_id] = Detections(np.stack(boxes), np.array(human, bool), np.array(cls, np.int64),
                                                                  np.array(scores, np.float32), np.stack(poses), np.array(valid, bool))
        else:
            out[image_id] = Detections.empty()
    return out


TEST_DETECTION_FORMATS = ("tin_pickle", "coco")


def read_test_detections(path: str, fmt: str | None, log: ProblemLog, *,
                         keypoints: str | None = None) -> dict[int, Detections]:
    """image id -> test detections of ``path``: ``tin_pickle`` (the layout of ``TEST_DET``) or
    ``coco`` (COCO results json, ``tin_jax.io.coco_results``: persons are the 'Human' entries,
    image_id the record's image id; ``keypoints``: a COCO keypoint results file). ``fmt``
    None: ``coco`` for a ``.json`` file, else ``tin_pickle``."""
    fmt = fmt or ("coco" if path.lower().endswith(".json") else "tin_pickle")
    if fmt not in TEST_DETECTION_FORMATS:
        raise DataFormatError(f"{path}: unknown test detections format {fmt!r} "
                              f"(one of {', '.join(TEST_DETECTION_FORMATS)})")
    if fmt == "tin_pickle":
        if keypoints:
            raise DataFormatError(f"{keypoints}: test keypoints go with COCO-format test detections")
        return parse_test_detections(load_pickle(path), path, log)
    f32 = lambda a: a.astype(np.float32)
    return {i: Detections(f32(d.boxes), d.is_human, d.classes, f32(d.scores), f32(d.poses), d.pose_valid)
            for i, d in coco_results.read_detections(path, keypoints).items()}


def _test_gt(img: "hico_mat.HicoImageAnno", where: str, log: ProblemLog) -> PairSet:
    """Every visible connection of the test annotation as a single-label pair.

    The .mat holds 1-based MATLAB pixels; records are 0-based like the pickles.
    Annotator duplicates are kept (the official evaluation does not merge them).
    """
    rows = []
    for hoi in img.hois:
        if hoi.invis:
            continue
        for k, (hi, oi) in enumerate(np.asarray(hoi.connections, np.int64).reshape(-1, 2)):
            hbox = np.asarray(hoi.human_boxes[hi], np.float32) - 1
            obox = np.asarray(hoi.object_boxes[oi], np.float32) - 1
            rows.append(dict(hbox=hbox, obox=obox, cls=int(classes.HOI_TO_OBJECT[hoi.hoi_id]),
                                              labels=[int(hoi.hoi_id)], pose=np.zeros(51, np.float32),
                                              pose_valid=False, score=1.0))
    return pair_set(rows)


def _test_annotations(data_dir: str, annotations_json: str | None):
    """(test images in anno_bbox.mat form, the file they came from, training instances per HOI
    for the rare split, json positives by filename or None): from anno_bbox.mat, or from
    fredzzhang/hicodet's ``instances_{test,train}2015.json`` (the same pairs and 1-based boxes)."""
    if not annotations_json:
        path = os.path.join(data_dir, ANNO_BBOX)
        anno = hico_mat.read_anno_bbox_mat(path)
        return anno.test, path, hico_mat.count_train_instances(anno), None
    path = os.path.join(annotations_json, "instances_test2015.json")
    test = hicodet_json.read_hicodet_json(path, strict_boxes=False)
    train = hicodet_json.read_hicodet_json(os.path.join(annotations_json, "instances_train2015.json"),
                                           strict_boxes=False)
    positives = {im.filename: hicodet_json.positive_hois(im) for im in test.images}
    return hicodet_json.bbox_images(test), path, hicodet_json.count_instances(train), positives


def read(data_dir: str, log: ProblemLog, *, test_detections: str | None = None,
         test_detections_format: str | None = None, test_keypoints: str | None = None,
         annotations_json: str | None = None) -> dict:
    """Returns ``{'splits': {'train': [...], 'test': [...]}, 'metadata': {...}}``; the test
    detections from ``TEST_DET`` or ``test_detections`` (:func:`read_test_detections`); the
    test pairs from anno_bbox.mat or the json annotations in ``annotations_json`` (image-level
    labels from anno.mat when it exists, else the HOIs with a pair in the json)."""
    j = lambda p: os.path.join(data_dir, p)
    gt_by_image = parse_train_gt(load_pickle(j(TRAIN_GT)), j(TRAIN_GT), log)
    neg_by_image = parse_train_neg(load_pickle(j(TRAIN_NEG)), j(TRAIN_NEG), log)
    det_path = test_detections or j(TEST_DET)
    det_by_image = read_test_detections(det_path, test_detections_format, log, keypoints=test_keypoints)
    test_images, anno_path, rare_counts, json_positives = _test_annotations(data_dir, annotations_json)
    if json_positives is not None and not os.path.exists(j(ANNO)):
        labels = hico_mat.HicoImageLabels([], [], [], np.zeros((0, 0)), np.zeros((NUM_LABELS, 0)))
    else:
        labels = hico_mat.read_anno_mat(j(ANNO))

    train = []
    for image_id, rows in gt_by_image.items():
        neg_rows = neg_by_image.get(image_id, [])
        train.append(ImageRecord(
                image_id=image_id, filename=image_filename("train", image_id),
                path=image_path(data_dir, "train", image_id),
                gt=pair_set(rows), neg=pair_set(neg_rows), det=Detections.empty()))

    test_col = {name: k for k, name in enumerate(labels.list_test)}
    anno_test = np.asarray(labels.anno_test)
    test, seen = [], set()
    for k, img in enumerate(test_images):
        where = f"{anno_path}: image {k} ({img.filename})"
        image_id = image_id_from_filename(img.filename, where)
        seen.add(image_id)
        col = test_col.get(img.filename)
        if col is None and json_positives is not None:
            positives = json_positives[img.filename]
        elif col is None:
            log.bad(f"{j(ANNO)}: list_test has no entry for {img.filename}")
            positives = []
        else:
            positives = np.flatnonzero(anno_test[:, col] == 1).tolist()
        test.append(ImageRecord(
                image_id=image_id, filename=img.filename,
                path=image_path(data_dir, "test", image_id),
                gt=_test_gt(img, where, log), neg=PairSet.empty(),
                det=det_by_image.get(image_id, Detections.empty()),
                positive_hois=positives))
    for image_id in det_by_image:
        if image_id not in seen:
            log.bad(f"{det_path}: image {image_id} is not a test image of {anno_path}")

    train_counts = np.zeros(NUM_LABELS, np.int64)
    for rows in gt_by_image.values():
        for r in rows:
            for h in r["labels"]:
                train_counts[h] += 1
    metadata = dict(
            dataset="hico",
            num_labels=NUM_LABELS,
            label_names=[f"{v} {o}" for v, o in classes.HICO_HOIS],
            verbs=list(classes.HICO_VERBS),
            objects=list(classes.COCO_OBJECTS),
            hoi_to_verb=classes.HOI_TO_VERB.tolist(),
            hoi_to_object=classes.HOI_TO_OBJECT.tolist(),
            hoi_range_by_object=classes.HOI_RANGE_BY_OBJECT.tolist(),
            no_interaction_hois=list(classes.NO_INTERACTION_HOIS),
            train_pair_counts=train_counts.tolist(),
            train_negative_pairs=int(sum(len(v) for k, v in neg_by_image.items() if k in gt_by_image)),
            negative_only_images_ignored=int(sum(1 for k in neg_by_image if k not in gt_by_image)),
            official_train_instances=np.asarray(rare_counts).tolist(),
            rare_hois=np.flatnonzero(np.asarray(rare_counts) < 10).tolist(),
    )
    return dict(splits={"train": train, "test": test}, metadata=metadata)
