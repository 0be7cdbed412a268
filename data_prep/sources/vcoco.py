"""Reads the original V-COCO inputs of TIN (the ``Data/`` folder) into records.

Files, relative to ``data_dir``:

- ``Trainval_GT_VCOCO_with_pose.pkl`` list of ``[image_id, [role class ids], hbox, obox, [person class ids], pose]``
  over TIN's 29 V-COCO classes (``tin_jax.schema.classes.VCOCO_CLASSES``)
- ``Trainval_Neg_VCOCO_with_pose.pkl`` dict like HICO-DET's (only boxes, class, score and pose are used)
- ``Test_Faster_RCNN_R-50-PFN_2x_VCOCO_with_pose.pkl`` dict ``image_id -> detections`` like HICO-DET's
  (or ``test_detections``, as for HICO-DET; COCO image ids)
- ``v-coco/data/{vcoco/vcoco_test.json, instances_vcoco_all_2014.json, splits/vcoco_test.ids}`` (test ground truth)
- ``v-coco/coco/images/{train2014,val2014}/COCO_{train,val}2014_%012d.jpg``

Test records hold one GT pair per (person, action role with an object); the
agent-only actions (stand, smile, run, walk) have no object and are left to the
V-COCO evaluator, which reads the json files themselves.
"""

from __future__ import annotations

import os

import numpy as np

from data_prep.sources import common
from data_prep.sources.common import ProblemLog
from data_prep.sources.hico import pair_set, parse_train_neg, read_test_detections
from tin_jax.schema import classes
from tin_jax.schema.records import Detections, ImageRecord, PairSet
from tin_jax.io import vcoco_json
from tin_jax.io.safe_pickle import load_pickle

TRAIN_GT = "Trainval_GT_VCOCO_with_pose.pkl"
TRAIN_NEG = "Trainval_Neg_VCOCO_with_pose.pkl"
TEST_DET = "Test_Faster_RCNN_R-50-PFN_2x_VCOCO_with_pose.pkl"
VCOCO_ROOT = "v-coco"
NUM_LABELS = len(classes.VCOCO_CLASSES)  # 29


def image_path(data_dir: str, coco_split: str, image_id: int) -> str:
    name = f"COCO_{coco_split}_{image_id:012d}.jpg"
    return os.path.join(data_dir, VCOCO_ROOT, "coco", "images", coco_split, name)


def parse_train_gt(gt, path: str, log: ProblemLog) -> dict[int, list[dict]]:
    """Groups the GT pairs by image, in file order; GT[1] = role classes, GT[4] = person classes."""
    def row(e, where):
        return dict(cls=-1, labels=common.id_list(e[1], where, "role class", NUM_LABELS),
                    person_labels=common.id_list(e[4], where, "person class", NUM_LABELS))

    return common.group_gt_pairs(gt, path, log, row)


def _test_gt(image: "vcoco_json.VcocoImage") -> PairSet:
    rows = []
    index = {ar: i for i, ar in enumerate(classes.VCOCO_CLASS_TO_ACTION_ROLE)}
    for person in image.persons:
        for action in person.positive_actions():
            for role, ann in person.roles.get(action, {}).items():
                obj = image.objects.get(ann) if ann else None
                if obj is None or (action, role) not in index:
                    continue
                rows.append(dict(hbox=np.asarray(person.box, np.float32),
                                 obox=np.asarray(obj.box, np.float32), cls=int(obj.contiguous_id),
                                 labels=[index[(action, role)]], person_labels=[],
                                 pose=np.zeros(51, np.float32), pose_valid=False, score=1.0))
    return pair_set(rows)


def read(data_dir: str, log: ProblemLog, *, test_detections: str | None = None,
         test_detections_format: str | None = None, test_keypoints: str | None = None) -> dict:
    j = lambda p: os.path.join(data_dir, p)
    gt_by_image = parse_train_gt(load_pickle(j(TRAIN_GT)), j(TRAIN_GT), log)
    neg_by_image = parse_train_neg(load_pickle(j(TRAIN_NEG)), j(TRAIN_NEG), log, use_label=False)
    det_path = test_detections or j(TEST_DET)
    det_by_image = read_test_detections(det_path, test_detections_format, log, keypoints=test_keypoints)
    test_split = vcoco_json.read_vcoco(j(VCOCO_ROOT), "test")

    train = [ImageRecord(image_id=i, filename=os.path.basename(image_path(data_dir, "train2014", i)),
                         path=image_path(data_dir, "train2014", i), gt=pair_set(rows),
                         neg=pair_set(neg_by_image.get(i, [])), det=Detections.empty())
             for i, rows in gt_by_image.items()]
    test, seen = [], set()
    for im in test_split.images:
        seen.add(im.image_id)
        test.append(ImageRecord(image_id=im.image_id, filename=im.file_name,
                                path=os.path.join(data_dir, VCOCO_ROOT, "coco", "images", "val2014",
                                                  im.file_name),
                                gt=_test_gt(im), neg=PairSet.empty(),
                                det=det_by_image.get(im.image_id, Detections.empty())))
    for image_id in det_by_image:
        if image_id not in seen:
            log.bad(f"{det_path}: image {image_id} is not in {vcoco_json.ids_path(j(VCOCO_ROOT), 'test')}")

    counts = np.zeros(NUM_LABELS, np.int64)
    person_counts = np.zeros(NUM_LABELS, np.int64)
    for rows in gt_by_image.values():
        for r in rows:
            counts[r["labels"]] += 1
            person_counts[r["person_labels"]] += 1
    metadata = dict(
        dataset="vcoco",
        num_labels=NUM_LABELS,
        label_names=list(classes.VCOCO_CLASSES),
        objects=list(classes.COCO_OBJECTS),
        class_to_action_role=[list(x) for x in classes.VCOCO_CLASS_TO_ACTION_ROLE],
        no_object_classes=list(classes.VCOCO_NO_OBJECT_CLASSES),
        eval_roles_25=[list(x) for x in classes.VCOCO_EVAL_ROLES_25],
        eval_roles_24=[list(x) for x in classes.VCOCO_EVAL_ROLES_24],
        train_pair_counts=counts.tolist(),
        train_person_label_counts=person_counts.tolist(),
        train_negative_pairs=int(sum(len(v) for k, v in neg_by_image.items() if k in gt_by_image)),
        negative_only_images_ignored=int(sum(1 for k in neg_by_image if k not in gt_by_image)),
    )
    return dict(splits={"train": train, "test": test}, metadata=metadata)
