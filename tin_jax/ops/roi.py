"""RoI feature cropping in pure jnp: TF ``crop_and_resize`` (what TIN uses) and detectron2 RoIAlign.

All three ops are separable bilinear samplers: every output pixel ``(i, j)`` of box ``n`` reads
``sum_{a,b} wy[n,i,a] * wx[n,j,b] * image[y_a, x_b]``, where each axis contributes two taps
(``lo``/``hi`` rows or columns) per sample.  Two interchangeable formulations compute it:

* ``method="gather"``: gather the four neighbours of every sample and blend them.  Work is
  ``O(N * ch * cw * C)``; the backward pass is a scatter-add.  Best on CPU and GPU.
* ``method="einsum"``: turn the taps into dense bilinear weight matrices ``(N, ch, H)`` and
  ``(N, cw, W)`` (one-hot rows) and contract them with the feature map (scenic
  ``centernet/modeling/roi_align.py`` style).  No gathers or scatters, only matmuls, at
  ``O(N * ch * H * W * C)`` flops: the layout TPUs want.

Both give the same numbers (up to float32 summation order).  Boxes never receive gradients
(``stop_gradient``), as in TIN's ``crop_pool_layer``; features do.  Everything has static shapes,
so a padded box set of fixed size ``N`` compiles once under ``jax.jit``.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence, Tuple, Union

import jax
import jax.numpy as jnp

__all__ = ["METHODS", "crop_and_resize", "tin_roi_pool", "roi_align"]

METHODS = ("gather", "einsum")
_F32 = jnp.float32


class _Taps(NamedTuple):
    """Two bilinear taps per sample along one axis; invalid samples have zero weights."""

    lo: jax.Array  # (N, S) int32 in [0, size - 1]
    hi: jax.Array  # (N, S) int32 in [0, size - 1]
    w_lo: jax.Array  # (N, S) float32
    w_hi: jax.Array  # (N, S) float32


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def _pair(size: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    """Normalises an int or (h, w) pair of static positive ints."""
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    if int(h) != h or int(w) != w or h < 1 or w < 1:
        raise ValueError(f"{name} must be positive ints, got {size!r}")
    return int(h), int(w)


# ----------------------------------------------------------------------------------------------
# Sample positions and taps.
#
# Whether a sample lies inside the image (TF: 0 <= y <= H-1; RoIAlign: -1 <= y <= H) and the
# adaptive grid ceil(roi / n) are discontinuous in the coordinates, so a 1-ulp difference from
# the reference kernels flips whole output pixels for boxes on the border (normalised y2 = 1.0
# is common).  XLA reorders float math in two ways the C++ kernels do not: it rewrites x / c as
# x * (1/c) for constant c, and the CPU backend always contracts a*b + c into an FMA.  The two
# helpers below keep the kernels' rounding; both are exact identities.
# ----------------------------------------------------------------------------------------------

def _rounded(x: jax.Array) -> jax.Array:
    """Identity that forces ``x`` to be rounded to float32 on its own (blocks FMA contraction).

    The bit round-trip only ORs the lowest mantissa bit of NaNs, which LLVM cannot prove is a
    no-op, so a product passed through here is never fused into the following add.
    """
    bits = jax.lax.bitcast_convert_type(x, jnp.int32) | jnp.isnan(x).astype(jnp.int32)
    return jax.lax.bitcast_convert_type(bits, x.dtype)


def _div(a: jax.Array, d) -> jax.Array:
    """IEEE ``a / d`` even for constant ``d`` (hides ``d`` behind a data-dependent select)."""
    return a / jnp.where(jnp.isnan(a), jnp.nan, jnp.asarray(d, a.dtype))


def _tf_taps(start: jax.Array, end: jax.Array, extent: jax.Array, n: int, size: int):
    """TF ``crop_and_resize`` taps along one axis (``crop_and_resize_op.cc``).

    ``start``/``end`` are normalised box edges (N,), ``extent`` is ``image_size - 1`` (N,) as
    float.  The float32 expressions keep TF's operation order so samples landing exactly on the
    border (``in_y == H - 1``) are classified the same way.  Returns ``(taps, valid)``.
    """
    extent = extent[:, None]
    if n > 1:
        scale = _div((end - start)[:, None] * extent, n - 1)
        pos = _rounded(start[:, None] * extent) + _rounded(jnp.arange(n, dtype=_F32) * scale)
    else:
        # TF evaluates this in double; the product of a float and a small int rounds the same.
        pos = 0.5 * (start + end)[:, None] * extent
    valid = (pos >= 0) & (pos <= extent)
    pos = jnp.where(valid, pos, 0.0)  # keeps indices and gradients finite for junk boxes
    lo = jnp.floor(pos)
    lerp = pos - lo
    hi = jnp.ceil(pos)
    taps = _Taps(
        jnp.clip(lo, 0, size - 1).astype(jnp.int32),
        jnp.clip(hi, 0, size - 1).astype(jnp.int32),
        jnp.where(valid, 1.0 - lerp, 0.0),
        jnp.where(valid, lerp, 0.0),
    )
    return taps, valid


def _roi_align_taps(start: jax.Array, end: jax.Array, n: int, size: int, aligned: bool,
                    sampling_ratio: int, max_sampling_ratio: int) -> _Taps:
    """RoIAlign taps along one axis (torchvision/detectron2 ``roi_align_kernel.cpp``).

    ``start``/``end`` are box edges already scaled to feature pixels (N,).  Each of the ``n``
    bins gets ``g`` samples at ``start + p*bin + (k + 0.5)*bin/g``; the static grid has
    ``g_max`` slots and slots ``k >= g`` are masked, which makes the adaptive grid
    (``ceil(roi / n)``) jit-compatible.  Weights already include the ``1/g`` of the bin mean.
    Returns taps with ``S = n * g_max`` samples, bin-major.
    """
    offset = 0.5 if aligned else 0.0
    start = start - offset
    length = (end - offset) - start
    if not aligned:
        length = jnp.maximum(length, 1.0)
    bin_size = _div(length, n)
    if sampling_ratio > 0:
        g_max = sampling_ratio
        grid = jnp.full(start.shape, sampling_ratio, jnp.int32)
    else:
        g_max = max_sampling_ratio
        grid = jnp.clip(jnp.ceil(bin_size), 0, g_max).astype(jnp.int32)
    grid_f = jnp.maximum(grid, 1).astype(_F32)[:, None, None]
    b = bin_size[:, None, None]
    p = jnp.arange(n, dtype=_F32)[None, :, None]
    k = jnp.arange(g_max, dtype=_F32)[None, None, :]
    pos = start[:, None, None] + _rounded(p * b) + _div((k + 0.5) * b, grid_f)  # (N, n, g_max)
    valid = (pos >= -1.0) & (pos <= size) & (jnp.arange(g_max)[None, None, :] < grid[:, None, None])
    c = jnp.where(valid, jnp.maximum(pos, 0.0), 0.0)
    lo = jnp.floor(c)
    at_end = lo >= size - 1
    lo = jnp.where(at_end, size - 1.0, lo)
    hi = jnp.where(at_end, size - 1.0, lo + 1.0)
    lerp = jnp.where(at_end, 0.0, c - lo)
    w_lo = jnp.where(valid, 1.0 - lerp, 0.0) / grid_f
    w_hi = jnp.where(valid, lerp, 0.0) / grid_f
    flat = lambda a: a.reshape(a.shape[0], n * g_max)
    return _Taps(flat(lo.astype(jnp.int32)), flat(hi.astype(jnp.int32)), flat(w_lo), flat(w_hi))


# ----------------------------------------------------------------------------------------------
# The two sampler formulations.
# ----------------------------------------------------------------------------------------------

def _sample_gather(image: jax.Array, bidx: jax.Array, ty: _Taps, tx: _Taps,
                   group: Tuple[int, int]) -> jax.Array:
    """Gathers the 4 neighbours per sample and blends them; sums ``group`` samples per output."""
    b = bidx[:, None, None]
    tap = lambda yi, xi: image[b, yi[:, :, None], xi[:, None, :]]  # (N, Sy, Sx, C)
    wx_lo, wx_hi = tx.w_lo[:, None, :, None], tx.w_hi[:, None, :, None]
    top = tap(ty.lo, tx.lo) * wx_lo + tap(ty.lo, tx.hi) * wx_hi
    bottom = tap(ty.hi, tx.lo) * wx_lo + tap(ty.hi, tx.hi) * wx_hi
    out = top * ty.w_lo[:, :, None, None] + bottom * ty.w_hi[:, :, None, None]
    gy, gx = group
    if gy > 1 or gx > 1:
        n, sy, sx, ch = out.shape
        out = out.reshape(n, sy // gy, gy, sx // gx, gx, ch).sum(axis=(2, 4))
    return out


def _weights(t: _Taps, size: int, group: int) -> jax.Array:
    """Dense bilinear weights (N, S / group, size): two one-hot rows per sample, bin-summed."""
    w = (jax.nn.one_hot(t.lo, size, dtype=_F32) * t.w_lo[..., None]
         + jax.nn.one_hot(t.hi, size, dtype=_F32) * t.w_hi[..., None])
    if group > 1:
        n, s, _ = w.shape
        w = w.reshape(n, s // group, group, size).sum(axis=2)
    return w


def _sample_einsum(image: jax.Array, bidx: jax.Array, ty: _Taps, tx: _Taps,
                   group: Tuple[int, int], precision) -> jax.Array:
    """Contracts one-hot bilinear weight matrices with the image (no gathers)."""
    nb, h, w, ch = image.shape
    wy = _weights(ty, h, group[0])  # (N, ch, H)
    wx = _weights(tx, w, group[1])  # (N, cw, W)
    if nb > 1:  # fold the image choice into the row weights: (N, ch, B*H)
        sel = jax.nn.one_hot(bidx, nb, dtype=_F32)
        wy = (sel[:, None, :, None] * wy[:, :, None, :]).reshape(wy.shape[0], wy.shape[1], nb * h)
    flat = image.reshape(nb * h, w, ch)
    # Both orders cost N*S*(B*H)*W*C for the first contraction; contracting the longer axis
    # first leaves the cheaper second one.
    if nb * h >= w:
        rows = jnp.einsum("nyK,KWc->nyWc", wy, flat, precision=precision)
        return jnp.einsum("nxW,nyWc->nyxc", wx, rows, precision=precision)
    cols = jnp.einsum("nxW,KWc->nxKc", wx, flat, precision=precision)
    return jnp.einsum("nyK,nxKc->nyxc", wy, cols, precision=precision)


def _sample(image, bidx, ty, tx, method, group=(1, 1), precision=None):
    """Runs one formulation in float32 (or wider) and casts back to the features' dtype."""
    _check_method(method)
    work = image.astype(jnp.promote_types(image.dtype, _F32))
    if method == "gather":
        out = _sample_gather(work, bidx, ty, tx, group)
    else:
        out = _sample_einsum(work, bidx, ty, tx, group, precision)
    return out.astype(image.dtype)


# ----------------------------------------------------------------------------------------------
# Public ops.
# ----------------------------------------------------------------------------------------------

def _crop_and_resize(image, boxes, box_indices, crop_size, extent_hw, extrapolation_value,
                     method, precision):
    """crop_and_resize with per-box image extents ``(N, 2)`` = valid (height - 1, width - 1)."""
    ch, cw = crop_size
    _, h, w, _ = image.shape
    y1, x1, y2, x2 = (boxes[:, i] for i in range(4))
    ty, vy = _tf_taps(y1, y2, extent_hw[:, 0], ch, h)
    tx, vx = _tf_taps(x1, x2, extent_hw[:, 1], cw, w)
    out = _sample(image, box_indices, ty, tx, method, precision=precision)
    valid = (vy[:, :, None] & vx[:, None, :])[..., None]
    return jnp.where(valid, out, jnp.asarray(extrapolation_value, out.dtype))


def crop_and_resize(image: jax.Array, boxes: jax.Array, box_indices: jax.Array,
                    crop_size: Union[int, Sequence[int]], extrapolation_value: float = 0.0,
                    method: str = "gather", precision=jax.lax.Precision.HIGHEST) -> jax.Array:
    """``tf.image.crop_and_resize`` (bilinear), reimplemented so it can be jitted and differentiated.

    Args:
      image: (B, H, W, C) features.
      boxes: (N, 4) normalised ``[y1, x1, y2, x2]``; ``y = 0`` is row 0 and ``y = 1`` row H-1.
        Flipped (``y1 > y2``), degenerate and out-of-image boxes behave as in TF.
      box_indices: (N,) int, the image of each box (must be in ``[0, B)``; TF raises otherwise,
        here out-of-range indices are clamped).
      crop_size: ``(ch, cw)`` or an int.
      extrapolation_value: output for samples outside ``[0, H-1] x [0, W-1]``.
      method: ``"gather"`` or ``"einsum"`` (see module doc).
      precision: matmul precision for ``"einsum"``; HIGHEST keeps float32 accuracy on GPU/TPU.

    Returns:
      (N, ch, cw, C), same dtype as ``image``.  Sample ``i`` of a row lies at
      ``y1*(H-1) + i*(y2-y1)*(H-1)/(ch-1)`` (``0.5*(y1+y2)*(H-1)`` when ``ch == 1``).
    """
    crop_size = _pair(crop_size, "crop_size")
    nb, h, w, _ = image.shape
    boxes = jax.lax.stop_gradient(jnp.asarray(boxes, _F32))
    extent = jnp.broadcast_to(jnp.array([h - 1, w - 1], _F32), (boxes.shape[0], 2))
    box_indices = jnp.clip(jnp.asarray(box_indices, jnp.int32), 0, nb - 1)  # same for both methods
    return _crop_and_resize(image, boxes, box_indices, crop_size, extent, extrapolation_value,
                            method, precision)


def tin_roi_pool(features: jax.Array, boxes: jax.Array, stride: int = 16, crop: int = 7,
                 method: str = "gather", feature_hw: Optional[jax.Array] = None,
                 precision=jax.lax.Precision.HIGHEST) -> jax.Array:
    """TIN's ``crop_pool_layer`` (``cfg.RESNET.MAX_POOL = False``): ``crop x crop`` bilinear crops.

    Boxes in image pixels ``[x1, y1, x2, y2]`` are normalised by ``(Wf-1)*stride`` and
    ``(Hf-1)*stride`` and fed to ``crop_and_resize``, so column ``j`` samples feature-pixel
    ``x1/stride + j*(x2-x1)/stride/(crop-1)`` (rows alike): the feature size cancels out.

    Padding: if images are zero-padded (bottom/right) to a bucket, ``Hf``/``Wf`` are the padded
    sizes, but the sample positions are unchanged, so crops are identical to the unpadded run
    for boxes whose samples stay inside the unpadded map (``x2/stride <= Wf_true - 1``).  They
    are *not* identical for boxes reaching past ``(Wf_true - 1) * stride`` pixels (e.g. beyond
    592 px of a 600 px side with Wf = 38): unpadded, TF extrapolates those samples to 0;
    padded, they read real features blended with padding.  Pass ``feature_hw`` (B, 2) = the
    unpadded ``(Hf, Wf)`` of each image to reproduce the unpadded result exactly.

    Args:
      features: (B, Hf, Wf, C).
      boxes: (B, N, 4) image-pixel ``[x1, y1, x2, y2]`` per image (padded rows are fine).
      stride: feature stride in pixels.
      crop: output side.
      method: ``"gather"`` or ``"einsum"``.
      feature_hw: optional (B, 2) int, the valid (unpadded) feature height and width.
      precision: matmul precision for ``"einsum"``.

    Returns:
      (B, N, crop, crop, C).
    """
    crop_size = _pair(crop, "crop")
    nb, hf, wf, _ = features.shape
    boxes = jax.lax.stop_gradient(jnp.asarray(boxes, _F32))
    if feature_hw is None:
        hw = jnp.broadcast_to(jnp.array([hf, wf], _F32), (nb, 2))
    else:
        hw = jnp.asarray(feature_hw).astype(_F32)
    extent = hw - 1.0  # (B, 2)
    height = extent[:, 0, None] * jnp.float32(stride)  # (B, 1): as TIN, (Hf - 1) * stride
    width = extent[:, 1, None] * jnp.float32(stride)
    norm = jnp.stack([_div(boxes[..., 1], height), _div(boxes[..., 0], width),
                      _div(boxes[..., 3], height), _div(boxes[..., 2], width)], axis=-1)  # (B, N, 4)

    def one(image, nboxes, ext):
        n = nboxes.shape[0]
        return _crop_and_resize(image[None], nboxes, jnp.zeros((n,), jnp.int32), crop_size,
                                jnp.broadcast_to(ext, (n, 2)), 0.0, method, precision)

    return jax.vmap(one)(features, norm, extent)


def roi_align(features: jax.Array, boxes: jax.Array, output_size: Union[int, Sequence[int]],
              spatial_scale: float, sampling_ratio: int = -1, aligned: bool = True,
              method: str = "gather", max_sampling_ratio: int = 8,
              precision=jax.lax.Precision.HIGHEST) -> jax.Array:
    """detectron2 / torchvision ``RoIAlign`` (for porting other models; TIN does not use it).

    Each output bin is the mean of ``g_h x g_w`` bilinear samples on a regular grid inside the
    bin.  ``aligned=True`` shifts by half a pixel (pixel centres at +0.5); ``aligned=False`` is
    the legacy op that also clamps the RoI size to >= 1.  As in the reference kernel, samples
    with ``y < -1`` or ``y > H`` (same for x) count as 0, and coordinates in ``[-1, 0]`` are
    clamped to 0.

    ``sampling_ratio > 0`` fixes ``g = sampling_ratio``.  ``sampling_ratio <= 0`` is the adaptive
    grid ``g = ceil(roi_size / output_size)`` per box; it needs static shapes under jit, so the
    grid is capped at ``max_sampling_ratio`` (exact for boxes up to
    ``max_sampling_ratio * output_size`` feature pixels, fewer samples beyond).  Gather cost
    grows with the cap squared; einsum cost does not depend on it.

    Args:
      features: (B, H, W, C).
      boxes: (B, N, 4) ``[x1, y1, x2, y2]`` in image pixels.
      output_size: ``(ph, pw)`` or an int.
      spatial_scale: image-to-feature scale, e.g. 1/16.
      sampling_ratio: samples per bin side; <= 0 for adaptive.
      aligned: half-pixel offset (detectron2 default True).
      method: ``"gather"`` or ``"einsum"``.
      max_sampling_ratio: static cap of the adaptive grid.
      precision: matmul precision for ``"einsum"``.

    Returns:
      (B, N, ph, pw, C).
    """
    ph, pw = _pair(output_size, "output_size")
    _check_method(method)
    _, h, w, _ = features.shape
    boxes = _rounded(jax.lax.stop_gradient(jnp.asarray(boxes, _F32)) * jnp.float32(spatial_scale))
    g = sampling_ratio if sampling_ratio > 0 else max_sampling_ratio

    def one(image, bx):
        ty = _roi_align_taps(bx[:, 1], bx[:, 3], ph, h, aligned, sampling_ratio, max_sampling_ratio)
        tx = _roi_align_taps(bx[:, 0], bx[:, 2], pw, w, aligned, sampling_ratio, max_sampling_ratio)
        bidx = jnp.zeros((bx.shape[0],), jnp.int32)
        return _sample(image[None], bidx, ty, tx, method, (g, g), precision)

    return jax.vmap(one)(features, boxes)
