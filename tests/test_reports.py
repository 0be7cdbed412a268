"""Evaluation figures: PNGs written atomically with the requested size; PR points by hand."""

from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest

from tin_jax.schema import classes

from tin_jax.data import features
from tin_jax.schema.records import Detections, ImageRecord, PairSet
from tin_jax.evaluation import hico_det, reports

C = classes.NUM_HOIS
FILES = ("HICO_test2015_00000001.jpg", "HICO_test2015_00000002.jpg", "HICO_test2015_00000003.jpg")
HW = (120, 160)  # every test image: height, width


def _gt(known_object=None) -> hico_det.HicoGroundTruth:
    """Class 0: one GT pair on image 0, one on image 1; class 1: one on image 2; class 599
    (rare): one on image 2. Boxes 1-based, as in anno_bbox.mat."""
    rows = [(0, 0, [11, 11, 50, 60, 61, 21, 100, 70]),
            (0, 1, [21, 31, 70, 90, 81, 41, 140, 100]),
            (1, 2, [5, 5, 40, 50, 50, 50, 90, 110]),
            (C - 1, 2, [60, 10, 100, 60, 110, 20, 150, 80])]
    counts = np.bincount([r[0] for r in rows], minlength=C)
    num_train = np.full(C, 50)
    num_train[C - 1] = 3
    return hico_det.HicoGroundTruth(
        filenames=FILES,
        action_names=tuple(f"{v}_{o}" for v, o in classes.HICO_HOIS),
        object_names=tuple(o for _, o in classes.HICO_HOIS),
        class_object=np.ones(C, np.int64),
        object_hoi_range=np.zeros((81, 2), np.int64),
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        gt_image=np.array([r[1] for r in rows], np.int64),
        gt_boxes=np.array([r[2] for r in rows], np.float64),
        known_object=np.ones((C, len(FILES)), bool) if known_object is None else known_object,
        num_train=num_train.astype(np.int64))


def _dets(gt) -> hico_det.HicoDetections:
    """Class 0, ranked: 0.9 exact on image 0 (TP), 0.8 the same pair again (FP, GT used),
    0.75 on image 2 (no GT of class 0: FP), 0.7 a miss on image 1 (FP), 0.6 exact on image 1
    (TP). Class 1: 0.5 exact (TP). Class 599: 0.4 exact (TP). Boxes 0-based (GT - 1)."""
    g = gt.gt_boxes - 1
    miss = g[1] + np.array([60, 0, 60, 0, 0, 0, 0, 0])
    rows = [(0, 0, g[0], 0.9), (0, 0, g[0], 0.8), (0, 2, g[2], 0.75), (0, 1, miss, 0.7),
            (0, 1, g[1], 0.6), (1, 2, g[2], 0.5), (C - 1, 2, g[3], 0.4)]
    hoi, image, boxes, scores = (np.array(x) for x in zip(*rows))
    return hico_det.HicoDetections.from_arrays(hoi, image, boxes[:, :4], boxes[:, 4:], scores,
                                               num_images=len(FILES))


def _no_temp_files(path):
    return [n for n in os.listdir(os.path.dirname(path)) if n.endswith(".tmp")] == []


def _check_png(path, size):
    assert os.path.getsize(path) > 1000
    img = cv2.imread(str(path))
    assert img is not None, path
    assert img.shape == (size[1], size[0], 3)
    assert img.std() > 1  # something is drawn
    assert _no_temp_files(str(path))


def test_precision_recall_by_hand():
    gt = _gt()
    dets = _dets(gt)
    rec, prec = reports.precision_recall(gt, dets, 0)
    np.testing.assert_array_equal(rec, [0.5, 0.5, 0.5, 0.5, 1.0])
    np.testing.assert_array_equal(prec, [1.0, 1 / 2, 1 / 3, 1 / 4, 2 / 5])
    rec, prec = reports.precision_recall(gt, dets, 1)
    np.testing.assert_array_equal(rec, [1.0])
    np.testing.assert_array_equal(prec, [1.0])
    rec, prec = reports.precision_recall(gt, dets, 2)  # no GT, no detections
    assert len(rec) == len(prec) == 0


def test_precision_recall_known_object_and_ap():
    ko = np.ones((C, len(FILES)), bool)
    ko[0, 2] = False  # KO drops class 0's detection on image 2 (which holds no class-0 GT)
    gt = _gt(ko)
    dets = _dets(gt)
    rec, prec = reports.precision_recall(gt, dets, 0, setting="ko")
    np.testing.assert_array_equal(rec, [0.5, 0.5, 0.5, 1.0])
    np.testing.assert_array_equal(prec, [1.0, 1 / 2, 1 / 3, 1 / 2])
    # The points give the evaluator's AP: 6 thresholds at precision 1, 5 at the max after.
    result = hico_det.evaluate(gt, dets)
    for setting, s in (("def", result.default), ("ko", result.known_object)):
        rec, prec = reports.precision_recall(gt, dets, 0, setting=setting)
        best = np.maximum.accumulate(prec[::-1])[::-1]
        ap = sum(best[np.argmax(rec >= t)] if (rec >= t).any() else 0.0
                 for t in hico_det.MATLAB_THRESHOLDS) / 11
        assert ap == pytest.approx(s.ap[0], abs=1e-12)
    assert result.default.ap[0] == pytest.approx((6 * 1.0 + 5 * 0.4) / 11)
    assert result.known_object.ap[0] == pytest.approx((6 * 1.0 + 5 * 0.5) / 11)


def test_per_class_ap_and_pr_curves_png(tmp_path):
    gt = _gt()
    dets = _dets(gt)
    result = hico_det.evaluate(gt, dets)
    p = reports.plot_per_class_ap(result, tmp_path / "ap.png", size=(900, 400))
    _check_png(p, (900, 400))
    p = reports.plot_pr_curves(result, gt, dets, tmp_path / "sub" / "pr.png", num_classes=3,
                               setting="ko", size=(640, 480))
    _check_png(p, (640, 480))
    with pytest.raises(ValueError, match="setting"):
        reports.plot_per_class_ap(result, tmp_path / "x.png", setting="known")


def _write_records(data_dir, gt) -> None:
    """A converted test split holding the three images (PNG-encoded noise + a drawn rectangle)."""
    import tensorflow as tf
    rng = np.random.default_rng(0)
    name = "test.tfrecord-00000-of-00001"
    with tf.io.TFRecordWriter(os.path.join(data_dir, name)) as w:
        for i, f in enumerate(gt.filenames):
            img = rng.integers(0, 255, HW + (3,), dtype=np.uint8)
            cv2.rectangle(img, (10, 10), (60, 60), (0, 0, 255), -1)
            ok, png = cv2.imencode(".png", img)
            assert ok
            rec = ImageRecord(image_id=i + 1, filename=f, path="", gt=PairSet.empty(),
                              neg=PairSet.empty(), det=Detections.empty())
            w.write(features.encode_example(rec, png.tobytes(), *HW))
    with open(os.path.join(data_dir, "manifest.json"), "w") as fh:
        json.dump({"dataset": "hico", "splits": {"test": {"shards": [{"file": name}]}}}, fh)
    with open(os.path.join(data_dir, "metadata.json"), "w") as fh:
        json.dump({"dataset": "hico"}, fh)


def _world(tmp_path):
    """Ground truth, detections and a converted-records folder holding the test images."""
    gt = _gt()
    data_dir = tmp_path / "hico"
    data_dir.mkdir()
    _write_records(str(data_dir), gt)
    return gt, _dets(gt), data_dir


def test_top_detections_png(tmp_path):
    gt, dets, data_dir = _world(tmp_path)
    p = reports.plot_top_detections(str(data_dir), gt, dets, tmp_path / "dets.png", top_k=2,
                                    size=(800, 600))
    _check_png(p, (800, 600))
    p = reports.plot_top_detections(str(data_dir), gt, dets, tmp_path / "one.png", images=[2],
                                    cols=1, size=(400, 300))
    _check_png(p, (400, 300))
    with pytest.raises(ValueError, match="cannot|no record"):
        bad = hico_det.HicoGroundTruth(**{**gt.__dict__, "filenames": ("a.jpg", "b.jpg", "c.jpg")})
        reports.plot_top_detections(str(data_dir), bad, dets, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_write_reports(tmp_path):
    gt, dets, data_dir = _world(tmp_path)
    result = hico_det.evaluate(gt, dets)
    paths = reports.write_reports(tmp_path / "out", result, gt, dets, data_dir=str(data_dir))
    assert sorted(paths) == ["detections", "per_class_ap", "pr_curves"]
    for name, size in (("per_class_ap", (1600, 600)), ("pr_curves", (1000, 800)),
                       ("detections", (1600, 1200))):
        assert paths[name] == str(tmp_path / "out" / f"{name}.png")
        _check_png(paths[name], size)
    assert sorted(reports.write_reports(tmp_path / "out2", result, gt, dets)) == [
        "per_class_ap", "pr_curves"]
