"""The interaction patterns' integers and pixels on the host, compiled: box masks and limbs.

Two steps, each one compiled loop over the pairs (drawn with one ``cv2`` call per limb and
numpy masks the patterns took 1.6-1.8 ms per 80-pair example on a 2-core AMD EPYC VM, with
these loops 0.45-0.58 ms, the geometry's floats in numpy included):

* ``fill_geometry``: each pair's integer geometry (layout at ``spatial.GEOMETRY_LEN``), what
  the training pipeline ships: a box's mask bounds are ``[y1:y2 + 1, x1:x2 + 1]`` by Python's
  slice rules (a negative bound counts from the end, then both are clamped to the canvas); a
  limb's ends are moved onto the canvas by OpenCV's ``clipLine`` (Cohen-Sutherland on int64,
  the intersection ``x += (a - y) * (x2 - x1) / (y2 - y1)`` in double, truncated), so a
  clipped limb is the walk between the clipped ends, not the unclipped line's pixels;
* ``paint_geometry``: the pixels of that geometry, what ``cv2.line`` (thickness 1,
  ``LINE_8``) and numpy's slicing give: a limb is OpenCV's ``LineIterator`` walk (8-connected
  Bresenham, drawn left to right): with ``dx >= dy`` the error starts at ``dx - 2 dy``, every
  step moves along the major axis and, where the error was negative, one pixel along the
  minor one. The train step paints the same geometry with array operations
  (``tin_jax.data.painting``).

``tests/test_raster.py`` checks both against ``cv2.line`` and numpy slicing;
``tests/test_spatial.py`` the whole patterns against a transcription of the original.
"""
from __future__ import annotations

import numba
import numpy as np

from tin_jax.data.spatial import FIRST_LIMB, LIMB_FIELDS, NO_POSE_FILL


@numba.njit(cache=True, nogil=True)
def _slice_bounds(start, stop, n):
    """``slice(start, stop).indices(n)`` for step 1, as (start, stop)."""
    if start < 0:
        start += n
    if stop < 0:
        stop += n
    return min(max(start, 0), n), min(max(stop, 0), n)


@numba.njit(cache=True, nogil=True)
def _outcode(x, y, right, bottom):
    return (x < 0) + (x > right) * 2 + (y < 0) * 4 + (y > bottom) * 8


@numba.njit(cache=True, nogil=True)
def _shift(a, b, c):
    """OpenCV's ``(int64)((double)a * b / c)``: double arithmetic, truncated toward zero
    (``c`` is never 0: an end is only moved onto an edge the other end is not beyond)."""
    return np.int64(np.float64(a) * np.float64(b) / np.float64(c))


@numba.njit(cache=True, nogil=True)
def clip_line(x1, y1, x2, y2, size):
    """OpenCV's ``clipLine`` onto the ``size`` x ``size`` canvas: (visible, x1, y1, x2, y2),
    the ends moved onto the canvas's edges (unchanged when both are inside)."""
    right = bottom = np.int64(size - 1)
    x1, y1, x2, y2 = np.int64(x1), np.int64(y1), np.int64(x2), np.int64(y2)
    c1 = _outcode(x1, y1, right, bottom)
    c2 = _outcode(x2, y2, right, bottom)
    if (c1 | c2) != 0 and (c1 & c2) == 0:
        if c1 & 12:
            a = 0 if c1 < 8 else bottom
            x1 += _shift(a - y1, x2 - x1, y2 - y1)
            y1 = a
            c1 = (x1 < 0) + (x1 > right) * 2
        if c2 & 12:
            a = 0 if c2 < 8 else bottom
            x2 += _shift(a - y2, x2 - x1, y2 - y1)
            y2 = a
            c2 = (x2 < 0) + (x2 > right) * 2
        if (c1 & c2) == 0 and (c1 | c2) != 0:
            if c1:
                a = 0 if c1 == 1 else right
                y1 += _shift(a - x1, y2 - y1, x2 - x1)
                x1 = a
                c1 = 0
            if c2:
                a = 0 if c2 == 1 else right
                y2 += _shift(a - x2, y2 - y1, x2 - x1)
                x2 = a
                c2 = 0
    return (c1 | c2) == 0, x1, y1, x2, y2


@numba.njit(cache=True, nogil=True)
def walk_line(canvas, x1, y1, x2, y2, level):
    """The pixels of ``LineIterator`` from (x1, y1) to (x2, y2), both on the 2-D ``canvas``,
    set to ``level``. ``tin_jax.data.painting`` has the same walk in closed form."""
    dx, dy = x2 - x1, y2 - y1
    if dx < 0:  # left to right
        dx, dy, x1, y1 = -dx, -dy, x2, y2
    step_y = 1
    if dy < 0:
        dy, step_y = -dy, -1
    vertical = dy > dx
    if vertical:
        dx, dy = dy, dx
    err = dx - 2 * dy
    x, y = x1, y1
    for _ in range(dx + 1):
        canvas[y, x] = level
        minor = err < 0
        err += -2 * dy + (2 * dx if minor else 0)
        if vertical:
            y += step_y
            x += 1 if minor else 0
        else:
            x += 1
            y += step_y if minor else 0


@numba.njit(cache=True, nogil=True)
def draw_line(canvas, x1, y1, x2, y2, level):
    """``cv2.line(canvas, (x1, y1), (x2, y2), level)`` on a 2-D square canvas: thickness 1,
    LINE_8."""
    visible, x1, y1, x2, y2 = clip_line(x1, y1, x2, y2, canvas.shape[0])
    if visible:
        walk_line(canvas, x1, y1, x2, y2, level)


@numba.njit(cache=True, nogil=True)
def _mask_bounds(out, box, size):
    """``out`` = x0, y0, x1, y1: the pixels ``[y1:y2 + 1, x1:x2 + 1]`` of the integer ``box``
    selects, by Python's slicing, as a half-open range of columns and of rows."""
    out[0], out[2] = _slice_bounds(box[0], box[2] + 1, size)
    out[1], out[3] = _slice_bounds(box[1], box[3] + 1, size)


@numba.njit(cache=True, nogil=True)
def fill_geometry(out, human, objects, joints, drawable, limb_ends, size):
    """Writes each pair's pattern geometry (layout at ``spatial.GEOMETRY_LEN``) into ``out`` (N, G)
    int16, zeros on entry: the box masks' bounds by Python's slicing of the integer pattern
    boxes ``human`` / ``objects`` (N, 4) int64, and where ``drawable`` the limbs
    ``limb_ends`` (L, 2) between ``joints`` (N, 18, 2) int32, clipped as ``cv2.line`` clips."""
    for i in range(out.shape[0]):
        _mask_bounds(out[i, 0:4], human[i], size)
        _mask_bounds(out[i, 4:8], objects[i], size)
        if not drawable[i]:
            out[i, NO_POSE_FILL] = 1
            continue
        for k in range(limb_ends.shape[0]):
            a, b = limb_ends[k, 0], limb_ends[k, 1]
            visible, x1, y1, x2, y2 = clip_line(joints[i, a, 0], joints[i, a, 1], joints[i, b, 0],
                                                joints[i, b, 1], size)
            if visible:
                o = FIRST_LIMB + LIMB_FIELDS * k
                out[i, o], out[i, o + 1], out[i, o + 2], out[i, o + 3], out[i, o + 4] = 1, x1, y1, x2, y2


@numba.njit(cache=True, nogil=True)
def _paint_boxes(flat, rows, human, objects, fill, box_level, no_pose_level):
    """One pattern's ch0 / ch1, the human / object box (mask bounds x0, y0, x1, y1) at
    ``box_level``, and ch2, the human box at ``no_pose_level`` where ``fill``; ``flat`` is the
    pattern's S * S * 3 bytes as 8-byte words, zeros on entry. A row is one of four (inside
    the human box's rows or not, the object's or not): the scratch ``rows`` (4, S * 3) gets
    those, then each pattern row is a copy, word by word (byte by byte took 5x longer)."""
    size = rows.shape[1] // 3
    rows[:] = 0
    for x in range(human[0], human[2]):
        for r in (2, 3):
            rows[r, 3 * x] = box_level
            rows[r, 3 * x + 2] = no_pose_level if fill else 0
    for x in range(objects[0], objects[2]):
        for r in (1, 3):
            rows[r, 3 * x + 1] = box_level
    words = rows.view(np.uint64)  # a row in 8-byte words (3 * S is a multiple of 8)
    width = words.shape[1]
    for y in range(size):
        r = (2 if human[1] <= y < human[3] else 0) | (1 if objects[1] <= y < objects[3] else 0)
        if r:
            start = y * width
            for j in range(width):
                flat[start + j] = words[r, j]


@numba.njit(cache=True, nogil=True)
def paint_geometry(out, geometry, limb_levels, box_level, no_pose_level):
    """Paints ``out`` (N, S, S, 3) uint8, zeros on entry, S a multiple of 8, from the pairs'
    ``geometry`` (N, G) (layout at ``spatial.GEOMETRY_LEN``): ch0 / ch1 the human / object box, ch2
    the visible limbs at ``limb_levels``, in order (later ones overwrite), or the human box at
    ``no_pose_level`` where the geometry asks for the no-pose fill."""
    n, size = out.shape[0], out.shape[1]
    flat = out.reshape(n, size * size * 3).view(np.uint64)
    rows = np.empty((4, size * 3), np.uint8)
    for i in range(n):
        g = geometry[i]
        _paint_boxes(flat[i], rows, g[0:4], g[4:8], g[NO_POSE_FILL] != 0, box_level, no_pose_level)
        for k in range(limb_levels.shape[0]):
            o = FIRST_LIMB + LIMB_FIELDS * k
            if g[o]:
                walk_line(out[i, :, :, 2], g[o + 1], g[o + 2], g[o + 3], g[o + 4], limb_levels[k])
