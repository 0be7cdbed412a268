"""Writes the synthetic V-COCO side in the original layout (pickles, COCO/V-COCO json, images).

V-COCO's trainval images are COCO train2014 images and its test images val2014
ones; the pickles are iCAN's: GT ``[image_id, role_class_ids, hbox, obox,
person_class_ids, pose]`` over TIN's 29 classes, Neg and test-detection dicts
like HICO-DET's.
"""

from __future__ import annotations

import os

import numpy as np

from data_prep.sources import vcoco as vcoco_src
from data_prep.synthetic import py2pickle, scenes
from data_prep.synthetic.common import detection_entry, gt_pose, pose_list, target_box, write_jpeg
from tin_jax.schema import classes
from tin_jax.io import vcoco_json as vj

FIRST_TRAIN_ID = 100_000  # COCO image ids of the synthetic train2014 / val2014 images
FIRST_TEST_ID = 500_000


def _xywh(box: np.ndarray) -> list[float]:
    """0-based inclusive [x1,y1,x2,y2] -> COCO [x,y,w,h] (vsrl_eval adds w-1 back)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    return [x1, y1, x2 - x1 + 1.0, y2 - y1 + 1.0]


def _class_id(name: str) -> int:
    return classes.VCOCO_CLASSES.index(name)


def _scene_annotations(scene, image_id: int, next_ann: int):
    """COCO annotations for every person and object; returns (anns, person_ids, object_ids)."""
    anns, pids, oids = [], [], []
    for p in scene.people:
        box = _xywh(p.box)
        anns.append(vj.CocoAnnotation(next_ann, image_id, 1, box, box[2] * box[3]))
        pids.append(next_ann)
        next_ann += 1
    for o in scene.objects:
        box = _xywh(o.box)
        anns.append(vj.CocoAnnotation(next_ann, image_id, vj.CONTIGUOUS_TO_COCO_ID[int(o.category)],
                                      box, box[2] * box[3]))
        oids.append(next_ann)
        next_ann += 1
    return anns, pids, oids, next_ann


def _persons(scene, pids, oids) -> list[vj.VcocoPerson]:
    """V-COCO persons: a 0/1 label for every action and the role objects of positives."""
    out = []
    for k, person in enumerate(scene.people):
        labels = {a: 0 for a in classes.VCOCO_ACTIONS}
        for name in scene.person_actions[k]:
            labels[classes.VCOCO_CLASS_TO_ACTION_ROLE[_class_id(name)][0]] = 1
        roles: dict[str, dict[str, int]] = {}
        for inter in scene.interactions:
            if inter.human != k:
                continue
            target = (pids if inter.target_is_person else oids)[inter.target]
            for name in inter.vcoco_classes:
                action, role = classes.VCOCO_CLASS_TO_ACTION_ROLE[_class_id(name)]
                labels[action] = 1
                if role is not None:
                    roles.setdefault(action, {})[role] = target
        out.append(vj.VcocoPerson(pids[k], np.asarray(person.box, np.float64), labels, roles))
    return out


def make_vcoco(out: str, rng: np.random.Generator, num_train: int, num_test: int,
               pose_missing_rate: float = 0.1) -> dict:
    root = os.path.join(out, vcoco_src.VCOCO_ROOT)
    gt, neg, det = [], {}, {}
    coco_images, coco_anns, split_images = [], [], {"train": [], "val": [], "test": []}
    next_ann = 1
    for split, count, first in (("train", num_train, FIRST_TRAIN_ID), ("test", num_test, FIRST_TEST_ID)):
        for k in range(count):
            image_id = first + k
            scene = scenes.sample_scene(rng, image_id, split)
            coco_split = "train2014" if split == "train" else "val2014"
            file_name = f"COCO_{coco_split}_{image_id:012d}.jpg"
            write_jpeg(os.path.join(root, "coco", "images", coco_split, file_name), scene.image)
            coco_images.append(vj.CocoImage(image_id, file_name, int(scene.width), int(scene.height)))
            anns, pids, oids, next_ann = _scene_annotations(scene, image_id, next_ann)
            coco_anns += anns
            vsplit = split if split == "test" else ("train" if k < (2 * count) // 3 else "val")
            split_images[vsplit].append(vj.VcocoImage(image_id, file_name, int(scene.width),
                                                      int(scene.height), _persons(scene, pids, oids), {}))
            dets = scenes.detect(scene, rng, split)
            if split == "test":
                det[image_id] = [detection_entry(image_id, d) for d in dets]
                continue
            for inter in scene.interactions:
                if not inter.vcoco_classes:
                    continue
                person = scene.people[inter.human]
                gt.append([image_id, [_class_id(n) for n in inter.vcoco_classes],
                           np.asarray(person.box, np.float64),
                           np.asarray(target_box(scene, inter), np.float64),
                           sorted({_class_id(n) for n in scene.person_actions[inter.human]}
                                  | {_class_id(n) for n in inter.vcoco_classes}),
                           gt_pose(rng, person, pose_missing_rate)])
            negs = []
            for hi, oi in scenes.negative_pairs(scene, dets, include_no_interaction=False):
                h, o = dets[hi], dets[oi]
                negs.append([image_id, 0, np.asarray(h.box, np.float32), np.asarray(o.box, np.float32),
                             [], int(o.category), np.array(o.score, np.float32), pose_list(h.pose)])
            if negs:
                neg[image_id] = negs

    py2pickle.dump_py2(gt, os.path.join(out, vcoco_src.TRAIN_GT))
    py2pickle.dump_py2(neg, os.path.join(out, vcoco_src.TRAIN_NEG))
    py2pickle.dump_py2(det, os.path.join(out, vcoco_src.TEST_DET))
    vj.write_coco_instances(root, vj.CocoInstances(coco_images, coco_anns))
    actions = [vj.VcocoActionSpec(n, tuple(r), tuple(tuple(i) for i in inc))
               for n, r, inc in vj.VCOCO_ACTIONS]
    for split, images in split_images.items():
        vj.write_vcoco_split(root, split, vj.action_tables_from_images(actions, images))
        vj.write_ids(root, split, sorted(im.image_id for im in images))
    return dict(train_images=num_train, test_images=num_test, gt_pairs=len(gt),
                neg_pairs=sum(len(v) for v in neg.values()),
                detections=sum(len(v) for v in det.values()))
