"""The detector side: a Faster R-CNN imitation and the negative pairs of iCAN's ``Trainval_Neg``.

* :func:`detect` -- :class:`Detection` list with jittered boxes, scores, misses, false
  positives, wrong classes and noisy poses for humans.
* :func:`negative_pairs` -- detection pairs that match no GT pair.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from data_prep.synthetic.catalogue import OBJECT_NAMES
from data_prep.synthetic.geometry import box_iou, clip_box
from data_prep.synthetic.records import Detection, Scene
from tin_jax.schema import classes


def _jitter_box(rng, box, W, H, good: bool) -> np.ndarray:
    """Detected box around ``box``: IoU > 0.7 if ``good``, else 0.2 < IoU <= 0.7 (10 tries)."""
    b = np.asarray(box, np.float64)
    w, h = b[2] - b[0], b[3] - b[1]
    sig = 0.04 if good else 0.16
    for _ in range(10):
        nb = b + rng.normal(0.0, sig, 4) * np.array([w, h, w, h])
        nb = clip_box(nb, W, H)
        iou = float(box_iou(nb[None], b[None])[0, 0])
        if (iou > 0.7) == good and (good or iou > 0.2):
            return nb
    return clip_box(b, W, H) if good else nb


def detect(scene: Scene, rng: np.random.Generator, split: str = "test") -> list[Detection]:
    """Imitate iCAN's Faster R-CNN detections for ``scene`` (sorted by score, descending).

    Humans: ~3 % missed, ~88 % with IoU > 0.7 and score > 0.8, the rest looser/lower; each
    carries a noisy copy of the GT keypoints as its pose.  Objects: ~5 % missed, ~85 % scored
    above 0.3, ~3 % with a wrong class.  Plus a few low-scoring false positives.
    """
    W, H = scene.width, scene.height
    fp_rate = 0.8 if split == "test" else 0.6
    dets: list[Detection] = []
    for p in scene.people:
        if rng.random() < 0.03:
            continue
        good = rng.random() < 0.88
        box = _jitter_box(rng, p.box, W, H, good)
        score = rng.uniform(0.82, 0.999) if (good and rng.random() < 0.92) \
            else rng.uniform(0.3, 0.8)
        dets.append(Detection(box, True, 1, float(score), _noisy_pose(rng, p.keypoints, box)))
    for o in scene.objects:
        if rng.random() < 0.05:
            continue
        good = rng.random() < 0.85
        box = _jitter_box(rng, o.box, W, H, good)
        cat = o.category
        if rng.random() < 0.03:
            others = [classes.coco_id(n) for n in OBJECT_NAMES if classes.coco_id(n) != cat]
            cat = others[int(rng.integers(len(others)))]
        score = 0.3 + 0.7 * rng.beta(4.0, 1.5) if rng.random() < 0.85 else rng.uniform(0.05, 0.3)
        dets.append(Detection(box, False, int(cat), float(min(score, 0.999)), None))
    for _ in range(int(rng.poisson(fp_rate))):
        if scene.people and rng.random() < 0.3:  # fragment of a person
            p = scene.people[int(rng.integers(len(scene.people)))]
            b = p.box.astype(np.float64)
            frac = rng.uniform(0.35, 0.6)
            nb = np.array([b[0], b[1], b[2], b[1] + frac * (b[3] - b[1])])
            nb += rng.normal(0, 0.05, 4) * (b[2] - b[0])
            box = clip_box(nb, W, H)
            dets.append(Detection(box, True, 1, float(rng.uniform(0.2, 0.75)),
                                  _noisy_pose(rng, p.keypoints, box, extra=0.05)))
        else:
            bw = rng.uniform(0.05, 0.3) * W
            bh = rng.uniform(0.05, 0.3) * H
            x1, y1 = rng.uniform(0, W - bw), rng.uniform(0, H - bh)
            box = clip_box([x1, y1, x1 + bw, y1 + bh], W, H)
            if rng.random() < 0.15:
                dets.append(Detection(box, True, 1, float(rng.uniform(0.1, 0.6)),
                                      _box_pose(rng, box)))
            else:
                name = OBJECT_NAMES[int(rng.integers(len(OBJECT_NAMES)))]
                dets.append(Detection(box, False, classes.coco_id(name),
                                      float(rng.uniform(0.05, 0.55)), None))
    order = sorted(range(len(dets)), key=lambda i: -dets[i].score)
    return [dets[i] for i in order]


def _noisy_pose(rng, kps, box, extra: float = 0.0) -> np.ndarray:
    """A pose estimator's copy of keypoints ``kps``: jittered positions and scores."""
    bh = max(4.0, float(box[3] - box[1]))
    out = kps.astype(np.float64).copy()
    out[:, :2] += rng.normal(0.0, 0.015 + extra, (17, 2)) * bh
    out[:, 2] = np.clip(out[:, 2] * rng.uniform(0.8, 1.1, 17) + rng.normal(0, 0.04, 17),
                        0.055, 1.0)
    return out.astype(np.float32)


_CANON = np.array([  # standing skeleton in box-relative coordinates
    (0.5, 0.09), (0.54, 0.07), (0.46, 0.07), (0.6, 0.08), (0.4, 0.08), (0.72, 0.2),
    (0.28, 0.2), (0.8, 0.37), (0.2, 0.37), (0.82, 0.52), (0.18, 0.52), (0.62, 0.5),
    (0.38, 0.5), (0.63, 0.74), (0.37, 0.74), (0.64, 0.97), (0.36, 0.97)])


def _box_pose(rng, box) -> np.ndarray:
    """A pose estimator's guess on a box with no person in it: canonical + big noise."""
    b = np.asarray(box, np.float64)
    out = np.empty((17, 3), np.float64)
    out[:, 0] = b[0] + (_CANON[:, 0] + rng.normal(0, 0.08, 17)) * (b[2] - b[0])
    out[:, 1] = b[1] + (_CANON[:, 1] + rng.normal(0, 0.06, 17)) * (b[3] - b[1])
    out[:, 2] = rng.uniform(0.055, 0.45, 17)
    return out.astype(np.float32)


def negative_pairs(scene: Scene, detections: Sequence[Detection],
                   include_no_interaction: bool = True) -> list[tuple[int, int]]:
    """(human det, object det) index pairs that match no GT interaction.

    A pair matches a GT pair when min(IoU_human, IoU_object) >= 0.5 (IoU = max of the continuous
    and the +1-pixel convention); objects include other humans.  This is what iCAN's
    ``Trainval_Neg`` holds (labelled there with the object's no_interaction HOI).
    ``include_no_interaction=False``: only interactive GT pairs count (V-COCO, whose GT has no
    "no interaction" pairs, keeps the non-interacting ones as negatives).
    """
    if not detections:
        return []
    boxes = np.stack([d.box for d in detections]).astype(np.float64)
    gt = [i for i in scene.interactions if include_no_interaction or i.interactive]
    if gt:
        gh = np.stack([scene.people[i.human].box for i in gt])
        go = np.stack([scene.target_box(i) for i in gt])
        ih = box_iou(boxes, gh)  # (D, G)
        io = box_iou(boxes, go)
    out = []
    for h, dh in enumerate(detections):
        if not dh.is_human:
            continue
        for o in range(len(detections)):
            if o == h:
                continue
            if gt and np.any(np.minimum(ih[h], io[o]) >= 0.5):
                continue
            out.append((h, o))
    return out
