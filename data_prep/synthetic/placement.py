"""Placement in the image: each group's scale, left edge and ground line, and the distractors.

* :func:`place_groups` -- a :class:`Placement` (groups side by side in random order with random
  gaps; sometimes one at the border, cut by it).
* :func:`place_distractors` -- loose objects away from the people.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_prep.synthetic.catalogue import GROUND_OBJECTS, OBJ_SIZE, OBJECT_NAMES
from data_prep.synthetic.geometry import box_iou
from data_prep.synthetic.groups import Group, group_extent
from data_prep.synthetic.skeleton import LIMB_HALF


@dataclass
class Placement:
    """Per group: extent (group units), scale (px per unit), left edge and ground line (px)."""

    ext: list
    scales: list
    lefts: np.ndarray
    grounds: list

    def to_px(self, gi: int, pts):
        """Group ``gi``'s points (..., 2) in group units -> image pixels."""
        (x1, _, _, _), s = self.ext[gi], self.scales[gi]
        pts = np.asarray(pts, np.float64)
        out = np.empty_like(pts)
        out[..., 0] = self.lefts[gi] + (pts[..., 0] - x1) * s
        out[..., 1] = self.grounds[gi] + pts[..., 1] * s
        return out


def place_groups(rng, groups: list[Group], W: int, H: int) -> Placement:
    """Scale the groups to the image, spread them along x and stand them on the floor."""
    ext = [group_extent(g) for g in groups]
    scales, widths = _group_scales(rng, ext, W, H)
    lefts = _group_lefts(rng, groups, ext, scales, widths, W)
    grounds = _ground_lines(rng, ext, scales, H)
    return Placement(ext, scales, lefts, grounds)


def _group_scales(rng, ext, W, H):
    """Pixels per person height of each group and the groups' pixel widths (together <= 97 %
    of the image width unless that would shrink them below 60 %)."""
    scales = []
    for (x1, y1, x2, y2) in ext:
        h = rng.uniform(0.42, 0.72) * H
        h = min(h, 0.93 * H / max(1.0, y2 - y1), 0.9 * W / max(1e-3, x2 - x1))
        scales.append(h)
    widths = np.array([(e[2] - e[0]) * s for e, s in zip(ext, scales)])
    if widths.sum() > 0.97 * W:
        f = max(0.6, 0.97 * W / widths.sum())
        scales = [s * f for s in scales]
        widths = widths * f
    return scales, widths


def _group_lefts(rng, groups, ext, scales, widths, W) -> np.ndarray:
    """Left pixel edge of each group: a random order with Dirichlet-distributed gaps."""
    n = len(groups)
    order = list(rng.permutation(n))
    free = W - widths.sum()
    if free >= 0:
        gaps = rng.dirichlet(np.ones(n + 1)) * free
        start = gaps[0]
        inner = gaps[1:]
    else:
        start, inner = 0.0, np.full(n, free / max(1, n - 1))
    lefts = np.zeros(n)
    x = start
    for k, gi in enumerate(order):
        lefts[gi] = x
        x += widths[gi] + inner[k]
    if rng.random() < 0.12:
        _truncate_at_border(rng, groups, ext, scales, widths, order, lefts, W)
    return lefts


def _truncate_at_border(rng, groups, ext, scales, widths, order, lefts, W) -> None:
    """Push the leftmost or rightmost group partly out of the image (updates ``lefts``)."""
    gi = order[0] if rng.random() < 0.5 else order[-1]
    sign = -1 if gi == order[0] else 1
    if len(order) == 1:
        sign = -1 if rng.random() < 0.5 else 1
    shift = sign * rng.uniform(0.1, 0.3) * widths[gi]
    new_left = (0.0 if sign < 0 else W - widths[gi]) + shift
    # keep it only if every person / object of the group stays >= 55 % visible
    x1g, s_g = ext[gi][0], scales[gi]
    spans = [(p.kp[:, 0].min() - LIMB_HALF, p.kp[:, 0].max() + LIMB_HALF)
             for p in groups[gi].people] + [(o.box[0], o.box[2]) for o in groups[gi].objs]
    ok = True
    for a_, b_ in spans:
        pa, pb = new_left + (a_ - x1g) * s_g, new_left + (b_ - x1g) * s_g
        if (min(pb, W - 1.0) - max(pa, 0.0)) < 0.55 * (pb - pa):
            ok = False
    if ok:
        lefts[gi] = new_left


def _ground_lines(rng, ext, scales, H) -> list:
    """Pixel y of each group's ground: bigger groups lower (nearer), all inside the image."""
    grounds = []
    for (x1, y1, x2, y2), s in zip(ext, scales):
        rel = (s / H - 0.42) / 0.3
        gy = H * (0.8 + 0.17 * rel) + rng.uniform(-0.04, 0.04) * H
        gy = min(gy, H - 1 - y2 * s - rng.uniform(0, 0.03) * H)
        gy = max(gy, -y1 * s + 1)
        grounds.append(gy)
    return grounds


def place_distractors(rng, groups: list[Group], placement: Placement, W: int,
                      H: int) -> list[tuple[str, list, int]]:
    """(name, pixel box, facing) of 0-2 loose objects (at least one if no group has an object;
    at most 4 objects in all), each at the least person-overlapping of up to 8 tries."""
    person_px_boxes = []
    for gi, g in enumerate(groups):
        for p in g.people:
            kp = placement.to_px(gi, p.kp)
            person_px_boxes.append([kp[:, 0].min(), kp[:, 1].min(), kp[:, 0].max(),
                                    kp[:, 1].max()])
    ref_h = float(np.median(placement.scales))
    n_dis = int(rng.integers(0, 3))
    n_obj_now = sum(len(g.objs) for g in groups)
    n_dis = max(min(n_dis, 4 - n_obj_now), 1 if n_obj_now == 0 else 0)
    distractors = []
    for _ in range(n_dis):
        name = OBJECT_NAMES[int(rng.integers(len(OBJECT_NAMES)))]
        w, h = (v * ref_h * rng.uniform(0.8, 1.1) for v in OBJ_SIZE[name])
        w, h = min(w, 0.6 * W), min(h, 0.6 * H)
        best = _least_overlapping_box(rng, name, w, h, person_px_boxes, W, H)
        distractors.append((name, best, 1 if rng.random() < 0.5 else -1))
    return distractors


def _least_overlapping_box(rng, name, w, h, person_px_boxes, W, H) -> list:
    best, best_ov = None, None
    for _ in range(8):
        x1 = rng.uniform(0, W - w - 1)
        if name in GROUND_OBJECTS:
            y2 = rng.uniform(0.72, 0.99) * H
        else:
            y2 = rng.uniform(0.35, 0.99) * H
        box = [x1, max(0.0, y2 - h), x1 + w, y2]
        ov = float(box_iou(np.array([box]), np.array(person_px_boxes)).max()) \
            if person_px_boxes else 0.0
        if best is None or ov < best_ov:
            best, best_ov = box, ov
        if ov == 0.0:
            break
    return best
