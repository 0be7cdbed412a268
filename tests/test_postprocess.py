"""tin_jax.inference.postprocess against a loop transcription of TIN's scripts, plus hand-checked cases."""

from __future__ import annotations

import collections
import math
import pickle

import numpy as np
import pytest

from tests.reference import tin_postprocess_loops as ref
from tests.tolerances import EPS32, Bounded, assert_within
from tin_jax.inference import postprocess as pp
from tin_jax.schema import classes
from tin_jax.evaluation import hico_det
from tin_jax.evaluation.vcoco import detections_to_vsrl
from tin_jax.io.errors import DataFormatError

# Classes that get many pairs (NIS overrides, person, no-override classes) and one-pair classes; most get none.
BUSY_CLASSES = np.array([1, 2, 11, 57, 63, 5, 40])


# --------------------------------------------------------------------------------------------------
# Pair selection
# --------------------------------------------------------------------------------------------------


def _random_detections(rng, n):
    """Test_RCNN-style entries with ties, repeated boxes, humans-only and objects-only images."""
    kind = rng.integers(4)
    human = rng.random(n) < {0: 0.5, 1: 1.0, 2: 0.0, 3: 0.3}[kind]
    boxes = rng.integers(0, 6, size=(n, 4)).astype(np.float32)
    boxes[:, 2:] += boxes[:, :2]
    if n > 1 and rng.random() < 0.5:
        boxes[rng.integers(n)] = boxes[rng.integers(n)]  # same box detected twice
    scores = rng.choice(np.float32([0.05, 0.2, 0.3, 0.31, 0.5, 0.8, 0.81, 0.95]), size=n)
    cls = np.where(human, 1, rng.integers(2, 81, size=n))
    return [[0, 'Human' if h else 'obj', boxes[i], 0, int(cls[i]), scores[i], None]
            for i, h in enumerate(human)], boxes, human, cls, scores


@pytest.mark.parametrize("fallback", ["fixed", "original", "none"])
def test_select_pairs_matches_loops(fallback):
    rng = np.random.default_rng(0)
    n_fallback = 0
    for _ in range(400):
        dets, boxes, human, cls, scores = _random_detections(rng, int(rng.integers(0, 9)))
        h, o, fb = pp.select_pairs(boxes, human, cls, scores, 0.8, 0.3, fallback=fallback)
        expected = ref.im_detect_pairs(dets, 0.3, 0.8, fallback=fallback != "none",
                                       pad_missing=fallback == "original")
        got = [(dets[i], dets[j]) for i, j in zip(h, o)]
        assert len(got) == len(expected)
        assert all(a is c and b is d for (a, b), (c, d) in zip(got, expected))
        strict = ref.im_detect_pairs(dets, 0.3, 0.8, fallback=False)
        assert fb == (len(strict) == 0)
        n_fallback += fb and len(h) > 0
    assert n_fallback > 20 or fallback == "none"


def test_fallback_minus_one_bug_only_in_original():
    # one human (not above 0.8), three objects; the last detection is an object
    boxes = np.float32([[0, 0, 5, 5], [1, 1, 4, 4], [2, 2, 6, 6], [3, 3, 7, 7]])
    human = np.array([True, False, False, False])
    scores = np.float32([0.5, 0.2, 0.25, 0.1])
    cls = np.array([1, 40, 41, 42])
    h, o, fb = pp.select_pairs(boxes, human, cls, scores, 0.8, 0.3, fallback="original")
    assert fb
    # lockstep lists: humans [0, -1, -1] (-1 = detection 3, an object used as a human), objects [2, 1, 3]
    assert h.tolist() == [0, 0, 0, 3, 3, 3, 3, 3, 3]
    assert o.tolist() == [2, 1, 3] * 3
    h, o, fb = pp.select_pairs(boxes, human, cls, scores, 0.8, 0.3)  # 'fixed' is the default
    assert fb and h.tolist() == [0, 0, 0] and o.tolist() == [2, 1, 3]
    h, o, fb = pp.select_pairs(boxes, human, cls, scores, 0.8, 0.3, fallback="none")
    assert fb and len(h) == 0 == len(o)
    # no human at all: 'original' uses the last detection as each of 3 humans, paired with every object
    # (itself included)
    h, o, _ = pp.select_pairs(boxes[1:], human[1:], cls[1:], scores[1:], 0.8, 0.3, fallback="original")
    assert h.tolist() == [2] * 9 and o.tolist() == [1, 0, 2] * 3
    h, o, _ = pp.select_pairs(boxes[1:], human[1:], cls[1:], scores[1:], 0.8, 0.3)
    assert len(h) == 0


def test_select_pairs_threshold_is_strict_and_skips_identical_box():
    boxes = np.float32([[0, 0, 5, 5], [0, 0, 5, 5], [1, 1, 3, 3], [2, 2, 4, 4]])
    human = np.array([True, True, False, False])
    scores = np.array([0.9, 0.8, 0.3, 0.31])
    h, o, fb = pp.select_pairs(boxes, human, [1, 1, 2, 3], scores, 0.8, 0.3)
    # detection 1 (score == 0.8) is no human, and its box equals detection 0's; detection 2 (== 0.3) no object
    assert h.tolist() == [0] and o.tolist() == [3] and not fb
    # float32 scores compare in float64, as NumPy 1 did in the original: 0.8f and 0.3f pass
    h, o, fb = pp.select_pairs(boxes, human, [1, 1, 2, 3], scores.astype(np.float32), 0.8, 0.3)
    assert h.tolist() == [0, 0, 1, 1] and o.tolist() == [2, 3, 2, 3]
    with pytest.raises(ValueError, match="fallback"):
        pp.select_pairs(boxes, human, [1, 1, 2, 3], scores, 0.8, 0.3, fallback="bogus")


# --------------------------------------------------------------------------------------------------
# LIS
# --------------------------------------------------------------------------------------------------


def test_lis_values():
    x = np.array([0.0, 0.5, 1.0])
    got = pp.lis_weight(x, pp.HICO_LIS)
    assert got.tolist() == [6 / (1 + 2.718281828459 ** (10 - 1.4 * v)) for v in x.tolist()]
    np.testing.assert_allclose(got, 6 / (1 + np.exp(10 - 1.4 * x)), rtol=1e-11)
    np.testing.assert_allclose(got[0], 6 / (1 + math.exp(10)), rtol=1e-11)
    v = pp.lis_weight([0.5], pp.VCOCO_LIS)[0]
    assert v == 6 / (1 + 2.718281828459 ** (6 - 7 * 0.5))


# --------------------------------------------------------------------------------------------------
# HICO
# --------------------------------------------------------------------------------------------------


def _random_hico(rng, n_images=140, remaining_frac=0.12):
    """A TIN test pickle (dict image_id -> pairs, float32 arrays) with ties, empty images and fallback images."""
    ids = rng.permutation(np.arange(1, 3 * n_images))[:n_images]
    remaining = set(int(i) for i in ids[rng.random(n_images) < remaining_frac])
    levels_s = np.float32(np.arange(8) / 8)
    levels_det = np.float32([0.3, 0.5, 0.81, 0.9, 1.0])
    binary_levels = np.float32([0.0, 0.04, 0.05, 0.1, 0.12, 0.5, 0.85, 0.9, 0.92, 0.96, 1.0])
    hico, d = {}, {}
    for image_id in sorted(int(i) for i in ids):
        n = int(rng.integers(0, 10)) if rng.random() > 0.1 else 0
        pairs, d_pairs = [], []
        for _ in range(n):
            c = int(rng.choice(BUSY_CLASSES)) if rng.random() < 0.85 else int(rng.integers(1, 81))
            hb = rng.integers(0, 50, 4).astype(np.float32) + np.float32(0.5) * rng.integers(0, 2, 4)
            ob = rng.integers(0, 50, 4).astype(np.float32) + np.float32(0.25) * rng.integers(0, 3, 4)
            hb[2:] += hb[:2]
            ob[2:] += ob[:2]
            s = rng.choice(levels_s, classes.NUM_HOIS)
            pairs.append([hb, ob, c, s, rng.choice(levels_det), rng.choice(levels_det),
                          rng.choice(binary_levels, 2)])
            d_pairs.append(rng.choice(binary_levels, 2))
        hico[image_id] = pairs
        d[image_id] = [] if image_id in remaining else [p[:6] + [b] for p, b in zip(pairs, d_pairs)]
    return hico, d, remaining


def _as_tin_outputs(hico, tmp_path, name="test.pkl"):
    path = tmp_path / name
    with open(path, "wb") as f:
        pickle.dump(hico, f, protocol=2)
    return pp.read_tin_test_pickle(path)


def _expected_rows(all_boxes_by_class, index):
    """{hoi: [(image, 8 rounded box values, score), ...]} in file order, from the transcription's rows."""
    out = collections.defaultdict(list)
    for classid, rows in all_boxes_by_class.items():
        first = ref.hoi_range[classid - 1][0] - 1
        for hb, ob, image_id, i, score in rows:
            box = tuple(hico_det.matlab_round(np.array(hb + ob, np.float64)).tolist())
            out[first + i].append((index[image_id], box, float(score)))
    return out


def _assert_same_detections(dets, expected, top_k):
    """Equal per HOI: same scores, same rows (up to which tied rows fill the last top_k places)."""
    assert dets.num_detections.sum() == sum(len(v) for v in expected.values())
    for k in range(classes.NUM_HOIS):
        d = dets.per_class[k]
        got = [(int(i), tuple(b.tolist()), float(s)) for i, b, s in zip(d.image, d.boxes, d.scores)]
        exp = expected.get(k, [])
        assert len(got) == len(exp), k
        assert sorted(s for *_, s in got) == sorted(s for *_, s in exp), k
        if len(exp) == top_k:  # a tie may straddle the cut: compare the rows above the lowest kept score
            low = min(s for *_, s in exp)
            got = [r for r in got if r[2] > low]
            exp = [r for r in exp if r[2] > low]
        assert collections.Counter(got) == collections.Counter(exp), k


@pytest.fixture(scope="module")
def hico_case(tmp_path_factory):
    rng = np.random.default_rng(1)
    hico, d, remaining = _random_hico(rng)
    tmp = tmp_path_factory.mktemp("hico")
    test_ids = rng.permutation(np.array(list(hico) + [99999]))  # list_test order differs from dict order
    index = {int(i): k for k, i in enumerate(test_ids)}
    return hico, d, remaining, _as_tin_outputs(hico, tmp), _as_tin_outputs(d, tmp, "d.pkl"), test_ids, index


@pytest.mark.parametrize("top_k,lis,nis", [(19999, True, True), (3, True, True), (19999, False, False)])
def test_hico_detections_match_loops(hico_case, top_k, lis, nis):
    hico, d, remaining, outputs, _, test_ids, index = hico_case
    # D from the same pickle: its element[6] laid out as cal_rank_600 does (all pairs, dict order), which the
    # original indexes skipping the fallback images: that only lines up if those images have no pairs there.
    d_same = {k: ([] if k in remaining else v) for k, v in hico.items()}
    expected = _expected_rows(ref.generate_hico_detection(hico, d_same, remaining, top_k=top_k, lis=lis, nis=nis),
                              index)
    per_image = pp.hico_pairs_from_tin(outputs, test_ids, fallback_image_ids=remaining)
    dets = pp.hico_detections(per_image, num_images=len(test_ids), top_k=top_k,
                              lis=pp.HICO_LIS if lis else None, nis=nis)
    _assert_same_detections(dets, expected, top_k)
    if top_k == 3:
        assert np.any(dets.num_detections == 3)
    if nis:  # the random data does exercise NIS
        plain = pp.hico_detections(per_image, num_images=len(test_ids), top_k=top_k, nis=False)
        assert plain.num_detections.sum() > dets.num_detections.sum()


def test_hico_separate_d_pickle(hico_case, tmp_path):
    hico, d, remaining, outputs, d_outputs, test_ids, index = hico_case
    expected = _expected_rows(ref.generate_hico_detection(hico, d, remaining), index)
    per_image = pp.hico_pairs_from_tin(outputs, test_ids, fallback_image_ids=remaining, d_outputs=d_outputs)
    dets = pp.hico_detections(per_image, num_images=len(test_ids))
    _assert_same_detections(dets, expected, pp.HICO_TOP_K)
    # fallback images keep their own D scores
    some = next(k for k in remaining if hico[k])
    row = [p.binary for p, k in zip(per_image, hico) if k == some][0]
    np.testing.assert_array_equal(row, np.stack([p[6] for p in hico[some]]))

    # a D pickle with pairs on the fallback images, or a different pair count, cannot be aligned
    with pytest.raises(ValueError, match="fallback"):
        pp.hico_pairs_from_tin(outputs, test_ids, fallback_image_ids=remaining, d_outputs=outputs)
    moved = dict(d_outputs)
    a, b = [k for k, v in moved.items() if len(v.object_class)][:2]
    va, vb = moved[a], moved[b]
    moved[a] = va._replace(**{f: np.concatenate([getattr(va, f), getattr(vb, f)[:1]]) for f in va._fields})
    moved[b] = vb._replace(**{f: getattr(vb, f)[1:] for f in vb._fields})
    with pytest.raises(ValueError, match="different orders"):
        pp.hico_pairs_from_tin(outputs, test_ids, fallback_image_ids=remaining, d_outputs=moved)


def _one_image(binary, cls=57, fallback=False, scores=None):
    n = len(binary)
    s = np.full((n, classes.NUM_HOIS), 0.5) if scores is None else scores
    boxes = np.tile([[0.0, 0.0, 10.0, 10.0]], (n, 1))
    return pp.HicoImagePairs(0, boxes, boxes + 1, np.full(n, cls), s, np.full(n, 0.9), np.full(n, 0.9),
                             np.asarray(binary, np.float64), fallback)


def test_nis_drop_conditions_at_thresholds():
    chair = classes.HOI_RANGE_BY_OBJECT[57]
    no_inter = classes.NO_INTERACTION_HOI_BY_OBJECT[57]
    # (P_inter, P_noninter) against thr_no = 0.75 and thr_in = 0.25 (exact in float32): strict on both sides
    binary = [[0.125, 0.875], [0.25, 0.875], [0.125, 0.75], [0.0, 1.0]]
    dropped = [True, False, False, True]
    dets = pp.hico_detections([_one_image(binary)], num_images=1, nis_thresholds=(0.75, 0.25), nis_overrides={})
    for k in range(chair[0], chair[1] + 1):
        n = len(dets.per_class[k])
        assert n == (len(binary) if k == no_inter else dropped.count(False)), k
    # the chair override (0.85, 0.2) beats the defaults; other classes use them
    dets = pp.hico_detections([_one_image([[0.15, 0.86]])], num_images=1)
    assert len(dets.per_class[chair[0]]) == 0
    dets = pp.hico_detections([_one_image([[0.15, 0.86]], cls=3)], num_images=1)
    assert len(dets.per_class[classes.HOI_RANGE_BY_OBJECT[3][0]]) == 1
    # fallback images are exempt unless asked otherwise
    img = _one_image([[0.0, 1.0]], fallback=True)
    assert pp.hico_detections([img], num_images=1).num_detections.sum() == chair[1] - chair[0] + 1
    assert pp.hico_detections([img], num_images=1, exempt_fallback_images=False).num_detections.sum() == 1
    # D scores are rounded to float32 (cal_rank_600's arrays), then compared in float64: 0.85 becomes
    # 0.8500000238 > 0.85, so the pair is dropped for the chair's thr_no = 0.85, as in the original
    assert pp.hico_detections([_one_image([[0.0, 0.85]])], num_images=1).num_detections.sum() == 1


def test_hico_scores_top_k_and_tie_order():
    s = np.zeros((3, classes.NUM_HOIS))
    k0 = classes.HOI_RANGE_BY_OBJECT[57][0]
    s[:, k0] = [0.5, 0.25, 0.5]
    img = _one_image(np.zeros((3, 2)), scores=s)._replace(human_score=np.array([0.0, 0.5, 1.0]),
                                                         human_boxes=np.array([[0, 0, 1, 1], [0, 0, 2, 2],
                                                                               [0, 0, 3.5, 3.5]], float))
    dets = pp.hico_detections([img], num_images=1, lis=None)
    np.testing.assert_array_equal(dets.per_class[k0].scores, [0.5, 0.5, 0.25])
    # equal scores: the later pair first (reversed stable order); boxes rounded half away from zero
    np.testing.assert_array_equal(dets.per_class[k0].boxes[:, :4], [[0, 0, 4, 4], [0, 0, 1, 1], [0, 0, 2, 2]])
    dets = pp.hico_detections([img], num_images=1)
    l = pp.lis_weight(np.array([0.0, 0.5, 1.0, 0.9]))
    np.testing.assert_array_equal(np.sort(dets.per_class[k0].scores)[::-1],
                                  np.sort([0.5 * l[0] * l[3], 0.25 * l[1] * l[3], 0.5 * l[2] * l[3]])[::-1])
    assert len(pp.hico_detections([img], num_images=1, top_k=2).per_class[k0]) == 2
    assert pp.hico_detections([img], num_images=1, top_k=2).num_detections.max() == 2


def test_read_tin_test_pickle_errors(tmp_path):
    path = tmp_path / "bad.pkl"
    with open(path, "wb") as f:
        pickle.dump({5: [[np.zeros(4), np.zeros(4), 0, np.zeros(600), 0.5, 0.5, np.zeros(2)]]}, f, protocol=2)
    with pytest.raises(DataFormatError, match="image 5 pair 0: obj_class"):
        pp.read_tin_test_pickle(path)
    with open(path, "wb") as f:
        pickle.dump({5: [[np.zeros(4), np.zeros(4), 1, np.zeros(599), 0.5, 0.5, np.zeros(2)]]}, f, protocol=2)
    with pytest.raises(DataFormatError, match="cls_prob_HO should have 600"):
        pp.read_tin_test_pickle(path)
    empty = pp.TinImageOutput(*(np.zeros((0,) + shape) for shape in [(4,), (4,), (), (600,), (), (), (2,)]))
    with pytest.raises(ValueError, match="not in list_test"):
        pp.hico_pairs_from_tin({7: empty}, [1, 2])


# --------------------------------------------------------------------------------------------------
# V-COCO
# --------------------------------------------------------------------------------------------------


VCOCO_CLASSES_USED = np.array([1, 1, 33, 43, 44, 32, 74, 41, 57, 2, 64, 68, 30, 47, 39, 38, 3, 18, 80])


def _random_vcoco(rng, n_humans=220):
    levels = np.float32([0.0, 0.1, 0.25, 0.5, 0.75, 1.0])
    test, test_d = [], []
    for t in range(n_humans):
        m = int(rng.integers(0, 7))
        r = dict(image_id=int(rng.integers(1, 40)),
                 person_box=rng.integers(0, 50, 4).astype(np.float32),
                 H_det=np.float32(rng.choice([0.6, 0.7, 0.95, 1.0])),
                 H_Score=[rng.choice(levels, (1, 29)).astype(np.float32)],
                 binary_score=[rng.choice(np.float32([0.0, 1e-5, 0.001, 0.3, 0.8, 0.85, 0.9, 1.0]), 2)
                               for _ in range(m)],
                 object_box=[rng.integers(0, 50, 4).astype(np.float32) for _ in range(m)],
                 object_class=[int(rng.choice(VCOCO_CLASSES_USED)) if rng.random() < 0.8 else
                               int(rng.integers(1, 81)) for _ in range(m)],
                 O_det=[np.float32(rng.choice([0.4, 0.5, 0.55, 0.9])) for _ in range(m)],
                 HO_Score=[[rng.choice(levels, (1, 29)).astype(np.float32)] for _ in range(m)])
        test.append(r)
        test_d.append(dict(binary_score=[rng.choice(np.float32([0.0, 1e-5, 0.001, 0.8, 0.9, 1.0]), 2)
                                         for _ in range(m)]))
    return test, test_d


def _vsrl_equal(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a["image_id"] == b["image_id"]
        np.testing.assert_array_equal(a["person_box"], b["person_box"])
        keys = {k for k in b if k.endswith("_agent")} | {
            k for k in b if k in ref.ACTION_DIC_INV.values() and k not in ("walk", "smile", "run", "stand")}
        assert set(a) - {"image_id", "person_box"} == keys
        for k in keys:
            if k.endswith("_agent"):
                assert a[k] == float(b[k]), k
            else:
                np.testing.assert_array_equal(a[k], b[k].astype(np.float64), err_msg=k)


@pytest.mark.parametrize("prior_flag", [3, 1, 0])
def test_vcoco_generate_pkl_matches_loops(prior_flag):
    rng = np.random.default_rng(2)
    test, test_d = _random_vcoco(rng)
    prior_mask = rng.choice(np.float32([0.0, 0.5, 1.0]), (29, 81))
    theirs = ref.generate_pkl(test_d, [dict(r, HO_Score=[[h[0].copy()] for h in r["HO_Score"]]) for r in test],
                              prior_mask, ref.ACTION_DIC_INV, (6, 6, 7, 0), prior_flag)
    ours = pp.vcoco_detections(pp.vcoco_pairs_from_tin(test, test_d), prior_flag=prior_flag, prior_mask=prior_mask)
    _vsrl_equal(detections_to_vsrl(ours), theirs)
    roles = np.array([v[4] for det in detections_to_vsrl(ours) for k, v in det.items()
                      if not k.endswith("_agent") and k not in ("image_id", "person_box")])
    assert np.sum(roles == 0) > 100 and np.sum(roles > 0) > 100


def test_vcoco_prior_mask_none_is_ones():
    rng = np.random.default_rng(3)
    test, test_d = _random_vcoco(rng, 60)
    humans = pp.vcoco_pairs_from_tin(test, test_d)
    a = detections_to_vsrl(pp.vcoco_detections(humans, prior_mask=None))
    b = detections_to_vsrl(pp.vcoco_detections(humans, prior_mask=np.ones((29, 81), np.float32)))
    _vsrl_equal(a, b)
    with pytest.raises(ValueError, match="wrong"):
        pp.vcoco_pairs_from_tin(test, [dict(binary_score=[]) for _ in test])
    with pytest.raises(ValueError, match="prior_mask"):
        pp.vcoco_detections(humans, prior_mask=np.ones((29, 80)))


def _hand_human(d_knife=(0.5, 0.5)):
    """A human with a person (object 0) and a knife (object 1)."""
    ho = np.zeros((2, 29), np.float32)
    ho[:, 25] = [0.75, 0.5]    # hold_obj: the person scores higher
    ho[:, 2] = [0.9, 0.75]     # cut_instr: apply_prior zeroes the person's
    ho[:, 4] = [0.9, 0.5]      # cut_obj: never a person
    h = np.zeros(29, np.float32)
    h[27] = 0.625              # stand
    return pp.VcocoHumanPairs(7, np.float32([0, 0, 9, 9]), np.float32(0.8), h,
                              np.float32([[1, 1, 5, 5], [2, 2, 3, 3]]), np.array([1, 44]), np.float32([0.9, 0.5]),
                              ho, np.array([[0.5, 0.5], d_knife]))  # float64: exact at the thresholds


def test_vcoco_hand_case():
    lh = pp.lis_weight([np.float32(0.8)], pp.VCOCO_LIS)[0]  # the float32 detection score, in float64
    lo = 6 / (1 + np.float32(pp.E) ** (6 - 7 * np.float32([0.9, 0.5])))  # float32, as the original
    # float32's error bound: 0.9 and e rounded to float32 (eps32/2 each; e^t = exp(t ln e32),
    # ln e32 = 1 +- eps32/2), 6 - 6.3 cancels (the bound follows 6.3, not -0.3), pow's error
    x = Bounded.rounded([0.9, 0.5])
    p = ((6 - 7 * x) * Bounded(1.0, EPS32 / 2)).apply(np.exp, lambda lo_, hi: np.exp(hi))
    want = Bounded([6 / (1 + math.exp(6 - 6.3)), 6 / (1 + math.exp(6 - 3.5))], (6 / (1 + p)).err)
    assert_within(lo, want)
    det, = pp.vcoco_detections([_hand_human()], prior_flag=1)
    assert det.image_id == 7
    assert det.agent_scores["stand"] == lh * np.float32(0.625)
    assert det.agent_scores["cut"] == lh * (np.float32(0.75) * lo[1])  # max(cut_instr, cut_obj) of the knife
    assert det.agent_scores["hold"] == lh * (np.float32(0.75) * lo[0])  # agent: the person counts
    np.testing.assert_array_equal(det.role_boxes[("hold", "obj")], [np.nan] * 4 + [0.0])
    np.testing.assert_array_equal(det.role_boxes[("cut", "instr")], [2, 2, 3, 3, lh * (np.float32(0.75) * lo[1])])
    np.testing.assert_array_equal(det.role_boxes[("ski", "instr")], [np.nan] * 4 + [0.0])  # zero score
    det, = pp.vcoco_detections([_hand_human()], prior_flag=1, person_object_suppression=False)
    np.testing.assert_array_equal(det.role_boxes[("hold", "obj")], [1, 1, 5, 5, lh * (np.float32(0.75) * lo[0])])
    # knife thresholds [thr_in, thr_no] = [0.001, 0.8]: strict on both sides
    for d, empty in [((0.0005, 0.9), True), ((0.001, 0.9), False), ((0.0005, 0.8), False)]:
        det, = pp.vcoco_detections([_hand_human(d)], prior_flag=1)
        assert np.isnan(det.role_boxes[("cut", "instr")][0]) == empty, d
        assert det.agent_scores["cut"] == lh * (np.float32(0.75) * lo[1])  # NIS leaves agents alone
    det, = pp.vcoco_detections([_hand_human((0.0005, 0.9))], prior_flag=1, nis=False)
    assert not np.isnan(det.role_boxes[("cut", "instr")][0])
    # a human without objects is skipped
    assert pp.vcoco_detections([_hand_human()._replace(object_class=np.zeros(0, int))]) == []


def test_apply_prior_table_matches_rules():
    rng = np.random.default_rng(4)
    for c in range(1, 81):
        pred = rng.random((1, 1, 29)).astype(np.float32) + 0.1
        want = ref.apply_prior(c, pred.copy())[0, 0]
        got = pp.apply_vcoco_prior(pred[0], [c])[0]
        np.testing.assert_array_equal(got, want)


def test_read_vcoco_test_pickle(tmp_path):
    test, test_d = _random_vcoco(np.random.default_rng(5), 20)
    for name, data in (("s.pkl", test), ("d.pkl", test_d)):
        with open(tmp_path / name, "wb") as f:
            pickle.dump(data, f, protocol=2)
    got = pp.read_vcoco_test_pickle(tmp_path / "s.pkl", tmp_path / "d.pkl")
    want = pp.vcoco_pairs_from_tin(test, test_d)
    _vsrl_equal(detections_to_vsrl(pp.vcoco_detections(got)), detections_to_vsrl(pp.vcoco_detections(want)))
    with pytest.raises(DataFormatError, match="not a TIN V-COCO test list"):
        with open(tmp_path / "bad.pkl", "wb") as f:
            pickle.dump([{"image_id": 1}], f, protocol=2)
        pp.read_vcoco_test_pickle(tmp_path / "bad.pkl")
