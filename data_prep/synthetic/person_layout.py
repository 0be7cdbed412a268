"""Layout of one person (keypoints, head, visibility) with the objects of its interactions.

* :func:`build_person` -- a :class:`PersonPlan` and its objects in group coordinates
  (person-height units, ground y = 0, the person at x0 facing ``facing``).
* :func:`near_object` -- a non-interacting object placed where an interacting one would be.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from data_prep.synthetic.catalogue import OBJ_SIZE, InteractionType
from data_prep.synthetic.geometry import add, box_c, ik, point_box_dist
from data_prep.synthetic.pose_planners import (ARM_PLANNERS, ARMS_PLANNERS, LEGS_PLANNERS,
                                               LayoutObject, LegsPlan, arm_default,
                                               back_wear_backpack, legs_free, pose_core)
from data_prep.synthetic.skeleton import (FLIP_PERM, FOREARM, L_ANK, L_EAR, L_EL, L_EYE, L_HIP,
                                          L_KNEE, L_SH, L_WR, NOSE, R_ANK, R_EAR, R_EL, R_EYE,
                                          R_HIP, R_KNEE, R_SH, R_WR, UPPER_ARM)


@dataclass
class PersonPlan:
    """One laid-out person in group coordinates."""

    kp: np.ndarray            # (17, 2) group coords
    head: tuple
    vis: np.ndarray           # (17,) visibility factor
    posture: str
    profile: bool
    facing: int
    x0: float


def build_person(rng, types: Sequence[InteractionType], posture: str | None,
                 pair_targets: Mapping[int, tuple] | None = None, facing: int = 1,
                 x0: float = 0.0, look_at: tuple | None = None):
    """Lay out one person (and the objects of ``types``) in group coordinates.

    ``pair_targets`` maps an arm side (+1: COCO 'left') to a wrist target reaching for another
    person; ``look_at`` is a point to turn the head to when no type sets the gaze.
    Returns (plan, objs) where objs is a list of (type name, LayoutObject) in group coords.
    """
    legs, legs_owned = _plan_legs(rng, types, posture)
    core = pose_core(legs)
    targets, prefs, arms_owned, look = _plan_arms(rng, types, core, legs, pair_targets)
    look = _gaze(rng, core, look, look_at)
    kp = _local_keypoints(core, targets, prefs, look)
    vis = _visibility(look, core["lateral"])
    kp, vis, head = _to_group_coords(kp, vis, core["head"], facing, x0)
    objs = _objects_to_group_coords(legs_owned + arms_owned, facing, x0)
    plan = PersonPlan(kp, (float(head[0]), float(head[1])), vis, legs.posture,
                      core["lateral"] < 1.0, facing, x0)
    return plan, objs


def _plan_legs(rng, types, posture) -> tuple[LegsPlan, list[tuple[str, LayoutObject]]]:
    """The legs (of the first leg-using type, else free legs) and the objects they use."""
    legs_t = [t for t in types if t.name in LEGS_PLANNERS]
    if legs_t:
        legs = LEGS_PLANNERS[legs_t[0].name](rng)
        return legs, [(legs_t[0].name, o) for o in legs.objs]
    return legs_free(rng, posture or "stand"), []


def _plan_arms(rng, types, core, legs: LegsPlan, pair_targets):
    """Wrist targets and elbow preferences per side, the objects the types bring, their gaze."""
    owned: list[tuple[str, LayoutObject]] = []
    targets: dict[int, tuple] = {}
    prefs: dict[int, tuple] = {}
    look = None
    for side, tgt in (pair_targets or {}).items():
        targets[side], prefs[side] = tgt, (side * 0.5, 1.0)
    for t in types:
        if t.name in ARMS_PLANNERS:
            tg, pr, objs, lk = ARMS_PLANNERS[t.name](rng, core)
            targets.update(tg)
            prefs.update(pr)
            owned += [(t.name, o) for o in objs]
            look = lk if lk is not None else look
        elif t.name in ARM_PLANNERS:
            s = 1 if 1 not in targets else -1
            wr, pr, objs, lk = ARM_PLANNERS[t.name](rng, core, s)
            targets[s], prefs[s] = wr, pr
            owned += [(t.name, o) for o in objs]
            look = lk if lk is not None else look
        elif t.name == "wear_backpack":
            owned += [(t.name, o) for o in back_wear_backpack(rng, core)]
    for s in (1, -1):
        if s not in targets:
            targets[s], prefs[s] = arm_default(rng, core, s, legs.bar)
    return targets, prefs, owned, look


def _gaze(rng, core, look, look_at) -> tuple[float, float]:
    """Gaze direction (x, y): the type's, else towards ``look_at``, else a random one."""
    if look is not None:
        return look
    lat = core["lateral"]
    if look_at is not None:
        dx, dy = look_at[0] - core["head"][0], look_at[1] - core["head"][1]
        return (max(-1.0, min(1.0, dx / 0.25)) * 0.8, max(-1.0, min(1.0, dy / 0.6)) * 0.6)
    if lat < 1.0:
        return (rng.uniform(0.5, 0.9), rng.uniform(-0.2, 0.2))
    return (rng.uniform(-0.6, 0.6), rng.uniform(-0.2, 0.2))


def _local_keypoints(core, targets, prefs, look) -> np.ndarray:
    """(17, 2) keypoints in person-local coordinates: face from the gaze, arms by IK."""
    el_l, wr_l = ik(core["sh_l"], targets[1], UPPER_ARM, FOREARM, prefs[1])
    el_r, wr_r = ik(core["sh_r"], targets[-1], UPPER_ARM, FOREARM, prefs[-1])
    lx, ly = look
    hd = core["head"]
    latf = 1.0 if core["lateral"] >= 1.0 else 0.45
    kp = np.empty((17, 2), np.float64)
    kp[NOSE] = add(hd, 0.035 * lx, 0.012 + 0.03 * ly)
    kp[L_EYE] = add(hd, 0.024 * latf + 0.025 * lx, -0.012 + 0.025 * ly)
    kp[R_EYE] = add(hd, -0.024 * latf + 0.025 * lx, -0.012 + 0.025 * ly)
    kp[L_EAR] = add(hd, 0.058 * latf - 0.02 * lx, 0.005 * ly)
    kp[R_EAR] = add(hd, -0.058 * latf - 0.02 * lx, 0.005 * ly)
    kp[L_SH], kp[R_SH] = core["sh_l"], core["sh_r"]
    kp[L_EL], kp[R_EL], kp[L_WR], kp[R_WR] = el_l, el_r, wr_l, wr_r
    kp[L_HIP], kp[R_HIP] = core["hip_l"], core["hip_r"]
    kp[L_KNEE], kp[R_KNEE] = core["knee_l"], core["knee_r"]
    kp[L_ANK], kp[R_ANK] = core["ank_l"], core["ank_r"]
    return kp


def _visibility(look, lat: float) -> np.ndarray:
    """(17,) visibility factors: the face side turned away and the far limbs of a side view."""
    lx, _ = look
    vis = np.ones(17)
    if lx > 0.45:
        vis[[L_EAR, L_EYE]] = 0.25
    elif lx < -0.45:
        vis[[R_EAR, R_EYE]] = 0.25
    if lat < 1.0:  # side view: the far limbs are partly hidden
        vis[[R_EL, R_WR, R_KNEE, R_ANK]] *= 0.7
    return vis


def _to_group_coords(kp, vis, hd, facing: int, x0: float):
    """Mirror (facing < 0, swapping left and right) and shift to x0: (kp, vis, head)."""
    head = np.asarray(hd, np.float64)
    if facing < 0:
        kp[:, 0] *= -1
        kp = kp[list(FLIP_PERM)]
        vis = vis[list(FLIP_PERM)]
        head[0] *= -1
    kp[:, 0] += x0
    head[0] += x0
    return kp, vis, head


def _objects_to_group_coords(owned, facing: int, x0: float) -> list[tuple[str, LayoutObject]]:
    """The owned objects (and backpack straps) mirrored and shifted like their person."""
    objs = []
    for name, o in owned:
        b = o.box
        if facing < 0:
            b = [-b[2], b[1], -b[0], b[3]]
        b = [b[0] + x0, b[1], b[2] + x0, b[3]]
        straps = [((facing * a[0] + x0, a[1]), (facing * c[0] + x0, c[1])) for a, c in o.straps]
        objs.append((name, LayoutObject(o.name, b, o.z, o.facing * facing, straps)))
    return objs


def near_object(rng, name: str, plan: PersonPlan, side: int):
    """A non-interacting object next to a person (group coords), or None.

    Objects are put where an interacting one would be (cup/phone/laptop at hand height beside
    the body, ball at the feet, chair/bicycle overlapping a standing person, ...) while the
    pose does not touch them, so only the pose tells the two cases apart.
    """
    w, h = OBJ_SIZE[name]
    sc = rng.uniform(0.85, 1.15)
    w, h = w * sc, h * sc
    if name == "chair":
        h = 2 * rng.uniform(0.25, 0.3)
    kp = plan.kp
    cx0 = 0.5 * (kp[L_HIP, 0] + kp[R_HIP, 0])
    wrists, ankles = kp[[L_WR, R_WR]], kp[[L_ANK, R_ANK]]
    u = rng.uniform
    for _ in range(10):
        if name in ("bicycle", "chair"):
            cx = cx0 + side * u(0.0, 0.25 + w / 2)
            box = [cx - w / 2, -h, cx + w / 2, 0.0]
        elif name == "sports ball":
            cx = cx0 + side * u(0.12, 0.3)
            box = [cx - w / 2, -h, cx + w / 2, 0.0]
        elif name == "skateboard":
            cx = cx0 + side * (0.14 + w / 2 + u(-0.02, 0.15))
            box = [cx - w / 2, -h, cx + w / 2, 0.0]
        elif rng.random() < 0.25:  # on the ground
            cx = cx0 + side * (0.1 + w / 2 + u(0.0, 0.2))
            box = [cx - w / 2, -h, cx + w / 2, 0.0]
        else:  # hand height, beside the body (on a shelf / table that is not drawn)
            cx = cx0 + side * (0.16 + w / 2 + u(0.0, 0.12))
            box = box_c(cx, u(-0.8, -0.45), w, h)
        dw = min(point_box_dist(p, box) for p in wrists)
        da = min(point_box_dist(p, box) for p in ankles)
        if name in ("bicycle", "chair"):
            ok = True
        elif name in ("sports ball", "skateboard"):
            ok = da > 0.035
        else:
            ok = dw > 0.06
        if ok:
            return LayoutObject(name, box, "behind" if rng.random() < 0.5 else "front",
                                1 if rng.random() < 0.5 else -1)
    return None
