"""tin_jax.evaluation.binary against transcriptions of TIN's binary AP scripts (tests/reference/binary_eval_loops.py)."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest
import scipy.io as sio

from tin_jax.schema.classes import HICO_HOIS
from tin_jax.evaluation import binary
from tin_jax.io.errors import DataFormatError
from tin_jax.io.hico_mat import HicoAction, HicoBboxAnno, HicoHoiAnno, HicoImageAnno, write_anno_bbox_mat

try:  # rootdir on sys.path (``python -m pytest``)
    from tests.reference import binary_eval_loops as ref
except ImportError:  # plain ``pytest``: tests/ on sys.path
    from reference import binary_eval_loops as ref

ACTIONS = [HicoAction(o, v, v + "ing") for v, o in HICO_HOIS]
NO_INTER_1BASED = {i + 1 for i, (v, _) in enumerate(HICO_HOIS) if v == "no_interaction"}
GRID = np.linspace(0.05, 0.95, 7).astype(np.float32)  # coarse: many ties


def _write_anno(path, test_images):
    write_anno_bbox_mat(path, HicoBboxAnno(ACTIONS, [], test_images))
    data = sio.loadmat(path)
    return data, [binary.hico_image_id(im.filename) for im in test_images]


def _box(rng, integer):
    x1, y1 = rng.uniform(1, 400, 2)
    w, h = rng.uniform(15, 150, 2)
    b = np.array([x1, y1, x1 + w, y1 + h])
    return np.round(b) if integer else b


def _random_images(rng, n_images=12):
    """Random test GT: repeated pairs across HOIs, invisible HOIs (sometimes first), no_interaction HOIs."""
    ids = sorted(rng.choice(np.arange(1, 200), n_images, replace=False).tolist())
    images = []
    for n, image_id in enumerate(ids):
        integer = rng.random() < 0.7
        humans = [_box(rng, integer) for _ in range(int(rng.integers(1, 4)))]
        objects = [_box(rng, integer) for _ in range(int(rng.integers(1, 4)))]
        hois = []
        for k in range(int(rng.integers(1, 5))):
            if rng.random() < 0.15 and not (n == 0 and k == 0):
                hois.append(HicoHoiAnno(int(rng.integers(600)), np.zeros((0, 4)), np.zeros((0, 4)),
                                        np.zeros((0, 2)), True))
                continue
            hoi_id = int(rng.choice(sorted(NO_INTER_1BASED))) - 1 if rng.random() < 0.2 else int(rng.integers(600))
            hi = rng.choice(len(humans), int(rng.integers(1, len(humans) + 1)), replace=False)
            oi = rng.choice(len(objects), int(rng.integers(1, len(objects) + 1)), replace=False)
            conn = [(a, b) for a in range(len(hi)) for b in range(len(oi)) if rng.random() < 0.7] or [(0, 0)]
            hois.append(HicoHoiAnno(hoi_id, np.array([humans[i] for i in hi]), np.array([objects[i] for i in oi]),
                                    np.array(conn)))
        images.append(HicoImageAnno(f"HICO_test2015_{image_id:08d}.jpg", 640, 480, 3, hois))
    return images


def _random_pairs(rng, images):
    """TIN-style {image_id: [[Hbox, Obox, cls, ..., (P_inter, P_noninter)]]}, dict in ascending id order."""
    out = {}
    for n, im in enumerate(images):
        image_id = binary.hico_image_id(im.filename)
        gt = [(h, o) for hoi in im.hois if not hoi.invis for h, o in zip(*hoi.pairs())]
        pairs = []
        for _ in range(int(rng.integers(0, 9))):
            if gt and rng.random() < 0.7:
                h, o = gt[int(rng.integers(len(gt)))]
                mode = rng.choice(["exact", "shifted", "near", "noisy"])
                if mode == "exact":
                    h, o = h.copy(), o.copy()
                elif mode == "shifted":
                    h, o = h - 1, o - 1  # the 0-based version of the GT pair
                elif mode == "near":  # slide by ~1/3 of the width: IoU near 0.5
                    f = rng.uniform(0.3, 0.36)
                    h = h + np.array([1, 0, 1, 0]) * (h[2] - h[0]) * f
                    o = o + np.array([0, 1, 0, 1]) * (o[3] - o[1]) * f
                else:
                    h, o = h + rng.normal(0, 8, 4), o + rng.normal(0, 8, 4)
            else:
                h, o = _box(rng, False), _box(rng, False)
            pairs.append((np.maximum(h, 0), np.maximum(o, 0)))
        if n == 0:  # one sure "inter" and one sure "no-inter" pair, so both APs exist
            h0, o0 = gt[0]
            pairs += [(h0.copy(), o0.copy()), (np.array([600., 400., 630., 470.]), np.array([0., 0., 5., 5.]))]
        if pairs and rng.random() < 0.3:
            pairs.append(tuple(b.copy() for b in pairs[-1]))  # duplicate
        out[image_id] = [[h.astype(np.float32), o.astype(np.float32), 1, None, 0.9, 0.8,
                          np.array([rng.choice(GRID), rng.choice(GRID)], dtype=np.float32)] for h, o in pairs]
    return out


def _tpami_layout(det):
    """The TIN-PAMI pickle keeps (P_inter, P_noninter) at element[3][0]."""
    return {k: [[e[0], e[1], e[2], e[6].reshape(1, 2)] for e in v] for k, v in det.items()}


# --------------------------------------------------------------------------------------------------
# Master protocol
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_master_matches_script(tmp_path, seed):
    rng = np.random.default_rng(seed)
    images = _random_images(rng)
    data, test_image_all = _write_anno(tmp_path / "anno_bbox.mat", images)
    det = _random_pairs(rng, images)
    ap_in, ap_no, mean, labels = ref.Generate_HICO_detection_binary(det, data, test_image_all)

    gt = binary.read_gt_pairs(tmp_path / "anno_bbox.mat")
    pairs = binary.pairs_from_tin_output(det)
    res = binary.master_binary_ap(pairs, gt)
    ours_labels = np.concatenate([binary.master_interactiveness_labels(pairs[k], gt[k]) for k in sorted(pairs)])
    np.testing.assert_array_equal(ours_labels, labels.astype(bool))
    assert (res.ap_inter, res.ap_noninter, res.binary_map) == (ap_in, ap_no, mean)
    assert res.num_inter == labels.sum() and res.num_pairs == labels.size and res.first_hoi_only


def test_master_reads_only_the_first_hoi(tmp_path):
    """The script's loop runs once per image: a pair matching only the 2nd HOI is "no-inter"."""
    rng = np.random.default_rng(5)
    images = _random_images(rng, 20)
    data, test_image_all = _write_anno(tmp_path / "anno_bbox.mat", images)
    assert len(data["bbox_test"][0, 0]["hoi"]["id"].tolist()) == 1  # the list the script iterates over
    det = _random_pairs(rng, images)
    _, _, _, labels = ref.Generate_HICO_detection_binary(det, data, test_image_all)
    gt = binary.read_gt_pairs(tmp_path / "anno_bbox.mat")
    pairs = binary.pairs_from_tin_output(det)
    every = np.concatenate([binary.master_interactiveness_labels(pairs[k], gt[k], first_hoi_only=False)
                            for k in sorted(pairs)])
    # independent all-HOI labels: the script's IOU over every visible connection of every HOI
    expected = []
    for image_id in sorted(det):
        hois = data["bbox_test"][0, test_image_all.index(image_id)]["hoi"][0]
        for e in det[image_id]:
            hd, od = list(map(int, e[0].tolist())), list(map(int, e[1].tolist()))
            hit = False
            for hoi in hois:
                if int(hoi["invis"].ravel()[0]) == 1:
                    continue
                for c in np.asarray(hoi["connection"]).reshape(-1, 2):
                    hg = list(np.array(hoi["bboxhuman"][0][int(c[0]) - 1].tolist(), dtype="int32").ravel())
                    og = list(np.array(hoi["bboxobject"][0][int(c[1]) - 1].tolist(), dtype="int32").ravel())
                    hit |= ref.IOU(hg, hd) > 0.5 and ref.IOU(og, od) > 0.5
            expected.append(hit)
    np.testing.assert_array_equal(every, expected)
    assert np.sum(every) > np.sum(labels)  # the difference shows up in this data
    assert np.all(every >= labels.astype(bool))


def _hand_images(second_is_no_interaction=False):
    a_h, a_o = [11, 11, 50, 50], [61, 11, 100, 50]          # pair A (1-based file boxes)
    b_h, b_o = [201, 201, 250, 250], [301, 201, 350, 250]   # pair B
    nid = sorted(NO_INTER_1BASED)[0] - 1
    hois = [HicoHoiAnno(0, np.array([a_h]), np.array([a_o]), np.array([[0, 0]])),
            HicoHoiAnno(nid if second_is_no_interaction else 1, np.array([b_h]), np.array([b_o]), np.array([[0, 0]])),
            HicoHoiAnno(2, np.array([a_h]), np.array([a_o]), np.array([[0, 0]]))]  # pair A again
    return [HicoImageAnno("HICO_test2015_00000007.jpg", 640, 480, 3, hois)]


def _hand_pairs(scores):
    boxes = [([10, 10, 49, 49], [60, 10, 99, 49]),         # A, 0-based
             ([500, 10, 540, 49], [560, 10, 599, 49]),     # nothing
             ([200, 200, 249, 249], [300, 200, 349, 249]),  # B, 0-based
             ([10, 300, 49, 349], [60, 300, 99, 349])]     # nothing
    return {7: [[np.array(h, dtype=np.float32), np.array(o, dtype=np.float32), 1, None, 0, 0,
                 np.array(s, dtype=np.float32)] for (h, o), s in zip(boxes, scores)]}


def test_master_hand_computed(tmp_path):
    data, ids = _write_anno(tmp_path / "a.mat", _hand_images())
    det = _hand_pairs([(0.9, 0.1), (0.8, 0.3), (0.7, 0.05), (0.2, 0.9)])
    gt = binary.read_gt_pairs(tmp_path / "a.mat")
    pairs = binary.pairs_from_tin_output(det)
    # first HOI only: labels [1, 0, 0, 0]
    # inter: P_inter order .9 (TP) .8 .7 .2 -> precision 1 at recall 1 -> AP 1
    # no-inter: P_non order .9 (p4 ok) .3 (p2 ok) .1 (p1 wrong) .05 (p3 ok): prec 1 1 2/3 3/4, rec 1/3 2/3 2/3 1
    #   -> 7 levels (t <= .6) at 1, 4 levels at 3/4 -> AP 10/11
    res = binary.master_binary_ap(pairs, gt)
    assert (res.num_inter, res.num_noninter) == (1, 3)
    assert res.ap_inter == pytest.approx(1.0) and res.ap_noninter == pytest.approx(10 / 11)
    assert res.binary_map == pytest.approx((1 + 10 / 11) / 2)
    assert ref.Generate_HICO_detection_binary(det, data, ids)[:2] == (res.ap_inter, res.ap_noninter)
    # every HOI: labels [1, 0, 1, 0]
    # inter: .9 TP .8 FP .7 TP .2 FP: prec 1 .5 2/3 .5, rec .5 .5 1 1 -> 6 levels at 1, 5 at 2/3
    # no-inter: .9 ok .3 ok .1 .05 -> AP 1
    res = binary.master_binary_ap(pairs, gt, first_hoi_only=False)
    assert res.ap_inter == pytest.approx((6 + 5 * 2 / 3) / 11) and res.ap_noninter == pytest.approx(1.0)


def test_master_can_leave_no_interaction_annotations_out(tmp_path):
    """Pair B's only annotation is a no_interaction HOI: with ``include_no_interaction=False`` it
    is "no-inter" (labels [1, 0, 0, 0], the hand-computed APs of the first-HOI case above),
    with the script's rule it is "inter" (labels [1, 0, 1, 0])."""
    _write_anno(tmp_path / "a.mat", _hand_images(second_is_no_interaction=True))
    gt = binary.read_gt_pairs(tmp_path / "a.mat")
    pairs = binary.pairs_from_tin_output(_hand_pairs([(0.9, 0.1), (0.8, 0.3), (0.7, 0.05), (0.2, 0.9)]))
    assert binary.master_interactiveness_labels(pairs[7], gt[7], first_hoi_only=False).tolist() == [1, 0, 1, 0]
    labels = binary.master_interactiveness_labels(pairs[7], gt[7], first_hoi_only=False, include_no_interaction=False)
    assert labels.tolist() == [1, 0, 0, 0]
    res = binary.master_binary_ap(pairs, gt, first_hoi_only=False, include_no_interaction=False)
    assert res.ap_inter == pytest.approx(1.0) and res.ap_noninter == pytest.approx(10 / 11)


def test_master_ignores_zero_based_shift_and_truncates():
    # GT [11, 11, 50, 50] (file) vs detection [10.9, 10.9, 49.9, 49.9] -> int() -> [10, 10, 49, 49]
    gt = binary.GtPairs(np.array([[11., 11., 50., 50.]]), np.array([[11., 11., 50., 50.]]), np.array([0]),
                        np.array([0]))
    p = binary.PairScores([[10.9, 10.9, 49.9, 49.9]], [[30.9, 30.9, 69.9, 69.9]], [[0.5, 0.5]])
    iou = binary.iou_inclusive_int([[11, 11, 50, 50]], [[10, 10, 49, 49]])[0, 0]
    assert iou == pytest.approx(39 * 39 / (2 * 1600 - 39 * 39))
    # object: [30, 30, 69, 69] vs [11, 11, 50, 50]: 20 x 20 inter, union 3200 - 400 -> 1/7: no-inter
    assert not binary.master_interactiveness_labels(p, gt)[0]


def test_master_without_inter_pairs_is_nan(tmp_path):
    _write_anno(tmp_path / "a.mat", _hand_images())
    gt = binary.read_gt_pairs(tmp_path / "a.mat")
    det = _hand_pairs([(0.9, 0.1), (0.8, 0.3), (0.7, 0.05), (0.2, 0.9)])
    det[7] = det[7][1:2]  # only a "no-inter" pair: the script would fail on max() of an empty array
    res = binary.master_binary_ap(binary.pairs_from_tin_output(det), gt)
    assert math.isnan(res.ap_inter) and res.ap_noninter == pytest.approx(1.0) and math.isnan(res.binary_map)


# --------------------------------------------------------------------------------------------------
# TPAMI protocol
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("include_no_interaction", [True, False])
def test_tpami_matches_script(tmp_path, seed, include_no_interaction):
    rng = np.random.default_rng(100 + seed)
    images = _random_images(rng)
    data, test_image_all = _write_anno(tmp_path / "anno_bbox.mat", images)
    det = _tpami_layout(_random_pairs(rng, images))
    gt_bbox = ref.gt_binary_from_mat(data, test_image_all, None if include_no_interaction else NO_INTER_1BASED)
    ap, max_rec = ref.Generate_HICO_detection(det, gt_bbox)

    gt = binary.read_gt_pairs(tmp_path / "anno_bbox.mat")
    res = binary.detection_binary_ap(binary.pairs_from_tin_output(det, score_index=binary.TPAMI_SCORE_INDEX), gt,
                                     include_no_interaction=include_no_interaction)
    assert res.ap == ap and res.max_recall == max_rec
    assert res.num_gt == sum(len(v) for v in gt_bbox.values())
    for k, rows in gt_bbox.items():
        np.testing.assert_array_equal(binary.unique_gt_pairs(gt[k], include_no_interaction=include_no_interaction),
                                      rows)


def test_tpami_hand_computed(tmp_path):
    _write_anno(tmp_path / "a.mat", _hand_images())
    gt = binary.read_gt_pairs(tmp_path / "a.mat")
    det = _hand_pairs([(0.9, 0.1), (0.2, 0.3), (0.7, 0.05), (0.1, 0.9)])
    det[7].insert(1, list(det[7][0]))  # exact duplicate of pair A with P_inter .9 -> second one is a FP
    det[7][1][6] = np.array([0.8, 0.2], dtype=np.float32)
    pairs = binary.pairs_from_tin_output(det)
    # GT: A (twice in the file, once after dedup) and B -> 2 pairs
    # order .9 A TP, .8 A FP (used), .7 B TP, .2 FP, .1 FP: rec .5 .5 1 1 1, prec 1 .5 2/3 .5 .4
    res = binary.detection_binary_ap(pairs, gt)
    assert res.num_gt == 2 and res.num_tp == 2 and res.max_recall == 1.0
    assert res.ap == pytest.approx((6 + 5 * 2 / 3) / 11)
    # B annotated as no_interaction and excluded: GT = A only; .9 TP then FPs -> AP 1
    _write_anno(tmp_path / "b.mat", _hand_images(second_is_no_interaction=True))
    gt_b = binary.read_gt_pairs(tmp_path / "b.mat")
    res = binary.detection_binary_ap(pairs, gt_b, include_no_interaction=False)
    assert res.num_gt == 1 and res.ap == pytest.approx(1.0)
    assert binary.detection_binary_ap(pairs, gt_b).num_gt == 2


def test_tpami_iou_has_no_plus_one():
    assert binary.iou_no_plus1([[0, 0, 10, 10]], [[0, 0, 10, 20]])[0, 0] == 0.5
    assert binary.iou_no_plus1([[0, 0, 10, 10]], [[10, 0, 20, 10]])[0, 0] == 0.0  # touching: no overlap
    assert binary.iou_inclusive_int([[0, 0, 10, 10]], [[10, 0, 20, 10]])[0, 0] == pytest.approx(11 / 231)


def test_tpami_min_iou_of_exactly_half_is_a_hit():
    gt = {1: binary.GtPairs(np.array([[11., 11., 50., 50.]]), np.array([[61., 11., 100., 50.]]), np.array([0]),
                            np.array([0]))}
    pairs = {1: binary.PairScores([[10, 10, 49, 88]], [[60, 10, 99, 49]], [[0.5, 0.5]])}  # human IoU 1521 / 3042
    res = binary.detection_binary_ap(pairs, gt)
    assert res.num_tp == 1 and res.ap == pytest.approx(1.0)


def test_tpami_edge_cases(tmp_path):
    _write_anno(tmp_path / "a.mat", _hand_images())
    gt = binary.read_gt_pairs(tmp_path / "a.mat")
    res = binary.detection_binary_ap({7: binary.PairScores(np.zeros((0, 4)), np.zeros((0, 4)), np.zeros((0, 2)))}, gt)
    assert (res.ap, res.max_recall, res.num_gt) == (0.0, 0.0, 2)
    empty = {7: binary.GtPairs(np.zeros((0, 4)), np.zeros((0, 4)), np.zeros(0, int), np.zeros(0, int))}
    assert math.isnan(binary.detection_binary_ap(binary.pairs_from_tin_output(_hand_pairs([(.5, .5)] * 4)), empty).ap)


# --------------------------------------------------------------------------------------------------
# Inputs and command line
# --------------------------------------------------------------------------------------------------


def test_readers_and_errors(tmp_path):
    assert binary.hico_image_id("HICO_test2015_00009767.jpg") == 9767
    with pytest.raises(DataFormatError, match="no image number"):
        binary.hico_image_id("foo.jpg")
    with pytest.raises(DataFormatError, match="at least 7 items"):
        binary.pairs_from_tin_output({1: [[np.zeros(4), np.zeros(4)]]}, source="x.pkl")
    with pytest.raises(DataFormatError, match="not an integer image id"):
        binary.pairs_from_tin_output({"a": []})
    with pytest.raises(DataFormatError, match=r"item 6 should hold \(P_inter, P_noninter\)"):
        binary.pairs_from_tin_output({1: [[np.zeros(4), np.zeros(4), 1, 0, 0, 0, np.array([0.5])]]})
    _write_anno(tmp_path / "a.mat", _hand_images())
    gt = binary.read_gt_pairs(tmp_path / "a.mat")
    with pytest.raises(DataFormatError, match="image 8: not an image"):
        binary.master_binary_ap({8: binary.PairScores([[0, 0, 1, 1]], [[0, 0, 1, 1]], [[1, 0]])}, gt)
    with open(tmp_path / "p.pkl", "wb") as f:
        pickle.dump(_hand_pairs([(0.9, 0.1)] * 4), f, protocol=2)
    assert len(binary.read_tin_pairs(tmp_path / "p.pkl")[7]) == 4


def test_command_line(tmp_path, capsys):
    _write_anno(tmp_path / "a.mat", _hand_images())
    with open(tmp_path / "p.pkl", "wb") as f:
        pickle.dump(_hand_pairs([(0.9, 0.1), (0.8, 0.3), (0.7, 0.05), (0.2, 0.9)]), f, protocol=2)
    argv = ["--anno_bbox", str(tmp_path / "a.mat"), "--detections", str(tmp_path / "p.pkl")]
    assert binary.main(argv + ["--out_json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "binary_mAP" in out and "Binary mAP" in out
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["master"]["ap_noninter"] == pytest.approx(10 / 11) and r["tpami"]["num_gt"] == 2
    assert binary.main(["--anno_bbox", str(tmp_path / "missing.mat"), "--detections", str(tmp_path / "p.pkl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
