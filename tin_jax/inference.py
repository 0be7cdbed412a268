"""Runs a trained TIN over the test split's detections (TIN's test scripts, batched).

For each test image: candidate pairs from the detections (``postprocess.select_pairs``:
humans above ``human_thresh``, objects (humans included) above ``object_thresh``,
the top-4 x top-4 fallback for images with none), their interaction patterns from
the human's pose, then one forward pass for many pairs at once (the original ran
one pair per pass; the network treats pairs independently, so the scores are the
same). Images with more pairs than ``pairs_per_slot`` use several slots.

Output per image, as TIN's test pickle holds it: boxes, object class, the 600 (29)
HOI scores ``sigmoid(sp) * (sigmoid(H) + sigmoid(O))``, detection scores and
D's ``(P_inter, P_noninter)``.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from tin_jax import postprocess
from tin_jax.data import input_pipeline as ip
from tin_jax.data import spatial


@dataclasses.dataclass
class ImagePairs:
    """The candidate pairs of one test image (indices into its detections)."""
    image_id: int
    filename: str
    image: np.ndarray  # uint8 BGR
    human_idx: np.ndarray
    object_idx: np.ndarray
    is_fallback: bool
    det: object  # records.Detections
    scale: float = 1.0  # image (and network box) scale


def image_pairs(data_dir: str, human_thresh: float, object_thresh: float,
                fallback: str = "fixed", max_long_side: int | None = None) -> Iterator[ImagePairs]:
    import cv2  # pylint: disable=g-import-not-at-top
    for rec, encoded in ip.iterate_records(data_dir, "test"):
        d = rec.det
        h, o, fb = postprocess.select_pairs(d.boxes, d.is_human, d.classes, d.scores,
                                            human_thresh, object_thresh, fallback=fallback)
        image = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_COLOR)
        scale = 1.0
        if max_long_side and max(image.shape[:2]) > max_long_side:
            # as the training pipeline: resize, scale the boxes the network sees; the
            # interaction patterns still come from the original boxes
            scale = max_long_side / max(image.shape[:2])
            size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
            image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
        yield ImagePairs(rec.image_id, rec.filename, image, np.asarray(h), np.asarray(o), bool(fb),
                         d, scale)


def _slots(item: ImagePairs, pairs_per_slot: int):
    n = len(item.human_idx)
    for start in range(0, max(n, 1), pairs_per_slot):
        yield start, min(start + pairs_per_slot, n)


def run(model_fn, data_dir: str, *, mesh, human_thresh: float, object_thresh: float,
        pairs_per_slot: int = 32, slots_per_device: int = 1, buckets=ip.DEFAULT_BUCKETS,
        max_long_side: int | None = None, fallback: str = "fixed") -> list[dict]:
    """Returns one dict per test image (see module docstring).

    ``model_fn(image, image_hw, human_boxes, object_boxes, patterns)`` -> (hoi_scores, binary)
    is jitted by the caller; the batch of slots is sharded over ``mesh``'s data axis.
    """
    data_sh = NamedSharding(mesh, P("data"))
    batch_slots = slots_per_device * mesh.size
    results: dict[int, dict] = {}
    order: list[int] = []
    pending: list[tuple] = []

    def flush():
        if not pending:
            return
        b = len(pending)
        hmax = max(x[1].image.shape[0] for x in pending)
        wmax = max(x[1].image.shape[1] for x in pending)
        H, W = ip.bucket_for(hmax, wmax, [tuple(b) for b in buckets], 256)
        img = np.zeros((batch_slots, H, W, 3), np.uint8)
        hw = np.ones((batch_slots, 2), np.int32)
        hb = np.zeros((batch_slots, pairs_per_slot, 4), np.float32)
        ob = np.zeros_like(hb)
        pat = np.zeros((batch_slots, pairs_per_slot, 64, 64, 3), np.float32)
        for k, (key, item, lo, hi) in enumerate(pending):
            ih, iw = item.image.shape[:2]
            img[k, :ih, :iw] = item.image
            hw[k] = (ih, iw)
            if hi > lo:
                hi_idx, oi_idx = item.human_idx[lo:hi], item.object_idx[lo:hi]
                hb[k, :hi - lo] = item.det.boxes[hi_idx] * item.scale
                ob[k, :hi - lo] = item.det.boxes[oi_idx] * item.scale
                poses = [item.det.poses[i] if item.det.pose_valid[i] else None for i in hi_idx]
                pat[k, :hi - lo] = spatial.interaction_patterns(item.det.boxes[hi_idx].astype(np.float64),
                                                               item.det.boxes[oi_idx].astype(np.float64),
                                                               poses)
        put = lambda x: jax.device_put(x, data_sh)
        image = ip.normalize_image(put(img), put(hw), xp=jnp)
        scores, binary = jax.device_get(model_fn(image, put(hw), put(hb), put(ob), put(pat)))
        for k, (key, item, lo, hi) in enumerate(pending):
            r = results[key]
            r["hoi_scores"].append(scores[k, :hi - lo])
            r["binary"].append(binary[k, :hi - lo])
        pending.clear()

    for item in image_pairs(data_dir, human_thresh, object_thresh, fallback, max_long_side):
        key = item.image_id
        d = item.det
        order.append(key)
        results[key] = dict(image_id=item.image_id, filename=item.filename, is_fallback=item.is_fallback,
                            human_boxes=d.boxes[item.human_idx], object_boxes=d.boxes[item.object_idx],
                            object_class=d.classes[item.object_idx], human_score=d.scores[item.human_idx],
                            object_score=d.scores[item.object_idx], hoi_scores=[], binary=[])
        for lo, hi in _slots(item, pairs_per_slot):
            pending.append((key, item, lo, hi))
            if len(pending) == batch_slots:
                flush()
    flush()
    out = []
    for key in order:
        r = results[key]
        num_classes = r["hoi_scores"][0].shape[-1] if r["hoi_scores"] else 0
        r["hoi_scores"] = (np.concatenate(r["hoi_scores"]) if r["hoi_scores"]
                           else np.zeros((0, num_classes), np.float32))
        r["binary"] = np.concatenate(r["binary"]) if r["binary"] else np.zeros((0, 2), np.float32)
        out.append(r)
    return out
