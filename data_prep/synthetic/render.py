"""Drawing primitives for the synthetic HOI scenes (pure numpy + cv2, BGR uint8).

Everything here is deterministic given its arguments; randomness (colours, noise) comes in
through an explicit ``np.random.Generator``.  Coordinates are float pixels; they are rounded
only when handed to cv2.

* :func:`background` -- wall/floor gradient with low-frequency texture.
* :func:`draw_person` -- filled head circle, torso polygon and thick limb lines from the
  17 COCO keypoints, in a shirt / trousers / skin colour.
* :func:`draw_object` -- one distinctive shape + colour per object class, filling its box.
* :func:`finish` -- mild blur and sensor noise over the whole image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

__all__ = [
    "OBJECT_COLORS",
    "PersonStyle",
    "ObjectStyle",
    "background",
    "draw_person",
    "draw_object",
    "draw_straps",
    "bike_parts",
    "chair_seat_y",
    "laptop_key_y",
    "finish",
]

# Base BGR colours per COCO object name (jittered per instance by the scene sampler).
OBJECT_COLORS: dict[str, tuple[int, int, int]] = {
    "bicycle": (205, 95, 25),       # blue frame, black wheels
    "cup": (235, 235, 235),         # white body, red band
    "sports ball": (10, 135, 245),  # orange with black seams
    "chair": (35, 75, 145),         # brown wood
    "laptop": (175, 175, 175),      # silver base, dark screen
    "cell phone": (28, 28, 28),     # black body, light-blue screen
    "backpack": (45, 150, 45),      # green
    "skateboard": (30, 205, 235),   # yellow deck, black wheels
}

SKIN_TONES = ((180, 200, 235), (140, 170, 215), (100, 135, 190), (70, 100, 150), (55, 75, 110))
SHIRT_COLORS = ((60, 60, 200), (200, 60, 140), (120, 40, 90), (90, 200, 200), (230, 230, 120),
                (160, 100, 220), (40, 110, 230), (140, 140, 60), (200, 200, 255), (80, 30, 30))
PANTS_COLORS = ((70, 50, 40), (110, 80, 40), (40, 40, 40), (90, 90, 90), (150, 120, 70),
                (60, 90, 120))

_AA = cv2.LINE_AA


def _pt(p) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def _clip_color(c) -> tuple[int, int, int]:
    return tuple(int(min(255, max(0, v))) for v in c)


@dataclass
class PersonStyle:
    skin: tuple[int, int, int]
    shirt: tuple[int, int, int]
    pants: tuple[int, int, int]
    smile: bool = False
    profile: bool = False
    facing: int = 1


@dataclass
class ObjectStyle:
    color: tuple[int, int, int]
    facing: int = 1
    straps: list = field(default_factory=list)  # line segments ((x,y),(x,y)) drawn over people


def background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Wall above, floor below a horizon, both with low-frequency texture (uint8 BGR)."""
    wall = rng.uniform(90, 210, size=3)
    floor = rng.uniform(50, 170, size=3)
    horizon = int(height * rng.uniform(0.45, 0.7))
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    col = np.empty((height, 3), np.float32)
    col[:horizon] = wall[None] * (1.0 - 0.15 * ramp[:horizon])
    col[horizon:] = floor[None] * (0.85 + 0.2 * ramp[horizon:])
    gh, gw = max(2, height // 24), max(2, width // 24)
    small = rng.normal(0.0, rng.uniform(5, 10), size=(gh, gw, 1)) \
        + rng.normal(0.0, 2.5, size=(gh, gw, 3))  # mostly brightness, a little colour
    tex = cv2.resize(small.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    img = col[:, None, :] + tex
    return np.clip(img, 0, 255).astype(np.uint8)


def finish(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Slight blur plus per-pixel noise, in place-ish; returns the final uint8 image."""
    img = cv2.GaussianBlur(img, (3, 3), 0.7)
    noise = rng.integers(0, 9, size=img.shape[:2], dtype=np.uint8)
    out = cv2.add(img, cv2.merge([noise, noise, noise]))
    return cv2.subtract(out, np.full_like(out, 4))


# --------------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------------

_LEG_SEGS = ((11, 13), (13, 15), (12, 14), (14, 16))


def draw_person(img: np.ndarray, kp: np.ndarray, head: np.ndarray, height: float,
                style: PersonStyle) -> None:
    """Draw one person from drawn keypoint positions ``kp`` (17, 2) px and head centre ``head``.

    ``height`` is the person's standing height in pixels (sets line thickness and head size).
    The near arm (the one on the object side, i.e. COCO 'left' when facing +1 after the
    label convention of the scene sampler) is drawn over the head and torso.
    """
    t = max(2, int(round(0.05 * height)))
    r_head = max(3, int(round(0.065 * height)))
    skin, shirt, pants = style.skin, style.shirt, style.pants
    # Near side = image side the person faces; COCO 'left' joints sit at +x for facing +1.
    near_l = style.facing > 0
    arm_l = ((5, 7), (7, 9))
    arm_r = ((6, 8), (8, 10))
    far_arm, near_arm = (arm_r, arm_l) if near_l else (arm_l, arm_r)
    far_leg, near_leg = (_LEG_SEGS[2:], _LEG_SEGS[:2]) if near_l else (_LEG_SEGS[:2], _LEG_SEGS[2:])
    dark_shirt = _clip_color(np.asarray(shirt) * 0.75)
    dark_pants = _clip_color(np.asarray(pants) * 0.75)

    def seg(a, b, color, th):
        cv2.line(img, _pt(kp[a]), _pt(kp[b]), color, th, _AA)

    for a, b in far_leg:
        seg(a, b, dark_pants, t)
    cv2.circle(img, _pt(kp[16 if near_l else 15]), max(1, t // 2 + 1), (30, 30, 30), -1, _AA)
    for a, b in far_arm:
        seg(a, b, dark_shirt, t)
    cv2.circle(img, _pt(kp[10 if near_l else 9]), max(1, t // 2), skin, -1, _AA)
    for a, b in near_leg:
        seg(a, b, pants, t)
    cv2.circle(img, _pt(kp[15 if near_l else 16]), max(1, t // 2 + 1), (30, 30, 30), -1, _AA)
    # torso: shoulders + hips polygon, outlined thick so a profile torso stays visible
    hip_mid = 0.5 * (kp[11] + kp[12])
    neck = 0.5 * (kp[5] + kp[6])
    cv2.line(img, _pt(hip_mid), _pt(neck), shirt, int(t * 1.6), _AA)
    poly = np.round(np.stack([kp[5], kp[6], kp[12], kp[11]])).astype(np.int32)
    cv2.fillConvexPoly(img, poly, shirt, _AA)
    cv2.polylines(img, [poly], True, shirt, t, _AA)
    cv2.line(img, _pt(kp[11]), _pt(kp[12]), pants, t, _AA)
    # neck + head
    cv2.line(img, _pt(neck), _pt(head), skin, max(2, int(t * 0.8)), _AA)
    hc = _pt(head)
    cv2.circle(img, hc, r_head, skin, -1, _AA)
    hair = _clip_color(np.asarray(skin) * 0.35)
    cv2.ellipse(img, hc, (r_head, r_head), 0, 200, 340, hair, max(1, r_head // 3), _AA)
    er = max(1, int(round(0.009 * height)))
    for j in (1, 2):
        cv2.circle(img, _pt(kp[j]), er, (25, 25, 25), -1, _AA)
    if style.smile:
        c = _pt((0.5 * (kp[0][0] + head[0]), kp[0][1] + 0.25 * r_head))
        ax = max(2, int(r_head * 0.45))
        cv2.ellipse(img, c, (ax, max(1, ax // 2)), 0, 15, 165, (40, 40, 150), max(1, er), _AA)
    else:
        c = _pt((kp[0][0], kp[0][1] + 0.35 * r_head))
        ax = max(1, int(r_head * 0.3))
        cv2.line(img, (c[0] - ax, c[1]), (c[0] + ax, c[1]), (60, 60, 110), 1, _AA)
    for a, b in near_arm:
        seg(a, b, shirt, t)
    cv2.circle(img, _pt(kp[9 if near_l else 10]), max(1, t // 2 + 1), skin, -1, _AA)


# --------------------------------------------------------------------------------------------
# Objects (each fills its box [x1, y1, x2, y2]; ``facing`` mirrors asymmetric shapes)
# --------------------------------------------------------------------------------------------


def bike_parts(box, facing: int) -> dict[str, tuple[float, float]]:
    """Named points of the bicycle drawn in ``box`` (used by both layout and drawing)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    r = 0.27 * h

    def at(fx, fy):  # fx measured from the rear (facing +1: from the left)
        x = x1 + fx * w if facing > 0 else x2 - fx * w
        return (x, y1 + fy * h)

    return {
        "r": (r, r),
        "rear": at(r / w, 1 - r / h),
        "front": at(1 - r / w, 1 - r / h),
        "crank": at(0.5, 1 - r / h),
        "seat": at(0.35, 0.10),
        "bar": at(0.76, 0.02),
        "head_tube": at(0.72, 0.22),
    }


def chair_seat_y(box) -> float:
    """y of the chair seat surface: the middle of the box."""
    return float(box[1]) + 0.5 * (float(box[3]) - float(box[1]))


def laptop_key_y(box) -> float:
    """y of the laptop keyboard surface."""
    return float(box[1]) + 0.72 * (float(box[3]) - float(box[1]))


def _draw_bicycle(img, box, st: ObjectStyle):
    p = bike_parts(box, st.facing)
    r = p["r"][0]
    th = max(2, int(round(0.05 * r + 1.5)))
    for k in ("rear", "front"):
        cv2.circle(img, _pt(p[k]), max(2, int(round(r - th / 2))), (25, 25, 25), th + 1, _AA)
        cv2.circle(img, _pt(p[k]), max(1, int(round(0.12 * r))), (120, 120, 120), -1, _AA)
    c = st.color
    for a, b in (("rear", "crank"), ("crank", "seat"), ("seat", "rear"), ("seat", "head_tube"),
                 ("crank", "head_tube"), ("head_tube", "front"), ("head_tube", "bar")):
        cv2.line(img, _pt(p[a]), _pt(p[b]), c, th, _AA)
    sx, sy = p["seat"]
    sw = 0.12 * (box[2] - box[0])
    cv2.line(img, _pt((sx - sw / 2, sy)), _pt((sx + sw / 2, sy)), (30, 30, 30), th + 1, _AA)
    bx, by = p["bar"]
    cv2.line(img, _pt((bx - 0.06 * st.facing * (box[2] - box[0]), by)), _pt((bx, by)),
             (30, 30, 30), th + 1, _AA)
    cx, cy = p["crank"]
    cv2.circle(img, _pt((cx, cy)), max(2, int(round(0.3 * r))), (60, 60, 60), th, _AA)


def _draw_cup(img, box, st: ObjectStyle):
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    hw = 0.22 * w  # handle width
    bx1, bx2 = (x1, x2 - hw) if st.facing > 0 else (x1 + hw, x2)
    body = np.array([[bx1, y1], [bx2, y1], [bx2 - 0.1 * w, y2], [bx1 + 0.1 * w, y2]])
    cv2.fillConvexPoly(img, np.round(body).astype(np.int32), st.color, _AA)
    band = np.array([[bx1 + 0.03 * w, y1 + 0.3 * h], [bx2 - 0.03 * w, y1 + 0.3 * h],
                     [bx2 - 0.06 * w, y1 + 0.55 * h], [bx1 + 0.06 * w, y1 + 0.55 * h]])
    cv2.fillConvexPoly(img, np.round(band).astype(np.int32), (40, 40, 205), _AA)
    hx = bx2 if st.facing > 0 else bx1
    axes = (max(1, int(round(hw))), max(1, int(round(0.22 * h))))
    ang0, ang1 = (-90, 90) if st.facing > 0 else (90, 270)
    cv2.ellipse(img, _pt((hx, y1 + 0.42 * h)), axes, 0, ang0, ang1, st.color,
                max(1, int(round(0.1 * w))), _AA)


def _draw_ball(img, box, st: ObjectStyle):
    x1, y1, x2, y2 = (float(v) for v in box)
    c = ((x1 + x2) / 2, (y1 + y2) / 2)
    r = max(2.0, min(x2 - x1, y2 - y1) / 2)
    cv2.circle(img, _pt(c), int(round(r)), st.color, -1, _AA)
    th = max(1, int(round(0.08 * r)))
    cv2.line(img, _pt((c[0] - r, c[1])), _pt((c[0] + r, c[1])), (20, 20, 20), th, _AA)
    cv2.line(img, _pt((c[0], c[1] - r)), _pt((c[0], c[1] + r)), (20, 20, 20), th, _AA)
    ax = (max(1, int(round(0.45 * r))), max(1, int(round(r))))
    cv2.ellipse(img, _pt((c[0] - 0.95 * r, c[1])), ax, 0, -70, 70, (20, 20, 20), th, _AA)
    cv2.ellipse(img, _pt((c[0] + 0.95 * r, c[1])), ax, 0, 110, 250, (20, 20, 20), th, _AA)


def _draw_chair(img, box, st: ObjectStyle):
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    sy = chair_seat_y(box)
    th = max(2, int(round(0.09 * w)))
    dark = _clip_color(np.asarray(st.color) * 0.7)
    back_x = x1 + 0.06 * w if st.facing > 0 else x2 - 0.06 * w
    front_x = x2 - 0.06 * w if st.facing > 0 else x1 + 0.06 * w
    # backrest (posts + panel), seat, legs
    cv2.line(img, _pt((back_x, y1 + 0.02 * h)), _pt((back_x, y2)), dark, th, _AA)
    panel_x1 = back_x - 0.06 * w
    panel = (_pt((panel_x1, y1)), _pt((panel_x1 + 0.12 * w, sy - 0.12 * h)))
    cv2.rectangle(img, panel[0], panel[1], st.color, -1, _AA)
    cv2.rectangle(img, _pt((x1, sy - 0.03 * h)), _pt((x2, sy + 0.06 * h)), st.color, -1, _AA)
    cv2.line(img, _pt((front_x, sy)), _pt((front_x, y2)), dark, th, _AA)
    mid_x = 0.5 * (back_x + front_x)
    cv2.line(img, _pt((mid_x, sy + 0.05 * h)), _pt((mid_x + 0.05 * w * st.facing, y2)), dark,
             max(1, th - 1), _AA)


def _draw_laptop(img, box, st: ObjectStyle):
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    ky = laptop_key_y(box)
    # screen (dark, lit centre) tilted slightly back, base (silver trapezoid)
    sx1, sx2 = x1 + 0.08 * w, x2 - 0.08 * w
    scr = np.array([[sx1, y1], [sx2, y1], [sx2 - 0.02 * w, ky], [sx1 + 0.02 * w, ky]])
    cv2.fillConvexPoly(img, np.round(scr).astype(np.int32), (45, 30, 25), _AA)
    inner = np.array([[sx1 + 0.06 * w, y1 + 0.1 * h], [sx2 - 0.06 * w, y1 + 0.1 * h],
                      [sx2 - 0.07 * w, ky - 0.08 * h], [sx1 + 0.07 * w, ky - 0.08 * h]])
    cv2.fillConvexPoly(img, np.round(inner).astype(np.int32), (215, 160, 70), _AA)
    base = np.array([[x1 + 0.06 * w, ky], [x2 - 0.06 * w, ky], [x2, y2], [x1, y2]])
    cv2.fillConvexPoly(img, np.round(base).astype(np.int32), st.color, _AA)
    cv2.line(img, _pt((x1 + 0.2 * w, 0.5 * (ky + y2))), _pt((x2 - 0.2 * w, 0.5 * (ky + y2))),
             (90, 90, 90), max(1, int(round(0.08 * h))), _AA)


def _draw_phone(img, box, st: ObjectStyle):
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    cv2.rectangle(img, _pt((x1, y1)), _pt((x2, y2)), st.color, -1, _AA)
    m = max(1.0, 0.18 * w)
    cv2.rectangle(img, _pt((x1 + m, y1 + 0.12 * h)), _pt((x2 - m, y2 - 0.15 * h)),
                  (235, 205, 130), -1, _AA)


def _draw_backpack(img, box, st: ObjectStyle):
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    rad = max(2, int(round(0.22 * w)))
    c = st.color
    cv2.rectangle(img, _pt((x1, y1 + rad)), _pt((x2, y2)), c, -1, _AA)
    cv2.ellipse(img, _pt(((x1 + x2) / 2, y1 + rad)), (max(1, int(round(w / 2))), rad), 0, 180,
                360, c, -1, _AA)
    dark = _clip_color(np.asarray(c) * 0.6)
    cv2.rectangle(img, _pt((x1 + 0.2 * w, y1 + 0.55 * h)), _pt((x2 - 0.2 * w, y2 - 0.08 * h)),
                  dark, -1, _AA)
    cv2.line(img, _pt((x1 + 0.2 * w, y1 + 0.55 * h)), _pt((x2 - 0.2 * w, y1 + 0.55 * h)),
             (20, 200, 230), max(1, int(round(0.04 * h))), _AA)


def _draw_skateboard(img, box, st: ObjectStyle):
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    deck_h = max(2.0, 0.4 * h)
    cv2.rectangle(img, _pt((x1 + 0.04 * w, y1)), _pt((x2 - 0.04 * w, y1 + deck_h)), st.color,
                  -1, _AA)
    cv2.line(img, _pt((x1, y1 - 0.1 * h)), _pt((x1 + 0.06 * w, y1 + deck_h / 2)), st.color,
             max(1, int(round(deck_h * 0.8))), _AA)
    cv2.line(img, _pt((x2, y1 - 0.1 * h)), _pt((x2 - 0.06 * w, y1 + deck_h / 2)), st.color,
             max(1, int(round(deck_h * 0.8))), _AA)
    wr = max(1.5, 0.28 * h)
    for fx in (0.2, 0.8):
        cv2.circle(img, _pt((x1 + fx * w, y2 - wr)), int(round(wr)), (25, 25, 25), -1, _AA)


_DRAWERS = {
    "bicycle": _draw_bicycle,
    "cup": _draw_cup,
    "sports ball": _draw_ball,
    "chair": _draw_chair,
    "laptop": _draw_laptop,
    "cell phone": _draw_phone,
    "backpack": _draw_backpack,
    "skateboard": _draw_skateboard,
}


def draw_object(img: np.ndarray, name: str, box, style: ObjectStyle) -> None:
    """Draw a COCO object ``name`` filling ``box`` (float pixels)."""
    _DRAWERS[name](img, box, style)


def draw_straps(img: np.ndarray, style: ObjectStyle, height: float) -> None:
    """Backpack shoulder straps (drawn after the wearer)."""
    th = max(1, int(round(0.022 * height)))
    dark = _clip_color(np.asarray(style.color) * 0.8)
    for a, b in style.straps:
        cv2.line(img, _pt(a), _pt(b), dark, th, _AA)

