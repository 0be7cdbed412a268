"""Interaction patterns painted from their integer geometry by array operations: numpy, or
jax.numpy inside the jitted train step and inference forward pass.

The input pipeline ships each pair's pattern as ``spatial.pattern_geometry`` (188 bytes)
rather than as pixels (12,288 bytes): a pipeline that shipped no patterns at all built 1.37x
as many examples per second (``workers=2``, 2-core VM, alternating runs), while painting
them on the host costs ~0.1 ms of an example's ~3.4 ms: the rest was copying ~1 MB of
patterns per example through tf.data and the input workers. Every float of
a pattern is settled on the host; painting is integer arithmetic, the same pixels as
``raster.paint_geometry`` (``cv2.line``'s walk), in closed form:

A limb drawn left to right (ends swapped if ``x2 < x1``) along its major axis of length
``L = max(|dx|, |dy|)`` visits one pixel at each step ``k = 0 .. L``; after ``k`` steps the
walk's error ``L - 2 m (k + 1) + 2 L o`` (``m`` the minor length) has moved it
``o(k) = ceil((2 m k - L) / (2 L)) = floor((2 m k + L - 1) / (2 L))`` pixels along the minor
axis (the smallest ``o`` with ``L (2 o + 1) >= 2 m k``, by induction over the walk). A pixel
is the limb's if its major coordinate is a step ``k`` in ``[0, L]`` and its minor coordinate
is the start's moved by ``o(k)``. Limbs are drawn in order, so a pixel takes the level of
the last limb through it: the pixels of the walks are scattered with a maximum of the limb
numbers (per pixel comparisons of every limb, ``L x S x S``, took 5 ms a pair compiled at
XLA's backend optimisation level 0, which the tests use; the scatter 0.07 ms).
"""

from __future__ import annotations

import numpy as np

from tin_jax.data import encoding, spatial

# the grey level of each limb number (from 1; 0: no limb)
_LIMB_NUMBER_LEVELS = np.concatenate([[0], spatial.LIMB_LEVELS_U8]).astype(np.uint8)


def float_patterns(geometry, xp=np):
    """The float32 interaction patterns (the original's values, exactly) of ``(...,
    GEOMETRY_LEN)`` geometry: what the network reads, painted where it runs."""
    return encoding.decode_patterns(paint_patterns(geometry, xp=xp), xp=xp)


def paint_patterns(geometry, size: int = 64, xp=np):
    """``(..., GEOMETRY_LEN)`` integer geometry -> ``(..., size, size, 3)`` uint8 patterns,
    encoded as ``spatial.render_patterns_uint8`` paints them (``encoding.decode_patterns``
    gives the float values). ``xp``: numpy or jax.numpy."""
    lead = geometry.shape[:-1]
    g = geometry.reshape(-1, geometry.shape[-1]).astype(xp.int32)  # (M, G)
    m = g.shape[0]
    grid = xp.arange(size, dtype=xp.int32)
    per = lambda a: a[..., None]  # a value against the grid's pixels

    def mask(x0, y0, x1, y1):  # (M, S, S): rows y0 <= y < y1 and columns x0 <= x < x1
        rows = (grid >= per(y0)) & (grid < per(y1))
        cols = (grid >= per(x0)) & (grid < per(x1))
        return rows[:, :, None] & cols[:, None, :]

    human = mask(*(g[:, i] for i in range(4)))
    objects = mask(*(g[:, i] for i in range(4, 8)))
    fill = per(per(g[:, spatial.NO_POSE_FILL] != 0)) & human

    num_limbs = len(spatial.LIMBS)
    limbs = g[:, spatial.FIRST_LIMB:].reshape(m, num_limbs, spatial.LIMB_FIELDS)
    visible, x1, y1, x2, y2 = (limbs[..., j] for j in range(spatial.LIMB_FIELDS))  # (M, L)
    flip = x2 < x1  # left to right
    xa, ya = xp.where(flip, x2, x1), xp.where(flip, y2, y1)
    dx, dy = xp.abs(x2 - x1), xp.where(flip, y1 - y2, y2 - y1)
    step = per(xp.where(dy < 0, -1, 1))
    tall = per(xp.abs(dy) > dx)
    major, minor = per(xp.maximum(dx, xp.abs(dy))), per(xp.minimum(dx, xp.abs(dy)))
    length = xp.maximum(major, 1)  # L, or 1 for a single pixel (whose o(0) is 0)
    k = grid  # (M, L, S): the walk's steps
    o = (2 * minor * k + length - 1) // (2 * length)
    x = per(xa) + xp.where(tall, o, k)
    y = per(ya) + step * xp.where(tall, k, o)
    on = (per(visible) != 0) & (k <= major)
    pixel = xp.where(on, y * size + x, size * size)  # off the walk: a spare pixel, dropped below

    # the last limb through a pixel (limbs are drawn in order): the largest limb number
    # (from 1) that visits it, 0 for none
    number = xp.broadcast_to(xp.arange(1, num_limbs + 1, dtype=xp.int32)[:, None], pixel.shape)
    row = xp.broadcast_to(xp.arange(m)[:, None, None], pixel.shape)
    last = _scatter_max(xp.zeros((m, size * size + 1), xp.int32), (row, pixel), number, xp)
    last = last[:, :-1].reshape(m, size, size)
    levels = xp.asarray(_LIMB_NUMBER_LEVELS)
    pose = xp.where(last > 0, levels[last], xp.where(fill, np.uint8(spatial.NO_POSE_LEVEL), np.uint8(0)))
    box = lambda on_box: xp.where(on_box, np.uint8(spatial.BOX_LEVEL), np.uint8(0))
    out = xp.stack([box(human), box(objects), pose.astype(xp.uint8)], axis=-1)
    return out.reshape(lead + (size, size, 3))


def _scatter_max(target, index, values, xp):
    """``target[index] = max(target[index], values)``, repeated indices included."""
    if xp is np:
        np.maximum.at(target, index, values)
        return target
    return target.at[index].max(values)
