"""A batch's layout on the host and its decoders, for numpy or on the device.

The input pipeline ships uint8 images (BGR, padded to an image bucket) and uint8
interaction patterns; the step widens them where it runs. TensorFlow-free, unlike the
pipeline, so the train step can be built where only JAX is installed.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from tin_jax.data.spatial import PATTERN_SCALE
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


# float32(k) / 20 for every byte k, divided here in IEEE arithmetic: XLA rewrites a division
# by a constant into a product with its reciprocal, which gave 0.45, 0.65 and 0.9 one ulp high
_DECODED_LEVELS = np.arange(256, dtype=np.float32) / np.float32(PATTERN_SCALE)


def decode_patterns(patterns, xp=np):
    """uint8 patterns (values k/20 stored as k) -> the original float32 values, exactly (a
    table lookup, the same on every backend)."""
    return xp.asarray(_DECODED_LEVELS)[patterns]


def bucket_for(height: int, width: int, buckets: Sequence[tuple[int, int]],
               multiple: int) -> tuple[int, int]:
    """Smallest bucket (by area) holding the image, else sizes rounded up to ``multiple``."""
    fits = [b for b in buckets if b[0] >= height and b[1] >= width]
    if fits:
        return min(fits, key=lambda b: (b[0] * b[1], b))
    up = lambda v: -(-v // multiple) * multiple
    return up(height), up(width)


def distinct_rows(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(table, index): the distinct rows of ``boxes`` in order of first appearance, and
    each row's position in that table (``table[index] == boxes``, bit for bit).

    The model runs the res5 block once per row of the table (a box's features depend on
    the box alone), and each pair reads its box's row through the index.
    """
    if not len(boxes):
        return boxes[:0], np.zeros((0,), np.int32)
    _, first, inverse = np.unique(boxes, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return boxes[np.sort(first)], rank[inverse.reshape(-1)].astype(np.int32)


def table_rows(count: int, sizes: Sequence[int], max_rows: int) -> int:
    """The padded row count of a box table holding ``count`` distinct boxes: the smallest
    of ``sizes`` that holds them, else ``max_rows`` (the pair slots: always enough).
    Like the image buckets, one compilation per size."""
    fits = [s for s in sizes if count <= s < max_rows]
    return min(fits) if fits else max_rows
