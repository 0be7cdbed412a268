"""Writes the synthetic HICO-DET side in the original layout (pickles, .mat files, images)."""

from __future__ import annotations

import os

import numpy as np

from data_prep.sources import hico as hico_src
from data_prep.synthetic import py2pickle, scenes
from data_prep.synthetic.common import detection_entry, gt_pose, pose_list, target_box, write_jpeg
from tin_jax.schema import classes
from tin_jax.io import hico_mat


def _mat_boxes(boxes: list[np.ndarray]) -> np.ndarray:
    return np.asarray(boxes, np.float64).reshape(-1, 4) + 1.0  # .mat boxes are 1-based


def _hico_image_anno(scene: "scenes.Scene", filename: str) -> hico_mat.HicoImageAnno:
    """Groups the scene's pairs by HOI like the real annotation: boxes + connections."""
    by_hoi: dict[int, tuple[list, list, list]] = {}
    for inter in scene.interactions:
        for h in inter.hoi_ids:
            hb, ob, conn = by_hoi.setdefault(int(h), ([], [], []))
            hb.append(scene.people[inter.human].box)
            ob.append(target_box(scene, inter))
            conn.append((len(hb) - 1, len(ob) - 1))
    hois = [hico_mat.HicoHoiAnno(hoi_id=h, human_boxes=_mat_boxes(hb), object_boxes=_mat_boxes(ob),
                                 connections=np.asarray(conn, np.int64).reshape(-1, 2), invis=False)
            for h, (hb, ob, conn) in sorted(by_hoi.items())]
    return hico_mat.HicoImageAnno(filename=filename, width=int(scene.width),
                                  height=int(scene.height), depth=3, hois=hois)


def _actions() -> list[hico_mat.HicoAction]:
    ing = getattr(classes, "HICO_VERBS_ING", None)
    out = []
    for h, (verb, obj) in enumerate(classes.HICO_HOIS):
        v = int(classes.HOI_TO_VERB[h])
        out.append(hico_mat.HicoAction(nname=obj, vname=verb, vname_ing=ing[v] if ing else verb))
    return out


def _image_labels(scenes_: list, num_images: int, rng: np.random.Generator) -> np.ndarray:
    """Image-level labels: 1 for HOIs present, -1 for other HOIs of present objects, NaN elsewhere."""
    labels = np.full((classes.NUM_HOIS, num_images), np.nan)
    for col, scene in enumerate(scenes_):
        present = {int(h) for it in scene.interactions for h in it.hoi_ids}
        for h in present:
            c = int(classes.HOI_TO_OBJECT[h])
            lo, hi = classes.HOI_RANGE_BY_OBJECT[c]
            labels[lo:hi + 1, col] = -1.0
        for h in present:
            labels[h, col] = 1.0
        # A few ambiguous (0) labels, as in the real file, but only where the object keeps
        # another positive label: the official Known-Object evaluation asserts that every
        # GT pair lies on an image with a positive label for its object.
        by_object: dict[int, list[int]] = {}
        for h in sorted(present):
            by_object.setdefault(int(classes.HOI_TO_OBJECT[h]), []).append(h)
        candidates = [h for hs in by_object.values() if len(hs) > 1 for h in hs]
        if candidates and rng.random() < 0.2:
            labels[int(rng.choice(candidates)), col] = 0.0
    return labels


def make_hico(out: str, rng: np.random.Generator, num_train: int, num_test: int,
              pose_missing_rate: float = 0.1) -> dict:
    gt, neg, det = [], {}, {}
    train_annos, test_annos, train_scenes, test_scenes = [], [], [], []
    for split, count in (("train", num_train), ("test", num_test)):
        for image_id in range(1, count + 1):
            scene = scenes.sample_scene(rng, image_id, split)
            filename = hico_src.image_filename(split, image_id)
            write_jpeg(hico_src.image_path(out, split, image_id), scene.image)
            dets = scenes.detect(scene, rng, split)
            if split == "train":
                train_scenes.append(scene)
                train_annos.append(_hico_image_anno(scene, filename))
                for inter in scene.interactions:
                    person = scene.people[inter.human]
                    verbs = sorted({int(classes.HOI_TO_VERB[h]) for h in inter.hoi_ids})
                    gt.append([image_id, [int(h) for h in inter.hoi_ids],
                               np.asarray(person.box, np.float64), np.asarray(target_box(scene, inter), np.float64),
                               verbs, gt_pose(rng, person, pose_missing_rate)])
                negs = []
                for hi, oi in scenes.negative_pairs(scene, dets):
                    h, o = dets[hi], dets[oi]
                    c = int(o.category)
                    lo, hi_ = classes.HOI_RANGE_BY_OBJECT[c]
                    negs.append([image_id, int(classes.NO_INTERACTION_HOI_BY_OBJECT[c]),
                                 np.asarray(h.box, np.float32), np.asarray(o.box, np.float32),
                                 list(range(int(lo), int(hi_) + 1)), c,
                                 np.array(o.score, np.float32), pose_list(h.pose)])
                if negs:
                    neg[image_id] = negs
            else:
                test_scenes.append(scene)
                test_annos.append(_hico_image_anno(scene, filename))
                det[image_id] = [detection_entry(image_id, d) for d in dets]

    py2pickle.dump_py2(gt, os.path.join(out, hico_src.TRAIN_GT))
    py2pickle.dump_py2(neg, os.path.join(out, hico_src.TRAIN_NEG))
    py2pickle.dump_py2(det, os.path.join(out, hico_src.TEST_DET))
    actions = _actions()
    hico_mat.write_anno_bbox_mat(os.path.join(out, hico_src.ANNO_BBOX),
                                 hico_mat.HicoBboxAnno(actions, train_annos, test_annos))
    hico_mat.write_anno_mat(os.path.join(out, hico_src.ANNO), hico_mat.HicoImageLabels(
        actions=actions, list_train=[a.filename for a in train_annos],
        list_test=[a.filename for a in test_annos],
        anno_train=_image_labels(train_scenes, num_train, rng),
        anno_test=_image_labels(test_scenes, num_test, rng)))
    return dict(train_images=num_train, test_images=num_test, gt_pairs=len(gt),
                neg_pairs=sum(len(v) for v in neg.values()),
                detections=sum(len(v) for v in det.values()))
