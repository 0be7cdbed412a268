"""HICO-DET evaluator: hand-computed cases, random cases against the loop transcription, file I/O, errors, and
(when GNU Octave is installed) the official MATLAB code itself."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
import scipy.io

from tests.conftest import run_module
from tests.reference import hico_eval_loops as ref
from tin_jax.schema import classes
from tin_jax.evaluation import hico_det as hd
from tin_jax.io import hico_mat as hm
from tin_jax.io.errors import DataFormatError
from tin_jax.io.hico_mat import HicoAction, HicoBboxAnno, HicoHoiAnno, HicoImageAnno, HicoImageLabels

# A git checkout (or bare clone) of ywchao/ho-rcnn, for the optional check against the
# official MATLAB code under GNU Octave; nothing from it is committed here.
HO_RCNN = os.environ.get("TIN_JAX_HO_RCNN_REPO", "")

# ==================================================================================================
# A small HICO-DET world in the real file formats
# ==================================================================================================


def _actions() -> list[HicoAction]:
    return [HicoAction(obj, verb, classes.HICO_VERBS_ING[classes.HOI_TO_VERB[i]])
            for i, (verb, obj) in enumerate(classes.HICO_HOIS)]


def _box(rng, size=200) -> list[float]:
    x1, y1 = rng.integers(1, size - 60, 2)
    w, h = rng.integers(4, 60, 2)
    return [float(x1), float(y1), float(x1 + w), float(y1 + h)]


def _hoi(hoi_id, human, obj, conn, invis=False) -> HicoHoiAnno:
    return HicoHoiAnno(hoi_id, np.array(human, float).reshape(-1, 4), np.array(obj, float).reshape(-1, 4),
                       np.array(conn, np.int64).reshape(-1, 2), invis)


def _test_image_hois(rng, hot: np.ndarray) -> list[HicoHoiAnno]:
    hois = []
    for _ in range(rng.integers(0, 5)):  # some images get no GT at all
        c = int(rng.choice(hot))
        humans = [_box(rng) for _ in range(rng.integers(1, 3))]
        objects = [_box(rng) for _ in range(rng.integers(1, 3))]
        if rng.random() < 0.2:
            humans.append(list(humans[0]))  # an annotator duplicate: identical box, not merged
        conn = [[rng.integers(len(humans)), rng.integers(len(objects))] for _ in range(rng.integers(1, 4))]
        hois.append(_hoi(c, humans, objects, conn, invis=bool(rng.random() < 0.1)))
    if hois and rng.random() < 0.15:  # the same HOI id again: eval_one.m keeps only the last one
        c = hois[0].hoi_id
        hois.append(_hoi(c, [_box(rng)], [_box(rng)], [[0, 0]]))
    return hois


def make_world(seed: int, num_test: int = 16, num_hot: int = 24):
    """Random annotations: (HicoBboxAnno, HicoImageLabels, hot classes)."""
    rng = np.random.default_rng(seed)
    actions = _actions()
    hot = np.sort(rng.choice(600, num_hot, replace=False))
    train = []
    for c in hot:  # training counts around the rare threshold of 10
        n = int(rng.integers(0, 20))
        train.append(HicoImageAnno(f"HICO_train2015_{len(train) + 1:08d}.jpg", 640, 480, 3, [
            _hoi(int(c), [_box(rng)], [_box(rng)], [[0, 0]] * n),
            _hoi(int(c), [_box(rng)], [_box(rng)], [[0, 0]] * 5, invis=True)]))
    test = [HicoImageAnno(f"HICO_test2015_{i + 1:08d}.jpg", 640, 480, 3, _test_image_hois(rng, hot))
            for i in range(num_test)]
    labels = np.full((600, num_test), np.nan)
    names = np.array([a.nname for a in actions])
    for i, img in enumerate(test):
        for c in rng.choice(hot, 4):  # unrelated labels: -1 / 0 / 1
            labels[c, i] = rng.choice([-1.0, 0.0, 1.0])
        for h in img.hois:
            if not h.invis:
                same = np.flatnonzero(names == names[h.hoi_id])
                labels[same, i] = np.where(np.isnan(labels[same, i]), -1.0, labels[same, i])
                labels[h.hoi_id, i] = 1.0
    bbox = HicoBboxAnno(actions, train, test)
    image_labels = HicoImageLabels(actions, [t.filename for t in train], [t.filename for t in test],
                                   np.full((600, len(train)), np.nan), labels)
    return bbox, image_labels, hot


def make_detections(seed: int, bbox: HicoBboxAnno, hot: np.ndarray, score_levels: int = 5):
    """Flat detections: jittered GT copies, exact duplicates, random boxes; few score levels (ties)."""
    rng = np.random.default_rng(seed + 1000)
    rows = []  # (hoi, image, h4, o4, score)
    num_images = len(bbox.test)
    for i, img in enumerate(bbox.test):
        for h in img.hois:
            hb, ob = h.pairs()
            for k in range(len(hb)):
                for _ in range(rng.integers(0, 3)):
                    jit = rng.integers(-3, 4, 8).astype(float) if rng.random() < 0.7 else np.zeros(8)
                    box = np.concatenate([hb[k], ob[k]]) - 1 + jit
                    box[2] = max(box[2], box[0])
                    box[3] = max(box[3], box[1])
                    box[6] = max(box[6], box[4])
                    box[7] = max(box[7], box[5])
                    rows.append((h.hoi_id, i, box, rng.integers(0, score_levels) / score_levels))
                    if rng.random() < 0.3:
                        rows.append(rows[-1])  # exact duplicate
    no_det = set(rng.choice(hot, 5, replace=False).tolist())  # hot classes left without detections
    rows = [r for r in rows if r[0] not in no_det]
    for c in list(rng.choice(hot, 10)) + list(rng.choice(600, 10)):  # random boxes, some on classes without GT
        for _ in range(rng.integers(1, 6)):
            rows.append((int(c), int(rng.integers(num_images)), np.array(_box(rng) + _box(rng)) - 1,
                         rng.integers(0, score_levels) / score_levels))
    order = rng.permutation(len(rows))
    rows = [rows[k] for k in order]
    hoi = np.array([r[0] for r in rows])
    image = np.array([r[1] for r in rows])
    boxes = np.array([r[2] for r in rows]).reshape(-1, 8)
    scores = np.array([r[3] for r in rows], dtype=float)
    return hd.HicoDetections.from_arrays(hoi, image, boxes[:, :4], boxes[:, 4:], scores, num_images=num_images)


def test_compact_layout_roundtrip_and_cli(tmp_path, capsys):
    anno_dir, det_dir, gt, dets = write_world(tmp_path, 5)
    path = tmp_path / "dets.npz"
    hd.write_compact_detections(path, dets, gt)
    back = hd.read_compact_detections(path, gt)
    for a, b in zip(dets.per_class, back.per_class):
        assert np.array_equal(a.image, b.image) and np.array_equal(a.boxes, b.boxes)
        assert np.array_equal(a.scores, b.scores)
    with np.load(path) as f:  # flat rows any tool can write: HOI id, image file name, boxes, score
        assert sorted(f.files) == sorted(hd.COMPACT_KEYS) and f["image"].dtype.kind == "U"
    # the CLI scores it exactly as the official folder
    assert hd.main(["--anno_dir", str(anno_dir), "--detections", str(det_dir)]) == 0
    official = capsys.readouterr().out
    assert hd.main(["--anno_dir", str(anno_dir), "--detections", str(path)]) == 0
    assert capsys.readouterr().out == official
    np.savez(tmp_path / "bad.npz", hoi=np.zeros(1), image=np.array(["nope.jpg"]), boxes=np.zeros((1, 8)),
             scores=np.ones(1))
    with pytest.raises(hd.DetectionFileError, match=r"bad.npz: detection 0: image 'nope.jpg' is not in list_test"):
        hd.read_compact_detections(tmp_path / "bad.npz", gt)
    np.savez(tmp_path / "short.npz", hoi=np.zeros(1))
    with pytest.raises(hd.DetectionFileError, match=r"short.npz: missing arrays"):
        hd.read_compact_detections(tmp_path / "short.npz", gt)


def write_world(tmp_path, seed: int, **kw):
    bbox, labels, hot = make_world(seed, **kw)
    anno_dir = tmp_path / "anno"
    hm.write_anno_bbox_mat(anno_dir / "anno_bbox.mat", bbox)
    hm.write_anno_mat(anno_dir / "anno.mat", labels)
    gt = hd.load_ground_truth(anno_dir)
    dets = make_detections(seed, bbox, hot)
    det_dir = tmp_path / "dets"
    hd.write_official_detections(det_dir, dets, gt)
    return anno_dir, det_dir, gt, dets


def _same(a, b) -> bool:
    """Bitwise-equal float sequences (NaN equals NaN)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


# ==================================================================================================
# MATLAB arithmetic
# ==================================================================================================


def test_thresholds_are_matlab_colon_values():
    t = hd.MATLAB_THRESHOLDS
    assert len(t) == 11
    # Lower half a + k*d, upper half b - (n-k)*d (MathWorks' documented colon algorithm).
    assert t.tolist() == [0.0, 0.1, 0.2, 3 * 0.1, 0.4, 0.5, 1 - 4 * 0.1, 1 - 3 * 0.1, 1 - 2 * 0.1, 1 - 0.1, 1.0]
    assert t[6] == 0.6 == 6 / 10 and t[7] == 0.7 == 7 / 10 and t[8] == 0.8 and t[9] == 0.9
    assert t[3] == 0.30000000000000004 != 3 / 10  # MATLAB: a(4) - 0.3 = 5.5511e-17 for a = 0:.1:1
    assert t.tolist() == ref.matlab_thresholds()
    # Octave / numpy compute k*0.1 throughout: they differ from MATLAB exactly at 0.6 and 0.7.
    assert np.flatnonzero(hd.OCTAVE_THRESHOLDS != t).tolist() == [6, 7]
    assert hd.OCTAVE_THRESHOLDS.tolist() == np.arange(0, 1.05, 0.1).tolist()


def test_matlab_colon_general_cases():
    # Published MATLAB behaviour: x = 0:0.1:0.3, y = 0:0.1:0.4 -> x - y(1:end-1) = [0 0 -2.776e-17 -5.551e-17].
    x, y = hd.matlab_colon(0, 0.1, 0.3), hd.matlab_colon(0, 0.1, 0.4)
    assert np.allclose(x - y[:-1], [0, 0, -2.7755575615628914e-17, -5.551115123125783e-17], rtol=0, atol=1e-30)
    assert x[-1] == 0.3 and y[-1] == 0.4
    assert hd.matlab_colon(1, 1, 5).tolist() == [1, 2, 3, 4, 5]
    assert hd.matlab_colon(0, 2, 9).tolist() == [0, 2, 4, 6, 8]
    assert hd.matlab_colon(1, 1, 0).size == 0


def test_matlab_round_halves_away_from_zero():
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.49999999999999994, 2.4999999999999996, 7.0, -7.2])
    assert hd.matlab_round(x).tolist() == [1, 2, 3, -1, -3, 0, 2, 7, -7]


# ==================================================================================================
# Hand-computed cases
# ==================================================================================================


def _gt(*images_boxes):
    """One class: GT rows (image, 1-based 8-box) -> (gt_image, gt_boxes), images ascending."""
    img = np.array([i for i, _ in images_boxes], dtype=np.int64)
    boxes = np.array([b for _, b in images_boxes], dtype=float).reshape(-1, 8)
    order = np.argsort(img, kind="stable")
    return img[order], boxes[order]


def _dets(*rows):
    """ClassDetections from rows (image, 0-based 8-box, score) in the given (cell) order."""
    return hd.ClassDetections(np.array([r[0] for r in rows]), np.array([r[1] for r in rows], float).reshape(-1, 8),
                              np.array([r[2] for r in rows], float))


A1 = [1, 1, 10, 10, 21, 21, 40, 40]  # 1-based GT pair
B1 = [51, 51, 80, 90, 101, 101, 140, 130]


def _zero_based(box, shift=(0,) * 8):
    return [v - 1 + s for v, s in zip(box, shift)]


def test_hand_case_tp_duplicate_miss():
    gt_image, gt_boxes = _gt((0, A1), (0, B1), (1, A1))  # npos = 3
    dets = _dets((0, _zero_based(A1), 0.9),  # TP on A1
                 (0, _zero_based(A1), 0.8),  # duplicate: FP
                 (1, _zero_based(A1), 0.7),  # TP
                 (1, _zero_based(B1), 0.6))  # no overlap: FP
    ap, rec = hd.evaluate_class(gt_image, gt_boxes, dets)
    # rec = 1/3 1/3 2/3 2/3, prec = 1 1/2 2/3 1/2: t = 0..0.3 -> 1, t = 0.4..0.6 -> 2/3, t >= 0.7 -> 0.
    expected = 0.0
    for p in [1.0] * 4 + [2 / 3] * 3 + [0.0] * 4:
        expected += p / 11
    assert ap == expected and rec == 2 / 3


def test_hand_case_exact_recall_thresholds():
    """rec hits 0.3, 0.6 and 0.7 exactly: MATLAB's colon values decide which points count."""
    gt_image, gt_boxes = _gt(*[(i, A1) for i in range(10)])  # npos = 10
    for n_tp, matlab_points, octave_points, tenths_points in ((3, 3, 3, 4), (6, 7, 6, 7), (7, 8, 7, 8)):
        dets = _dets(*[(i, _zero_based(A1), 1.0 - i / 100) for i in range(n_tp)])
        ap_m, rec = hd.evaluate_class(gt_image, gt_boxes, dets)
        ap_o, _ = hd.evaluate_class(gt_image, gt_boxes, dets, thresholds=hd.OCTAVE_THRESHOLDS)
        ap_t, _ = hd.evaluate_class(gt_image, gt_boxes, dets, thresholds=np.array([i / 10 for i in range(11)]))
        assert rec == n_tp / 10
        assert round(ap_m * 11) == matlab_points and round(ap_o * 11) == octave_points
        assert round(ap_t * 11) == tenths_points  # i/10 would be wrong at t = 0.3
        ref_ap = ref.VOCevaldet_bboxpair([i + 1 for i in range(n_tp)], [[v + 1 for v in _zero_based(A1)]] * n_tp,
                                         [1.0 - i / 100 for i in range(n_tp)],
                                         [np.array([A1], float)] * 10, 0.5)[2]
        assert ref_ap == ap_m


def test_hand_case_score_ties_follow_cell_order():
    gt_image, gt_boxes = _gt((0, A1))
    miss = _zero_based(B1)
    hit = _zero_based(A1)
    # Same image, same score: the cell's row order decides. FP first -> prec 0, 1/2 -> AP 0.5.
    ap_fp_first, _ = hd.evaluate_class(gt_image, gt_boxes, _dets((0, miss, 0.5), (0, hit, 0.5)))
    ap_tp_first, _ = hd.evaluate_class(gt_image, gt_boxes, _dets((0, hit, 0.5), (0, miss, 0.5)))
    assert ap_tp_first == pytest.approx(1.0, abs=1e-15) and ap_fp_first == pytest.approx(0.5, abs=1e-15)
    # Different images: image order first, whatever the input order (eval_one.m concatenates cell by cell).
    gt_image, gt_boxes = _gt((0, A1), (1, A1))
    d1 = _dets((1, miss, 0.5), (0, hit, 0.5))
    d2 = _dets((0, hit, 0.5), (1, miss, 0.5))
    assert d1.image.tolist() == [0, 1]
    assert hd.evaluate_class(gt_image, gt_boxes, d1) == hd.evaluate_class(gt_image, gt_boxes, d2)


def test_hand_case_no_fallback_and_first_max():
    # det2 prefers the used pair A over the free pair B: FP, no fallback.
    a = [1, 1, 100, 100, 1, 1, 100, 100]
    b = [1, 1, 100, 90, 1, 1, 100, 90]
    gt_image, gt_boxes = _gt((0, a), (0, b))
    dets = _dets((0, _zero_based(a), 0.9), (0, _zero_based(a, (0, 0, 0, -2) * 2), 0.8))
    ap, rec = hd.evaluate_class(gt_image, gt_boxes, dets)
    assert rec == 0.5 and round(ap * 11) == 6
    # Identical GT pairs (annotator duplicates): the first maximum wins, so the twin is never matched.
    gt_image, gt_boxes = _gt((0, a), (0, a))
    dets = _dets((0, _zero_based(a), 0.9), (0, _zero_based(a), 0.8))
    assert hd.evaluate_class(gt_image, gt_boxes, dets)[1] == 0.5


def test_hand_case_inclusive_iou_boundary():
    gt_image, gt_boxes = _gt((0, [1, 1, 10, 10, 1, 1, 10, 10]))
    half = _dets((0, [0, 0, 9, 4, 0, 0, 9, 9], 1.0))  # 1-based [1 1 10 5]: 50 / 100 = 0.5 -> TP
    below = _dets((0, [0, 0, 9, 3, 0, 0, 9, 9], 1.0))  # 40 / 100 -> FP
    assert hd.evaluate_class(gt_image, gt_boxes, half)[1] == 1.0
    assert hd.evaluate_class(gt_image, gt_boxes, below) == (0.0, 0.0)
    det = np.array([[1, 1, 10, 5, 1, 1, 10, 10]], float)
    assert hd.pair_overlap(det, gt_boxes).tolist() == [0.5]


def test_hand_case_empty_classes():
    gt_image, gt_boxes = _gt((0, A1))
    assert hd.evaluate_class(gt_image, gt_boxes, _dets()) == (0.0, 0.0)  # no detections: AP 0, REC 0
    ap, rec = hd.evaluate_class(*_gt(), _dets((0, _zero_based(A1), 1.0)))  # no GT: 0/0
    assert ap == 0.0 and np.isnan(rec)


def test_no_ground_truth_at_all():
    bbox, labels = _tiny_annotations()
    for img in bbox.test:
        img.hois.clear()
    gt = hd.ground_truth_from_annotations(bbox, labels)
    assert gt.num_gt.sum() == 0 and gt.gt_boxes.shape == (0, 8)
    res = hd.evaluate(gt, hd.HicoDetections.from_arrays([0], [2], [[0, 0, 5, 5]], [[0, 0, 5, 5]], [0.5],
                                                        num_images=3))
    assert res.default.map_full == 0.0 and np.isnan(res.default.recall[0]) and res.known_object.recall[0] == 0.0


def _tiny_annotations():
    """3 test images; HOI 0 (board airplane) and 1 (direct airplane) share the object 'airplane'."""
    actions = _actions()
    test = [HicoImageAnno("HICO_test2015_00000001.jpg", 100, 100, 3, [_hoi(0, [A1[:4]], [A1[4:]], [[0, 0]])]),
            HicoImageAnno("HICO_test2015_00000002.jpg", 100, 100, 3, [
                _hoi(0, [A1[:4]], [A1[4:]], [[0, 0]], invis=True),  # skipped
                _hoi(1, [B1[:4]], [B1[4:]], [[0, 0]]),
                _hoi(1, [A1[:4]], [A1[4:]], [[0, 0]])]),  # same id again: replaces the B1 pair
            HicoImageAnno("HICO_test2015_00000003.jpg", 100, 100, 3, [])]
    train = [HicoImageAnno("HICO_train2015_00000001.jpg", 100, 100, 3,
                           [_hoi(0, [A1[:4]], [A1[4:]], [[0, 0]] * 12), _hoi(1, [A1[:4]], [A1[4:]], [[0, 0]] * 9)])]
    labels = np.full((600, 3), np.nan)
    labels[0, 0] = 1
    labels[1, 1] = 1
    labels[1, 2] = 0  # ambiguous: not "known" for KO
    return (HicoBboxAnno(actions, train, test),
            HicoImageLabels(actions, [t.filename for t in train], [t.filename for t in test],
                            np.full((600, 1), np.nan), labels))


def test_hand_case_ground_truth_and_known_object():
    bbox, labels = _tiny_annotations()
    gt = hd.ground_truth_from_annotations(bbox, labels)
    assert gt.num_gt[:3].tolist() == [1, 1, 0] and gt.num_gt.sum() == 2
    assert gt.class_gt(1)[1].tolist() == [A1]  # the later entry overwrote the B1 pair
    assert gt.num_train[:2].tolist() == [12, 9] and gt.rare[:2].tolist() == [False, True]
    assert gt.rare.sum() == 599
    # KO images of 'airplane' classes: image 0 (HOI 0 positive) and 1 (HOI 1 positive); image 2 only has a 0.
    assert gt.known_object[0].tolist() == gt.known_object[9].tolist() == [True, True, False]
    assert not gt.known_object[10].any()  # bicycle
    hit = _zero_based(A1)
    dets = hd.HicoDetections.from_arrays([0, 0, 1, 1], [0, 2, 1, 2], [hit[:4]] * 4, [hit[4:]] * 4,
                                         [0.9, 0.95, 0.8, 0.7], num_images=3)
    res = hd.evaluate(gt, dets)
    # Default: class 0 ranks the image-2 FP first: prec 0, 1/2 at rec 0, 1 -> AP 1/2.
    assert res.default.ap[0] == pytest.approx(0.5, abs=1e-15) and res.default.recall[0] == 1.0
    # KO drops the image-2 detections of both classes: AP 1.
    assert res.known_object.ap[0] == pytest.approx(1.0, abs=1e-15) and res.known_object.ap[1] == pytest.approx(1.0)
    assert res.known_object.num_detections[:2].tolist() == [1, 1]
    assert res.default.map_full == pytest.approx((0.5 + 1.0) / 600)
    assert res.default.map_non_rare == res.default.ap[0]
    assert res.default.mrec_full == pytest.approx(2 / 600)


def test_known_object_assertion_is_reproduced():
    bbox, labels = _tiny_annotations()
    labels.anno_test[0, 0] = 0.0  # GT of HOI 0 on image 0, but no positive label for airplane there
    gt = hd.ground_truth_from_annotations(bbox, labels)
    dets = hd.HicoDetections.empty(3)
    with pytest.raises(DataFormatError, match=r"Known Object: HOI 1 \(boarding_airplane\).*HICO_test2015_00000001"):
        hd.evaluate(gt, dets)
    assert gt.known_object_violations() == [(0, 0)]
    res = hd.evaluate(gt, dets, check_known_object=False)
    assert res.known_object.ap.sum() == 0


# ==================================================================================================
# Random cases against the loop-by-loop transcription
# ==================================================================================================


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_matches_transcription(tmp_path, seed):
    anno_dir, det_dir, gt, dets = write_world(tmp_path, seed)
    ours = hd.evaluate(gt, hd.read_official_detections(det_dir, gt))
    theirs = ref.run(str(anno_dir / "anno.mat"), str(anno_dir / "anno_bbox.mat"), str(det_dir))
    for setting, mode in ((ours.default, "def"), (ours.known_object, "ko")):
        ap, rec, means = theirs[mode]
        assert _same(setting.ap, ap), np.flatnonzero(setting.ap != np.array(ap))
        assert _same(setting.recall, rec)
        assert _same(list(setting.summary().values()), [means[k] for k in setting.summary()])
    # The world exercises what it should.
    assert np.isnan(ours.default.mrec_full)  # detections on classes without GT: REC = NaN, as in MATLAB
    assert (ours.default.num_detections > ours.known_object.num_detections).any()
    assert ((gt.num_gt > 0) & (ours.default.num_detections == 0)).any()
    assert 0 < ours.rare.sum() < 600 and (ours.default.ap > 0).sum() >= 5
    # In-memory detections give the same as the files.
    direct = hd.evaluate(gt, dets)
    assert _same(direct.default.ap, ours.default.ap) and _same(direct.known_object.ap, ours.known_object.ap)


def test_random_with_octave_thresholds_matches_transcription(tmp_path):
    anno_dir, det_dir, gt, dets = write_world(tmp_path, 5)
    ours = hd.evaluate_setting(gt, dets, "def", thresholds=hd.OCTAVE_THRESHOLDS)
    anno, bbox = ref.load(str(anno_dir / "anno.mat")), ref.load(str(anno_dir / "anno_bbox.mat"))
    ap, rec = ref.eval_one(anno, bbox, ref.file_loader(str(det_dir)), "def",
                           thresholds=hd.OCTAVE_THRESHOLDS.tolist())
    assert _same(ours.ap, ap) and _same(ours.recall, rec)


def test_many_ties_and_duplicates_single_class():
    """One busy class: thousands of tied, duplicated detections over few images, against the transcription."""
    rng = np.random.default_rng(7)
    num_images = 6
    gt_rows = [(int(rng.integers(num_images)), _box(rng, 120) + _box(rng, 120)) for _ in range(25)]
    gt_image, gt_boxes = _gt(*gt_rows)
    rows = []
    for _ in range(3000):
        i, b = gt_rows[rng.integers(len(gt_rows))]
        box = np.array(b) - 1 + rng.integers(-4, 5, 8)
        box[2:4] = np.maximum(box[2:4], box[0:2])
        box[6:8] = np.maximum(box[6:8], box[4:6])
        rows.append((int(rng.integers(num_images)) if rng.random() < 0.3 else i, box, rng.integers(0, 4) / 4))
    rng.shuffle(rows)
    dets = _dets(*rows)
    ap, rec = hd.evaluate_class(gt_image, gt_boxes, dets)
    gt_cells = [gt_boxes[gt_image == j] for j in range(num_images)]
    # The transcription gets the rows in cell order, as eval_one.m builds them.
    r_rec, _, r_ap = ref.VOCevaldet_bboxpair((dets.image + 1).tolist(), (dets.boxes + 1).tolist(),
                                             dets.scores.tolist(), gt_cells, 0.5)
    assert ap == r_ap and rec == r_rec[-1] and 0 < ap < 1


# ==================================================================================================
# Files
# ==================================================================================================


def test_official_layout_roundtrip(tmp_path):
    _, det_dir, gt, dets = write_world(tmp_path, 3)
    back = hd.read_official_detections(det_dir, gt)
    for a, b in zip(dets.per_class, back.per_class):
        assert np.array_equal(a.image, b.image) and np.array_equal(a.boxes, b.boxes)
        assert np.array_equal(a.scores, b.scores)
    assert sorted(os.listdir(det_dir)) == [f"detections_{k:02d}.mat" for k in range(1, 81)]
    raw = scipy.io.loadmat(det_dir / "detections_01.mat")["all_boxes"]  # person: HOIs 161..170
    assert raw.shape == (10, gt.num_images) and raw.dtype == object
    c = int(np.flatnonzero(dets.num_detections)[0])
    obj = int(gt.class_object[c])
    raw = scipy.io.loadmat(det_dir / hd.detection_filename(obj))["all_boxes"]
    d = dets.per_class[c]
    cell = raw[c - gt.object_hoi_range[obj, 0], d.image[0]]
    assert cell.shape[1] == 9 and np.array_equal(cell[0], np.append(d.boxes[0], d.scores[0]))
    assert gt.object_hoi_range[1].tolist() == classes.HOI_RANGE_BY_OBJECT[1].tolist() == [160, 169]
    assert np.array_equal(gt.object_hoi_range[1:], classes.HOI_RANGE_BY_OBJECT[1:])


def test_mat5_writer_bytes_equal_scipy_savemat(tmp_path):
    """The numpy MAT writer produces savemat's bytes (after the 128-byte header) for the same cell array."""
    rng = np.random.default_rng(0)
    rows, cells = [], np.empty((4, 7), dtype=object)
    cells.fill(np.zeros((0, 0)))
    for k in range(4):
        image = np.sort(rng.integers(0, 7, int(rng.integers(0, 12))))
        values = rng.normal(size=(len(image), 9))
        rows.append((image, values) if k != 2 else None)
        if k != 2:
            for j in np.unique(image):
                cells[k, j] = values[image == j]
    ours = hd.mat5.cell_matrix_element("all_boxes", 4, 7, rows)
    buf = io.BytesIO()
    scipy.io.savemat(buf, {"all_boxes": cells}, do_compression=False)
    assert ours == buf.getvalue()[128:]
    for compress in (False, True):
        path = tmp_path / f"c{compress}.mat"
        path.write_bytes(hd.mat5.mat5_file("all_boxes", ours, compress))
        back = scipy.io.loadmat(path)["all_boxes"]
        assert back.shape == (4, 7) and all(np.array_equal(a, b) for a, b in zip(back.ravel(), cells.ravel()))


def _tin_file(path, rows):
    """Write a detections_XX.mat as TIN's Generate_HICO_detection_nis.py does (N x 5 cell, or [] when empty)."""
    if rows:
        cells = np.empty((len(rows), 5), dtype=object)
        for i, (h, o, image_id, k, score) in enumerate(rows):
            for j, v in enumerate((np.array(h, float), np.array(o, float), np.int64(image_id), np.int64(k),
                                   float(score))):
                cells[i, j] = v
    else:
        cells = np.zeros((0, 0))
    scipy.io.savemat(path, {"all_boxes": cells})


def _tin_world(tmp_path, rows_by_obj):
    bbox, labels = _tiny_annotations()
    gt = hd.ground_truth_from_annotations(bbox, labels)
    det_dir = tmp_path / "tin"
    det_dir.mkdir()
    for obj in range(1, 81):
        _tin_file(det_dir / hd.detection_filename(obj), rows_by_obj.get(obj, []))
    return gt, det_dir


def test_tin_layout_reader_rounds_like_generate_detection(tmp_path):
    # airplane = object 5, HOIs 0..9 (k-b 0 = board airplane); image ids 1..3 = test images 0..2.
    rows = {5: [([0.5, 1.5, 9.4, 9.6], [20.5, 20.49999999999999, 39.5, 39.5], 2, 1, 0.7),
                ([0.0, 0.0, 9.0, 9.0], [20.0, 20.0, 39.0, 39.0], 1, 0, 0.9),
                ([2.5, 2.5, 8.5, 8.5], [20.0, 20.0, 39.0, 39.0], 2, 1, 0.6)],
            1: [([1, 1, 5, 5], [2, 2, 6, 6], 3, 9, 0.1)]}
    gt, det_dir = _tin_world(tmp_path, rows)
    dets = hd.read_tin_detections(det_dir, gt)
    assert dets.num_detections.sum() == 4
    d = dets.per_class[1]
    assert d.image.tolist() == [1, 1] and d.scores.tolist() == [0.7, 0.6]
    assert d.boxes.tolist() == [[1, 2, 9, 10, 21, 20, 40, 40], [3, 3, 9, 9, 20, 20, 39, 39]]  # MATLAB round
    assert dets.per_class[169].image.tolist() == [2]  # person, k-b = 9 -> HOI 170 (1-based)
    raw = hd.read_tin_detections(det_dir, gt, round_boxes=False)
    assert raw.per_class[1].boxes[0, 0] == 0.5
    # The same rows as one numeric N x 11 matrix read the same.
    numeric = np.array([list(h) + list(o) + [i, k, sc] for h, o, i, k, sc in rows[5]])
    scipy.io.savemat(det_dir / "detections_05.mat", {"all_boxes": numeric})
    again = hd.read_tin_detections(det_dir, gt)
    assert all(np.array_equal(a.boxes, b.boxes) and np.array_equal(a.image, b.image)
               for a, b in zip(dets.per_class, again.per_class))
    # Converting to the official layout and reading back gives the same detections.
    out = tmp_path / "official"
    hd.write_official_detections(out, dets, gt)
    back = hd.read_official_detections(out, gt)
    for a, b in zip(dets.per_class, back.per_class):
        assert np.array_equal(a.boxes, b.boxes) and np.array_equal(a.scores, b.scores)


def test_image_index_by_name_or_id():
    bbox, labels = _tiny_annotations()
    gt = hd.ground_truth_from_annotations(bbox, labels)
    assert gt.image_index(["HICO_test2015_00000003.jpg", 1, np.int64(2)]).tolist() == [2, 0, 1]
    with pytest.raises(DataFormatError, match=r"detection 1: image 4 is not in list_test"):
        gt.image_index([1, 4])


def test_from_arrays_round_boxes_is_the_export_path():
    dets = hd.HicoDetections.from_arrays([3], [0], [[0.5, 1.5, 2.5, 3.5]], [[1, 1, 2, 2]], [0.3], num_images=2,
                                         round_boxes=True)
    assert dets.per_class[3].boxes.tolist() == [[1, 2, 3, 4, 1, 1, 2, 2]]


# ==================================================================================================
# Bad inputs
# ==================================================================================================


def _official_dir(tmp_path, gt, edit=None):
    det_dir = tmp_path / "bad"
    hd.write_official_detections(det_dir, hd.HicoDetections.empty(gt.num_images), gt)
    if edit:
        obj, cells = edit
        scipy.io.savemat(det_dir / hd.detection_filename(obj), {"all_boxes": cells})
    return det_dir


def _cells(gt, obj, fill=None):
    cells = np.empty((gt.file_rows(obj), gt.num_images), dtype=object)
    cells.fill(np.zeros((0, 0)))
    if fill:
        for (r, c), v in fill.items():
            cells[r, c] = np.array(v, dtype=float)
    return cells


GOOD_ROW = [0, 0, 9, 9, 20, 20, 39, 39, 0.5]


@pytest.mark.parametrize("case, pattern", [
    ("shape", r"detections_05\.mat: all_boxes should be a 10x3 cell array .* found 4x3"),
    ("columns", r"detections_05\.mat: all_boxes\{2,3\}: should be a numeric n x 9 matrix"),
    ("nan", r"detections_05\.mat: all_boxes\{1,2\} row 2: non-finite score nan"),
    ("x2", r"detections_05\.mat: all_boxes\{1,1\} row 1: object box has x2 < x1 or y2 < y1"),
    ("text", r"detections_05\.mat: all_boxes should be a 10x3 cell array"),
    ("missing", r"detections_05\.mat: file not found"),
    ("garbage", r"detections_05\.mat: not a readable MATLAB \.mat file"),
])
def test_bad_official_files(tmp_path, case, pattern):
    bbox, labels = _tiny_annotations()
    gt = hd.ground_truth_from_annotations(bbox, labels)
    edits = {
        "shape": (5, _cells(gt, 5)[:4]),
        "columns": (5, _cells(gt, 5, {(1, 2): [GOOD_ROW[:8]]})),
        "nan": (5, _cells(gt, 5, {(0, 1): [GOOD_ROW, GOOD_ROW[:8] + [np.nan]]})),
        "x2": (5, _cells(gt, 5, {(0, 0): [GOOD_ROW[:4] + [20, 20, 19, 39, 0.5]]})),
        "text": (5, "hello"),
    }
    det_dir = _official_dir(tmp_path, gt, edits.get(case))
    if case == "missing":
        os.remove(det_dir / "detections_05.mat")
    if case == "garbage":
        (det_dir / "detections_05.mat").write_bytes(b"not a mat file at all" * 10)
    with pytest.raises(hd.DetectionFileError, match=pattern):
        hd.read_official_detections(det_dir, gt)


@pytest.mark.parametrize("rows, pattern", [
    ([([0, 0, 9, 9], [20, 20, 39, 39], 99999, 0, 0.5)], r"all_boxes\{1,:\}: image id 99999 is not in list_test"),
    ([([0, 0, 9, 9], [20, 20, 39, 39], 1, 0, 0.5), ([0, 0, 9, 9], [20, 20, 39, 39], 1, 10, 0.5)],
     r"all_boxes\{2,:\}: HOI index k-b = 10 outside 0\.\.9"),
    ([([0, 0, 9, 9], [20, 20, 39, 39], 1, 0, np.nan)], r"all_boxes\{1,:\}: non-finite score"),
    ([([9, 0, 0, 9], [20, 20, 39, 39], 1, 0, 0.5)], r"all_boxes\{1,:\}: human box has x2 < x1"),
    ([([0, 0, 9], [20, 20, 39, 39], 1, 0, 0.5)], r"all_boxes\{1,:\}: Hbox should be 4 number"),
])
def test_bad_tin_files(tmp_path, rows, pattern):
    gt, det_dir = _tin_world(tmp_path, {5: rows})
    with pytest.raises(hd.DetectionFileError, match=r"detections_05\.mat: " + pattern):
        hd.read_tin_detections(det_dir, gt)


def test_bad_arrays():
    with pytest.raises(DataFormatError, match=r"<detections>: detection 1 \(HOI 4\): image index 7 outside 0\.\.2"):
        hd.HicoDetections.from_arrays([3, 4], [0, 7], [[0, 0, 1, 1]] * 2, [[0, 0, 1, 1]] * 2, [1, 1], num_images=3)
    with pytest.raises(DataFormatError, match=r"HOI id 600 outside 0\.\.599"):
        hd.HicoDetections.from_arrays([600], [0], [[0, 0, 1, 1]], [[0, 0, 1, 1]], [1], num_images=3)
    with pytest.raises(DataFormatError, match="same length"):
        hd.HicoDetections.from_arrays([1, 2], [0], [[0, 0, 1, 1]], [[0, 0, 1, 1]], [1], num_images=3)
    bbox, labels = _tiny_annotations()
    gt = hd.ground_truth_from_annotations(bbox, labels)
    with pytest.raises(DataFormatError, match="detections are for 5 test images"):
        hd.evaluate(gt, hd.HicoDetections.empty(5))


# ==================================================================================================
# Results and command line
# ==================================================================================================


def test_result_outputs(tmp_path, capsys):
    anno_dir, det_dir, gt, dets = write_world(tmp_path, 4)
    out_json, out_csv = tmp_path / "r.json", tmp_path / "r.csv"
    assert hd.main(["--anno_dir", str(anno_dir), "--detections", str(det_dir), "--out_json", str(out_json),
                    "--out_csv", str(out_csv), "--noko_check"]) == 0
    table = capsys.readouterr().out
    res = hd.evaluate(gt, dets)
    assert table.strip() == res.format_table().strip()
    assert re.search(r"^Default\s+\d+\.\d\d\s+\d+\.\d\d\s+\d+\.\d\d", table, re.M)
    assert re.search(r"^Known Object\s+\d+\.\d\d", table, re.M)
    md = res.format_table("markdown").splitlines()
    assert md[0].startswith("| HICO-DET | Default") and re.match(r"\| mAP \(%\) \| [\d.]+ / [\d.]+ / [\d.]+ \|", md[2])
    assert "  mAP / mRec (full):      " in res.format_table("matlab")
    data = json.loads(out_json.read_text())
    assert data["settings"]["Default"]["map_full"] == res.default.map_full
    assert (data["settings"]["Default"]["mrec_full"] is None) == bool(np.isnan(res.default.mrec_full))
    assert len(data["per_class"]) == 600 and data["per_class"][0]["hoi"] == 1
    lines = out_csv.read_text().splitlines()
    assert len(lines) == 601 and lines[0].startswith("hoi,action,rare,num_train,num_gt,num_det_default,ap_default")
    c = int(np.argmax(res.default.ap))
    assert float(lines[c + 1].split(",")[6]) == res.default.ap[c]


def test_cli_errors_are_one_line(tmp_path):
    bbox, labels = _tiny_annotations()
    anno_dir = tmp_path / "anno"
    hm.write_anno_bbox_mat(anno_dir / "anno_bbox.mat", bbox)
    hm.write_anno_mat(anno_dir / "anno.mat", labels)
    gt = hd.load_ground_truth(anno_dir)
    det_dir = _official_dir(tmp_path, gt, (5, _cells(gt, 5, {(0, 1): [GOOD_ROW[:8] + [np.nan]]})))
    proc = run_module("tin_jax.evaluation.hico_det", "--anno_dir", str(anno_dir), "--detections", str(det_dir),
                      check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ") and "detections_05.mat" in proc.stderr
    for args in (["--anno_dir", str(tmp_path / "nope"), "--detections", str(det_dir)], ["--anno_dir"]):
        proc = run_module("tin_jax.evaluation.hico_det", *args, check=False)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ")
        assert "Traceback" not in proc.stderr


# ==================================================================================================
# The official MATLAB code under GNU Octave
# ==================================================================================================

OCTAVE_SHIMS = {
    # parfor runs as a plain for loop in Octave; only parpool / delete(poolobj) need stand-ins.
    "parpool.m": "function p = parpool(varargin)\n  p = [];\nend\n",
    "delete.m": "function delete(varargin)\nend\n",
}


def _octave_driver(iter_):
    return f"""
addpath([pwd '/common']); addpath([pwd '/evaluation']);
save_default_options('-v7');  % Octave saves text files by default; eval_one.m's save(res_file) must be a .mat
image_set = 'test2015'; iter = {iter_};
exp_name = 'tinjax'; exp_dir = 'x'; prefix = 'p'; format = 'obj'; score_blob = 'n/a';
eval_mode = 'def'; eval_one;
eval_mode = 'ko'; eval_one;
"""


def _have_octave_and_mirror() -> str | None:
    if shutil.which("octave") is None:
        return "GNU Octave is not installed (apt-get install -y octave)"
    if not HO_RCNN or not os.path.isdir(HO_RCNN) or shutil.which("git") is None:
        return "set TIN_JAX_HO_RCNN_REPO to a git clone of ywchao/ho-rcnn to run the official code"
    return None


@pytest.mark.skipif(_have_octave_and_mirror() is not None, reason=str(_have_octave_and_mirror()))
def test_official_matlab_code_under_octave(tmp_path):
    """Runs ho-rcnn's eval_one.m unedited (copied at test time) and compares per-class AP/REC bit for bit."""
    anno_dir, det_dir, gt, dets = write_world(tmp_path, 11, num_test=40, num_hot=40)
    # One crafted class whose recall hits exactly 0.6 (3 of 5): Octave's t = 0.6000000000000001 skips it.
    c = int(np.flatnonzero(gt.num_gt == 0)[0])
    bbox, labels, _ = make_world(11, num_test=40, num_hot=40)
    pairs = [np.array(A1, float) + [200 * k, 0, 200 * k, 0] * 2 for k in range(5)]
    bbox.test[0].hois.append(_hoi(c, [p[:4] for p in pairs], [p[4:] for p in pairs], [[k, k] for k in range(5)]))
    labels.anno_test[c, 0] = 1
    hm.write_anno_bbox_mat(anno_dir / "anno_bbox.mat", bbox)
    hm.write_anno_mat(anno_dir / "anno.mat", labels)
    gt = hd.load_ground_truth(anno_dir)
    rows = [dets.per_class[k] for k in range(600)]
    rows[c] = _dets(*[(0, _zero_based(p), 0.5) for p in pairs[:3]])
    dets = hd.HicoDetections(tuple(rows), gt.num_images)
    hd.write_official_detections(det_dir, dets, gt)

    work = tmp_path / "octave"
    for sub in ("evaluation/result/tinjax", "common", "output/x/hico_det_test2015"):
        (work / sub).mkdir(parents=True)
    for path in ("evaluation/eval_one.m", "evaluation/VOCevaldet_bboxpair.m", "evaluation/get_list_coco_obj.m",
                 "common/cell_find_string.m", "common/makedir.m"):
        text = subprocess.run(["git", "-C", HO_RCNN, "show", f"HEAD:{path}"], capture_output=True, check=True).stdout
        (work / path).write_bytes(text)
    for name, text in OCTAVE_SHIMS.items():
        (work / name).write_text(text)
    (work / "config.m").write_text(f"anno_file = '{anno_dir}/anno.mat';\nbbox_file = '{anno_dir}/anno_bbox.mat';\n")
    shutil.copytree(det_dir, work / "output/x/hico_det_test2015/p_iter_1")
    (work / "driver.m").write_text(_octave_driver(1))
    proc = subprocess.run(["octave", "--no-gui", "--no-window-system", "-q", "--eval", "driver"], cwd=work,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    ours = hd.evaluate(gt, dets, thresholds=hd.OCTAVE_THRESHOLDS)
    for setting in ours.settings:
        res = scipy.io.loadmat(work / f"evaluation/result/tinjax/{setting.setting}_test2015_000001.mat")
        assert _same(setting.ap, res["AP"].ravel()), np.flatnonzero(setting.ap != res["AP"].ravel())
        assert _same(setting.recall, res["REC"].ravel())
    printed = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip().startswith("mAP / mRec")]
    mine = [ln.strip() for ln in ours.format_table("matlab").splitlines() if ln.strip().startswith("mAP / mRec")]
    assert printed == mine and len(printed) == 6
    assert (ours.default.ap > 0).sum() >= 20 and np.isnan(ours.default.recall).any()
    # With MATLAB's thresholds the crafted class gains the t = 0.6 point: 7/11 instead of 6/11.
    matlab = hd.evaluate_setting(gt, dets, "def")
    assert round(ours.default.ap[c] * 11) == 6 and round(matlab.ap[c] * 11) == 7
    assert c in np.flatnonzero(matlab.ap != ours.default.ap)
