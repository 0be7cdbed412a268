"""The HICO-DET mAP a perfect HOI classifier would reach on the same candidate pairs.

A detector-based HOI model can only rank the human-object pairs its object detector and
pair selection give it. Scoring each candidate (pair, HOI) 1 when it matches a ground-truth
pair of that HOI under the official rule (``min(IoU_h, IoU_o) >= 0.5``) and 0 otherwise
gives the mAP of a classifier that knows every label: what is left between the model and
this ceiling is what the model can fix; what is left between the ceiling and 100 is
detection recall (missed people or objects, boxes too loose, pairs not selected).

It is a ceiling for the classifier, not a strict bound: when two candidates of one image
both match the same GT pair, the second is a false positive whatever its score, and a model
may rank it below other true pairs where the 0/1 scores leave them in cell order.
"""

from __future__ import annotations

import numpy as np

from tin_jax.evaluation import hico_det


def oracle_detections(gt: hico_det.HicoGroundTruth, candidates: hico_det.HicoDetections,
                      min_overlap: float = hico_det.MIN_OVERLAP) -> hico_det.HicoDetections:
    """``candidates`` (every scored (pair, HOI) row; scores ignored) rescored 1 / 0 by whether
    the row matches a GT pair of its HOI on its image."""
    per_class = []
    for c, d in enumerate(candidates.per_class):
        gt_image, gt_boxes = gt.class_gt(c)
        overlap, _ = hico_det.best_gt_pair(d.image, d.boxes + 1, gt_image, gt_boxes)
        per_class.append(hico_det.ClassDetections(d.image, d.boxes, (overlap >= min_overlap).astype(np.float64)))
    return hico_det.HicoDetections(tuple(per_class), candidates.num_images)


def ceiling_result(gt: hico_det.HicoGroundTruth, candidates: hico_det.HicoDetections) -> hico_det.HicoDetResult:
    """The official result of :func:`oracle_detections` (both settings)."""
    return hico_det.evaluate(gt, oracle_detections(gt, candidates))
