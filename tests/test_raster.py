"""The compiled pattern painter against what it replaces: ``cv2.line`` (thickness 1, LINE_8)
for every limb, clipped or not, and numpy's slicing for the box masks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tin_jax.data import raster

SIZE = 64


def _ends(g, n, spread):
    """Segment ends: inside the canvas, on its border, just outside and far outside."""
    kind = g.integers(0, 4, (n, 4))
    inside = g.integers(0, SIZE, (n, 4))
    border = g.choice([0, SIZE - 1], (n, 4))
    near = g.integers(-3, SIZE + 3, (n, 4))
    far = g.integers(-spread, spread, (n, 4))
    return np.choose(kind, [inside, border, near, far])


@pytest.mark.parametrize("spread", [SIZE, 10 * SIZE, 10**6])
def test_lines_equal_cv2_line(spread):
    g = np.random.default_rng(spread)
    ends = _ends(g, 4000, spread)
    ends[:50, 2:] = ends[:50, :2]  # single points
    ends[50:100, 3] = ends[50:100, 1]  # horizontal
    ends[100:150, 2] = ends[100:150, 0]  # vertical
    d = g.integers(-SIZE, SIZE, 50)
    ends[150:200, 2:] = ends[150:200, :2] + d[:, None]  # diagonals
    got = np.zeros((len(ends), SIZE, SIZE, 3), np.uint8)
    want = np.zeros_like(got)
    for i, (x1, y1, x2, y2) in enumerate(ends.tolist()):
        level = 1 + i % 250
        raster.draw_line(got, i, 2, x1, y1, x2, y2, np.uint8(level))
        canvas = np.zeros((SIZE, SIZE), np.uint8)
        cv2.line(canvas, (x1, y1), (x2, y2), level)
        want[i, :, :, 2] = canvas
    bad = [i for i in range(len(ends)) if not np.array_equal(got[i], want[i])]
    assert not bad, [ends[i].tolist() for i in bad[:5]]
    clipped = ((ends < 0) | (ends >= SIZE)).any(axis=1)
    assert clipped.sum() > 1000 and (~clipped).sum() > 300  # both kinds were drawn
    assert (want[clipped].reshape(clipped.sum(), -1).max(axis=1) > 0).sum() > 100  # and some show


def test_boxes_follow_python_slicing():
    g = np.random.default_rng(0)
    boxes = g.integers(-2 * SIZE, 2 * SIZE, (3000, 4))
    out = np.zeros((len(boxes), SIZE, SIZE, 3), np.uint8)
    joints = np.zeros((len(boxes), 18, 2), np.int32)
    drawable = np.zeros(len(boxes), bool)
    ends = np.zeros((0, 2), np.intp)
    raster.paint_patterns(out, boxes, boxes[::-1].copy(), joints, drawable, ends,
                          np.zeros(0, np.uint8), np.uint8(20), np.uint8(1))
    for i, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        want = np.zeros((SIZE, SIZE), np.uint8)
        want[y1:y2 + 1, x1:x2 + 1] = 20
        assert np.array_equal(out[i, :, :, 0], want), (x1, y1, x2, y2)
        assert np.array_equal(out[i, :, :, 2], want // 20)  # no pose: the fill level
        x1, y1, x2, y2 = boxes[len(boxes) - 1 - i].tolist()
        want = np.zeros((SIZE, SIZE), np.uint8)
        want[y1:y2 + 1, x1:x2 + 1] = 20
        assert np.array_equal(out[i, :, :, 1], want)


def test_later_limbs_overwrite_earlier_ones():
    out = np.zeros((1, SIZE, SIZE, 3), np.uint8)
    joints = np.zeros((1, 18, 2), np.int32)
    joints[0, 1], joints[0, 2], joints[0, 3] = (5, 5), (40, 5), (20, 5)
    ends = np.array([[1, 2], [3, 2]], np.intp)  # the second limb covers part of the first
    box = np.zeros((1, 4), np.int64)
    raster.paint_patterns(out, box, box, joints, np.ones(1, bool), ends, np.array([7, 9], np.uint8),
                          np.uint8(20), np.uint8(1))
    row = out[0, 5, :, 2]
    assert (row[5:20] == 7).all() and (row[20:41] == 9).all() and row[41:].sum() == 0
