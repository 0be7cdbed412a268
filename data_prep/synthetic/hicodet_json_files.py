"""Writes ``instances_train2015.json`` / ``instances_test2015.json`` (fredzzhang/hicodet layout) from
``anno_bbox.mat``, with the conventions of the public files (see :mod:`tin_jax.io.hicodet_json`)."""

from __future__ import annotations

import os

import numpy as np

from tin_jax.io import hico_mat, hicodet_json
from tin_jax.schema import classes

TRAIN_JSON = "instances_train2015.json"
TEST_JSON = "instances_test2015.json"


def json_image(img: hico_mat.HicoImageAnno) -> hicodet_json.HicoJsonImage:
    """One pair per connection row of each visible HOI entry, in file order; boxes stay 1-based."""
    hb, ob, hoi = [], [], []
    for entry in img.hois:
        if entry.invis:
            continue
        h, o = entry.pairs()
        hb.append(h)
        ob.append(o)
        hoi += [entry.hoi_id] * len(h)
    hoi_arr = np.array(hoi, np.int64)
    obj_index = {name: i for i, name in enumerate(classes.HICO_OBJECTS)}
    obj = np.array([obj_index[classes.HICO_HOIS[h][1]] for h in hoi], np.int64)
    return hicodet_json.HicoJsonImage(
        img.filename, int(img.width), int(img.height),
        np.concatenate(hb).reshape(-1, 4) if hb else np.zeros((0, 4)),
        np.concatenate(ob).reshape(-1, 4) if ob else np.zeros((0, 4)),
        hoi_arr, obj.reshape(-1), classes.HOI_TO_VERB[hoi_arr].astype(np.int64))


def json_anno(images: list[hico_mat.HicoImageAnno], rare: np.ndarray) -> hicodet_json.HicoJsonAnno:
    """The json of one split; ``rare`` is the (600,) mask of eval_one.m (from the train split)."""
    out = [json_image(img) for img in images]
    obj_index = {name: i for i, name in enumerate(classes.HICO_OBJECTS)}
    corr = np.array([[h, obj_index[o], int(classes.HOI_TO_VERB[h])] for h, (_, o) in enumerate(classes.HICO_HOIS)],
                    np.int64)
    return hicodet_json.HicoJsonAnno(
        images=out, empty=tuple(i for i, im in enumerate(out) if im.num_pairs == 0),
        objects=tuple(classes.HICO_OBJECTS), verbs=tuple(classes.HICO_VERBS), correspondence=corr,
        rare=tuple(np.flatnonzero(rare).tolist()), non_rare=tuple(np.flatnonzero(~rare).tolist()))


def write_hicodet_json_files(anno_bbox_path: str, out_dir: str) -> tuple[str, str]:
    """Convert ``anno_bbox.mat`` into ``out_dir/instances_{train,test}2015.json``; returns the two paths."""
    bbox = hico_mat.read_anno_bbox_mat(anno_bbox_path, strict_boxes=False)
    rare = hico_mat.rare_hoi_mask(bbox)
    paths = os.path.join(out_dir, TRAIN_JSON), os.path.join(out_dir, TEST_JSON)
    hicodet_json.write_hicodet_json(paths[0], json_anno(bbox.train, rare))
    hicodet_json.write_hicodet_json(paths[1], json_anno(bbox.test, rare))
    return paths
