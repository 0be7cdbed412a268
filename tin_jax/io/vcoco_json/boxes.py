"""COCO ``[x, y, w, h]`` boxes: conversion to ``[x1, y1, x2, y2]`` in v-coco's two conventions, and as a polygon."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["BOX_CONVENTIONS", "box_polygon", "coco_box_to_xyxy"]

BOX_CONVENTIONS = ("vsrl_eval", "vsrl_utils")


def coco_box_to_xyxy(bbox: Sequence[float], convention: str = "vsrl_eval", width: float | None = None,
                                          height: float | None = None) -> np.ndarray:
    """COCO ``[x, y, w, h]`` -> ``[x1, y1, x2, y2]`` float64.

    ``"vsrl_eval"`` (``VCOCOeval._add_gt_annotations``, used to score detections): ``x2 = x + max(0, w - 1)``,
    ``y2 = y + max(0, h - 1)``, then clipped to ``[0, width - 1] x [0, height - 1]`` when the image size is given.
    ``"vsrl_utils"`` (``vsrl_utils.xyhw_to_xyxy``): ``x2 = x + w``, ``y2 = y + h``, no clipping.
    """
    x, y, w, h = (float(v) for v in bbox)
    if convention == "vsrl_utils":
        return np.array([x, y, x + w, y + h], dtype=np.float64)
    if convention != "vsrl_eval":
        raise ValueError(f"unknown box convention {convention!r}; use one of {BOX_CONVENTIONS}")
    box = np.array([x, y, x + max(0.0, w - 1.0), y + max(0.0, h - 1.0)], dtype=np.float64)
    if width is not None and height is not None:
        box[[0, 2]] = np.minimum(width - 1.0, np.maximum(0.0, box[[0, 2]]))
        box[[1, 3]] = np.minimum(height - 1.0, np.maximum(0.0, box[[1, 3]]))
    return box


def box_polygon(bbox: Sequence[float]) -> list[list[float]]:
    """The box ``[x, y, w, h]`` as a COCO polygon segmentation (one 4-corner ring)."""
    x, y, w, h = bbox
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]
