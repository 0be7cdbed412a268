"""The one TFRecord schema, written by ``data_prep.convert`` and read by the pipeline.

One ``tf.train.Example`` per image. Per-pair arrays are flattened; ragged
multi-labels are stored as a flat id list plus a per-pair count. Prefixes:
``gt/`` ground-truth pairs (training pickle, or the test annotations),
``neg/`` the negative pairs of ``Trainval_Neg``, ``det/`` test detections.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tin_jax.schema.records import POSE_LEN, Detections, ImageRecord, PairSet

_PAIR_FLOATS = {"human_boxes": 4, "object_boxes": 4, "poses": POSE_LEN, "scores": 1}
_PAIR_INTS = ("object_classes", "pose_valid", "label_counts", "labels",
                            "person_label_counts", "person_labels")
_DET_FLOATS = {"boxes": 4, "scores": 1, "poses": POSE_LEN}
_DET_INTS = ("is_human", "classes", "pose_valid")


def _floats(x) -> tf.train.Feature:
    return tf.train.Feature(float_list=tf.train.FloatList(value=np.asarray(x, np.float32).ravel()))


def _ints(x) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=np.asarray(x, np.int64).ravel()))


def _bytes(x: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[x]))


def _flat(lists: list[list[int]] | None) -> tuple[list[int], list[int]]:
    lists = lists or []
    return [len(v) for v in lists], [int(i) for v in lists for i in v]


def _pair_features(prefix: str, p: PairSet) -> dict[str, tf.train.Feature]:
    counts, flat = _flat(p.labels)
    pcounts, pflat = _flat(p.person_labels)
    return {
            f"{prefix}/human_boxes": _floats(p.human_boxes),
            f"{prefix}/object_boxes": _floats(p.object_boxes),
            f"{prefix}/poses": _floats(p.poses),
            f"{prefix}/scores": _floats(p.scores),
            f"{prefix}/object_classes": _ints(p.object_classes),
            f"{prefix}/pose_valid": _ints(p.pose_valid),
            f"{prefix}/label_counts": _ints(counts),
            f"{prefix}/labels": _ints(flat),
            f"{prefix}/person_label_counts": _ints(pcounts),
            f"{prefix}/person_labels": _ints(pflat),
    }


def encode_example(rec: ImageRecord, image_bytes: bytes, height: int, width: int) -> bytes:
    """Serialises one image deterministically (same input, same bytes)."""
    feats = {
            "image/id": _ints([rec.image_id]),
            "image/filename": _bytes(rec.filename.encode()),
            "image/encoded": _bytes(image_bytes),
            "image/height": _ints([height]),
            "image/width": _ints([width]),
            "image/positive_hois": _ints(rec.positive_hois),
            "det/boxes": _floats(rec.det.boxes),
            "det/scores": _floats(rec.det.scores),
            "det/poses": _floats(rec.det.poses),
            "det/is_human": _ints(rec.det.is_human),
            "det/classes": _ints(rec.det.classes),
            "det/pose_valid": _ints(rec.det.pose_valid),
    }
    feats.update(_pair_features("gt", rec.gt))
    feats.update(_pair_features("neg", rec.neg))
    ex = tf.train.Example(features=tf.train.Features(feature=feats))
    return ex.SerializeToString(deterministic=True)


def _parse_spec() -> dict[str, tf.io.VarLenFeature | tf.io.FixedLenFeature]:
    spec = {
            "image/id": tf.io.FixedLenFeature([], tf.int64),
            "image/filename": tf.io.FixedLenFeature([], tf.string),
            "image/encoded": tf.io.FixedLenFeature([], tf.string),
            "image/height": tf.io.FixedLenFeature([], tf.int64),
            "image/width": tf.io.FixedLenFeature([], tf.int64),
            "image/positive_hois": tf.io.VarLenFeature(tf.int64),
    }
    for k in _DET_FLOATS:
        spec[f"det/{k}"] = tf.io.VarLenFeature(tf.float32)
    for k in _DET_INTS:
        spec[f"det/{k}"] = tf.io.VarLenFeature(tf.int64)
    for prefix in ("gt", "neg"):
        for k in _PAIR_FLOATS:
            spec[f"{prefix}/{k}"] = tf.io.VarLenFeature(tf.float32)
        for k in _PAIR_INTS:
            spec[f"{prefix}/{k}"] = tf.io.VarLenFeature(tf.int64)
    return spec


PARSE_SPEC = _parse_spec()


def parse_example(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """Parses one serialized example into dense tensors with per-pair leading dims.

    Ragged labels come back as ``*/labels`` (flat) and ``*/label_counts``.
    """
    raw = tf.io.parse_single_example(serialized, PARSE_SPEC)
    out = {}
    for k, v in raw.items():
        out[k] = tf.sparse.to_dense(v) if isinstance(v, tf.SparseTensor) else v
    for prefix, sizes in (("gt", _PAIR_FLOATS), ("neg", _PAIR_FLOATS), ("det", _DET_FLOATS)):
        for k, d in sizes.items():
            if d > 1:
                out[f"{prefix}/{k}"] = tf.reshape(out[f"{prefix}/{k}"], [-1, d])
    return out


def _ragged(counts: np.ndarray, flat: np.ndarray) -> list[list[int]]:
    ends = np.cumsum(counts)
    return [flat[e - c:e].tolist() for c, e in zip(counts, ends)]


def decode_numpy(parsed: dict[str, np.ndarray]) -> ImageRecord:
    """Turns a parsed example (numpy values) back into an :class:`ImageRecord`."""
    def pairs(prefix):
        p = lambda k: np.asarray(parsed[f"{prefix}/{k}"])
        return PairSet(
                human_boxes=p("human_boxes").reshape(-1, 4).astype(np.float32),
                object_boxes=p("object_boxes").reshape(-1, 4).astype(np.float32),
                object_classes=p("object_classes").astype(np.int64),
                labels=_ragged(p("label_counts"), p("labels")),
                poses=p("poses").reshape(-1, POSE_LEN).astype(np.float32),
                pose_valid=p("pose_valid").astype(bool),
                scores=p("scores").astype(np.float32),
                person_labels=_ragged(p("person_label_counts"), p("person_labels")),
        )
    d = lambda k: np.asarray(parsed[f"det/{k}"])
    fn = parsed["image/filename"]
    return ImageRecord(
            image_id=int(parsed["image/id"]),
            filename=fn.decode() if isinstance(fn, bytes) else str(fn),
            path="",
            gt=pairs("gt"),
            neg=pairs("neg"),
            det=Detections(
                    boxes=d("boxes").reshape(-1, 4).astype(np.float32),
                    is_human=d("is_human").astype(bool),
                    classes=d("classes").astype(np.int64),
                    scores=d("scores").astype(np.float32),
                    poses=d("poses").reshape(-1, POSE_LEN).astype(np.float32),
                    pose_valid=d("pose_valid").astype(bool),
            ),
            positive_hois=[int(i) for i in np.asarray(parsed["image/positive_hois"])],
    )
