"""Zero-padding an image into a size bucket must not change its backbone features."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from tin_jax.models.resnet import FrozenStat, SlimResNet50


def _randomize_bn(model, seed=0):
    """Non-trivial BN statistics: with identity BN, padded zeros would stay zero anyway."""
    rng = np.random.RandomState(seed)
    graphdef, params, stats = nnx.split(model, nnx.Param, FrozenStat)
    stats = jax.tree.map(lambda v: jnp.asarray(rng.uniform(0.5, 1.5, v.shape).astype(np.float32)), stats)
    return nnx.merge(graphdef, params, stats)


def test_masked_padding_matches_unpadded_image():
    model = _randomize_bn(SlimResNet50(with_block4=False, rngs=nnx.Rngs(0)))
    rng = np.random.RandomState(1)
    images = [rng.randn(75, 101, 3).astype(np.float32), rng.randn(64, 48, 3).astype(np.float32)]
    batch = np.zeros((2, 128, 160, 3), np.float32)
    for i, im in enumerate(images):
        batch[i, :im.shape[0], :im.shape[1]] = im
    hw = jnp.array([im.shape[:2] for im in images])
    padded = model.image_to_head(jnp.asarray(batch), hw)
    unmasked = model.image_to_head(jnp.asarray(batch))
    for i, im in enumerate(images):
        alone = model.image_to_head(jnp.asarray(im[None]))[0]
        h, w = alone.shape[:2]
        assert (h, w) == (-(-im.shape[0] // 16), -(-im.shape[1] // 16))
        scale = float(jnp.abs(alone).max())
        np.testing.assert_allclose(padded[i, :h, :w], alone, atol=1e-5 * scale)
        assert not np.asarray(padded[i, h:]).any() and not np.asarray(padded[i, :, w:]).any()
        # Without the mask, padding does change the border features: the test can fail.
        assert float(jnp.abs(unmasked[i, :h, :w] - alone).max()) > 1e-2 * scale
