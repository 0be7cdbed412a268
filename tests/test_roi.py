"""RoI ops against their references: tf.image.crop_and_resize, TIN's crop_pool_layer, detectron2 RoIAlign."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import config as tf_config

from tests.tolerances import EPS32, Bounded, assert_within, growth
from tin_jax.ops import roi

METHODS = roi.METHODS
ATOL = 1e-5

_cr = jax.jit(roi.crop_and_resize, static_argnames=("crop_size", "method", "extrapolation_value"))
_pool = jax.jit(roi.tin_roi_pool, static_argnames=("stride", "crop", "method"))
_align = jax.jit(roi.roi_align, static_argnames=("output_size", "spatial_scale", "sampling_ratio",
                                                  "aligned", "method", "max_sampling_ratio"))


def _normalised_boxes(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Normalised [y1, x1, y2, x2] boxes covering every case TF treats specially."""
    def rand(n, lo=0.0, hi=1.0):
        return rng.uniform(lo, hi, size=(n, 4)).astype(np.float32)

    inside = np.sort(rand(40).reshape(40, 2, 2), axis=1).reshape(40, 4)[:, [0, 2, 1, 3]]
    crossing = rand(40, -0.6, 1.6)  # random order: some flipped, many crossing the border
    outside = np.concatenate([rand(6, 1.05, 2.0), rand(6, -2.0, -0.05)])
    # Many edge-touching boxes: whether the last sample lands exactly on row H-1 or one ulp past
    # it (extrapolated) depends on float rounding; ~3% of them catch an inexact x / (n-1).
    touching = rand(400, 0.0, 1.0)
    for side in range(4):
        touching[side * 100:(side + 1) * 100, side] = 1.0 if side >= 2 else 0.0
    full = np.array([[0, 0, 1, 1], [1, 1, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1]], np.float32)
    # Corners on the pixel grid: samples land exactly on rows/columns (floor == ceil).
    grid = np.stack([rng.integers(-1, h + 1, 12) / (h - 1), rng.integers(-1, w + 1, 12) / (w - 1),
                     rng.integers(-1, h + 1, 12) / (h - 1), rng.integers(-1, w + 1, 12) / (w - 1)],
                    axis=1).astype(np.float32)
    degenerate = rand(8, -0.2, 1.2)
    degenerate[:3, 2] = degenerate[:3, 0]  # zero height
    degenerate[3:6, 3] = degenerate[3:6, 1]  # zero width
    degenerate[6:, 2:] = degenerate[6:, :2]  # a point
    flipped = inside[:10, [2, 3, 0, 1]]
    return np.concatenate([inside, crossing, outside, touching, full, grid, degenerate, flipped])


@pytest.fixture(scope="module")
def crop_case():
    rng = np.random.default_rng(0)
    image = rng.normal(size=(3, 9, 13, 5)).astype(np.float32)
    boxes = _normalised_boxes(rng, 9, 13)
    box_indices = rng.integers(0, 3, len(boxes)).astype(np.int32)
    return image, boxes, box_indices


# ---------------------------------------------------------------------------------------------
# (a) crop_and_resize forward == tf.image.crop_and_resize
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("crop_size", [(7, 7), (1, 1), (3, 5)])
@pytest.mark.parametrize("method", METHODS)
def test_crop_and_resize_matches_tf(crop_case, crop_size, method):
    image, boxes, box_indices = crop_case
    want = tf.image.crop_and_resize(image, boxes, box_indices, crop_size, extrapolation_value=-3.0).numpy()
    got = np.asarray(_cr(image, boxes, box_indices, crop_size=crop_size, extrapolation_value=-3.0,
                         method=method))
    assert got.shape == want.shape == (len(boxes), *crop_size, image.shape[-1])
    np.testing.assert_allclose(got, want, rtol=0, atol=ATOL)
    assert (want == -3.0).any() and (want != -3.0).any()  # both regimes are exercised


def test_crop_and_resize_eager_and_default_extrapolation(crop_case):
    image, boxes, box_indices = crop_case
    want = tf.image.crop_and_resize(image, boxes[:30], box_indices[:30], (4, 6)).numpy()
    got = roi.crop_and_resize(image, boxes[:30], box_indices[:30], (4, 6))  # no jit
    np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=ATOL)


def test_bad_method_raises(crop_case):
    image, boxes, box_indices = crop_case
    with pytest.raises(ValueError, match="method"):
        roi.crop_and_resize(image, boxes, box_indices, 7, method="bilinear")


# ---------------------------------------------------------------------------------------------
# (b) gradients w.r.t. the features == TF's gradient; none w.r.t. the boxes
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("crop_size", [(7, 7), (3, 5)])
@pytest.mark.parametrize("method", METHODS)
def test_feature_gradient_matches_tf(crop_case, crop_size, method):
    image, boxes, box_indices = crop_case
    cot = np.random.default_rng(1).normal(size=(len(boxes), *crop_size, image.shape[-1])).astype(np.float32)
    # TF's CPU image gradient shards boxes over threads that += into one buffer without locks,
    # so with hundreds of boxes it races (tensorflow#42033); op determinism serialises it.
    # Only enable_op_determinism is public; restore the global switch for other tests.
    was_deterministic = tf_config.is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    try:
        var = tf.constant(image)
        with tf.GradientTape() as tape:
            tape.watch(var)
            out = tf.image.crop_and_resize(var, boxes, box_indices, crop_size, extrapolation_value=0.5)
        want = tape.gradient(out, var, output_gradients=tf.constant(cot)).numpy()
    finally:
        if not was_deterministic:
            tf_config.disable_op_determinism()

    @jax.jit
    def grads(img, bx):
        f = lambda i, b: roi.crop_and_resize(i, b, box_indices, crop_size, 0.5, method)
        _, vjp = jax.vjp(f, img, bx)
        return vjp(jnp.asarray(cot))

    g_img, g_boxes = grads(image, boxes)
    # Pixels collect up to ~440 terms w * cot of either sign (|grad| ~ 10), summed in another order
    # than TF's: both within the float32 bound of the float64 sum, from each pixel's term count.
    ref = _gradient_reference(lambda x: roi.crop_and_resize(x, boxes, box_indices, crop_size, 0.0, method),
                              image.shape, box_indices, cot)
    assert_within(np.asarray(g_img), ref, err_msg="ours")
    assert_within(want, ref, err_msg="TF")
    assert not np.asarray(g_boxes).any()


def _gradient_reference(f, shape, image_of_row, cot, samples_per_output=1) -> Bounded:
    """The float64 gradient of sum(f(x) * cot) w.r.t. the (B, H, W, C) features x, for f linear in
    x (bilinear sampling; rows of its output sample image ``image_of_row[row]``), and its float32
    error bound: each pixel sums n nonzero terms w * cot, with the weights w that f gives on
    one-hot images (channel k = pixel k), so n * eps32 * sum(|w| |cot|) per pixel (worst case).
    An output averaging several samples (RoIAlign's bins) gives each pixel that many terms."""
    b, h, w, c = shape
    eye = np.broadcast_to(np.eye(h * w, dtype=np.float32).reshape(1, h, w, h * w), (b, h, w, h * w))
    rows = len(image_of_row)
    weights = np.asarray(f(eye), np.float64).reshape(rows, -1, h * w)
    cot = np.asarray(cot, np.float64).reshape(rows, -1, c)
    image = np.eye(b)[np.asarray(image_of_row)]  # (rows, B)
    value = np.einsum("rb,rsp,rsc->bpc", image, weights, cot)
    mag = np.einsum("rb,rsp,rsc->bpc", image, np.abs(weights), np.abs(cot))
    n = np.einsum("rb,rsp->bp", image, (weights != 0).astype(np.float64))[..., None] * samples_per_output
    return Bounded(value.reshape(shape), (growth(n) * EPS32 * mag).reshape(shape))


# ---------------------------------------------------------------------------------------------
# (c) tin_roi_pool == TIN's crop_pool_layer; padding invariance
# ---------------------------------------------------------------------------------------------

def _tf_crop_pool_layer(bottom, rois, stride=16, pooling_size=7):
    """TIN_HICO.py crop_pool_layer (MAX_POOL=False), transcribed in TF2; rois = [batch, x1, y1, x2, y2]."""
    batch_ids = tf.squeeze(tf.slice(rois, [0, 0], [-1, 1]), [1])
    bottom_shape = tf.shape(bottom)
    height = (tf.cast(bottom_shape[1], tf.float32) - 1.) * np.float32(stride)
    width = (tf.cast(bottom_shape[2], tf.float32) - 1.) * np.float32(stride)
    x1 = tf.slice(rois, [0, 1], [-1, 1]) / width
    y1 = tf.slice(rois, [0, 2], [-1, 1]) / height
    x2 = tf.slice(rois, [0, 3], [-1, 1]) / width
    y2 = tf.slice(rois, [0, 4], [-1, 1]) / height
    bboxes = tf.stop_gradient(tf.concat([y1, x1, y2, x2], axis=1))
    return tf.image.crop_and_resize(bottom, bboxes, tf.cast(batch_ids, tf.int32),
                                    [pooling_size, pooling_size]).numpy()


def _pixel_boxes(rng, n, img_h, img_w, lo=-40.0, margin=40.0):
    """[x1, y1, x2, y2] image-pixel boxes, mostly inside, some past the image and feature edge."""
    x = np.sort(rng.uniform(lo, img_w - 1 + margin, (n, 2)), axis=1)
    y = np.sort(rng.uniform(lo, img_h - 1 + margin, (n, 2)), axis=1)
    boxes = np.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], axis=1).astype(np.float32)
    boxes[0] = [0, 0, img_w - 1, img_h - 1]  # the whole image (TIN's usual union/"full" box)
    boxes[1] = [5, 7, 5, 7]  # a point
    return boxes


@pytest.mark.parametrize("method", METHODS)
def test_tin_roi_pool_matches_crop_pool_layer(method):
    rng = np.random.default_rng(2)
    hf, wf = 6, 9  # e.g. a 90 x 140 image at stride 16
    feats = rng.normal(size=(2, hf, wf, 8)).astype(np.float32)
    boxes = np.stack([_pixel_boxes(rng, 24, 90, 140) for _ in range(2)])
    rois = np.concatenate([np.repeat(np.arange(2, dtype=np.float32), 24)[:, None],
                           boxes.reshape(-1, 4)], axis=1)
    want = _tf_crop_pool_layer(feats, rois).reshape(2, 24, 7, 7, 8)
    got = np.asarray(_pool(feats, boxes, stride=16, crop=7, method=method))
    np.testing.assert_allclose(got, want, rtol=0, atol=ATOL)
    assert (np.abs(want).sum(-1) == 0).any()  # some samples fell beyond (Wf-1)*16 and were zeroed


@pytest.mark.parametrize("method", METHODS)
def test_tin_roi_pool_padding_invariance(method):
    rng = np.random.default_rng(3)
    hf, wf, c = 6, 9, 4
    feats = rng.normal(size=(1, hf, wf, c)).astype(np.float32)
    padded = np.zeros((1, hf + 3, wf + 5, c), np.float32)
    padded[:, :hf, :wf] = feats
    # Boxes whose samples stay inside the unpadded map: x <= (wf-1)*16, y <= (hf-1)*16.
    inner = _pixel_boxes(rng, 32, (hf - 1) * 16 - 1, (wf - 1) * 16 - 1, lo=0.0, margin=0.0)[None]
    np.testing.assert_allclose(np.asarray(_pool(padded, inner, method=method)),
                               np.asarray(_pool(feats, inner, method=method)), rtol=0, atol=ATOL)

    # Boxes reaching past the unpadded map differ, unless the true feature size is given.
    outer = _pixel_boxes(rng, 32, hf * 16, wf * 16)[None]
    unpadded = np.asarray(_pool(feats, outer, method=method))
    assert not np.allclose(np.asarray(_pool(padded, outer, method=method)), unpadded, atol=ATOL)
    exact = _pool(padded, outer, method=method, feature_hw=np.array([[hf, wf]]))
    np.testing.assert_allclose(np.asarray(exact), unpadded, rtol=0, atol=ATOL)


def test_tin_roi_pool_feature_hw_per_image():
    """A bucket of two images of different sizes == each image run alone, unpadded."""
    rng = np.random.default_rng(4)
    sizes = [(5, 7), (8, 6)]
    bucket = np.zeros((2, 8, 7, 3), np.float32)
    boxes = np.zeros((2, 16, 4), np.float32)
    want = []
    for i, (h, w) in enumerate(sizes):
        bucket[i, :h, :w] = rng.normal(size=(h, w, 3))
        boxes[i] = _pixel_boxes(rng, 16, h * 16, w * 16)
        rois = np.concatenate([np.zeros((16, 1), np.float32), boxes[i]], axis=1)
        want.append(_tf_crop_pool_layer(bucket[i:i + 1, :h, :w], rois))
    got = _pool(bucket, boxes, feature_hw=np.array(sizes))
    np.testing.assert_allclose(np.asarray(got), np.stack(want), rtol=0, atol=ATOL)


# ---------------------------------------------------------------------------------------------
# (d) roi_align == detectron2's ROIAlign CPU kernel (numpy transcription)
# ---------------------------------------------------------------------------------------------

def _bilinear_interpolate(fm, h, w, y, x):
    """detectron2 ROIAlign_cpu.cpp bilinear_interpolate (via pre_calc), one sample, all channels."""
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return np.zeros(fm.shape[-1], np.float32)
    y, x = max(y, np.float32(0)), max(x, np.float32(0))
    y_low, x_low = int(y), int(x)
    if y_low >= h - 1:
        y_high = y_low = h - 1
        y = np.float32(y_low)
    else:
        y_high = y_low + 1
    if x_low >= w - 1:
        x_high = x_low = w - 1
        x = np.float32(x_low)
    else:
        x_high = x_low + 1
    ly, lx = np.float32(y - y_low), np.float32(x - x_low)
    hy, hx = np.float32(1) - ly, np.float32(1) - lx
    return (hy * hx * fm[y_low, x_low] + hy * lx * fm[y_low, x_high]
            + ly * hx * fm[y_high, x_low] + ly * lx * fm[y_high, x_high])


def _roi_align_reference(features, boxes, out_hw, spatial_scale, sampling_ratio, aligned):
    """detectron2 ROIAlignForward (CPU), float32 scalars, NHWC features, per-image boxes."""
    nb, h, w, c = features.shape
    ph, pw = out_hw
    f32 = np.float32
    out = np.zeros((nb, boxes.shape[1], ph, pw, c), np.float32)
    offset = f32(0.5) if aligned else f32(0)
    for b in range(nb):
        for n, (bx1, by1, bx2, by2) in enumerate(boxes[b]):
            x1, y1 = f32(bx1) * f32(spatial_scale) - offset, f32(by1) * f32(spatial_scale) - offset
            x2, y2 = f32(bx2) * f32(spatial_scale) - offset, f32(by2) * f32(spatial_scale) - offset
            roi_w, roi_h = f32(x2 - x1), f32(y2 - y1)
            if not aligned:
                roi_w, roi_h = max(roi_w, f32(1)), max(roi_h, f32(1))
            bin_h, bin_w = f32(roi_h / f32(ph)), f32(roi_w / f32(pw))
            gh = sampling_ratio if sampling_ratio > 0 else int(np.ceil(roi_h / f32(ph)))
            gw = sampling_ratio if sampling_ratio > 0 else int(np.ceil(roi_w / f32(pw)))
            count = max(gh * gw, 1)
            for i in range(ph):
                for j in range(pw):
                    acc = np.zeros(c, np.float32)
                    for iy in range(gh):
                        y = f32(y1 + f32(i) * bin_h) + f32(f32(iy + 0.5) * bin_h) / f32(gh)
                        for ix in range(gw):
                            x = f32(x1 + f32(j) * bin_w) + f32(f32(ix + 0.5) * bin_w) / f32(gw)
                            acc += _bilinear_interpolate(features[b], h, w, f32(y), f32(x))
                    out[b, n, i, j] = acc / f32(count)
    return out


@pytest.fixture(scope="module")
def align_case():
    rng = np.random.default_rng(5)
    feats = rng.normal(size=(2, 10, 13, 3)).astype(np.float32)
    boxes = np.stack([_pixel_boxes(rng, 10, 160, 208, lo=-60.0, margin=60.0) for _ in range(2)])
    boxes[0, 2] = [30, 40, 36, 44]  # smaller than a feature pixel (aligned=False clamps to 1)
    boxes[0, 3] = [-70, -60, -30, -20]  # entirely outside (samples < -1)
    boxes[1, 2] = [100, 90, 60, 50]  # flipped
    boxes[1, 3] = [0, 0, 207, 159]  # whole map (samples reach y > H - 1)
    return feats, boxes


@pytest.mark.parametrize("aligned", [True, False])
@pytest.mark.parametrize("sampling_ratio", [1, 2, -1])
@pytest.mark.parametrize("method", METHODS)
def test_roi_align_matches_detectron2(align_case, aligned, sampling_ratio, method):
    feats, boxes = align_case
    out_hw = (7, 5) if sampling_ratio == 1 else (4, 4)
    want = _roi_align_reference(feats, boxes, out_hw, 1 / 16, sampling_ratio, aligned)
    got = _align(feats, boxes, output_size=out_hw, spatial_scale=1 / 16, sampling_ratio=sampling_ratio,
                 aligned=aligned, method=method, max_sampling_ratio=5)
    np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=ATOL)


def test_roi_align_gradient_methods_agree(align_case):
    feats, boxes = align_case
    cot = np.random.default_rng(6).normal(size=(2, 10, 7, 7, 3)).astype(np.float32)

    def grad(method):
        f = lambda x: jnp.sum(roi.roi_align(x, boxes, 7, 1 / 16, 2, True, method) * cot)
        return np.asarray(jax.jit(jax.grad(f))(feats))

    # Two float32 sums of the same terms in different orders: each within the float32 bound of
    # the float64 gradient (the weights from the gather method's forward; 2 x 2 samples a bin).
    ref = _gradient_reference(lambda x: roi.roi_align(x, boxes, 7, 1 / 16, 2, True, "gather"), feats.shape,
                              np.repeat(np.arange(len(boxes)), boxes.shape[1]), cot, samples_per_output=2 * 2)
    for method in METHODS:
        assert_within(grad(method), ref, err_msg=method)


# ---------------------------------------------------------------------------------------------
# (e) jit: a fixed padded box count compiles once
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_jit_compiles_once_for_same_shapes(method):
    rng = np.random.default_rng(7)
    feats = rng.normal(size=(1, 6, 9, 4)).astype(np.float32)
    traces = []

    @jax.jit
    def pool(f, b):
        traces.append(None)
        return roi.tin_roi_pool(f, b, method=method)

    n_max = 16  # padded box slots; unused rows are zero boxes
    sets = []
    for n_real in (5, 11):
        b = np.zeros((1, n_max, 4), np.float32)
        b[0, :n_real] = _pixel_boxes(rng, n_real, 96, 144)
        sets.append(b)
    outs = [np.asarray(pool(feats, b)) for b in sets]
    assert len(traces) == 1 and pool._cache_size() == 1
    for b, out in zip(sets, outs):
        rois = np.concatenate([np.zeros((n_max, 1), np.float32), b[0]], axis=1)
        np.testing.assert_allclose(out[0], _tf_crop_pool_layer(feats, rois), rtol=0, atol=ATOL)
        assert np.isfinite(out).all()


def test_bfloat16_features_keep_dtype():
    feats = jnp.asarray(np.random.default_rng(8).normal(size=(1, 6, 9, 4)), jnp.bfloat16)
    boxes = _pixel_boxes(np.random.default_rng(9), 4, 96, 144)[None]
    for method in METHODS:
        out = _pool(feats, boxes, method=method)
        assert out.dtype == jnp.bfloat16
        want = _pool(feats.astype(jnp.float32), boxes, method=method)
        np.testing.assert_allclose(np.asarray(out, np.float32), np.asarray(want), atol=0.05)
