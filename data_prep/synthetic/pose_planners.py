"""Pose planners: where each interaction puts the legs, arms, gaze and its object.

Everything is in person-local coordinates: height units, ground y = 0, y down, facing +x;
COCO 'left' joints sit on the +x side.

* leg planners (:data:`LEGS_PLANNERS`, :func:`legs_free`) -> :class:`LegsPlan` (posture, hip,
  ankle targets and the objects they use);
* :func:`pose_core` -- torso, shoulders, hips, knees, ankles and head from a :class:`LegsPlan`;
* arm planners (:data:`ARM_PLANNERS`: one arm, :data:`ARMS_PLANNERS`: both arms,
  :func:`arm_default`: a free arm) -> wrist targets, elbow preferences, objects and gaze;
* :func:`back_wear_backpack` -- the backpack on the back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from data_prep.synthetic import render
from data_prep.synthetic.geometry import add, box_c, ik
from data_prep.synthetic.skeleton import (HIP_HALF, NECK_HEAD, PROFILE, SHIN, SHOULDER_HALF,
                                          THIGH, TORSO)


@dataclass
class LayoutObject:
    """An object being laid out (person-local or group coordinates)."""

    name: str
    box: list           # [x1, y1, x2, y2] local units
    z: str              # 'behind' | 'front'
    facing: int = 1
    straps: list = field(default_factory=list)


@dataclass
class LegsPlan:
    """Posture, hip, ankle targets, knee preferences and the objects the legs use."""

    posture: str
    hip: tuple
    lean: float
    ank_l: tuple
    ank_r: tuple
    kpref_l: tuple
    kpref_r: tuple
    lateral: float
    objs: list = field(default_factory=list)
    bar: tuple | None = None


def legs_free(rng, posture: str) -> LegsPlan:
    """Legs of a person whose legs do no interaction: stand, stand_side, walk or run."""
    u = rng.uniform
    if posture == "walk":
        return LegsPlan("walk", (0.0, -0.5), u(0.0, 0.08), (u(0.08, 0.13), -0.03),
                        (-u(0.06, 0.11), -0.03), (1.0, 0.0), (1.0, 0.0), PROFILE)
    if posture == "run":
        return LegsPlan("run", (0.0, -0.47), u(0.15, 0.25), (u(0.15, 0.2), -u(0.12, 0.18)),
                        (-u(0.14, 0.19), -u(0.05, 0.1)), (1.0, -0.5), (0.3, 1.0), PROFILE)
    if posture == "stand_side":  # standing, seen from the side (pairs facing each other)
        a = u(0.01, 0.04)
        return LegsPlan("stand_side", (0.0, -0.505), u(0.0, 0.05), (a, -0.025), (-a, -0.025),
                        (1.0, 0.0), (1.0, 0.0), PROFILE)
    a = u(0.055, 0.09)
    return LegsPlan("stand", (u(-0.01, 0.01), -0.505), 0.0, (a, -0.025), (-a, -0.025),
                    (0.3, 0.0), (-0.3, 0.0), 1.0)


def _legs_ride_bicycle(rng) -> LegsPlan:
    w = rng.uniform(0.86, 0.98)
    h = w * 0.67
    box = [-w / 2 + 0.05, -h, w / 2 + 0.05, 0.0]
    p = render.bike_parts(box, 1)
    seat, crank = p["seat"], p["crank"]
    th = rng.uniform(0, 2 * math.pi)
    c = 0.09 * h
    ped1 = (crank[0] + c * math.cos(th), crank[1] + c * math.sin(th) - 0.02)
    ped2 = (crank[0] - c * math.cos(th), crank[1] - c * math.sin(th) - 0.02)
    bar = p["bar"]
    return LegsPlan("ride", (seat[0], seat[1] - 0.035), rng.uniform(0.5, 0.6), ped1, ped2,
                    (1.0, -0.6), (1.0, -0.6), PROFILE, [LayoutObject("bicycle", box, "behind")],
                    bar=(bar[0] - 0.01, bar[1] + 0.015))


def _legs_sit_chair(rng) -> LegsPlan:
    s = rng.uniform(0.25, 0.30)  # seat height
    box = [-0.15, -2 * s, 0.15, 0.0]
    box[2] = box[0] + rng.uniform(0.27, 0.32)
    hip = (-0.03, render.chair_seat_y(box) - 0.035)
    ax = rng.uniform(0.2, 0.26)
    return LegsPlan("sit", hip, rng.uniform(-0.05, 0.1), (ax, -0.025), (ax - 0.04, -0.025),
                    (1.0, -1.0), (1.0, -1.0), PROFILE, [LayoutObject("chair", box, "behind")])


def _legs_kick_ball(rng) -> LegsPlan:
    r = rng.uniform(0.05, 0.075)
    ax = rng.uniform(0.2, 0.28)
    ank = (ax, -r - rng.uniform(-0.02, 0.03))
    cx = ax + 0.6 * r + 0.03
    box = box_c(cx, -r, 2 * r, 2 * r)
    return LegsPlan("kick", (0.0, -0.5), rng.uniform(-0.15, -0.05), ank,
                    (-rng.uniform(0.02, 0.06), -0.025), (1.0, -0.3), (1.0, 0.0), PROFILE,
                    [LayoutObject("sports ball", box, "front")])


def _legs_ride_skateboard(rng) -> LegsPlan:
    length = rng.uniform(0.40, 0.46)
    bh = 0.075
    box = [-length / 2, -bh, length / 2, 0.0]
    ay = -bh - 0.015
    a = rng.uniform(0.11, 0.14)
    hip = (rng.uniform(-0.02, 0.02), ay - rng.uniform(0.44, 0.47))
    return LegsPlan("skate", hip, 0.0, (a, ay), (-a, ay), (1.0, 0.0), (-1.0, 0.0), 1.0,
                    [LayoutObject("skateboard", box, "front")])


LEGS_PLANNERS = {
    "ride_bicycle": _legs_ride_bicycle,
    "sit_chair": _legs_sit_chair,
    "kick_ball": _legs_kick_ball,
    "ride_skateboard": _legs_ride_skateboard,
}


def pose_core(legs: LegsPlan) -> dict:
    """Torso, shoulders, hips, legs (IK), head and mouth positions for ``legs``."""
    hip, lean, lat = legs.hip, legs.lean, legs.lateral
    neck = (hip[0] + TORSO * math.sin(lean), hip[1] - TORSO * math.cos(lean))
    c = {"hip": hip, "neck": neck, "lateral": lat, "posture": legs.posture, "lean": lean}
    c["sh_l"] = (neck[0] + SHOULDER_HALF * lat, neck[1] + 0.012)
    c["sh_r"] = (neck[0] - SHOULDER_HALF * lat, neck[1] + 0.012)
    c["hip_l"] = (hip[0] + HIP_HALF * lat, hip[1])
    c["hip_r"] = (hip[0] - HIP_HALF * lat, hip[1])
    c["knee_l"], c["ank_l"] = ik(c["hip_l"], legs.ank_l, THIGH, SHIN, legs.kpref_l)
    c["knee_r"], c["ank_r"] = ik(c["hip_r"], legs.ank_r, THIGH, SHIN, legs.kpref_r)
    hl = 0.5 * lean
    c["head"] = (neck[0] + NECK_HEAD * math.sin(hl), neck[1] - NECK_HEAD * math.cos(hl))
    c["mouth"] = add(c["head"], 0.02 * (lat < 1), 0.03)
    return c


def arm_default(rng, core, s, bar):
    """Default wrist target + elbow preference of a free arm (s=+1: 'left' / +x arm)."""
    sh = core["sh_l" if s > 0 else "sh_r"]
    p = core["posture"]
    u = rng.uniform
    if p == "ride" and bar is not None:
        return add(bar, 0.01 * s, 0.0), (0.0, 1.0)
    if p == "walk":
        sw = u(0.05, 0.1) * (-1 if s > 0 else 1)
        return add(sh, sw, u(0.27, 0.29)), (sw, 0.3)
    if p == "run":
        if s > 0:
            return add(sh, -u(0.1, 0.14), u(0.17, 0.2)), (-1.0, 0.3)
        return add(sh, u(0.13, 0.17), u(0.09, 0.12)), (-0.4, 1.0)
    if p == "sit":
        kn = core["knee_l" if s > 0 else "knee_r"]
        hp = core["hip"]
        return (0.45 * hp[0] + 0.55 * kn[0], 0.45 * hp[1] + 0.55 * kn[1] - 0.035), (-0.3, 1.0)
    if p == "kick":
        return (add(sh, u(0.17, 0.22), u(0.08, 0.14)) if s > 0
                else add(sh, -u(0.17, 0.22), u(0.06, 0.12))), (0.0, 1.0)
    if p == "skate":
        return add(sh, s * u(0.24, 0.29), u(0.02, 0.1)), (0.0, 1.0)
    return add(sh, s * u(0.02, 0.07), u(0.27, 0.30)), (s, 0.3)


# Arm planners: (rng, core, s) -> (wrist target, elbow pref, [objs], look or None)


def _arm_hold_cup(rng, core, s):
    sh = core["sh_l" if s > 0 else "sh_r"]
    wr = add(sh, s * rng.uniform(0.05, 0.14), rng.uniform(0.17, 0.25))
    w = rng.uniform(0.055, 0.07)
    cup = box_c(wr[0] + 0.005 * s, wr[1] - 0.035, w, 1.25 * w)
    return wr, (s * 0.3, 1.0), [LayoutObject("cup", cup, "front", s)], None


def _arm_drink_cup(rng, core, s):
    w = rng.uniform(0.055, 0.07)
    m = core["mouth"]
    c = add(m, s * (0.02 + w / 2), 0.0)
    cup = box_c(c[0], c[1], w, 1.25 * w)
    wr = add(c, s * 0.015, 0.035)
    return wr, (s, 0.6), [LayoutObject("cup", cup, "front", -s)], (0.35 * s, -0.5)


def _arm_talk_phone(rng, core, s):
    hd = core["head"]
    c = add(hd, s * rng.uniform(0.065, 0.08), rng.uniform(-0.005, 0.015))
    ph = box_c(c[0], c[1], 0.036, 0.07)
    wr = add(c, s * 0.008, 0.04)
    return wr, (s, 0.4), [LayoutObject("cell phone", ph, "front", s)], (0.25 * s, 0.05)


def _arm_throw_ball(rng, core, s):
    sh = core["sh_l" if s > 0 else "sh_r"]
    wr = add(sh, s * rng.uniform(-0.02, 0.06), -rng.uniform(0.25, 0.29))
    r = rng.uniform(0.045, 0.06)
    ball = box_c(wr[0], wr[1] - 0.85 * r, 2 * r, 2 * r)
    return wr, (s, -0.3), [LayoutObject("sports ball", ball, "front")], (0.3 * s, -0.6)


def _arm_hold_backpack(rng, core, s):
    sh = core["sh_l" if s > 0 else "sh_r"]
    wr = add(sh, s * rng.uniform(0.09, 0.13), rng.uniform(0.27, 0.29))
    w, h = rng.uniform(0.14, 0.17), rng.uniform(0.19, 0.22)
    cx = wr[0] + 0.02 * s
    bag = [cx - w / 2, wr[1] - 0.02, cx + w / 2, wr[1] - 0.02 + h]
    return wr, (s, 0.2), [LayoutObject("backpack", bag, "front")], None


ARM_PLANNERS = {
    "hold_cup": _arm_hold_cup,
    "drink_cup": _arm_drink_cup,
    "talk_phone": _arm_talk_phone,
    "throw_ball": _arm_throw_ball,
    "hold_backpack": _arm_hold_backpack,
}


# Two-arm planners: (rng, core) -> ({side: wrist target}, {side: elbow pref}, [objs], look)


def _arms_type_laptop(rng, core):
    w, h = rng.uniform(0.23, 0.27), rng.uniform(0.15, 0.18)
    hip = core["hip"]
    if core["posture"] == "sit":
        x1 = hip[0] + rng.uniform(0.0, 0.03)
        ky = hip[1] - 0.03
        look = (0.6, 0.6)
    else:
        x1 = core["neck"][0] - w / 2 + rng.uniform(-0.02, 0.02)
        ky = hip[1] - rng.uniform(0.05, 0.09)
        look = (0.0, 0.9)
    y1 = ky - 0.72 * h
    box = [x1, y1, x1 + w, y1 + h]
    targets = {1: (x1 + 0.72 * w, ky - 0.005), -1: (x1 + 0.4 * w, ky - 0.005)}
    prefs = {1: (0.5, 1.0), -1: (-0.5, 1.0)}
    return targets, prefs, [LayoutObject("laptop", box, "front")], look


def _arms_carry_chair(rng, core):
    s = rng.uniform(0.19, 0.22)
    w = rng.uniform(0.25, 0.29)
    cx = core["neck"][0] + rng.uniform(0.0, 0.05)
    top = core["neck"][1] + rng.uniform(0.02, 0.08)
    box = [cx - w / 2, top, cx + w / 2, top + 2 * s]
    sy = render.chair_seat_y(box)
    targets = {1: (box[2] - 0.02, sy), -1: (box[0] + 0.02, sy)}
    prefs = {1: (1.0, 0.5), -1: (-1.0, 0.5)}
    return targets, prefs, [LayoutObject("chair", box, "front")], (0.0, 0.3)


ARMS_PLANNERS = {"type_laptop": _arms_type_laptop, "carry_chair": _arms_carry_chair}


def back_wear_backpack(rng, core):
    """The worn backpack behind the torso, with its straps over the shoulders."""
    neck, hip, lat = core["neck"], core["hip"], core["lateral"]
    y1 = neck[1] + rng.uniform(0.0, 0.03)
    y2 = hip[1] + rng.uniform(0.0, 0.04)
    if lat >= 1.0:
        half = SHOULDER_HALF + rng.uniform(0.06, 0.09)
        box = [neck[0] - half, y1 - rng.uniform(0.03, 0.06), neck[0] + half, y2]
        straps = [(core["sh_l"], (core["hip_l"][0] + 0.03, hip[1] - 0.08)),
                  (core["sh_r"], (core["hip_r"][0] - 0.03, hip[1] - 0.08))]
    else:
        mx = 0.5 * (neck[0] + hip[0])
        d = rng.uniform(0.1, 0.13)
        box = [mx - 0.04 - d, y1, mx + 0.015, y2]
        straps = [(core["sh_l"], (mx + 0.02, hip[1] - 0.1))]
    return [LayoutObject("backpack", box, "behind", 1, straps)]
