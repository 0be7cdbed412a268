"""The pattern painters against what they replace: ``cv2.line`` (thickness 1, LINE_8) for every
limb, clipped or not, and numpy's slicing for the box masks. Three painters of one geometry
(``spatial.pattern_geometry``'s integers): the compiled host painter (``raster``), and the
array painter of the train step (``painting``) in numpy and jitted in JAX."""

from __future__ import annotations

import cv2
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tin_jax.data import painting, raster, spatial

SIZE = 64
PAINTERS = ("raster", "numpy", "jax")
_jax_paint = jax.jit(lambda g: painting.paint_patterns(g, xp=jnp))


def _paint(painter: str, geometry: np.ndarray) -> np.ndarray:
    if painter == "raster":
        return spatial.paint_geometry_uint8(geometry, SIZE)
    if painter == "numpy":
        return np.concatenate([painting.paint_patterns(g) for g in np.array_split(geometry, 8)])
    return np.concatenate([np.asarray(_jax_paint(g)) for g in np.array_split(geometry, 8)])


def _ends(g, n, spread):
    """Segment ends: inside the canvas, on its border, just outside and far outside."""
    kind = g.integers(0, 4, (n, 4))
    inside = g.integers(0, SIZE, (n, 4))
    border = g.choice([0, SIZE - 1], (n, 4))
    near = g.integers(-3, SIZE + 3, (n, 4))
    far = g.integers(-spread, spread, (n, 4))
    return np.choose(kind, [inside, border, near, far])


def _segments(spread):
    g = np.random.default_rng(spread)
    ends = _ends(g, 4000, spread)
    ends[:50, 2:] = ends[:50, :2]  # single points
    ends[50:100, 3] = ends[50:100, 1]  # horizontal
    ends[100:150, 2] = ends[100:150, 0]  # vertical
    d = g.integers(-SIZE, SIZE, 50)
    ends[150:200, 2:] = ends[150:200, :2] + d[:, None]  # diagonals
    return ends


@pytest.mark.parametrize("spread", [SIZE, 10 * SIZE, 10**6])
def test_lines_equal_cv2_line(spread):
    ends = _segments(spread)
    got = np.zeros((len(ends), SIZE, SIZE), np.uint8)
    want = np.zeros_like(got)
    for i, (x1, y1, x2, y2) in enumerate(ends.tolist()):
        level = 1 + i % 250
        raster.draw_line(got[i], x1, y1, x2, y2, np.uint8(level))
        cv2.line(want[i], (x1, y1), (x2, y2), level)
    bad = [i for i in range(len(ends)) if not np.array_equal(got[i], want[i])]
    assert not bad, [ends[i].tolist() for i in bad[:5]]
    clipped = ((ends < 0) | (ends >= SIZE)).any(axis=1)
    assert clipped.sum() > 1000 and (~clipped).sum() > 300  # both kinds were drawn
    assert (want[clipped].reshape(clipped.sum(), -1).max(axis=1) > 0).sum() > 100  # and some show


@pytest.mark.parametrize("painter", PAINTERS)
def test_limbs_of_the_geometry_equal_cv2_line(painter):
    """Each segment as one limb of a geometry row (clipped by ``raster.clip_line``), painted."""
    ends = np.concatenate([_segments(s) for s in (SIZE, 10**6)])
    slot = np.arange(len(ends)) % len(spatial.LIMBS)  # every limb slot, at its own level
    geometry = np.zeros((len(ends), spatial.GEOMETRY_LEN), np.int16)
    want = np.zeros((len(ends), SIZE, SIZE), np.uint8)
    for i, (x1, y1, x2, y2) in enumerate(ends.tolist()):
        visible, *clipped = raster.clip_line(x1, y1, x2, y2, SIZE)
        o = spatial.FIRST_LIMB + spatial.LIMB_FIELDS * slot[i]
        geometry[i, o:o + 5] = (visible, *clipped) if visible else 0
        cv2.line(want[i], (x1, y1), (x2, y2), int(spatial.LIMB_LEVELS_U8[slot[i]]))
    got = _paint(painter, geometry)
    bad = np.flatnonzero((got[..., 2] != want).reshape(len(ends), -1).any(axis=1))
    assert not bad.size, ends[bad[:5]].tolist()
    assert not got[..., :2].any()
    assert (geometry[:, spatial.FIRST_LIMB::spatial.LIMB_FIELDS] == 0).all(axis=1).sum() > 500  # some invisible


@pytest.mark.parametrize("painter", PAINTERS)
def test_boxes_follow_python_slicing(painter):
    g = np.random.default_rng(0)
    boxes = g.integers(-2 * SIZE, 2 * SIZE, (3000, 4))
    geometry = np.zeros((len(boxes), spatial.GEOMETRY_LEN), np.int16)
    joints = np.zeros((len(boxes), 18, 2), np.int32)
    drawable = np.zeros(len(boxes), bool)
    raster.fill_geometry(geometry, boxes, boxes[::-1].copy(), joints, drawable,
                         np.zeros((0, 2), np.intp), SIZE)
    out = _paint(painter, geometry)
    level, fill = spatial.BOX_LEVEL, spatial.NO_POSE_LEVEL
    for i, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        want = np.zeros((SIZE, SIZE), np.uint8)
        want[y1:y2 + 1, x1:x2 + 1] = level
        assert np.array_equal(out[i, :, :, 0], want), (x1, y1, x2, y2)
        assert np.array_equal(out[i, :, :, 2], want // level * fill)  # no pose: the fill level
        x1, y1, x2, y2 = boxes[len(boxes) - 1 - i].tolist()
        want = np.zeros((SIZE, SIZE), np.uint8)
        want[y1:y2 + 1, x1:x2 + 1] = level
        assert np.array_equal(out[i, :, :, 1], want)


@pytest.mark.parametrize("painter", PAINTERS)
def test_later_limbs_overwrite_earlier_ones(painter):
    geometry = np.zeros((1, spatial.GEOMETRY_LEN), np.int16)
    o = spatial.FIRST_LIMB + spatial.LIMB_FIELDS * np.arange(3)
    geometry[0, o[0]:o[0] + 5] = (1, 5, 5, 40, 5)
    geometry[0, o[2]:o[2] + 5] = (1, 20, 5, 40, 5)  # covers part of the first
    geometry[0, o[1]:o[1] + 5] = (0, 0, 0, 63, 63)  # not visible: not drawn
    row = _paint(painter, geometry)[0, 5, :, 2]
    first, third = spatial.LIMB_LEVELS_U8[[0, 2]]
    assert (row[5:20] == first).all() and (row[20:41] == third).all() and row[41:].sum() == 0
    assert _paint(painter, geometry)[0].sum() == row.sum()


@pytest.mark.parametrize("painter", PAINTERS)
def test_all_zero_geometry_is_an_empty_pattern(painter):
    """The pipeline pads the pair slots of an example with zeros."""
    assert not _paint(painter, np.zeros((3, spatial.GEOMETRY_LEN), np.int16)).any()


@pytest.mark.parametrize("painter", ["numpy", "jax"])
def test_painted_patterns_equal_the_original(painter):
    """Whole patterns from random boxes and poses (drawable or not) through the array painter
    against ``interaction_patterns`` (the host painter), itself checked against a transcription of the original
    (tests/test_spatial.py)."""
    g = np.random.default_rng(7)
    n = 400
    xy = g.uniform(0, 600, (n, 2, 2))
    wh = g.uniform(1, 300, (n, 2, 2))
    hb, ob = (np.concatenate([xy[:, k], xy[:, k] + wh[:, k]], axis=1) for k in range(2))
    poses = np.zeros((n, 51))
    poses[:, 0::3] = g.uniform(-200, 800, (n, 17))
    poses[:, 1::3] = g.uniform(-200, 800, (n, 17))
    drawable = g.random(n) < 0.8
    want = spatial.interaction_patterns(hb, ob, [p if d else None for p, d in zip(poses, drawable)])
    got = _paint(painter, spatial.pattern_geometry(hb, ob, poses, drawable))
    np.testing.assert_array_equal(got.astype(np.float32) / np.float32(spatial.PATTERN_SCALE), want)
