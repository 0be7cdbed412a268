"""Spatial "interaction pattern" maps (TIN / iCAN style), bit-exact with the original code.

A pattern is a ``(size, size, 3)`` float32 map built from a human box, an object box and an
optional 17-keypoint pose (spec §4.3; original: ``lib/ult/ult.py`` ``bbox_trans``,
``Get_next_sp_with_pose``, ``get_skeleton``, ``draw_relation``):

* ch0 = 1 inside the human box, ch1 = 1 inside the object box, both expressed in the frame of
  their union box, rescaled so the union's long side spans ``size`` pixels and the short side is
  centred;
* ch2 = the pose map: 17 one-pixel ``cv2.line`` limbs with grey levels 0.15, 0.20, ..., 0.95
  drawn in the human's pattern box, or 0.05 inside the human box when no usable pose is given.

The floats are settled in numpy (:func:`pattern_geometry`: integer boxes, clipped limb ends);
the pixels are painted from those integers, on the host by :mod:`tin_jax.data.raster`
(compiled; ``cv2.line``'s exact walk) or with array operations on the device by
:mod:`tin_jax.data.painting` (what training and inference do).
Everything reproduces the original pixel for pixel (tested against a line-by-line transcription
in ``tests/reference/tin_original.py``).  Quirks kept on purpose:

1. Boxes are 0-based inclusive ``[x1, y1, x2, y2]`` in *float* pixels (widths are ``x2-x1+1``).
2. The union is treated as "tall" only if ``h > w`` strictly; ties use the "wide" branch.
3. In the pattern frame, the box whose far edge along the long side is larger gets that edge
   forced to ``size-1``; on a tie (e.g. both boxes touch the union edge) it is the *object*.
4. Box corners are rounded with ``np.round`` (round-half-to-even) and converted with ``int``;
   the box masks follow Python slice semantics ``[int(y1):int(y2)+1, int(x1):int(x2)+1]``.
5. Joints are mapped from the (unrounded, image-space) human box to the *rounded* human pattern
   box with Python 2 ``round`` (half away from zero), then ``min(size-1, .)``: there is **no
   lower clamp** (negative coordinates are passed to ``cv2.line``, which clips), and joints to
   the right / below are clamped to ``size-1`` (so far-away joints collapse onto the last
   row/column rather than being clipped by ``cv2``).
6. Keypoint confidences are **ignored** (every joint is drawn, even with score 0).
7. An 18th "neck" joint is ``(j5 + j6) / 2`` of the *integer* pattern coordinates of the two
   shoulders, truncated toward zero (``int32`` cast), so ``-3/2 -> -1``.
8. The 17 limbs are drawn in a fixed order and later limbs overwrite earlier ones.
9. A pose is only drawn if ``len(pose) == 51`` (17 x (x, y, score), flat).  ``None`` or any
   other length (e.g. an empty list, or a list of 17 triples) gives the 0.05-filled human box.
   A multi-dimensional ``np.ndarray`` pose (e.g. ``(17, 3)``) raises ``ValueError`` instead of
   silently losing the skeleton (the original would crash on an ndarray anyway).
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

from tin_jax.schema.body import NUM_JOINTS

__all__ = [
    "NUM_JOINTS",
    "LIMBS",
    "LIMB_COLORS",
    "NO_POSE_VALUE",
    "py2_round",
    "pattern_boxes",
    "joint_pattern_coords",
    "interaction_pattern",
    "interaction_patterns",
    "interaction_patterns_uint8",
    "render_patterns_uint8",
    "paint_geometry_uint8",
    "pattern_geometry",
    "interaction_geometry",
    "GEOMETRY_LEN",
    "PATTERN_SCALE",
]

#: Limbs as joint-index pairs (COCO keypoint order; index 17 = synthetic neck), in drawing order.
LIMBS = (
    (1, 3), (2, 4), (0, 1), (0, 2), (0, 17), (5, 17), (6, 17), (5, 7), (6, 8),
    (7, 9), (8, 10), (11, 17), (12, 17), (11, 13), (12, 14), (13, 15), (14, 16),
)
#: Grey level of each limb, same order as :data:`LIMBS` (Python floats, as passed to cv2).
LIMB_COLORS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55,
               0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
#: Value of ch2 inside the human box when there is no (usable) pose.
NO_POSE_VALUE = 0.05
#: Every pattern value is a multiple of 1/20 (boxes 1, no-pose fill 0.05, limbs 0.15..0.95):
#: the uint8 encoding stores ``v`` as ``k = rint(20 * v)``, and ``float32(k) / 20`` is ``v``.
PATTERN_SCALE = 20
#: The encoded grey levels: boxes, the no-pose fill, each limb (same order as :data:`LIMBS`).
BOX_LEVEL = PATTERN_SCALE
NO_POSE_LEVEL = int(np.rint(np.float32(NO_POSE_VALUE) * PATTERN_SCALE))
LIMB_LEVELS_U8 = np.array([np.rint(np.float32(c) * PATTERN_SCALE) for c in LIMB_COLORS], np.uint8)
_LIMB_ENDS = np.array(LIMBS, dtype=np.intp)  # (17, 2) joint indices

#: A pair's pattern geometry (:func:`pattern_geometry`), int16; all zeros is an empty pattern:
#:   [0:4]  the human box's mask: columns x0 <= x < x1, rows y0 <= y < y1 (on the canvas);
#:   [4:8]  the object box's mask, alike;
#:   [8]    1 where ch2 is the no-pose fill of the human box (no usable pose);
#:   [9 + 5 l : 14 + 5 l]  limb l (order of :data:`LIMBS`): visible (0/1), x1, y1, x2, y2,
#:          its ends already clipped onto the canvas as ``cv2.line`` clips them.
NO_POSE_FILL = 8
FIRST_LIMB = 9
LIMB_FIELDS = 5
GEOMETRY_LEN = FIRST_LIMB + LIMB_FIELDS * len(LIMBS)

PoseLike = Union[None, Sequence[float], np.ndarray]


def py2_round(x: np.ndarray) -> np.ndarray:
    """Python 2 ``round()``: to nearest integer, exact halves away from zero (float64 out).

    ``np.round`` rounds halves to even; ``floor(|x| + 0.5)`` is wrong for ``0.49999999999999994``.
    Here ``|x| - floor(|x|)`` is exact, so the comparison with 0.5 is exact too.
    """
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x)
    f = np.floor(a)
    r = f + (a - f >= 0.5)
    return np.copysign(r, x)


def _as_boxes(boxes, name: str) -> np.ndarray:
    """float32 boxes stay float32 (the original computes a pattern in the precision of its
    boxes: float32 for the pickles' detections, where .5 ties round differently than in
    float64); anything else becomes float64."""
    arr = np.asarray(boxes)
    arr = arr if arr.dtype == np.float32 else arr.astype(np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{name} must have shape (N, 4), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def _centre_minor_axis(b: np.ndarray, shift: np.ndarray, tall: np.ndarray) -> np.ndarray:
    """``b`` (minor, major layout) shifted along the minor axis, in float64.

    The original adds the shift as a list (``[shift, 0, shift, 0]``): in float64. Its tall
    branch adds in place (the sum goes back to the boxes' dtype), its wide branch rebinds
    (float64 stays): for float32 boxes the two round .5 ties differently, so both are kept.
    """
    out = b.astype(np.float64)
    out[:, [0, 2]] += shift.astype(np.float64)[:, None]
    return np.where(tall[:, None], out.astype(b.dtype).astype(np.float64), out)


def pattern_boxes(human_boxes, object_boxes, size: int = 64):
    """Human / object boxes in pattern coordinates (original ``bbox_trans``), vectorised.

    Args:
      human_boxes, object_boxes: ``(N, 4)`` (or ``(4,)``) 0-based ``[x1, y1, x2, y2]``.
      size: pattern side length.

    Returns:
      ``(H, O)`` float64 arrays of the same shape, already ``np.round``-ed (half to even),
      exactly as returned by the original.  The arithmetic follows the original expression by
      expression so that every intermediate float is identical.
    """
    single = np.ndim(human_boxes) == 1
    h = _as_boxes(np.atleast_2d(human_boxes), "human_boxes").copy()
    o = _as_boxes(np.atleast_2d(object_boxes), "object_boxes").copy()
    if h.shape != o.shape:
        raise ValueError(f"box arrays differ in shape: {h.shape} vs {o.shape}")
    s = size

    ux1 = np.minimum(h[:, 0], o[:, 0])
    uy1 = np.minimum(h[:, 1], o[:, 1])
    ux2 = np.maximum(h[:, 2], o[:, 2])
    uy2 = np.maximum(h[:, 3], o[:, 3])
    height = uy2 - uy1 + 1
    width = ux2 - ux1 + 1
    tall = height > width  # ties -> "width" branch

    # Shift the union's top-left corner to (0, 0).
    for b in (h, o):
        b[:, 0] -= ux1
        b[:, 2] -= ux1
        b[:, 1] -= uy1
        b[:, 3] -= uy1

    # Work in (minor, major) axes: for tall unions major = y, otherwise major = x.  The formulas
    # of the two original branches are identical up to this axis swap.
    long_side = np.where(tall, height, width)
    short_side = np.where(tall, width, height)

    def to_minor_major(b):
        # columns: minor1, major1, minor2, major2
        return np.where(tall[:, None], b, b[:, [1, 0, 3, 2]])

    def from_minor_major(b):
        return np.where(tall[:, None], b, b[:, [1, 0, 3, 2]])

    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = []
        for b in (to_minor_major(h), to_minor_major(o)):
            out = np.empty_like(b)
            out[:, 0] = 0 + s * b[:, 0] / long_side
            out[:, 1] = 0 + s * b[:, 1] / long_side
            out[:, 2] = (s * short_side / long_side - 1) - s * (short_side - 1 - b[:, 2]) / long_side
            out[:, 3] = (s - 1) - s * (long_side - 1 - b[:, 3]) / long_side
            scaled.append(out)
    hs, os_ = scaled

    # Union of the scaled boxes (before the edge snap below) along the minor axis.
    minor_max = np.maximum(hs[:, 2], os_[:, 2])
    # Snap the far edge along the major axis to size-1: human if strictly larger, else object.
    human_wins = hs[:, 3] > os_[:, 3]
    hs[:, 3] = np.where(human_wins, s - 1, hs[:, 3])
    os_[:, 3] = np.where(human_wins, os_[:, 3], s - 1)

    shift = s / 2 - (minor_max + 1) / 2
    hs, os_ = (_centre_minor_axis(b, shift, tall) for b in (hs, os_))

    H = np.round(from_minor_major(hs))
    O = np.round(from_minor_major(os_))
    if single:
        return H[0], O[0]
    return H, O


def _pose_is_drawable(pose: PoseLike) -> bool:
    """The original test ``pose != None and len(pose) == 51``."""
    if pose is None:
        return False
    if isinstance(pose, np.ndarray) and pose.ndim != 1:
        raise ValueError(
            f"pose must be a flat sequence of 51 floats (17 x (x, y, score)) or None; got an "
            f"array of shape {pose.shape} (flatten it explicitly if that is what you mean)")
    return len(pose) == 3 * NUM_JOINTS


def joint_pattern_coords(human_boxes, poses, human_pattern_boxes, size: int = 64) -> np.ndarray:
    """Integer pattern coordinates of the 17 joints plus the neck (original ``get_skeleton``).

    Args:
      human_boxes: ``(N, 4)`` human boxes in image coordinates (the possibly jittered box).
      poses: ``(N, 51)`` flat poses ``(x, y, score) * 17``; scores are ignored.
      human_pattern_boxes: ``(N, 4)`` rounded human boxes in pattern coordinates
        (first output of :func:`pattern_boxes`).

    Returns:
      ``(N, 18, 2)`` int32 ``(x, y)``; row 17 is the neck ``trunc((j5 + j6) / 2)``.
    """
    hb = _as_boxes(human_boxes, "human_boxes")
    hp = _as_boxes(human_pattern_boxes, "human_pattern_boxes")
    p = np.asarray(poses, dtype=np.float64).reshape(len(hb), NUM_JOINTS, 3)
    jx, jy = p[:, :, 0], p[:, :, 1]
    if not (np.all(np.isfinite(jx)) and np.all(np.isfinite(jy))):
        raise ValueError("pose joint coordinates must be finite")
    width = (hb[:, 2] - hb[:, 0] + 1)[:, None]
    height = (hb[:, 3] - hb[:, 1] + 1)[:, None]
    pattern_width = (hp[:, 2] - hp[:, 0] + 1)[:, None]
    pattern_height = (hp[:, 3] - hp[:, 1] + 1)[:, None]
    x_ratio = (jx - hb[:, 0:1]) / width
    y_ratio = (jy - hb[:, 1:2]) / height
    x = np.minimum(size - 1, py2_round(x_ratio * pattern_width + hp[:, 0:1]))
    y = np.minimum(size - 1, py2_round(y_ratio * pattern_height + hp[:, 1:2]))
    lo = np.iinfo(np.int32).min
    if np.any(x < lo) or np.any(y < lo):
        raise ValueError("pose joint far outside the human box: pattern coordinate below int32")
    joints = np.empty((len(hb), NUM_JOINTS + 1, 2), dtype=np.int32)
    joints[:, :NUM_JOINTS, 0] = x
    joints[:, :NUM_JOINTS, 1] = y
    neck = (joints[:, 5].astype(np.int64) + joints[:, 6]) / 2
    joints[:, NUM_JOINTS] = neck.astype(np.int32)  # truncation toward zero, as numpy's int cast
    return joints


def _check_pairs(human_boxes, object_boxes):
    h = _as_boxes(human_boxes, "human_boxes")
    o = _as_boxes(object_boxes, "object_boxes")
    if h.shape != o.shape:
        raise ValueError(f"box arrays differ in shape: {h.shape} vs {o.shape}")
    return h, o


def pattern_geometry(human_boxes, object_boxes, poses: np.ndarray, drawable: np.ndarray,
                     size: int = 64) -> np.ndarray:
    """The pairs' patterns as integers: (N, GEOMETRY_LEN) int16 (layout at ``GEOMETRY_LEN``).

    Every float of a pattern (the box rounding, the joints' mapping) is settled here, on the
    host in numpy; what is left to paint the pixels, from these integers, is exact integer
    arithmetic: :func:`render_patterns_uint8` paints on the host, ``painting.paint_patterns``
    with array operations on the device. 188 bytes a pair instead of a pattern's 12,288.

    Args:
      human_boxes, object_boxes: ``(N, 4)`` image boxes.
      poses: ``(N, 51)`` flat poses (rows where ``drawable`` is False are ignored).
      drawable: ``(N,)`` bool, True where the pair's skeleton is drawn (else the no-pose fill).
    """
    h, o = _check_pairs(human_boxes, object_boxes)
    n = len(h)
    out = np.zeros((n, GEOMETRY_LEN), dtype=np.int16)
    if n == 0:
        return out
    H, O = pattern_boxes(h, o, size)
    drawable = np.asarray(drawable, dtype=bool)
    joints = np.zeros((n, NUM_JOINTS + 1, 2), dtype=np.int32)
    idx = np.flatnonzero(drawable)
    if idx.size:
        pose_arr = np.asarray(poses, dtype=np.float64).reshape(n, -1)[idx]
        joints[idx] = joint_pattern_coords(h[idx], pose_arr, H[idx], size)
    # numba on first use only: what merely imports the data modules (the GPU benchmarks, whose
    # machines lack numba) never needs it
    from tin_jax.data import raster  # pylint: disable=g-import-not-at-top
    # int() of the rounded floats; the masks follow Python's slicing
    raster.fill_geometry(out, np.trunc(H).astype(np.int64), np.trunc(O).astype(np.int64), joints,
                         drawable, _LIMB_ENDS, size)
    return out


def render_patterns_uint8(human_boxes, object_boxes, poses: np.ndarray, drawable: np.ndarray,
                          size: int = 64) -> np.ndarray:
    """:func:`interaction_patterns_uint8` with the poses already as arrays (see
    :func:`pattern_geometry` for the arguments), painted on the host."""
    if size % 8:
        raise ValueError(f"pattern size {size}: must be a multiple of 8 (the original's is 64)")
    return paint_geometry_uint8(pattern_geometry(human_boxes, object_boxes, poses, drawable, size),
                                size)


def paint_geometry_uint8(geometry: np.ndarray, size: int = 64) -> np.ndarray:
    """(N, size, size, 3) uint8 patterns of (N, GEOMETRY_LEN) geometry, painted on the host
    (``raster.paint_geometry``; ``size`` a multiple of 8)."""
    out = np.zeros((len(geometry), size, size, 3), dtype=np.uint8)
    if len(geometry):
        from tin_jax.data import raster  # pylint: disable=g-import-not-at-top
        raster.paint_geometry(out, geometry, LIMB_LEVELS_U8, np.uint8(BOX_LEVEL),
                              np.uint8(NO_POSE_LEVEL))
    return out


def _poses_as_arrays(poses, n: int):
    """(``(N, 51)`` float64, ``(N,)`` bool drawable) from ``None`` or a length-N sequence."""
    if poses is None:
        return np.zeros((n, 3 * NUM_JOINTS)), np.zeros(n, dtype=bool)
    if len(poses) != n:
        raise ValueError(f"got {len(poses)} poses for {n} box pairs")
    drawable = np.array([_pose_is_drawable(p) for p in poses], dtype=bool)
    arr = np.zeros((n, 3 * NUM_JOINTS))
    for i in np.flatnonzero(drawable):
        arr[i] = np.asarray(poses[i], dtype=np.float64)
    return arr, drawable


def interaction_geometry(human_boxes, object_boxes, poses: Optional[Sequence[PoseLike]] = None,
                         size: int = 64) -> np.ndarray:
    """:func:`pattern_geometry` of the pairs of :func:`interaction_patterns` (same arguments)."""
    h, o = _check_pairs(human_boxes, object_boxes)
    arr, drawable = _poses_as_arrays(poses, len(h))
    return pattern_geometry(h, o, arr, drawable, size)


def interaction_patterns_uint8(human_boxes, object_boxes,
                               poses: Optional[Sequence[PoseLike]] = None,
                               size: int = 64) -> np.ndarray:
    """:func:`interaction_patterns` encoded: ``(N, size, size, 3)`` uint8 ``rint(20 * v)``,
    rendered straight into bytes (equal to ``sampling.encode_patterns`` of the float maps)."""
    h, o = _check_pairs(human_boxes, object_boxes)
    arr, drawable = _poses_as_arrays(poses, len(h))
    return render_patterns_uint8(h, o, arr, drawable, size)


def interaction_patterns(human_boxes, object_boxes, poses: Optional[Sequence[PoseLike]] = None,
                         size: int = 64) -> np.ndarray:
    """Batched :func:`interaction_pattern`.

    Args:
      human_boxes, object_boxes: ``(N, 4)`` 0-based ``[x1, y1, x2, y2]`` image boxes.
      poses: ``None`` (no pose for any pair), or a length-N sequence (list, or ``(N, 51)`` array)
        whose items are ``None`` or flat 51-float poses.  Items of any other length get no
        skeleton (0.05-filled human box), like the original.
      size: pattern side (the original always uses 64).

    Returns:
      ``(N, size, size, 3)`` float32 (the uint8 rendering decoded: ``float32(k) / 20`` is
      exactly the float32 of every original grey level).
    """
    enc = interaction_patterns_uint8(human_boxes, object_boxes, poses, size)
    return enc.astype(np.float32) / np.float32(PATTERN_SCALE)


def interaction_pattern(human_box, object_box, pose: PoseLike = None, size: int = 64) -> np.ndarray:
    """Spatial interaction pattern of one human-object pair (original ``Get_next_sp_with_pose``).

    Args:
      human_box, object_box: 0-based ``[x1, y1, x2, y2]`` float boxes in image coordinates.
        For training copies these are the *jittered* boxes; the pose stays the GT pose.
      pose: ``None`` or a flat sequence of 51 floats ``(x, y, score) * 17`` (COCO keypoint
        order, image coordinates).  Any other length -> no skeleton (see module docstring).
      size: pattern side (64 in the original).

    Returns:
      ``(size, size, 3)`` float32: ch0 human box, ch1 object box, ch2 pose map.
    """
    h = np.asarray(human_box, dtype=np.float64).reshape(1, 4)
    o = np.asarray(object_box, dtype=np.float64).reshape(1, 4)
    return interaction_patterns(h, o, [pose], size)[0]
