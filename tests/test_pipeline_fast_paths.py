"""The input pipeline's fast paths against the plain ones they replace, bit for bit:
uint8 pattern rendering vs ``encode_patterns(interaction_patterns(...))`` (itself checked
against the original in test_spatial.py), and ``jitter.IntegerStream`` vs scalar
``Generator.integers`` calls."""

from __future__ import annotations

import numpy as np
import pytest

from tests.reference import tin_original as ref
from tin_jax.data import jitter, sampling, spatial


def _boxes(g, n, size):
    x1, y1 = g.uniform(-0.3 * size, size, n), g.uniform(-0.3 * size, size, n)
    w, h = g.choice([0.0, 0.5, 1.0, 2.0, 10.0, size], n), g.choice([0.0, 0.5, 1.0, 2.0, 10.0, size], n)
    b = np.stack([x1, y1, x1 + w, y1 + h], 1)
    half = g.random(n) < 0.5  # half-pixel grids: the rounding ties
    b[half] = np.floor(b[half]) + 0.5 * g.integers(0, 2, (half.sum(), 4))
    b[:, 2:] = np.maximum(b[:, 2:], b[:, :2])
    return b


def _poses(g, boxes):
    n = len(boxes)
    w = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
    h = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
    p = np.zeros((n, 17, 3))
    # joints inside, on and far outside the box (negative pattern coordinates: clipped lines)
    p[..., 0] = boxes[:, :1] + g.choice([-3.0, -0.5, 0.0, 0.3, 0.7, 1.0, 2.5], (n, 17)) * w
    p[..., 1] = boxes[:, 1:2] + g.choice([-3.0, -0.5, 0.0, 0.3, 0.7, 1.0, 2.5], (n, 17)) * h
    p[..., 2] = g.random((n, 17))
    return p.reshape(n, 51)


@pytest.mark.parametrize("seed", range(6))
def test_uint8_patterns_equal_encoded_float_patterns(seed):
    g = np.random.default_rng(seed)
    size = (640, 480)[seed % 2]
    n = 120
    hb, ob = _boxes(g, n, size), _boxes(g, n, size)
    hb[:5] = ob[:5]  # identical boxes: ties of the far edge
    hb[5:10, 2] = hb[5:10, 0] + (hb[5:10, 3] - hb[5:10, 1])  # square unions: tall/wide tie
    if seed % 3 == 0:
        hb, ob = hb.astype(np.float32), ob.astype(np.float32)
    arr = _poses(g, hb)
    kinds = g.integers(0, 5, n)  # None, a pose, a list pose, an empty list, 17 triples
    poses = [None if k == 0 else arr[i] if k == 1 else list(arr[i]) if k == 2 else
             [] if k == 3 else [list(t) for t in arr[i].reshape(17, 3)] for i, k in enumerate(kinds)]
    want = sampling.encode_patterns(spatial.interaction_patterns(hb, ob, poses))
    got = spatial.interaction_patterns_uint8(hb, ob, poses)
    assert got.dtype == np.uint8 and np.array_equal(got, want)
    drawable = np.array([p is not None and len(p) == 51 for p in poses])
    assert np.array_equal(spatial.render_patterns_uint8(hb, ob, arr, drawable), want)
    # and against the original's per-pair transcription, for a few
    for i in range(0, n, 7):
        orig = ref.Get_next_sp_with_pose(hb[i], ob[i], list(arr[i]) if drawable[i] else None)
        assert np.array_equal(got[i], sampling.encode_patterns(orig.astype(np.float32)))


def test_uint8_patterns_edge_cases():
    box = np.array([[10.0, 10.0, 50.0, 90.0]])
    assert spatial.interaction_patterns_uint8(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0, 64, 64, 3)
    no_pose = spatial.interaction_patterns_uint8(box, box, None)
    assert set(np.unique(no_pose[..., 2])) <= {0, 1} and set(np.unique(no_pose[..., 0])) <= {0, 20}
    far = np.tile([-1000.0, -1000.0, 0.5], 17)  # every joint far outside: all lines clipped
    got = spatial.interaction_patterns_uint8(box, box, [far])
    assert np.array_equal(got, sampling.encode_patterns(spatial.interaction_patterns(box, box, [far])))
    assert sampling.encode_patterns(got) is got  # already encoded: passed through


def test_integer_stream_equals_scalar_integers():
    for seed in range(60):
        g = np.random.default_rng(seed)
        spec = []
        for _ in range(int(g.integers(1, 1500))):
            kind = int(g.integers(0, 6))
            if kind == 0:  # one value: numpy draws nothing
                lo = int(g.integers(-5, 5))
                spec.append((lo, lo + 1))
            elif kind == 1:
                lo = -int(g.integers(0, 500))
                spec.append((lo, -lo + 1))
            elif kind == 2:  # huge ranges: Lemire's rejection loop runs
                lo = int(g.integers(-2**31, 0))
                spec.append((lo, lo + int(g.integers(2**31, 2**32 - 1))))
            elif kind == 3 and seed % 5 == 0:  # numpy's other paths: fallback to the generator
                spec.append((0, 2**32) if g.random() < 0.5 else (0, 2**40))
            else:
                spec.append((-10, 11))
        a, b = np.random.default_rng([seed, 1]), np.random.default_rng([seed, 1])
        if seed % 2:  # a buffered 32-bit half in the state
            a.integers(0, 7, dtype=np.uint32)
            b.integers(0, 7, dtype=np.uint32)
        want = [int(a.integers(lo, hi)) for lo, hi in spec]
        with jitter.IntegerStream(b, block=int(g.integers(1, 300))) as s:
            got = [s.integers(lo, hi) for lo, hi in spec]
        assert got == want
        assert a.bit_generator.state == b.bit_generator.state
        assert a.permutation(50).tolist() == b.permutation(50).tolist()


def test_augment_box_through_a_stream_equals_the_generator():
    for i in range(200):
        g = np.random.default_rng(i)
        box = _boxes(g, 1, 300)[0]
        shape = (int(g.integers(2, 400)), int(g.integers(2, 400)))
        count = int(g.choice([0, 1, 3, 15, 200]))
        a, b = np.random.default_rng(i), np.random.default_rng(i)
        want = [jitter.augment_box(box, shape, count, a) for _ in range(3)]
        with jitter.IntegerStream(b) as s:
            got = [jitter.augment_box(box, shape, count, s) for _ in range(3)]
        assert all(np.array_equal(x, y) for x, y in zip(got, want))
        assert a.bit_generator.state == b.bit_generator.state
