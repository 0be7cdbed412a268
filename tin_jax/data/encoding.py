"""A batch's layout on the host and its decoders, for numpy or on the device.

The input pipeline ships uint8 images (BGR, padded to an image bucket) and uint8
interaction patterns; the step widens them where it runs. TensorFlow-free, unlike the
pipeline, so the train step can be built where only JAX is installed.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from tin_jax.data.sampling import PATTERN_SCALE
from tin_jax.schema.image import PIXEL_MEANS_BGR

# The padded image shapes of a batch, one compilation each; images larger than all of them
# round up to ``bucket_for``'s multiple.
DEFAULT_BUCKETS = ((320, 480), (480, 320), (480, 480), (480, 640), (640, 480), (640, 640),
                   (800, 800), (1024, 1024))


def normalize_image(image, image_hw, xp=np):
    """uint8 BGR batch (B, H, W, 3) -> float32 BGR minus the original pixel means,
    zero outside each image's real ``image_hw`` (the bucket padding).

    Works with numpy or jax.numpy (``xp``). The original subtracts in float64 and
    rounds once; float32 here may differ from it by one ulp in a few pixels.
    """
    x = image.astype(xp.float32) - xp.asarray(PIXEL_MEANS_BGR, xp.float32)
    rows = xp.arange(image.shape[1])[None, :, None] < image_hw[:, 0][:, None, None]
    cols = xp.arange(image.shape[2])[None, None, :] < image_hw[:, 1][:, None, None]
    return xp.where((rows & cols)[..., None], x, xp.float32(0))


def decode_patterns(patterns, xp=np):
    """uint8 patterns (values k/20 stored as k) -> the original float32 values, exactly."""
    return patterns.astype(xp.float32) / xp.float32(PATTERN_SCALE)


def bucket_for(height: int, width: int, buckets: Sequence[tuple[int, int]],
               multiple: int) -> tuple[int, int]:
    """Smallest bucket (by area) holding the image, else sizes rounded up to ``multiple``."""
    fits = [b for b in buckets if b[0] >= height and b[1] >= width]
    if fits:
        return min(fits, key=lambda b: (b[0] * b[1], b))
    up = lambda v: -(-v // multiple) * multiple
    return up(height), up(width)
