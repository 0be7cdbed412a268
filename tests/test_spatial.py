"""Spatial interaction patterns and box jitter vs a line-by-line transcription of the original.

The reference (``tests/reference/tin_original.py``) shares no code with ``tin_jax``.
"""

import random

import numpy as np
import pytest

from tin_jax.data import jitter, spatial

try:  # rootdir on sys.path (``python -m pytest`` / tests as a package)
    from tests.reference import tin_original as ref
except ImportError:  # plain ``pytest``: rootdir-less "prepend" import mode puts tests/ on sys.path
    from reference import tin_original as ref

SIZE = 64


# --------------------------------------------------------------------------------------------
# Random case generation
# --------------------------------------------------------------------------------------------

def _coord(rng, v, mode):
    """Quantise a coordinate: integer, half-integer, quarter or arbitrary float."""
    if mode == "int":
        return float(np.floor(v))
    if mode == "half":
        return float(np.floor(v * 2) / 2)
    if mode == "quarter":
        return float(np.floor(v * 4) / 4)
    return float(v)


def _box(rng, x, y, w, h, mode):
    x1 = _coord(rng, x, mode)
    y1 = _coord(rng, y, mode)
    x2 = max(x1, _coord(rng, x + w, mode))
    y2 = max(y1, _coord(rng, y + h, mode))
    return np.array([x1, y1, x2, y2], dtype=np.float64)


def _random_pair(rng):
    """A (human, object) box pair covering many geometric situations."""
    mode = rng.choice(["int", "int", "half", "quarter", "float"])
    kind = rng.choice(["free", "free", "nested", "disjoint", "tie", "tiny", "pow2", "same"])
    if kind == "free":
        # Independent boxes, aspect ratios from very tall to very wide; overlap by chance.
        def one():
            w = float(np.exp(rng.uniform(0, 6)))
            h = float(np.exp(rng.uniform(0, 6)))
            return _box(rng, rng.uniform(0, 300), rng.uniform(0, 300), w, h, mode)
        return one(), one()
    if kind == "nested":
        w, h = rng.uniform(20, 400, size=2)
        x, y = rng.uniform(0, 300, size=2)
        outer = _box(rng, x, y, w, h, mode)
        fx = np.sort(rng.uniform(0, 1, size=2))
        fy = np.sort(rng.uniform(0, 1, size=2))
        inner = _box(rng, x + fx[0] * w, y + fy[0] * h, (fx[1] - fx[0]) * w, (fy[1] - fy[0]) * h,
                     mode)
        inner = np.array([max(inner[0], outer[0]), max(inner[1], outer[1]),
                          min(inner[2], outer[2]), min(inner[3], outer[3])])
        inner[2] = max(inner[2], inner[0])
        inner[3] = max(inner[3], inner[1])
        return (outer, inner) if rng.random() < 0.5 else (inner, outer)
    if kind == "disjoint":
        a = _box(rng, rng.uniform(0, 100), rng.uniform(0, 100), *rng.uniform(1, 150, size=2), mode)
        gap = rng.uniform(0, 300)
        w, h = rng.uniform(1, 150, size=2)
        if rng.random() < 0.5:
            b = _box(rng, a[2] + gap, rng.uniform(0, 200), w, h, mode)
        else:
            b = _box(rng, rng.uniform(0, 200), a[3] + gap, w, h, mode)
        return (a, b) if rng.random() < 0.5 else (b, a)
    if kind == "tie":
        # Union is an exact square (h == w -> the original's "width" branch).
        side = int(rng.integers(1, 400))
        x0, y0 = int(rng.integers(0, 300)), int(rng.integers(0, 300))
        xa = x0 + int(rng.integers(0, side))
        yb = y0 + int(rng.integers(0, side))
        a = np.array([x0, y0, x0 + side - 1, y0 + int(rng.integers(0, side))], dtype=np.float64)
        b = np.array([xa, yb, xa + int(rng.integers(0, x0 + side - xa)), y0 + side - 1],
                     dtype=np.float64)
        if rng.random() < 0.5:  # transpose the configuration
            a, b = a[[1, 0, 3, 2]], b[[1, 0, 3, 2]]
        return (a, b) if rng.random() < 0.5 else (b, a)
    if kind == "tiny":
        # 1-2 pixel boxes (x2 - x1 in {0, 0.5, 1, 2}), next to a tiny or a big box.
        d = rng.choice([0.0, 0.5, 1.0, 2.0], size=2)
        x, y = float(rng.integers(0, 300)), float(rng.integers(0, 300))
        a = np.array([x, y, x + d[0], y + d[1]])
        if rng.random() < 0.5:
            e = rng.choice([0.0, 0.5, 1.0, 2.0], size=2)
            bx, by = x + float(rng.integers(-3, 4)), y + float(rng.integers(-3, 4))
            b = np.array([bx, by, bx + e[0], by + e[1]])
        else:
            b = _box(rng, rng.uniform(0, 300), rng.uniform(0, 300), *rng.uniform(50, 500, size=2),
                     mode)
        return (a, b) if rng.random() < 0.5 else (b, a)
    if kind == "pow2":
        # Union side a power of two (32..256) with integer/half coordinates: exact .5 values in
        # the pattern boxes (np.round half-even) and in the joint mapping (py2 round).
        side = int(rng.choice([16, 32, 64, 128, 256]))
        x0, y0 = float(rng.integers(0, 200)), float(rng.integers(0, 200))
        a = np.array([x0, y0, x0 + side - 1, y0 + side - 1])
        other = int(rng.integers(1, side + 1))
        if rng.random() < 0.5:
            a[rng.choice([2, 3])] -= float(rng.integers(0, side // 2))
        b = np.array([x0 + float(rng.integers(0, side - other + 1)),
                      y0 + float(rng.integers(0, side)), 0.0, 0.0])
        b[2] = b[0] + other - 1
        b[3] = min(y0 + side - 1, b[1] + float(rng.integers(0, side)))
        if mode in ("half", "quarter"):
            b[1] += 0.5
            b[3] = max(b[3], b[1])
        return (a, b) if rng.random() < 0.5 else (b, a)
    # "same": identical boxes
    a = _box(rng, rng.uniform(0, 300), rng.uniform(0, 300), *rng.uniform(0, 300, size=2), mode)
    return a, a.copy()


def _random_pose(rng, human):
    """None, a wrong-length pose, or a 51-float list with joints in and around the human box."""
    r = rng.random()
    if r < 0.12:
        return None
    if r < 0.22:
        choice = rng.integers(0, 5)
        if choice == 0:
            return []
        if choice == 1:  # 17 triples (len 17): the original draws no skeleton
            return [[float(v) for v in rng.uniform(0, 100, 3)] for _ in range(17)]
        return [float(v) for v in rng.uniform(0, 300, size=int(rng.choice([50, 52, 54, 34])))]
    x1, y1, x2, y2 = human
    w, h = x2 - x1 + 1, y2 - y1 + 1
    spread = rng.choice([0.0, 0.3, 1.0, 3.0])  # how far outside the box joints may fall
    u = rng.uniform(-spread, 1 + spread, size=(17, 2))
    xs = x1 + u[:, 0] * w
    ys = y1 + u[:, 1] * h
    q = rng.choice(["float", "int", "half", "quarter"])
    if q == "int":
        xs, ys = np.floor(xs), np.floor(ys)
    elif q == "half":
        xs, ys = np.floor(xs * 2) / 2, np.floor(ys * 2) / 2
    elif q == "quarter":
        xs, ys = np.floor(xs * 4) / 4, np.floor(ys * 4) / 4
    if rng.random() < 0.15:  # a few joints very far away, incl. negative image coordinates
        k = rng.integers(0, 17, size=3)
        xs[k] = rng.uniform(-2000, 2000, size=3)
        ys[k] = rng.uniform(-2000, 2000, size=3)
    scores = rng.uniform(0, 1, 17)
    scores[rng.random(17) < 0.2] = 0.0  # confidence must be ignored
    pose = np.stack([xs, ys, scores], axis=1).reshape(-1)
    if rng.random() < 0.2:  # python ints where integral, like some pickles
        return [int(v) if float(v).is_integer() else float(v) for v in pose]
    return [float(v) for v in pose]


def _cases(seed, n):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        h, o = _random_pair(rng)
        out.append((h, o, _random_pose(rng, h)))
    return out


N_CASES = 2500


@pytest.fixture(scope="module")
def cases():
    return _cases(1234, N_CASES)


@pytest.fixture(scope="module")
def ref_patterns(cases):
    return [ref.Get_next_sp_with_pose(h.copy(), o.copy(), p) for h, o, p in cases]


# --------------------------------------------------------------------------------------------
# (a) interaction_pattern == original, pixel for pixel
# --------------------------------------------------------------------------------------------

def test_case_generator_covers_branches(cases):
    tall = wide = tie = 0
    for h, o, _ in cases:
        hh = max(h[3], o[3]) - min(h[1], o[1]) + 1
        ww = max(h[2], o[2]) - min(h[0], o[0]) + 1
        tall += hh > ww
        wide += hh < ww
        tie += hh == ww
    assert min(tall, wide) > 500 and tie > 100
    kinds = [type(p).__name__ if p is None or len(p) == 51 else "bad" for _, _, p in cases]
    assert kinds.count("NoneType") > 150 and kinds.count("bad") > 150
    assert kinds.count("list") > 1500


def test_interaction_pattern_matches_original(cases, ref_patterns):
    bad = []
    for i, ((h, o, p), want) in enumerate(zip(cases, ref_patterns)):
        got = spatial.interaction_pattern(h, o, p)
        assert got.dtype == np.float32 and got.shape == (SIZE, SIZE, 3)
        if not np.array_equal(got, want):
            bad.append(i)
    assert not bad, f"{len(bad)} mismatches, first cases: {[cases[i] for i in bad[:3]]}"


def test_interaction_pattern_accepts_numpy_pose(cases, ref_patterns):
    n = 0
    for (h, o, p), want in zip(cases, ref_patterns):
        if p is None or len(p) != 51:
            continue
        got = spatial.interaction_pattern(list(h), tuple(o), np.asarray(p, dtype=np.float64))
        assert np.array_equal(got, want)
        n += 1
        if n >= 300:
            break


def test_pattern_exercises_rounding_quirks(cases):
    """The random cases do hit exact .5 values, so the rounding modes are really tested."""
    half_boxes = half_joints = 0
    for h, o, p in cases:
        # joint values before py2 round, computed as in the original get_skeleton
        H, _ = ref.bbox_trans(h.copy(), o.copy(), None)
        if p is None or len(p) != 51:
            continue
        width, height = h[2] - h[0] + 1, h[3] - h[1] + 1
        pw, ph = H[2] - H[0] + 1, H[3] - H[1] + 1
        for j in range(17):
            vx = (p[3 * j] - h[0]) / float(width) * pw + H[0]
            vy = (p[3 * j + 1] - h[1]) / float(height) * ph + H[1]
            half_joints += (vx % 1 == 0.5 and np.round(vx) != ref.py2_round(vx))
            half_joints += (vy % 1 == 0.5 and np.round(vy) != ref.py2_round(vy))
    for h, o, _ in cases[:800]:
        ux1, uy1 = min(h[0], o[0]), min(h[1], o[1])
        L = max(max(h[3], o[3]) - uy1 + 1, max(h[2], o[2]) - ux1 + 1)
        half_boxes += any(((b - [ux1, uy1, ux1, uy1]) * SIZE / L % 1 == 0.5).any() for b in (h, o))
    assert half_joints > 50
    assert half_boxes > 20


def test_py2_round():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994, -0.49999999999999994,
                  2.4999999999999996, 3.0, -3.0, 1e15 + 0.5, 0.0, -0.0, 7.25, -7.75])
    want = [ref.py2_round(v) for v in x]
    assert np.array_equal(spatial.py2_round(x), want)
    assert list(spatial.py2_round(np.array([0.5, 1.5, 2.5, -2.5]))) == [1, 2, 3, -3]


def test_joint_rounding_and_neck_truncation():
    """Human box == union == 64x64 square: pattern coords equal image coords, so exact halves
    reach the rounding, and negative coordinates are not clamped."""
    human = np.array([0.0, 0.0, 63.0, 63.0])
    obj = np.array([10.0, 10.0, 20.0, 20.0])
    H, O = spatial.pattern_boxes(human, obj)
    assert np.array_equal(H, [0, 0, 63, 63]) and np.array_equal(O, [10, 10, 20, 20])
    pose = np.zeros((17, 3))
    pose[:, 0] = np.arange(17) + 0.5          # x = 0.5 .. 16.5 -> 1 .. 17 (half away from 0)
    pose[:, 1] = -(np.arange(17) + 0.5)       # y = -0.5 .. -16.5 -> -1 .. -17 (no lower clamp)
    pose[3, 0] = 500.0                        # -> clamped to 63
    pose[5, :2] = [-3.2, 10.0]                # shoulders: neck x = trunc((-3 + 0) / 2) = -1
    pose[6, :2] = [0.0, 13.0]                 #            neck y = trunc((10 + 13) / 2) = 11
    joints = spatial.joint_pattern_coords(human[None], pose.reshape(1, 51), H[None])[0]
    assert joints[0].tolist() == [1, -1]
    assert joints[2].tolist() == [3, -3]
    assert joints[3].tolist() == [63, -4]
    assert joints[17].tolist() == [-1, 11]
    want = ref.Get_next_sp_with_pose(human, obj, [float(v) for v in pose.reshape(-1)])
    assert np.array_equal(spatial.interaction_pattern(human, obj, pose.reshape(-1)), want)


def test_no_pose_and_wrong_length_pose_fill_human_box():
    human = np.array([5.0, 10.0, 40.0, 120.0])
    obj = np.array([30.0, 50.0, 90.0, 80.0])
    base = spatial.interaction_pattern(human, obj, None)
    assert set(np.unique(base[..., 2])) == {0.0, np.float32(0.05)}
    assert np.array_equal(base[..., 2] > 0, base[..., 0] > 0)
    for pose in ([], [1.0] * 50, [1.0] * 52, [[1.0, 2.0, 3.0]] * 17):
        got = spatial.interaction_pattern(human, obj, pose)
        assert np.array_equal(got, base)
        assert np.array_equal(got, ref.Get_next_sp_with_pose(human, obj, pose))
    with pytest.raises(ValueError):
        spatial.interaction_pattern(human, obj, np.zeros((17, 3)))


def test_skeleton_uses_limb_colours():
    human = np.array([100.0, 50.0, 199.0, 249.0])
    obj = np.array([150.0, 60.0, 260.0, 140.0])
    rng = np.random.default_rng(0)
    pose = np.concatenate([rng.uniform([100, 50, 0], [199, 249, 1], size=(17, 3))]).reshape(-1)
    got = spatial.interaction_pattern(human, obj, pose)
    vals = set(np.unique(got[..., 2]).tolist()) - {0.0}
    assert vals <= set(np.float32(spatial.LIMB_COLORS).tolist()) and len(vals) > 5


# --------------------------------------------------------------------------------------------
# (b) batched == single
# --------------------------------------------------------------------------------------------

def test_batched_equals_single(cases, ref_patterns):
    sub = cases[:400]
    hs = np.stack([c[0] for c in sub])
    os_ = np.stack([c[1] for c in sub])
    poses = [c[2] for c in sub]
    got = spatial.interaction_patterns(hs, os_, poses)
    assert got.shape == (len(sub), SIZE, SIZE, 3) and got.dtype == np.float32
    for i, (h, o, p) in enumerate(sub):
        assert np.array_equal(got[i], spatial.interaction_pattern(h, o, p))
        assert np.array_equal(got[i], ref_patterns[i])


def test_batched_pose_array_and_none():
    cs = [c for c in _cases(7, 300) if c[2] is not None and len(c[2]) == 51][:100]
    hs = np.stack([c[0] for c in cs])
    os_ = np.stack([c[1] for c in cs])
    arr = np.array([c[2] for c in cs], dtype=np.float64)
    got = spatial.interaction_patterns(hs, os_, arr)
    for i, (h, o, p) in enumerate(cs):
        assert np.array_equal(got[i], ref.Get_next_sp_with_pose(h, o, p))
    none = spatial.interaction_patterns(hs, os_, None)
    for i, (h, o, _) in enumerate(cs):
        assert np.array_equal(none[i], ref.Get_next_sp_with_pose(h, o, None))
    assert spatial.interaction_patterns(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0, 64, 64, 3)
    with pytest.raises(ValueError):
        spatial.interaction_patterns(hs, os_, [None])


# --------------------------------------------------------------------------------------------
# (c) +1-pixel IoU
# --------------------------------------------------------------------------------------------

def _random_boxes(rng, n):
    xy = rng.uniform(-50, 500, size=(n, 2))
    wh = np.exp(rng.uniform(-1, 6, size=(n, 2)))
    b = np.concatenate([xy, xy + wh], axis=1)
    ints = rng.random(n) < 0.4
    b[ints] = np.floor(b[ints])
    return b


def test_box_iou_plus1_matches_original():
    rng = np.random.default_rng(3)
    a = _random_boxes(rng, 3000)
    b = _random_boxes(rng, 3000)
    b[:300] = a[:300]                       # identical
    b[300:600] = a[300:600] + rng.uniform(-5, 5, size=(300, 4))  # heavily overlapping
    want = np.array([ref.bb_IOU(x, y) for x, y in zip(a, b)])
    assert np.array_equal(jitter.box_iou_plus1(a, b), want)
    for x, y, w in zip(a[:500], b[:500], want[:500]):
        got = jitter.box_iou_plus1(x, y)
        assert np.ndim(got) == 0 and got == w
        assert jitter.box_iou_plus1(list(x), tuple(y)) == w
    pw = jitter.pairwise_box_iou_plus1(a[:40], b[:30])
    assert pw.shape == (40, 30)
    assert np.array_equal(pw, [[ref.bb_IOU(x, y) for y in b[:30]] for x in a[:40]])
    assert jitter.box_iou_plus1([0, 0, 9, 9], [10, 10, 19, 19]) == 0.0
    assert jitter.box_iou_plus1([0, 0, 9, 9], [0, 0, 9, 9]) == 1.0


# --------------------------------------------------------------------------------------------
# (d) Augmented_box
# --------------------------------------------------------------------------------------------

def _ref_randint(gen):
    """Adapt a numpy Generator to the reference's ``randint(a, b)`` (b inclusive)."""
    return lambda a, b: int(gen.integers(a, b + 1))


def _jitter_cases(seed, n):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        H, W = int(rng.integers(20, 900)), int(rng.integers(20, 900))
        kind = rng.choice(["free", "border", "tiny", "full"])
        if kind == "free":
            x1, y1 = rng.uniform(0, W - 2), rng.uniform(0, H - 2)
            x2, y2 = rng.uniform(x1, W - 1), rng.uniform(y1, H - 1)
        elif kind == "border":
            w, h = rng.uniform(1, W - 1), rng.uniform(1, H - 1)
            x1 = 0.0 if rng.random() < 0.5 else W - 1 - w
            y1 = 0.0 if rng.random() < 0.5 else H - 1 - h
            x2, y2 = x1 + w, y1 + h
        elif kind == "tiny":
            x1, y1 = float(rng.integers(0, W - 3)), float(rng.integers(0, H - 3))
            x2, y2 = x1 + float(rng.choice([0, 0.5, 1, 2])), y1 + float(rng.choice([0, 0.5, 1, 2]))
        else:
            x1, y1, x2, y2 = 0.0, 0.0, float(W - 1), float(H - 1)
        box = [x1, y1, x2, y2]
        if rng.random() < 0.4:
            box = [float(np.floor(v)) for v in box]
        count = int(rng.choice([0, 1, 3, 5, 7, 15, 15, 200]))
        out.append((box, (H, W, 3), count))
    return out


def test_augment_box_matches_original_stream():
    exhausted = 0
    for i, (box, shape, count) in enumerate(_jitter_cases(11, 300)):
        g_ref, g_new = np.random.default_rng(i), np.random.default_rng(i)
        want = ref.Augmented_box(list(box), shape, 0, count, rand=_ref_randint(g_ref))
        got = jitter.augment_box(box, shape, count, g_new)
        assert got.shape == (len(want), 4)
        assert np.array_equal(got, want[:, 1:]), (box, shape, count)
        # both consumed exactly the same number of draws
        assert g_ref.integers(0, 2**62) == g_new.integers(0, 2**62)
        exhausted += len(want) < count + 1
    assert exhausted > 10  # the 151-try limit is exercised


def test_augment_box_try_limit_is_151():
    calls = []

    class Counting:
        def __init__(self, gen):
            self.gen = gen

        def integers(self, a, b):
            calls.append((a, b))
            return self.gen.integers(a, b)

    box = [100.0, 100.0, 199.0, 299.0]
    out = jitter.augment_box(box, (1000, 1000), 10_000, Counting(np.random.default_rng(0)))
    assert len(calls) == 3 * 151
    assert calls[:3] == [(-10, 11), (-199, 200), (-99, 100)]
    g = np.random.default_rng(0)
    want = ref.Augmented_box(box, (1000, 1000), 0, 10_000, rand=_ref_randint(g))
    assert np.array_equal(out, want[:, 1:])
    # break_flag=False analogue: no limit, stops only when `count` boxes were accepted
    out = jitter.augment_box(box, (1000, 1000), 300, np.random.default_rng(1), max_tries=None)
    assert len(out) == 301


def test_augment_box_properties():
    for i, (box, shape, count) in enumerate(_jitter_cases(12, 300)):
        out = jitter.augment_box(box, shape, count, np.random.default_rng(100 + i))
        assert out.dtype == np.float64 and out.ndim == 2 and out.shape[1] == 4
        assert 1 <= len(out) <= count + 1
        assert np.array_equal(out[0], box)
        H, W = shape[:2]
        assert (out[:, 0] >= 0).all() and (out[:, 1] >= 0).all()
        assert (out[:, 2] <= W - 1).all() and (out[:, 3] <= H - 1).all()
        if len(out) > 1:
            assert (jitter.box_iou_plus1(np.asarray(box)[None], out[1:]) > 0.7).all()
        if count <= 15 and box[2] - box[0] > 5 and box[3] - box[1] > 5:
            assert len(out) == count + 1  # reasonable boxes essentially never exhaust 151 tries


def test_reference_with_random_module_has_same_properties():
    r = random.Random(5)
    box = [50.0, 60.0, 150.0, 300.0]
    want = ref.Augmented_box(box, (480, 640, 3), 0, 15, rand=r)
    assert want.shape == (16, 5) and (want[:, 0] == 0).all()
    assert all(ref.bb_IOU(box, b[1:]) > 0.7 for b in want[1:])


def test_augment_pairs_matches_original():
    for i, (box, shape, count) in enumerate(_jitter_cases(13, 150)):
        # an object box in the same image: a large one or a tiny one
        H, W = shape[:2]
        obox = [W * 0.1, H * 0.2, W * 0.6, H * 0.9] if i % 2 else [0.0, 0.0, 3.0, 1.0]
        g_ref, g_new = np.random.default_rng(i), np.random.default_rng(i)
        rh = ref.Augmented_box(box, shape, 0, count, rand=_ref_randint(g_ref))
        ro = ref.Augmented_box(obox, shape, 0, count, rand=_ref_randint(g_ref))
        k = min(len(rh), len(ro))
        hb, ob = jitter.augment_pairs(box, obox, shape, count, g_new)
        assert hb.shape == ob.shape == (k, 4)
        assert np.array_equal(hb, rh[:k, 1:]) and np.array_equal(ob, ro[:k, 1:])


def test_split_augment_budget():
    assert jitter.split_augment_budget(1) == [15]
    assert jitter.split_augment_budget(2) == [7, 8]
    assert jitter.split_augment_budget(4) == [3, 3, 3, 6]
    assert jitter.split_augment_budget(5) == [3, 3, 3, 3, 3]
    assert sum(jitter.split_augment_budget(3)) == 15


def test_augment_box_rejects_invalid_box():
    with pytest.raises(ValueError):
        jitter.augment_box([10, 10, 5, 20], (100, 100), 3, np.random.default_rng(0))


def test_float32_boxes_give_the_originals_patterns_at_half_pixel_ties():
    """TIN computes a pattern in its boxes' precision: float32 for the pickles' detections
    (which is what the records hold). On boxes of a half-pixel grid, where ties are common, the
    float32 path equals the original's transcription on every case, while the same boxes in
    float64 round some ties the other way (so the check can tell the two apart)."""
    from tests.reference.tin_original import bbox_trans
    rng = np.random.default_rng(0)
    differ64 = 0
    for grid in (0.5, 1.0):
        for _ in range(1500):
            boxes = []
            for _ in range(2):
                x1, y1 = rng.integers(0, 400, 2) * grid
                w, h = rng.integers(1, 300, 2) * grid
                boxes.append(np.array([x1, y1, x1 + w, y1 + h], np.float32))
            want = bbox_trans(boxes[0], boxes[1], None)
            got = spatial.pattern_boxes(*boxes)
            np.testing.assert_array_equal(got[0], want[0], err_msg=str(boxes))
            np.testing.assert_array_equal(got[1], want[1], err_msg=str(boxes))
            got64 = spatial.pattern_boxes(*(b.astype(np.float64) for b in boxes))
            differ64 += not (np.array_equal(got64[0], want[0]) and np.array_equal(got64[1], want[1]))
    assert differ64 > 0
