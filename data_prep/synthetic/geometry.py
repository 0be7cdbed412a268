"""Point and box geometry shared by the layout, the annotation and the detector imitation."""

from __future__ import annotations

import math

import numpy as np


def ik(root, target, l1, l2, pref):
    """Two-link IK: (joint, end) with the joint on the side of ``pref``; clamps the reach."""
    rx, ry = root
    dx, dy = target[0] - rx, target[1] - ry
    d = math.hypot(dx, dy)
    if d < 1e-6:
        dx, dy, d = 0.0, 1e-3, 1e-3
    ux, uy = dx / d, dy / d
    d = min(max(d, abs(l1 - l2) + 0.02), (l1 + l2) * 0.998)
    ca = (l1 * l1 + d * d - l2 * l2) / (2 * l1 * d)
    a = math.acos(max(-1.0, min(1.0, ca)))
    c, s = math.cos(a), math.sin(a)
    m1 = (rx + l1 * (ux * c - uy * s), ry + l1 * (ux * s + uy * c))
    m2 = (rx + l1 * (ux * c + uy * s), ry + l1 * (-ux * s + uy * c))
    d1 = (m1[0] - rx) * pref[0] + (m1[1] - ry) * pref[1]
    d2 = (m2[0] - rx) * pref[0] + (m2[1] - ry) * pref[1]
    return (m1 if d1 >= d2 else m2), (rx + ux * d, ry + uy * d)


def add(p, dx, dy):
    """Point ``p`` shifted by (dx, dy)."""
    return (p[0] + dx, p[1] + dy)


def box_c(cx, cy, w, h):
    """[x1, y1, x2, y2] of the w x h box centred at (cx, cy)."""
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def point_box_dist(p, box) -> float:
    """Distance from point ``p`` to ``box`` (0 inside)."""
    dx = max(box[0] - p[0], 0.0, p[0] - box[2])
    dy = max(box[1] - p[1], 0.0, p[1] - box[3])
    return math.hypot(dx, dy)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes a (N, 4) and b (M, 4); max of the continuous and the +1-pixel form."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    out = np.zeros((a.shape[0], b.shape[0]))
    for plus in (0.0, 1.0):
        ix = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
        iy = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
        inter = np.clip(ix + plus, 0, None) * np.clip(iy + plus, 0, None)
        area_a = (a[:, 2] - a[:, 0] + plus) * (a[:, 3] - a[:, 1] + plus)
        area_b = (b[:, 2] - b[:, 0] + plus) * (b[:, 3] - b[:, 1] + plus)
        union = area_a[:, None] + area_b[None, :] - inter
        out = np.maximum(out, inter / np.maximum(union, 1e-9))
    return out


def clip_box(b, W, H) -> np.ndarray:
    """``b`` clipped into a W x H image, at least 1 pixel wide and high (float32)."""
    x1 = min(max(b[0], 0.0), W - 2.0)
    y1 = min(max(b[1], 0.0), H - 2.0)
    x2 = min(max(b[2], x1 + 1.0), W - 1.0)
    y2 = min(max(b[3], y1 + 1.0), H - 1.0)
    return np.array([x1, y1, x2, y2], np.float32)
