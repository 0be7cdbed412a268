"""Box jittering for positive pairs, bit-exact with the original TIN/iCAN ``Augmented_box``.

Original: ``lib/ult/ult.py`` ``bb_IOU`` (l.228-244), ``Augmented_box`` (l.246-282) and the per-GT
loop of ``Augmented_HO_Neg_HICO_pose_pattern_version2`` (l.737-800); spec §4.4.

Given the same stream of random integers, :func:`augment_box` returns exactly the boxes of the
original.  Random integers are drawn one at a time with ``rng.integers(a, b + 1)`` (Python's
``random.randint(a, b)`` is inclusive of ``b``) in the original order: ratio, y shift, x shift.

Quirks kept on purpose:

1. The try counter is checked *after* a try (``time_count > 150``), so with the default
   ``max_tries=150`` up to **151** candidates are drawn, and the 151st can still be accepted.
2. Shifts use ``floor(h)`` / ``floor(w)`` with ``h = y2 - y1`` and ``w = x2 - x1`` (no +1), while
   the acceptance IoU is the +1-pixel IoU.  Acceptance is strictly ``IoU > 0.7``.
3. Only ``x1, y1`` are clamped below (at 0) and only ``x2, y2`` above (at ``W-1`` / ``H-1``,
   from ``image_shape = (H, W, ...)``); a box lying outside the image is not fixed up.
4. The returned array starts with the unmodified original box, so it has ``1 + accepted`` rows
   (``count + 1`` unless the try budget ran out).
5. For a human-object pair, the human and the object are jittered independently (human first)
   and both lists are truncated to the shorter one, so copies are paired by index.
"""

from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    "box_iou_plus1",
    "pairwise_box_iou_plus1",
    "augment_box",
    "augment_pairs",
    "split_augment_budget",
    "IntegerStream",
]


def box_iou_plus1(a, b):
    """+1-pixel IoU of the original ``bb_IOU`` (boxes ``[x1, y1, x2, y2]``, inclusive pixels).

    ``a`` and ``b`` broadcast against each other over leading dimensions (``(..., 4)``); two
    single boxes give a numpy float64 scalar.  The arithmetic order matches the original
    (union = area(b) + area(a) - intersection), so results are bit-identical.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ixmin = np.maximum(a[..., 0], b[..., 0])
    iymin = np.maximum(a[..., 1], b[..., 1])
    ixmax = np.minimum(a[..., 2], b[..., 2])
    iymax = np.minimum(a[..., 3], b[..., 3])
    iw = np.maximum(ixmax - ixmin + 1.0, 0.0)
    ih = np.maximum(iymax - iymin + 1.0, 0.0)
    inters = iw * ih
    uni = ((b[..., 2] - b[..., 0] + 1.0) * (b[..., 3] - b[..., 1] + 1.0)
           + (a[..., 2] - a[..., 0] + 1.0) * (a[..., 3] - a[..., 1] + 1.0) - inters)
    return inters / uni


def pairwise_box_iou_plus1(a, b) -> np.ndarray:
    """``(N, 4) x (M, 4) -> (N, M)`` matrix of :func:`box_iou_plus1` (``a`` rows, ``b`` columns)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    return box_iou_plus1(a[:, None, :], b[None, :, :])


class IntegerStream:
    """Bit-exact, cheaper stand-in for a run of scalar ``rng.integers(low, high)`` calls.

    ``Generator.integers`` (int64, scalar) maps one ``next_uint32`` of the bit generator to
    ``[low, high)`` with Lemire's method (numpy's ``buffered_bounded_lemire_uint32``; no draw at
    all when ``high - low == 1``).  This draws the raw 32-bit words in blocks and applies the
    same method in Python (~0.3 us instead of ~1.2 us a call).  :meth:`close` rewinds the
    generator to the start of the last block and re-draws exactly the words used, so afterwards
    the generator is exactly where the scalar calls would have left it.  Use the generator
    itself only after :meth:`close` (``with IntegerStream(rng) as s:`` does it).
    """

    def __init__(self, rng: np.random.Generator, block: int = 256):
        self._rng, self._block = rng, block
        self._start, self._words, self._pos = None, [], 0

    def _refill(self) -> None:
        self._start = self._rng.bit_generator.state  # rewind point (state incl. buffered half)
        self._words = self._rng.integers(0, 1 << 32, size=self._block, dtype=np.uint32).tolist()
        self._pos = 0
        self._block = min(2 * self._block, 4096)

    def _word(self) -> int:
        if self._pos == len(self._words):
            self._refill()
        self._pos += 1
        return self._words[self._pos - 1]

    def integers(self, low: int, high: int) -> int:
        """``int(rng.integers(low, high))`` (``high`` exclusive)."""
        r = high - low - 1
        if r == 0:
            return low
        if not 0 < r < 0xFFFFFFFF:  # numpy's other paths (64-bit, full 32-bit, errors)
            self.close()
            return int(self._rng.integers(low, high))
        excl = r + 1
        m = self._word() * excl
        if (m & 0xFFFFFFFF) < excl:
            threshold = (0xFFFFFFFF - r) % excl
            while (m & 0xFFFFFFFF) < threshold:
                m = self._word() * excl
        return low + (m >> 32)

    def close(self) -> None:
        """Leaves the generator exactly as the scalar calls would have."""
        if self._start is not None:
            self._rng.bit_generator.state = self._start
            if self._pos:
                self._rng.integers(0, 1 << 32, size=self._pos, dtype=np.uint32)
        self._start, self._words, self._pos = None, [], 0

    def __enter__(self) -> "IntegerStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _check_box(box) -> Tuple[float, float, float, float]:
    arr = np.asarray(box, dtype=np.float64).reshape(-1)
    if arr.shape != (4,):
        raise ValueError(f"box must be 4 finite numbers [x1, y1, x2, y2], got {box!r}")
    x1, y1, x2, y2 = arr.tolist()
    if not all(map(math.isfinite, (x1, y1, x2, y2))):
        raise ValueError(f"box must be 4 finite numbers [x1, y1, x2, y2], got {box!r}")
    if x2 < x1 or y2 < y1:
        raise ValueError(f"box must have x2 >= x1 and y2 >= y1, got {box!r}")
    return x1, y1, x2, y2


def _iou_plus1(x1, y1, x2, y2, c):
    """:func:`box_iou_plus1` of ``(x1, y1, x2, y2)`` and ``c`` in Python floats: the same IEEE
    double operations in the same order (0/0 and x/0 as numpy: nan, +-inf)."""
    iw = max(min(x2, c[2]) - max(x1, c[0]) + 1.0, 0.0)
    ih = max(min(y2, c[3]) - max(y1, c[1]) + 1.0, 0.0)
    inters = iw * ih
    uni = (c[2] - c[0] + 1.0) * (c[3] - c[1] + 1.0) + (x2 - x1 + 1.0) * (y2 - y1 + 1.0) - inters
    if uni == 0:
        return math.nan if inters == 0 else math.copysign(math.inf, uni)  # inters >= 0
    return inters / uni


def jitter_box(box, image_shape: Sequence[int], count: int, integers, min_iou: float = 0.7,
               max_tries: Optional[int] = 150) -> List[Tuple[float, float, float, float]]:
    """:func:`augment_box` as a list of tuples, drawing with ``integers(low, high)``."""
    x1, y1, x2, y2 = _check_box(box)
    img_h, img_w = int(image_shape[0]), int(image_shape[1])
    boxes: List[Tuple[float, float, float, float]] = [(x1, y1, x2, y2)]

    height = y2 - y1
    width = x2 - x1
    height_cen = (y2 + y1) / 2
    width_cen = (x2 + x1) / 2
    fh = int(math.floor(height))
    fw = int(math.floor(width))

    accepted = 0
    tries = 0
    while accepted < count:
        tries += 1
        ratio = 1 + integers(-10, 11) * 0.01
        height_shift = integers(-fh, fh + 1) * 0.1
        width_shift = integers(-fw, fw + 1) * 0.1

        n_x1 = max(0, width_cen + width_shift - ratio * width / 2)
        n_x2 = min(img_w - 1, width_cen + width_shift + ratio * width / 2)
        n_y1 = max(0, height_cen + height_shift - ratio * height / 2)
        n_y2 = min(img_h - 1, height_cen + height_shift + ratio * height / 2)
        cand = (float(n_x1), float(n_y1), float(n_x2), float(n_y2))

        if _iou_plus1(x1, y1, x2, y2, cand) > min_iou:
            boxes.append(cand)
            accepted += 1
        if max_tries is not None and tries > max_tries:
            break
    return boxes


def augment_box(box, image_shape: Sequence[int], count: int, rng, min_iou: float = 0.7,
                max_tries: Optional[int] = 150) -> np.ndarray:
    """Original box plus up to ``count`` jittered copies (original ``Augmented_box``).

    Each try draws ``ratio = 1 + k * 0.01`` with ``k ~ U{-10..10}``, ``dy = U{-floor(h)..floor(h)}
    * 0.1`` and ``dx = U{-floor(w)..floor(w)} * 0.1`` (``h = y2 - y1``, ``w = x2 - x1``), moves
    the centre by ``(dx, dy)``, scales the half-sizes by ``ratio``, clips ``x1, y1 >= 0``,
    ``x2 <= W - 1``, ``y2 <= H - 1`` and keeps the candidate if its +1-pixel IoU with the original
    is ``> min_iou``.

    Args:
      box: ``[x1, y1, x2, y2]`` 0-based image box.
      image_shape: ``(H, W)`` or ``(H, W, C)`` of the image.
      count: number of jittered copies wanted (the original's ``augment``).
      rng: numpy Generator (or anything with ``integers(low, high)``, e.g. an
        :class:`IntegerStream`); consumed as three scalar ``integers`` calls per try.
      min_iou: acceptance threshold (strict ``>``), 0.7 in the original.
      max_tries: give up once the number of tries *exceeds* this (original: 150, i.e. at most
        151 tries).  ``None`` = never give up (the original's ``break_flag=False``; may loop
        forever if ``min_iou`` cannot be met).

    Returns:
      ``(1 + accepted, 4)`` float64; row 0 is ``box`` itself.
    """
    integers = rng.integers if isinstance(rng, IntegerStream) else (lambda a, b: int(rng.integers(a, b)))
    boxes = jitter_box(box, image_shape, count, integers, min_iou, max_tries)
    return np.array(boxes, dtype=np.float64).reshape(-1, 4)


def augment_pairs(human_box, object_box, image_shape: Sequence[int], count: int,
                  rng: np.random.Generator, min_iou: float = 0.7,
                  max_tries: Optional[int] = 150) -> Tuple[np.ndarray, np.ndarray]:
    """Jitter a GT human-object pair like the original per-GT loop.

    The human is jittered first, then the object (independently, same ``rng``), and both are
    truncated to the shorter list; row ``i`` of both outputs forms pair ``i`` (row 0 = GT pair).

    Returns:
      ``(h_boxes, o_boxes)``, each ``(k, 4)`` float64 with ``1 <= k <= count + 1``.
    """
    hb = augment_box(human_box, image_shape, count, rng, min_iou, max_tries)
    ob = augment_box(object_box, image_shape, count, rng, min_iou, max_tries)
    k = min(len(hb), len(ob))
    return hb[:k], ob[:k]


def split_augment_budget(num_gt: int, pos_augment: int = 15) -> List[int]:
    """Per-GT ``count`` used by the original for one chunk of ``num_gt`` GT pairs.

    ``int(pos_augment / num_gt)`` for every pair but the last, which gets the remainder, e.g.
    ``15`` over 4 GTs -> ``[3, 3, 3, 6]``.
    """
    if num_gt <= 0:
        raise ValueError("num_gt must be positive")
    aug_all = int(pos_augment / num_gt)
    return [aug_all] * (num_gt - 1) + [pos_augment - aug_all * (num_gt - 1)]
