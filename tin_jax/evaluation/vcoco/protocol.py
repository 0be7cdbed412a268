"""V-COCO evaluation run (``vsrl_eval.VCOCOeval._do_eval``): agent AP and role AP of both scenarios.

Detection boxes and scores are stored as float32, as the original does, so float64 scores that round to the same
float32 tie. A NaN score means "no detection" and the entry is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tin_jax.evaluation.vcoco.detections import VcocoDetection
from tin_jax.evaluation.vcoco.ground_truth import VcocoGroundTruth
from tin_jax.evaluation.vcoco.matching import SCENARIOS, ap_from_hits, box_overlaps, greedy_match, role_overlaps
from tin_jax.evaluation.vcoco.results import AgentAP, RoleAP, VcocoEvalResult

__all__ = ["evaluate_vcoco"]


def _stack_detections(dets: Sequence[VcocoDetection], gt: VcocoGroundTruth,
                      num_roles: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(D, 4) person boxes, (D, A) agent scores, (D, A, R, 5) roles; float32, NaN = no detection."""
    n, na = len(dets), len(gt.actions)
    boxes = np.zeros((n, 4), dtype=np.float32)
    agent = np.full((n, na), np.nan, dtype=np.float32)
    roles = np.full((n, na, num_roles, 5), np.nan, dtype=np.float32)
    for k, det in enumerate(dets):
        boxes[k] = det.person_box
        for a, action in enumerate(gt.actions):
            score = det.agent_scores.get(action)
            if score is not None:
                agent[k, a] = score
            for r, role in enumerate(gt.roles[a][1:]):
                box = det.role_boxes.get((action, role))
                if box is not None:
                    roles[k, a, r] = box
    return boxes, agent, roles


def evaluate_vcoco(gt: VcocoGroundTruth, detections: Sequence[VcocoDetection],
                   ovr_thresh: float = 0.5) -> VcocoEvalResult:
    """Agent AP and role AP (both scenarios) of ``detections`` against ``gt`` (vsrl_eval's ``_do_eval``)."""
    na = len(gt.actions)
    num_roles = max(1, max(len(r) - 1 for r in gt.roles))
    by_image: dict[int, list[VcocoDetection]] = {}
    for det in detections:
        by_image.setdefault(int(det.image_id), []).append(det)
    agent_hits: list[list] = [[] for _ in range(na)]
    role_hits = {s: [[[] for _ in gt.roles[a][1:]] for a in range(na)] for s in SCENARIOS}
    npos = np.zeros(na, dtype=np.int64)
    for img in gt.images:
        npos += np.sum(img.actions == 1, axis=0)
        boxes, agent, roles = _stack_detections(by_image.get(img.image_id, []), gt, num_roles)
        person_ov = box_overlaps(img.boxes, boxes)
        ignore = np.any(img.actions == -1, axis=1)
        for a in range(na):
            positive = img.actions[:, a] == 1
            agent_hits[a] += greedy_match(agent[:, a], person_ov, ignore, positive, None, ovr_thresh)
            for r in range(len(gt.roles[a]) - 1):
                for s in SCENARIOS:
                    role_ov = role_overlaps(img.role_boxes[:, a, r], roles[:, a, r, :4], s)
                    role_hits[s][a][r] += greedy_match(roles[:, a, r, 4], person_ov, ignore, positive, role_ov,
                                                       ovr_thresh)
    agent_ap = tuple(float(np.float32(ap_from_hits(agent_hits[a], npos[a]))) for a in range(na))
    agent = AgentAP(gt.actions, agent_ap, tuple(int(n) for n in npos))
    tables = {}
    for s in SCENARIOS:
        aps, counts = [], []
        for a in range(na):
            for r in range(len(gt.roles[a]) - 1):
                aps.append(float(np.float32(ap_from_hits(role_hits[s][a][r], npos[a]))))
                counts.append(int(npos[a]))
        tables[s] = RoleAP(s, gt.eval_roles, tuple(aps), tuple(counts))
    split_ids = {img.image_id for img in gt.images}
    outside = sum(len(v) for k, v in by_image.items() if k not in split_ids)
    return VcocoEvalResult(agent, tables["scenario_1"], tables["scenario_2"], len(gt.images),
                           len(detections), outside)
