"""The resize to ``config.data.max_long_side`` exists twice: tf.image.resize in the training
pipeline (tin_jax/data/input_pipeline.py) and cv2 at inference (tin_jax/inference/runner.py).
They must give the network the same size and scale, and pixels within cv2's fixed-point
rounding of TF's bilinear (half-pixel centres in both), or training and test would see
different images."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from tin_jax.data.input_pipeline import resize_to_long_side  # noqa: E402
from tin_jax.inference import runner  # noqa: E402

SIZES = [(480, 640), (427, 640), (640, 359), (333, 500), (500, 375), (96, 97), (1023, 1)]


@pytest.mark.parametrize("max_long_side", [96, 160, 512])
def test_training_and_inference_resize_alike(max_long_side):
    import cv2
    rng = np.random.default_rng(max_long_side)
    for h, w in SIZES:
        # a smooth image plus noise: both kinds of content a photo has
        yy, xx = np.mgrid[:h, :w]
        smooth = 127 + 100 * np.sin(xx[..., None] / 17.0 + yy[..., None] / 23.0 + np.arange(3))
        image = np.clip(smooth + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)
        ok, encoded = cv2.imencode(".png", image)
        item = runner.PairItem(encoded.tobytes(), h, w, np.zeros((0, 4)), np.zeros((0, 4)), [])
        got = runner._decode(item, max_long_side)  # pylint: disable=protected-access
        want, scale = resize_to_long_side(tf.constant(image), h, w, max_long_side)
        want, scale = np.asarray(want), float(scale)
        assert got.shape == want.shape, (h, w, got.shape, want.shape)
        # boxes: the same scale, to float32 precision
        assert runner._scale(h, w, max_long_side) == pytest.approx(scale, rel=2 ** -23)  # pylint: disable=protected-access
        diff = np.abs(got.astype(int) - want.astype(int))
        # cv2 interpolates in 11-bit fixed point, TF in float32: at most one level apart
        assert diff.max() <= 1, (h, w, diff.max())
