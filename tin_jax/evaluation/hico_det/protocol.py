"""HICO-DET evaluation runs (eval_one.m / eval_run.m): the Default and Known Object settings and their checks.

Default: all test images. Known Object: for HOI ``i`` of object ``o``, keep only the *detections* on images with
``anno_test(j, img) == 1`` for some HOI ``j`` of object ``o`` (by ``list_action.nname`` of ``anno.mat``). GT is
*not* filtered; ``eval_one.m`` asserts instead that no GT lies outside those images (the assertion is reproduced
as an error, ``check_known_object=False`` skips it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tin_jax.evaluation.hico_det.detections import DetectionFileError, HicoDetections
from tin_jax.evaluation.hico_det.ground_truth import HicoGroundTruth
from tin_jax.evaluation.hico_det.matching import MIN_OVERLAP, average_precision_11, rank_and_match
from tin_jax.evaluation.hico_det.matlab_arithmetic import MATLAB_THRESHOLDS
from tin_jax.evaluation.hico_det.results import SETTINGS, HicoDetResult, SettingResult
from tin_jax.io import hico_mat

__all__ = ["evaluate", "evaluate_setting"]


def _check_shapes(gt: HicoGroundTruth, dets: HicoDetections) -> None:
    if dets.num_images != gt.num_images:
        raise DetectionFileError(f"detections are for {dets.num_images} test images, {gt.name} has "
                                 f"{gt.num_images} (eval_one.m asserts numel(det) == numel(gt_bbox))")
    if len(dets.per_class) != gt.num_classes:
        raise DetectionFileError(f"detections cover {len(dets.per_class)} HOI classes, {gt.name} has "
                                 f"{gt.num_classes}")


def _check_known_object(gt: HicoGroundTruth) -> None:
    bad = gt.known_object_violations()
    if bad:
        c, i = bad[0]
        raise hico_mat.AnnotationError(
            f"{gt.name}: Known Object: HOI {c + 1} ({gt.action_names[c]}) has ground truth on "
            f"{gt.filenames[i]}, but anno_test has no positive label for its object there "
            f"({len(bad)} such (HOI, image) pairs); eval_one.m asserts this never happens "
            "(check_known_object=False, --no_ko_check on the command line, skips the check)")


def _evaluate(gt: HicoGroundTruth, dets: HicoDetections, settings: Sequence[str], check_known_object: bool,
              min_overlap: float, thresholds: np.ndarray) -> dict[str, SettingResult]:
    """Rank and match each class once for all settings.

    Why that is exact for Known Object: KO drops whole images, a stable sort of the kept rows equals the kept
    rows of the stable sort, and a detection's TP/FP depends only on earlier detections of its own image.
    """
    for setting in settings:
        if setting not in SETTINGS:
            raise ValueError(f"unknown setting {setting!r} (def, ko)")
    _check_shapes(gt, dets)
    if "ko" in settings and check_known_object:
        _check_known_object(gt)
    num_classes = gt.num_classes
    ap = {s: np.zeros(num_classes) for s in settings}
    rec = {s: np.zeros(num_classes) for s in settings}
    num = {s: np.zeros(num_classes, dtype=np.int64) for s in settings}
    for c in range(num_classes):
        d = dets.per_class[c]
        gt_image, gt_boxes = gt.class_gt(c)
        order, tp = rank_and_match(gt_image, gt_boxes, d, min_overlap=min_overlap)
        for s in settings:
            kept = tp if s == "def" else tp[gt.known_object[c, d.image[order]]]
            ap[s][c], rec[s][c] = average_precision_11(kept, len(gt_image), thresholds)
            num[s][c] = len(kept)
    return {s: SettingResult(s, ap[s], rec[s], num[s], gt.rare.copy()) for s in settings}


def evaluate_setting(gt: HicoGroundTruth, dets: HicoDetections, setting: str = "def", *,
                     check_known_object: bool = True, min_overlap: float = MIN_OVERLAP,
                     thresholds: np.ndarray = MATLAB_THRESHOLDS) -> SettingResult:
    """One eval_one.m run: ``setting`` 'def' (Default) or 'ko' (Known Object)."""
    return _evaluate(gt, dets, (setting,), check_known_object, min_overlap, thresholds)[setting]


def evaluate(gt: HicoGroundTruth, dets: HicoDetections, *, check_known_object: bool = True,
             min_overlap: float = MIN_OVERLAP, thresholds: np.ndarray = MATLAB_THRESHOLDS) -> HicoDetResult:
    """Default and Known Object results, as eval_run.m produces them."""
    res = _evaluate(gt, dets, SETTINGS, check_known_object, min_overlap, thresholds)
    return HicoDetResult(res["def"], res["ko"], gt.action_names, gt.num_gt, gt.num_train, gt.num_images)
