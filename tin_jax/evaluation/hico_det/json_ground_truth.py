"""HICO-DET ground truth from fredzzhang/hicodet ``instances_test2015.json`` (+ the train file for rare classes).

The GT pairs, their order and the rare split are those of :func:`ground_truth_from_annotations` on the
``anno_bbox.mat`` the json was made from (the pairs go through the same code in ``anno_bbox.mat`` form), so the
Default setting gives the same APs. Known Object needs ``anno.mat``'s image-level labels: pass them as
``labels`` for the exact mask; without them an object counts as present in an image iff one of its HOIs has a
pair there, which misses objects labelled only in ``anno.mat`` (invisible HOIs, images without boxes).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from tin_jax.evaluation.hico_det.ground_truth import HicoGroundTruth, ground_truth_from_annotations
from tin_jax.io import hico_mat, hicodet_json
from tin_jax.schema import classes

__all__ = ["ground_truth_from_json", "hico_actions", "load_json_ground_truth"]


def hico_actions() -> list[hico_mat.HicoAction]:
    """``list_action`` names (nname, vname, vname_ing) from :mod:`tin_jax.schema.classes`."""
    return [hico_mat.HicoAction(nname=o, vname=v, vname_ing=classes.HICO_VERBS_ING[int(classes.HOI_TO_VERB[h])])
            for h, (v, o) in enumerate(classes.HICO_HOIS)]


def _check_rare(test: hicodet_json.HicoJsonAnno, num_train: np.ndarray, name: str) -> None:
    if test.rare is None:
        return
    rare = np.flatnonzero(num_train < hico_mat.RARE_THRESHOLD).tolist()
    if sorted(test.rare) != rare:
        diff = sorted(set(test.rare) ^ set(rare))
        raise hico_mat.AnnotationError(f"{name}: rare lists {len(test.rare)} HOIs but the train file gives {len(rare)} "
                                       f"with fewer than {hico_mat.RARE_THRESHOLD} pairs (first difference: HOI "
                                       f"{diff[0]})")


def ground_truth_from_json(test: hicodet_json.HicoJsonAnno, train: hicodet_json.HicoJsonAnno, *,
                           labels: hico_mat.HicoImageLabels | None = None,
                           name: str = "instances_test2015.json") -> HicoGroundTruth:
    """The evaluator's GT from the parsed json files.

    Args:
        test, train: the parsed ``instances_test2015.json`` and ``instances_train2015.json``.
        labels: ``anno.mat`` for the exact Known Object mask and ``list_action``; its ``list_test`` must equal
            the json's ``filenames``.
        name: named in error messages.
    """
    num_train = hicodet_json.count_instances(train)
    _check_rare(test, num_train, name)
    if labels is None:
        actions = hico_actions()
        labels = hico_mat.HicoImageLabels(actions, [], test.filenames, np.zeros((len(actions), 0)),
                                          hicodet_json.image_labels(test))
    bbox = hico_mat.HicoBboxAnno(labels.actions, [], hicodet_json.bbox_images(test))
    gt = ground_truth_from_annotations(bbox, labels, name=name)
    return dataclasses.replace(gt, num_train=num_train[:gt.num_classes].copy())


def load_json_ground_truth(test_path: str | os.PathLike[str], train_path: str | os.PathLike[str],
                           anno_mat: str | os.PathLike[str] | None = None) -> HicoGroundTruth:
    """Read the two json files (and ``anno.mat`` when given); degenerate boxes are accepted, as in
    :func:`load_ground_truth`."""
    test = hicodet_json.read_hicodet_json(test_path, strict_boxes=False)
    train = hicodet_json.read_hicodet_json(train_path, strict_boxes=False)
    labels = hico_mat.read_anno_mat(anno_mat) if anno_mat is not None else None
    return ground_truth_from_json(test, train, labels=labels, name=os.fspath(test_path))
