"""Synthetic human-object-interaction scenes that TIN can learn from.

Real HICO-DET / V-COCO images cannot be downloaded here, so the project trains and tests on
drawn scenes.  A scene holds 1-3 people (filled head + thick limbs drawn from 17 COCO
keypoints) and 1-4 objects of 8 COCO classes, each class with its own shape and colour.
Whether a person interacts with an object is decided by what is *visible*: the pose (a hand
on the cup, a foot on the ball, hips on the seat, the head turned to the laptop), the spatial
relation and the object's appearance.  People also stand right next to objects (or another
person) without interacting (relaxed pose) and objects lie around as distractors. The
annotation is complete: every person-object (and person-person) pair without an interaction
is annotated with the object's no_interaction HOI, so the label follows what is visible
(HICO-DET's annotators were not exhaustive). Groups are sometimes cut by the image border, so
box overlap alone does not decide interactiveness.

Public API (all randomness flows through an explicit ``np.random.Generator``; the same
generator state gives the same scene, image and detections):

* :data:`CATALOGUE` -- the interaction types (:class:`InteractionType`), each with its HICO
  (verb, object) pairs, V-COCO classes, body parts it uses, sampling weight and rarity.
* :func:`sample_scene` -- one :class:`Scene` (people, objects, GT interactions, V-COCO person
  actions, BGR image).
* :func:`detect` -- a Faster R-CNN imitation: :class:`Detection` list with jittered boxes,
  scores, misses, false positives, wrong classes and noisy poses for humans.
* :func:`negative_pairs` -- detection pairs that match no GT pair (iCAN ``Trainval_Neg``).

Rare types.  In the ``'train'`` split a rare type never comes from random sampling; with
``k = image_id % RARE_TRAIN_BLOCK`` it is placed in the scenes whose
``k % RARE_TRAIN_PERIOD == phase`` for the first ``rare_train_scenes`` such ids (phases 3, 13,
23, 33).  So a training set with consecutive ids starting at a multiple of 10,000 (or at 0 or
1) and fewer than 10,000 images holds each rare HOI between 1 and 9 times as soon as it has
more than 34 images (all scheduled instances from 184 images on: throw sports_ball 2,
hold backpack 4, carry/hold chair 5, hug person 6 = 3 scenes x both directions).  In
``'test'`` each rare type is placed in every scene with
``image_id % RARE_TEST_PERIOD == test phase`` (phases 2, 7, 12, 17: 5 % of test images each).
``type_weights`` can give a rare type a random-sampling weight too (then the guarantee is
the caller's business).

Besides the requested fields, ``Scene.type_names[k]`` names the catalogue type of
``Scene.interactions[k]`` ('no_interaction' for the pairs labelled with a no_interaction HOI).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from data_prep.synthetic import render
from tin_jax.schema import classes

__all__ = [
    "KEYPOINT_NAMES",
    "FLIP_PERM",
    "InteractionType",
    "CATALOGUE",
    "TYPES_BY_NAME",
    "RARE_TYPES",
    "OBJECT_NAMES",
    "RARE_TRAIN_PERIOD",
    "RARE_TRAIN_BLOCK",
    "RARE_TEST_PERIOD",
    "Person",
    "Obj",
    "Interaction",
    "Scene",
    "Detection",
    "scheduled_rare_types",
    "sample_scene",
    "detect",
    "negative_pairs",
    "box_iou",
]

KEYPOINT_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
#: Keypoint permutation that swaps left and right.
FLIP_PERM = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)

NOSE, L_EYE, R_EYE, L_EAR, R_EAR, L_SH, R_SH, L_EL, R_EL, L_WR, R_WR = range(11)
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANK, R_ANK = range(11, 17)

# Body proportions, in units of standing height (the unit of every layout below).
UPPER_ARM, FOREARM = 0.16, 0.15
THIGH, SHIN = 0.245, 0.245
TORSO = 0.30           # hip centre -> neck
SHOULDER_HALF = 0.10
HIP_HALF = 0.055
NECK_HEAD = 0.10       # neck -> head centre
HEAD_R = 0.065
PROFILE = 0.35         # lateral squeeze of a side view
LIMB_HALF = 0.03       # half limb thickness (+ margin) for the tight person box

# --------------------------------------------------------------------------------------------
# Catalogue
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InteractionType:
    """One kind of interaction: its labels, the body parts it occupies, how often it occurs.

    ``parts``: 'legs' (posture), 'arm' (one free arm), 'arms' (both), 'head' (gaze), 'back',
    'pair' (target is another person, laid out as a two-person group).
    """

    name: str
    obj: str                       # COCO object name ('person' for person-person)
    verbs: tuple[str, ...]         # HICO verbs, all true at once (multi-label pair)
    vcoco: tuple[str, ...]         # TIN V-COCO class names of this pair
    parts: frozenset
    weight: float                  # default random-sampling weight (0 for rare types)
    rare_train_scenes: int = 0     # > 0: rare, placed by schedule in exactly this many train ids
    postures: tuple[str, ...] = ()  # allowed free postures ('' = any)
    rule: str = ""

    @property
    def category(self) -> int:
        return classes.coco_id(self.obj)

    @property
    def hoi_ids(self) -> tuple[int, ...]:
        return tuple(classes.hoi_id(v, self.obj) for v in self.verbs)

    @property
    def rare(self) -> bool:
        return self.rare_train_scenes > 0


def _t(name, obj, verbs, vcoco, parts, weight, rare=0, postures=(), rule=""):
    return InteractionType(name, obj, tuple(verbs), tuple(vcoco), frozenset(parts), weight,
                           rare, tuple(postures), rule)


CATALOGUE: tuple[InteractionType, ...] = (
    _t("ride_bicycle", "bicycle", ("ride", "sit_on", "hold"),
       ("ride_instr", "sit_instr", "hold_obj"), ("legs", "arm_l", "arm_r"), 3.0,
       rule="hips on the saddle, feet on the pedals, both hands on the handlebar, leaning"),
    _t("hold_cup", "cup", ("hold",), ("hold_obj",), ("arm",), 3.0,
       rule="elbow bent, wrist on the cup at chest height"),
    _t("kick_ball", "sports ball", ("kick",), ("kick_obj",), ("legs",), 3.0,
       rule="side view, kicking leg swung forward, ankle touching the ball on the ground"),
    _t("sit_chair", "chair", ("sit_on",), ("sit_instr",), ("legs",), 3.0,
       rule="side view, hips on the seat, thighs horizontal, shins down, chair behind"),
    _t("type_laptop", "laptop", ("type_on",), ("work_on_computer_instr", "look_obj"),
       ("arm_l", "arm_r", "head"), 1.5, postures=("stand", "sit"),
       rule="both wrists on the keyboard, head bent down to the screen"),
    _t("talk_phone", "cell phone", ("talk_on", "hold"), ("talk_on_phone_instr", "hold_obj"),
       ("arm", "head"), 1.5, rule="wrist at the ear, phone against the head"),
    _t("drink_cup", "cup", ("drink_with", "hold"), ("drink_instr", "hold_obj"),
       ("arm", "head"), 1.0, rule="wrist at the mouth, cup at the lips, head tilted back"),
    _t("wear_backpack", "backpack", ("wear", "carry"), ("carry_obj",), ("back",), 1.0,
       rule="backpack behind the torso between neck and hips, straps over the shoulders"),
    _t("ride_skateboard", "skateboard", ("ride", "stand_on"), ("skateboard_instr",),
       ("legs",), 1.0, rule="both feet on the deck, knees bent, arms spread"),
    _t("hold_hands", "person", ("hold",), ("hold_obj",), ("pair",), 1.0,
       rule="two people side by side facing each other, near wrists meet"),
    # rare
    _t("throw_ball", "sports ball", ("throw",), ("throw_obj",), ("arm",), 0.0, rare=2,
       postures=("stand", "walk"), rule="arm raised above the head, ball in the hand"),
    _t("hold_backpack", "backpack", ("hold",), ("hold_obj",), ("arm",), 0.0, rare=4,
       postures=("stand", "walk"), rule="arm hanging outwards, bag dangling from the wrist"),
    _t("carry_chair", "chair", ("carry", "hold"), ("carry_obj", "hold_obj"),
       ("arm_l", "arm_r"), 0.0, rare=5, postures=("stand", "walk"),
       rule="chair lifted off the ground in front of the torso, both wrists on the seat"),
    _t("hug_person", "person", ("hug", "hold"), ("hold_obj",), ("pair",), 0.0, rare=3,
       rule="two people overlapping face to face, both arms around the other's back"),
)
TYPES_BY_NAME: dict[str, InteractionType] = {t.name: t for t in CATALOGUE}
RARE_TYPES: tuple[str, ...] = tuple(t.name for t in CATALOGUE if t.rare)
#: Object classes that appear in the scenes (besides people).
OBJECT_NAMES: tuple[str, ...] = (
    "bicycle", "cup", "sports ball", "chair", "laptop", "cell phone", "backpack", "skateboard")

RARE_TRAIN_PERIOD = 40
RARE_TRAIN_BLOCK = 10_000   # the train schedule restarts every 10k ids
RARE_TEST_PERIOD = 20
_RARE_PHASE = {name: 3 + 10 * k for k, name in enumerate(RARE_TYPES)}      # 3, 13, 23, 33
_RARE_TEST_PHASE = {name: 2 + 5 * k for k, name in enumerate(RARE_TYPES)}  # 2, 7, 12, 17

# Size (w, h) of an object in person-height units, used for distractors / near objects.
_OBJ_SIZE = {
    "bicycle": (0.92, 0.62), "cup": (0.065, 0.08), "sports ball": (0.12, 0.12),
    "chair": (0.29, 0.54), "laptop": (0.25, 0.17), "cell phone": (0.036, 0.07),
    "backpack": (0.16, 0.21), "skateboard": (0.43, 0.075),
}
_GROUND_OBJECTS = frozenset({"bicycle", "sports ball", "chair", "backpack", "skateboard"})


def scheduled_rare_types(image_id: int, split: str) -> tuple[str, ...]:
    """Rare types forced into scene ``image_id`` of ``split`` (see the module docstring)."""
    out = []
    k = int(image_id) % RARE_TRAIN_BLOCK
    for name in RARE_TYPES:
        if split == "train":
            n = TYPES_BY_NAME[name].rare_train_scenes
            if k % RARE_TRAIN_PERIOD == _RARE_PHASE[name] and k // RARE_TRAIN_PERIOD < n:
                out.append(name)
        elif int(image_id) % RARE_TEST_PERIOD == _RARE_TEST_PHASE[name]:
            out.append(name)
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Public records
# --------------------------------------------------------------------------------------------


@dataclass
class Person:
    box: np.ndarray        # (4,) float32 [x1, y1, x2, y2], 0-based pixels
    keypoints: np.ndarray  # (17, 3) float32 (x, y, score), COCO order


@dataclass
class Obj:
    box: np.ndarray        # (4,) float32
    category: int          # 1..80 (never 1 here: people are in Scene.people)


@dataclass
class Interaction:
    human: int                     # index into Scene.people
    target: int                    # index into Scene.people (target_is_person) or Scene.objects
    target_is_person: bool
    hoi_ids: tuple[int, ...]       # 0-based HICO-DET HOI ids
    vcoco_classes: tuple[str, ...]  # TIN V-COCO class names; () for no_interaction pairs

    @property
    def interactive(self) -> bool:
        """False for pairs labelled only with their object's no_interaction HOI."""
        return not all(h in classes.NO_INTERACTION_HOIS for h in self.hoi_ids)


@dataclass
class Scene:
    image_id: int
    width: int
    height: int
    people: list[Person]
    objects: list[Obj]
    interactions: list[Interaction]
    person_actions: list[tuple[str, ...]]  # per person, all V-COCO class names
    image: np.ndarray                      # (H, W, 3) uint8 BGR
    type_names: list[str] = field(default_factory=list)  # catalogue type of each interaction

    def target_box(self, inter: Interaction) -> np.ndarray:
        return (self.people[inter.target].box if inter.target_is_person
                else self.objects[inter.target].box)

    def target_category(self, inter: Interaction) -> int:
        return 1 if inter.target_is_person else self.objects[inter.target].category


@dataclass
class Detection:
    box: np.ndarray             # (4,) float32, clipped to the image
    is_human: bool
    category: int               # 1..80, 1 for humans
    score: float
    pose: np.ndarray | None     # (17, 3) float32 for humans, else None


# --------------------------------------------------------------------------------------------
# Geometry helpers
# --------------------------------------------------------------------------------------------


def _ik(root, target, l1, l2, pref):
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


def _add(p, dx, dy):
    return (p[0] + dx, p[1] + dy)


def _box_c(cx, cy, w, h):
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def _point_box_dist(p, box) -> float:
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


# --------------------------------------------------------------------------------------------
# Person layout (person-local coordinates: height units, ground y = 0, y down, facing +x;
# COCO 'left' joints sit on the +x side)
# --------------------------------------------------------------------------------------------


@dataclass
class _LObj:
    name: str
    box: list           # [x1, y1, x2, y2] local units
    z: str              # 'behind' | 'front'
    facing: int = 1
    straps: list = field(default_factory=list)


@dataclass
class _Legs:
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


def _legs_free(rng, posture: str) -> _Legs:
    u = rng.uniform
    if posture == "walk":
        return _Legs("walk", (0.0, -0.5), u(0.0, 0.08), (u(0.08, 0.13), -0.03),
                     (-u(0.06, 0.11), -0.03), (1.0, 0.0), (1.0, 0.0), PROFILE)
    if posture == "run":
        return _Legs("run", (0.0, -0.47), u(0.15, 0.25), (u(0.15, 0.2), -u(0.12, 0.18)),
                     (-u(0.14, 0.19), -u(0.05, 0.1)), (1.0, -0.5), (0.3, 1.0), PROFILE)
    if posture == "stand_side":  # standing, seen from the side (pairs facing each other)
        a = u(0.01, 0.04)
        return _Legs("stand_side", (0.0, -0.505), u(0.0, 0.05), (a, -0.025), (-a, -0.025),
                     (1.0, 0.0), (1.0, 0.0), PROFILE)
    a = u(0.055, 0.09)
    return _Legs("stand", (u(-0.01, 0.01), -0.505), 0.0, (a, -0.025), (-a, -0.025),
                 (0.3, 0.0), (-0.3, 0.0), 1.0)


def _legs_ride_bicycle(rng) -> _Legs:
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
    return _Legs("ride", (seat[0], seat[1] - 0.035), rng.uniform(0.5, 0.6), ped1, ped2,
                 (1.0, -0.6), (1.0, -0.6), PROFILE, [_LObj("bicycle", box, "behind")],
                 bar=(bar[0] - 0.01, bar[1] + 0.015))


def _legs_sit_chair(rng) -> _Legs:
    s = rng.uniform(0.25, 0.30)  # seat height
    box = [-0.15, -2 * s, 0.15, 0.0]
    box[2] = box[0] + rng.uniform(0.27, 0.32)
    hip = (-0.03, render.chair_seat_y(box) - 0.035)
    ax = rng.uniform(0.2, 0.26)
    return _Legs("sit", hip, rng.uniform(-0.05, 0.1), (ax, -0.025), (ax - 0.04, -0.025),
                 (1.0, -1.0), (1.0, -1.0), PROFILE, [_LObj("chair", box, "behind")])


def _legs_kick_ball(rng) -> _Legs:
    r = rng.uniform(0.05, 0.075)
    ax = rng.uniform(0.2, 0.28)
    ank = (ax, -r - rng.uniform(-0.02, 0.03))
    cx = ax + 0.6 * r + 0.03
    box = _box_c(cx, -r, 2 * r, 2 * r)
    return _Legs("kick", (0.0, -0.5), rng.uniform(-0.15, -0.05), ank,
                 (-rng.uniform(0.02, 0.06), -0.025), (1.0, -0.3), (1.0, 0.0), PROFILE,
                 [_LObj("sports ball", box, "front")])


def _legs_ride_skateboard(rng) -> _Legs:
    length = rng.uniform(0.40, 0.46)
    bh = 0.075
    box = [-length / 2, -bh, length / 2, 0.0]
    ay = -bh - 0.015
    a = rng.uniform(0.11, 0.14)
    hip = (rng.uniform(-0.02, 0.02), ay - rng.uniform(0.44, 0.47))
    return _Legs("skate", hip, 0.0, (a, ay), (-a, ay), (1.0, 0.0), (-1.0, 0.0), 1.0,
                 [_LObj("skateboard", box, "front")])


_LEGS_PLANNERS = {
    "ride_bicycle": _legs_ride_bicycle,
    "sit_chair": _legs_sit_chair,
    "kick_ball": _legs_kick_ball,
    "ride_skateboard": _legs_ride_skateboard,
}


def _core(legs: _Legs) -> dict:
    hip, lean, lat = legs.hip, legs.lean, legs.lateral
    neck = (hip[0] + TORSO * math.sin(lean), hip[1] - TORSO * math.cos(lean))
    c = {"hip": hip, "neck": neck, "lateral": lat, "posture": legs.posture, "lean": lean}
    c["sh_l"] = (neck[0] + SHOULDER_HALF * lat, neck[1] + 0.012)
    c["sh_r"] = (neck[0] - SHOULDER_HALF * lat, neck[1] + 0.012)
    c["hip_l"] = (hip[0] + HIP_HALF * lat, hip[1])
    c["hip_r"] = (hip[0] - HIP_HALF * lat, hip[1])
    c["knee_l"], c["ank_l"] = _ik(c["hip_l"], legs.ank_l, THIGH, SHIN, legs.kpref_l)
    c["knee_r"], c["ank_r"] = _ik(c["hip_r"], legs.ank_r, THIGH, SHIN, legs.kpref_r)
    hl = 0.5 * lean
    c["head"] = (neck[0] + NECK_HEAD * math.sin(hl), neck[1] - NECK_HEAD * math.cos(hl))
    c["mouth"] = _add(c["head"], 0.02 * (lat < 1), 0.03)
    return c


def _arm_default(rng, core, s, bar):
    """Default wrist target + elbow preference of a free arm (s=+1: 'left' / +x arm)."""
    sh = core["sh_l" if s > 0 else "sh_r"]
    p = core["posture"]
    u = rng.uniform
    if p == "ride" and bar is not None:
        return _add(bar, 0.01 * s, 0.0), (0.0, 1.0)
    if p == "walk":
        sw = u(0.05, 0.1) * (-1 if s > 0 else 1)
        return _add(sh, sw, u(0.27, 0.29)), (sw, 0.3)
    if p == "run":
        if s > 0:
            return _add(sh, -u(0.1, 0.14), u(0.17, 0.2)), (-1.0, 0.3)
        return _add(sh, u(0.13, 0.17), u(0.09, 0.12)), (-0.4, 1.0)
    if p == "sit":
        kn = core["knee_l" if s > 0 else "knee_r"]
        hp = core["hip"]
        return (0.45 * hp[0] + 0.55 * kn[0], 0.45 * hp[1] + 0.55 * kn[1] - 0.035), (-0.3, 1.0)
    if p == "kick":
        return (_add(sh, u(0.17, 0.22), u(0.08, 0.14)) if s > 0
                else _add(sh, -u(0.17, 0.22), u(0.06, 0.12))), (0.0, 1.0)
    if p == "skate":
        return _add(sh, s * u(0.24, 0.29), u(0.02, 0.1)), (0.0, 1.0)
    return _add(sh, s * u(0.02, 0.07), u(0.27, 0.30)), (s, 0.3)


# Arm planners: (rng, core, s) -> (wrist target, elbow pref, [objs], look or None)


def _arm_hold_cup(rng, core, s):
    sh = core["sh_l" if s > 0 else "sh_r"]
    wr = _add(sh, s * rng.uniform(0.05, 0.14), rng.uniform(0.17, 0.25))
    w = rng.uniform(0.055, 0.07)
    cup = _box_c(wr[0] + 0.005 * s, wr[1] - 0.035, w, 1.25 * w)
    return wr, (s * 0.3, 1.0), [_LObj("cup", cup, "front", s)], None


def _arm_drink_cup(rng, core, s):
    w = rng.uniform(0.055, 0.07)
    m = core["mouth"]
    c = _add(m, s * (0.02 + w / 2), 0.0)
    cup = _box_c(c[0], c[1], w, 1.25 * w)
    wr = _add(c, s * 0.015, 0.035)
    return wr, (s, 0.6), [_LObj("cup", cup, "front", -s)], (0.35 * s, -0.5)


def _arm_talk_phone(rng, core, s):
    hd = core["head"]
    c = _add(hd, s * rng.uniform(0.065, 0.08), rng.uniform(-0.005, 0.015))
    ph = _box_c(c[0], c[1], 0.036, 0.07)
    wr = _add(c, s * 0.008, 0.04)
    return wr, (s, 0.4), [_LObj("cell phone", ph, "front", s)], (0.25 * s, 0.05)


def _arm_throw_ball(rng, core, s):
    sh = core["sh_l" if s > 0 else "sh_r"]
    wr = _add(sh, s * rng.uniform(-0.02, 0.06), -rng.uniform(0.25, 0.29))
    r = rng.uniform(0.045, 0.06)
    ball = _box_c(wr[0], wr[1] - 0.85 * r, 2 * r, 2 * r)
    return wr, (s, -0.3), [_LObj("sports ball", ball, "front")], (0.3 * s, -0.6)


def _arm_hold_backpack(rng, core, s):
    sh = core["sh_l" if s > 0 else "sh_r"]
    wr = _add(sh, s * rng.uniform(0.09, 0.13), rng.uniform(0.27, 0.29))
    w, h = rng.uniform(0.14, 0.17), rng.uniform(0.19, 0.22)
    cx = wr[0] + 0.02 * s
    bag = [cx - w / 2, wr[1] - 0.02, cx + w / 2, wr[1] - 0.02 + h]
    return wr, (s, 0.2), [_LObj("backpack", bag, "front")], None


_ARM_PLANNERS = {
    "hold_cup": _arm_hold_cup,
    "drink_cup": _arm_drink_cup,
    "talk_phone": _arm_talk_phone,
    "throw_ball": _arm_throw_ball,
    "hold_backpack": _arm_hold_backpack,
}


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
    return targets, prefs, [_LObj("laptop", box, "front")], look


def _arms_carry_chair(rng, core):
    s = rng.uniform(0.19, 0.22)
    w = rng.uniform(0.25, 0.29)
    cx = core["neck"][0] + rng.uniform(0.0, 0.05)
    top = core["neck"][1] + rng.uniform(0.02, 0.08)
    box = [cx - w / 2, top, cx + w / 2, top + 2 * s]
    sy = render.chair_seat_y(box)
    targets = {1: (box[2] - 0.02, sy), -1: (box[0] + 0.02, sy)}
    prefs = {1: (1.0, 0.5), -1: (-1.0, 0.5)}
    return targets, prefs, [_LObj("chair", box, "front")], (0.0, 0.3)


_ARMS_PLANNERS = {"type_laptop": _arms_type_laptop, "carry_chair": _arms_carry_chair}


def _back_wear_backpack(rng, core):
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
    return [_LObj("backpack", box, "behind", 1, straps)]


@dataclass
class _PersonPlan:
    kp: np.ndarray            # (17, 2) group coords
    head: tuple
    vis: np.ndarray           # (17,) visibility factor
    posture: str
    profile: bool
    facing: int
    x0: float


def _build_person(rng, types: Sequence[InteractionType], posture: str | None,
                  pair_targets: Mapping[int, tuple] | None = None, facing: int = 1,
                  x0: float = 0.0, look_at: tuple | None = None):
    """Lay out one person (and the objects of ``types``) in group coordinates.

    Returns (plan, objs) where objs is a list of (type name, _LObj) already in group coords.
    """
    legs_t = [t for t in types if t.name in _LEGS_PLANNERS]
    if legs_t:
        legs = _LEGS_PLANNERS[legs_t[0].name](rng)
    else:
        legs = _legs_free(rng, posture or "stand")
    core = _core(legs)
    owned: list[tuple[str, _LObj]] = [(legs_t[0].name, o) for o in legs.objs] if legs_t else []
    targets: dict[int, tuple] = {}
    prefs: dict[int, tuple] = {}
    look = None
    for side, tgt in (pair_targets or {}).items():
        targets[side], prefs[side] = tgt, (side * 0.5, 1.0)
    for t in types:
        if t.name in _ARMS_PLANNERS:
            tg, pr, objs, lk = _ARMS_PLANNERS[t.name](rng, core)
            targets.update(tg)
            prefs.update(pr)
            owned += [(t.name, o) for o in objs]
            look = lk if lk is not None else look
        elif t.name in _ARM_PLANNERS:
            s = 1 if 1 not in targets else -1
            wr, pr, objs, lk = _ARM_PLANNERS[t.name](rng, core, s)
            targets[s], prefs[s] = wr, pr
            owned += [(t.name, o) for o in objs]
            look = lk if lk is not None else look
        elif t.name == "wear_backpack":
            owned += [(t.name, o) for o in _back_wear_backpack(rng, core)]
    for s in (1, -1):
        if s not in targets:
            targets[s], prefs[s] = _arm_default(rng, core, s, legs.bar)
    el_l, wr_l = _ik(core["sh_l"], targets[1], UPPER_ARM, FOREARM, prefs[1])
    el_r, wr_r = _ik(core["sh_r"], targets[-1], UPPER_ARM, FOREARM, prefs[-1])
    # gaze
    lat = core["lateral"]
    if look is None:
        if look_at is not None:
            dx, dy = look_at[0] - core["head"][0], look_at[1] - core["head"][1]
            look = (max(-1.0, min(1.0, dx / 0.25)) * 0.8, max(-1.0, min(1.0, dy / 0.6)) * 0.6)
        elif lat < 1.0:
            look = (rng.uniform(0.5, 0.9), rng.uniform(-0.2, 0.2))
        else:
            look = (rng.uniform(-0.6, 0.6), rng.uniform(-0.2, 0.2))
    lx, ly = look
    hd = core["head"]
    latf = 1.0 if lat >= 1.0 else 0.45
    kp = np.empty((17, 2), np.float64)
    kp[NOSE] = _add(hd, 0.035 * lx, 0.012 + 0.03 * ly)
    kp[L_EYE] = _add(hd, 0.024 * latf + 0.025 * lx, -0.012 + 0.025 * ly)
    kp[R_EYE] = _add(hd, -0.024 * latf + 0.025 * lx, -0.012 + 0.025 * ly)
    kp[L_EAR] = _add(hd, 0.058 * latf - 0.02 * lx, 0.005 * ly)
    kp[R_EAR] = _add(hd, -0.058 * latf - 0.02 * lx, 0.005 * ly)
    kp[L_SH], kp[R_SH] = core["sh_l"], core["sh_r"]
    kp[L_EL], kp[R_EL], kp[L_WR], kp[R_WR] = el_l, el_r, wr_l, wr_r
    kp[L_HIP], kp[R_HIP] = core["hip_l"], core["hip_r"]
    kp[L_KNEE], kp[R_KNEE] = core["knee_l"], core["knee_r"]
    kp[L_ANK], kp[R_ANK] = core["ank_l"], core["ank_r"]
    vis = np.ones(17)
    if lx > 0.45:
        vis[[L_EAR, L_EYE]] = 0.25
    elif lx < -0.45:
        vis[[R_EAR, R_EYE]] = 0.25
    if lat < 1.0:  # side view: the far limbs are partly hidden
        vis[[R_EL, R_WR, R_KNEE, R_ANK]] *= 0.7
    head = np.asarray(hd, np.float64)
    # to group coordinates
    if facing < 0:
        kp[:, 0] *= -1
        kp = kp[list(FLIP_PERM)]
        vis = vis[list(FLIP_PERM)]
        head[0] *= -1
    kp[:, 0] += x0
    head[0] += x0
    objs = []
    for name, o in owned:
        b = o.box
        if facing < 0:
            b = [-b[2], b[1], -b[0], b[3]]
        b = [b[0] + x0, b[1], b[2] + x0, b[3]]
        straps = [((facing * a[0] + x0, a[1]), (facing * c[0] + x0, c[1])) for a, c in o.straps]
        objs.append((name, _LObj(o.name, b, o.z, o.facing * facing, straps)))
    plan = _PersonPlan(kp, (float(head[0]), float(head[1])), vis, legs.posture, lat < 1.0,
                       facing, x0)
    return plan, objs


def _near_object(rng, name: str, plan: _PersonPlan, side: int):
    """A non-interacting object next to a person (group coords), or None.

    Objects are put where an interacting one would be (cup/phone/laptop at hand height beside
    the body, ball at the feet, chair/bicycle overlapping a standing person, ...) while the
    pose does not touch them, so only the pose tells the two cases apart.
    """
    w, h = _OBJ_SIZE[name]
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
            box = _box_c(cx, u(-0.8, -0.45), w, h)
        dw = min(_point_box_dist(p, box) for p in wrists)
        da = min(_point_box_dist(p, box) for p in ankles)
        if name in ("bicycle", "chair"):
            ok = True
        elif name in ("sports ball", "skateboard"):
            ok = da > 0.035
        else:
            ok = dw > 0.06
        if ok:
            return _LObj(name, box, "behind" if rng.random() < 0.5 else "front",
                         1 if rng.random() < 0.5 else -1)
    return None


# --------------------------------------------------------------------------------------------
# Groups: people laid out together with their objects, in group units
# --------------------------------------------------------------------------------------------


@dataclass
class _Group:
    people: list = field(default_factory=list)        # _PersonPlan
    styles: list = field(default_factory=list)        # render.PersonStyle
    objs: list = field(default_factory=list)          # _LObj
    # (human idx, ('p'|'o', idx), hoi ids, vcoco, type name)
    inters: list = field(default_factory=list)
    actions: list = field(default_factory=list)       # per person: list of V-COCO names


_LEGS_POSTURE = {"ride_bicycle": "ride", "sit_chair": "sit", "kick_ball": "kick",
                 "ride_skateboard": "skate"}


def _compatible(t: InteractionType, types: Sequence[InteractionType]) -> bool:
    """Can ``t`` be added to a person already doing ``types`` (disjoint body parts)?"""
    if "pair" in t.parts or any(u.name == t.name for u in types):
        return False
    used: set = set()
    arms = 0
    for u in types:
        used |= set(u.parts) - {"arm"}
        arms += "arm" in u.parts
    arms += len({"arm_l", "arm_r"} & used)
    need = ("arm" in t.parts) + len({"arm_l", "arm_r"} & t.parts)
    if arms + need > 2:
        return False
    if (set(t.parts) - {"arm", "arm_l", "arm_r"}) & used:
        return False
    allt = list(types) + [t]
    legs = [_LEGS_POSTURE[u.name] for u in allt if u.name in _LEGS_POSTURE]
    return not (legs and any(u.postures and legs[0] not in u.postures for u in allt))


def _choose_posture(rng, types: Sequence[InteractionType]) -> str:
    allowed = ["stand", "walk", "run"]
    for t in types:
        if t.postures:
            allowed = [p for p in allowed if p in t.postures]
    if not allowed:
        allowed = ["stand"]
    p = np.array([{"stand": 0.6, "walk": 0.3, "run": 0.1}[a] for a in allowed])
    return allowed[int(rng.choice(len(allowed), p=p / p.sum()))]


def _person_style(rng) -> render.PersonStyle:
    def jit(c):
        return tuple(int(np.clip(v + rng.integers(-15, 16), 0, 255)) for v in c)

    return render.PersonStyle(
        skin=jit(render.SKIN_TONES[rng.integers(len(render.SKIN_TONES))]),
        shirt=jit(render.SHIRT_COLORS[rng.integers(len(render.SHIRT_COLORS))]),
        pants=jit(render.PANTS_COLORS[rng.integers(len(render.PANTS_COLORS))]),
        smile=bool(rng.random() < 0.3))


def _posture_actions(posture: str, smile: bool) -> list[str]:
    out = {"stand": ["stand"], "stand_side": ["stand"], "walk": ["walk"],
           "run": ["run"]}.get(posture, [])
    return out + (["smile"] if smile else [])


def _single_group(rng, types: list[InteractionType], budget: list[int]) -> _Group:
    """One person with ``types`` (possibly none), maybe a non-interacting near object."""
    g = _Group()
    posture = _choose_posture(rng, types)
    facing = 1 if rng.random() < 0.5 else -1
    plan, owned = _build_person(rng, types, posture, facing=facing)
    style = _person_style(rng)
    style.facing, style.profile = facing, plan.profile
    g.people.append(plan)
    g.styles.append(style)
    acts = _posture_actions(plan.posture, style.smile)
    for name, o in owned:  # one object per type
        t = TYPES_BY_NAME[name]
        g.inters.append((0, ("o", len(g.objs)), t.hoi_ids, t.vcoco, name))
        acts += list(t.vcoco)
        g.objs.append(o)
    if budget[0] > 0 and rng.random() < 0.5:
        name = OBJECT_NAMES[rng.integers(len(OBJECT_NAMES))]
        side = 1 if rng.random() < 0.5 else -1
        taken = {1 if o.box[0] + o.box[2] > 0 else -1 for o in g.objs}
        if side in taken:
            side = -side  # keep clear of the objects the person interacts with
        o = _near_object(rng, name, plan, side) if side not in taken else None
        if o is not None:
            budget[0] -= 1
            rng.random()  # unused draw: keeps the random stream, so each seed's scenes, unchanged
            # Annotated whenever it is there to see: a person standing next to an object without
            # touching it is a "no interaction" pair, as far as what is visible decides.
            noint = int(classes.NO_INTERACTION_HOI_BY_OBJECT[classes.coco_id(name)])
            g.inters.append((0, ("o", len(g.objs)), (noint,), (), "no_interaction"))
            g.objs.append(o)
    g.actions.append(acts)
    return g


def _pair_group(rng, kind: str, budget: list[int], secondary_w: Mapping[str, float]) -> _Group:
    """Two people: 'hold_hands', 'hug_person' or 'no_interaction' (standing near each other)."""
    g = _Group()
    if kind == "hold_hands":
        d = rng.uniform(0.30, 0.37)
        m = (d / 2, -rng.uniform(0.5, 0.56))
        specs = [(1, 0.0, {1: m}), (-1, d, {1: (d - m[0], m[1])})]
    elif kind == "hug_person":
        d = rng.uniform(0.13, 0.17)
        # both hug around the other's back; in each person's own frame the targets coincide
        specs = [(f, x0, {1: (d + 0.07, -0.73 + rng.uniform(-0.02, 0.02)),
                          -1: (d + 0.055, -0.62 + rng.uniform(-0.02, 0.02))})
                 for f, x0 in ((1, 0.0), (-1, d))]
    else:
        d = rng.uniform(0.24, 0.5)
        specs = [(1 if rng.random() < 0.5 else -1, 0.0, None),
                 (1 if rng.random() < 0.5 else -1, d, None)]
    for f, x0, pt in specs:
        extra = []
        if kind != "hug_person" and budget[0] > 0 and rng.random() < 0.25:
            cands = [TYPES_BY_NAME[n] for n in ("hold_cup", "talk_phone", "drink_cup")
                     if secondary_w.get(n, 0) > 0]
            if cands:
                extra = [cands[int(rng.integers(len(cands)))]]
                budget[0] -= 1
        posture = "stand_side" if pt is not None else _choose_posture(rng, extra)
        plan, owned = _build_person(rng, extra, posture, pair_targets=pt, facing=f, x0=x0,
                                    look_at=(d, -0.9) if pt else None)
        style = _person_style(rng)
        style.facing, style.profile = f, plan.profile
        i = len(g.people)
        g.people.append(plan)
        g.styles.append(style)
        acts = _posture_actions(plan.posture, style.smile)
        for name, o in owned:
            t = TYPES_BY_NAME[name]
            g.inters.append((i, ("o", len(g.objs)), t.hoi_ids, t.vcoco, name))
            acts += list(t.vcoco)
            g.objs.append(o)
        g.actions.append(acts)
    if kind in ("hold_hands", "hug_person"):
        t = TYPES_BY_NAME[kind]
        for i in (0, 1):
            g.inters.append((i, ("p", 1 - i), t.hoi_ids, t.vcoco, kind))
            g.actions[i] += list(t.vcoco)
    else:
        noint = int(classes.NO_INTERACTION_HOI_BY_OBJECT[1])
        for i in (0, 1):
            rng.random()  # unused draw (see _single_group)
            g.inters.append((i, ("p", 1 - i), (noint,), (), "no_interaction"))
    return g


def _extent(g: _Group) -> tuple[float, float, float, float]:
    xs, ys = [], []
    for p in g.people:
        xs += [p.kp[:, 0].min() - LIMB_HALF, p.kp[:, 0].max() + LIMB_HALF,
               p.head[0] - HEAD_R, p.head[0] + HEAD_R]
        ys += [p.kp[:, 1].min() - LIMB_HALF, p.kp[:, 1].max() + LIMB_HALF,
               p.head[1] - HEAD_R]
    for o in g.objs:
        xs += [o.box[0], o.box[2]]
        ys += [o.box[1], o.box[3]]
    return min(xs), min(ys), max(xs), max(ys)


# --------------------------------------------------------------------------------------------
# Scene sampling
# --------------------------------------------------------------------------------------------


def _image_size(rng, size_range) -> tuple[int, int]:
    (s_lo, s_hi), (l_lo, l_hi) = size_range
    shorts = sorted({int(round(v / 16) * 16) for v in np.linspace(s_lo, s_hi, 3)})
    longs = sorted({int(round(v / 16) * 16) for v in np.linspace(l_lo, l_hi, 3)})
    short = shorts[int(rng.integers(len(shorts)))]
    long_ = longs[int(rng.integers(len(longs)))]
    if rng.random() < 0.25:  # portrait
        return long_, short
    return short, long_


def _jitter_color(rng, c, amt=18):
    return tuple(int(np.clip(v + rng.integers(-amt, amt + 1), 0, 255)) for v in c)


def _weights(type_weights: Mapping[str, float] | None) -> dict[str, float]:
    w = {t.name: t.weight for t in CATALOGUE}
    for k, v in (type_weights or {}).items():
        if k not in w:
            raise KeyError(f"unknown interaction type {k!r}; known: {sorted(w)}")
        w[k] = float(v)
    return w


def _pick(rng, names: list[str], w: Mapping[str, float]) -> str | None:
    p = np.array([w[n] for n in names], np.float64)
    if not names or p.sum() <= 0:
        return None
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def sample_scene(rng: np.random.Generator, image_id: int, split: str,
                 size_range=((240, 320), (320, 480)),
                 type_weights: Mapping[str, float] | None = None) -> Scene:
    """Draw one synthetic scene.

    ``size_range = ((short_min, short_max), (long_min, long_max))`` in pixels; the image is
    landscape (75 %) or portrait (25 %) with sides from a few values in those ranges.
    ``type_weights`` overrides the catalogue's random-sampling weights by type name.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    H, W = _image_size(rng, size_range)
    weights = _weights(type_weights)
    forced = list(scheduled_rare_types(int(image_id), split))
    n_people = int(rng.choice([1, 2, 3], p=[0.35, 0.4, 0.25]))
    budget = [4]  # non-person objects still allowed

    groups: list[_Group] = []
    people = 0
    while people < n_people or forced:
        left = max(n_people - people, 2 if forced else 0)
        kind = None
        if forced:
            kind = forced.pop(0)
        else:
            r = rng.random()
            if r < 0.12:
                kind = "idle"
            elif r < 0.22 and left >= 2:
                kind = "no_interaction_pair"
            else:
                names = [t.name for t in CATALOGUE if weights[t.name] > 0
                         and ("pair" not in t.parts or left >= 2)
                         and ("pair" in t.parts or budget[0] > 0)]
                kind = _pick(rng, names, weights) or "idle"
        if kind in ("hold_hands", "hug_person", "no_interaction_pair"):
            g = _pair_group(rng, kind, budget, weights)
        elif kind == "idle":
            g = _single_group(rng, [], budget)
        else:
            t = TYPES_BY_NAME[kind]
            budget[0] -= 1
            types = [t]
            if budget[0] > 0 and rng.random() < 0.3:
                names = [u.name for u in CATALOGUE if weights[u.name] > 0
                         and _compatible(u, types)]
                sec = _pick(rng, names, weights)
                if sec is not None:
                    types.append(TYPES_BY_NAME[sec])
                    budget[0] -= 1
            if t.name == "type_laptop" and not any(u.name == "sit_chair" for u in types) \
                    and budget[0] > 0 and rng.random() < 0.4:
                types.append(TYPES_BY_NAME["sit_chair"])
                budget[0] -= 1
            g = _single_group(rng, types, budget)
        groups.append(g)
        people += len(g.people)

    # ---- scale + placement ----
    ext = [_extent(g) for g in groups]
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
    if rng.random() < 0.12:  # border truncation of the leftmost or rightmost group
        gi = order[0] if rng.random() < 0.5 else order[-1]
        sign = -1 if gi == order[0] else 1
        if n == 1:
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
    grounds = []
    for (x1, y1, x2, y2), s in zip(ext, scales):
        rel = (s / H - 0.42) / 0.3
        gy = H * (0.8 + 0.17 * rel) + rng.uniform(-0.04, 0.04) * H
        gy = min(gy, H - 1 - y2 * s - rng.uniform(0, 0.03) * H)
        gy = max(gy, -y1 * s + 1)
        grounds.append(gy)

    def to_px(gi, pts):
        (x1, _, _, _), s = ext[gi], scales[gi]
        pts = np.asarray(pts, np.float64)
        out = np.empty_like(pts)
        out[..., 0] = lefts[gi] + (pts[..., 0] - x1) * s
        out[..., 1] = grounds[gi] + pts[..., 1] * s
        return out

    # ---- background + distractors ----
    img = render.background(rng, H, W)
    person_px_boxes = []
    for gi, g in enumerate(groups):
        for p in g.people:
            kp = to_px(gi, p.kp)
            person_px_boxes.append([kp[:, 0].min(), kp[:, 1].min(), kp[:, 0].max(),
                                    kp[:, 1].max()])
    ref_h = float(np.median(scales))
    n_dis = int(rng.integers(0, 3))
    n_obj_now = sum(len(g.objs) for g in groups)
    n_dis = max(min(n_dis, 4 - n_obj_now), 1 if n_obj_now == 0 else 0)
    distractors = []
    for _ in range(n_dis):
        name = OBJECT_NAMES[int(rng.integers(len(OBJECT_NAMES)))]
        w, h = (v * ref_h * rng.uniform(0.8, 1.1) for v in _OBJ_SIZE[name])
        w, h = min(w, 0.6 * W), min(h, 0.6 * H)
        best, best_ov = None, None
        for _ in range(8):
            x1 = rng.uniform(0, W - w - 1)
            if name in _GROUND_OBJECTS:
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
        distractors.append((name, best, 1 if rng.random() < 0.5 else -1))

    # ---- render + records ----
    people: list[Person] = []
    objects: list[Obj] = []
    interactions: list[Interaction] = []
    type_names: list[str] = []
    person_actions: list[tuple[str, ...]] = []

    def add_object(name, box_px):
        b = np.array(box_px, np.float64)
        bw, bh = b[2] - b[0], b[3] - b[1]
        jit = rng.uniform(-0.03, 0.03, 4) * np.array([bw, bh, bw, bh])
        b = b + jit
        objects.append(Obj(_clip_box(b, W, H), classes.coco_id(name)))

    for name, box, facing in distractors:
        render.draw_object(img, name, box, render.ObjectStyle(
            _jitter_color(rng, render.OBJECT_COLORS[name]), facing))
        add_object(name, box)

    for gi in sorted(range(n), key=lambda i: grounds[i]):
        g, s = groups[gi], scales[gi]
        p_base, o_base = len(people), len(objects)
        obj_px = [to_px(gi, np.array(o.box).reshape(2, 2)).reshape(4) for o in g.objs]
        styles = [render.ObjectStyle(_jitter_color(rng, render.OBJECT_COLORS[o.name]), o.facing,
                                     [tuple(map(tuple, to_px(gi, np.array(seg))))
                                      for seg in o.straps]) for o in g.objs]
        for o, b, st in zip(g.objs, obj_px, styles):
            if o.z == "behind":
                render.draw_object(img, o.name, b, st)
        for p, st in zip(g.people, g.styles):
            kp = to_px(gi, p.kp)
            render.draw_person(img, kp, to_px(gi, np.array(p.head)), s, st)
        for o, b, st in zip(g.objs, obj_px, styles):
            if o.z == "front":
                render.draw_object(img, o.name, b, st)
            if st.straps:
                render.draw_straps(img, st, s)
        front_px = [b for o, b in zip(g.objs, obj_px) if o.z == "front"]
        for p, acts in zip(g.people, g.actions):
            kp = to_px(gi, p.kp)
            hd = to_px(gi, np.array(p.head))
            people.append(_make_person(rng, kp, hd, p.vis, s, front_px, W, H))
            person_actions.append(_sorted_actions(acts))
        for o, b in zip(g.objs, obj_px):
            add_object(o.name, b)
        for h_i, (kind, t_i), hois, vc, tname in g.inters:
            if kind == "p":
                interactions.append(Interaction(p_base + h_i, p_base + t_i, True,
                                                tuple(int(v) for v in hois), tuple(vc)))
            else:
                interactions.append(Interaction(p_base + h_i, o_base + t_i, False,
                                                tuple(int(v) for v in hois), tuple(vc)))
            type_names.append(tname)

    _annotate_non_interacting(people, objects, interactions, type_names)
    img = render.finish(img, rng)
    return Scene(int(image_id), W, H, people, objects, interactions, person_actions, img,
                 type_names)


def _annotate_non_interacting(people, objects, interactions, type_names) -> None:
    """Every person-object and person-person pair without an interaction gets its object's
    no_interaction HOI: the annotation is complete, so whether a pair is "no interaction" is
    decided by what the image shows, never by which pairs an annotator happened to label."""
    linked = {(i.human, i.target, i.target_is_person) for i in interactions}
    for h in range(len(people)):
        targets = [(t, False) for t in range(len(objects))] + [(t, True) for t in range(len(people)) if t != h]
        for t, is_person in targets:
            if (h, t, is_person) not in linked:
                category = 1 if is_person else objects[t].category
                interactions.append(Interaction(h, t, is_person,
                                                (int(classes.NO_INTERACTION_HOI_BY_OBJECT[category]),), ()))
                type_names.append("no_interaction")


def _sorted_actions(acts) -> tuple[str, ...]:
    order = {n: i for i, n in enumerate(classes.VCOCO_CLASSES)}
    return tuple(sorted(set(acts), key=lambda a: order[a]))


def _clip_box(b, W, H) -> np.ndarray:
    x1 = min(max(b[0], 0.0), W - 2.0)
    y1 = min(max(b[1], 0.0), H - 2.0)
    x2 = min(max(b[2], x1 + 1.0), W - 1.0)
    y2 = min(max(b[3], y1 + 1.0), H - 1.0)
    return np.array([x1, y1, x2, y2], np.float32)


def _make_person(rng, kp, head, vis, h, front_boxes, W, H) -> Person:
    """GT box (tight box of the drawing + annotation noise) and scored keypoints."""
    m = LIMB_HALF * h
    r = HEAD_R * h
    x1 = min(kp[:, 0].min() - m, head[0] - r)
    x2 = max(kp[:, 0].max() + m, head[0] + r)
    y1 = min(kp[:, 1].min() - m, head[1] - r)
    y2 = kp[:, 1].max() + m
    box = np.array([x1, y1, x2, y2]) + rng.uniform(-0.02, 0.02, 4) * h
    score = rng.uniform(0.6, 1.0, 17)
    score[[L_WR, R_WR, L_ANK, R_ANK]] = rng.uniform(0.45, 1.0, 4)
    score *= vis
    for b in front_boxes:
        inside = ((kp[:, 0] > b[0]) & (kp[:, 0] < b[2]) & (kp[:, 1] > b[1]) & (kp[:, 1] < b[3]))
        score[inside] *= rng.uniform(0.45, 0.75)
    out = (kp[:, 0] < 0) | (kp[:, 0] > W - 1) | (kp[:, 1] < 0) | (kp[:, 1] > H - 1)
    score[out] = rng.uniform(0.055, 0.2, int(out.sum()))
    k = np.empty((17, 3), np.float32)
    k[:, :2] = kp + rng.normal(0.0, 0.005 * h, (17, 2))
    k[:, 2] = np.clip(score, 0.055, 1.0)
    return Person(_clip_box(box, W, H), k)


# --------------------------------------------------------------------------------------------
# Detector imitation
# --------------------------------------------------------------------------------------------


def _jitter_box(rng, box, W, H, good: bool) -> np.ndarray:
    b = np.asarray(box, np.float64)
    w, h = b[2] - b[0], b[3] - b[1]
    sig = 0.04 if good else 0.16
    for _ in range(10):
        nb = b + rng.normal(0.0, sig, 4) * np.array([w, h, w, h])
        nb = _clip_box(nb, W, H)
        iou = float(box_iou(nb[None], b[None])[0, 0])
        if (iou > 0.7) == good and (good or iou > 0.2):
            return nb
    return _clip_box(b, W, H) if good else nb


def detect(scene: Scene, rng: np.random.Generator, split: str = "test") -> list[Detection]:
    """Imitate iCAN's Faster R-CNN detections for ``scene`` (sorted by score, descending).

    Humans: ~3 % missed, ~88 % with IoU > 0.7 and score > 0.8, the rest looser/lower; each
    carries a noisy copy of the GT keypoints as its pose.  Objects: ~5 % missed, ~85 % scored
    above 0.3, ~3 % with a wrong class.  Plus a few low-scoring false positives.
    """
    W, H = scene.width, scene.height
    fp_rate = 0.8 if split == "test" else 0.6
    dets: list[Detection] = []
    for p in scene.people:
        if rng.random() < 0.03:
            continue
        good = rng.random() < 0.88
        box = _jitter_box(rng, p.box, W, H, good)
        score = rng.uniform(0.82, 0.999) if (good and rng.random() < 0.92) \
            else rng.uniform(0.3, 0.8)
        dets.append(Detection(box, True, 1, float(score), _noisy_pose(rng, p.keypoints, box)))
    for o in scene.objects:
        if rng.random() < 0.05:
            continue
        good = rng.random() < 0.85
        box = _jitter_box(rng, o.box, W, H, good)
        cat = o.category
        if rng.random() < 0.03:
            others = [classes.coco_id(n) for n in OBJECT_NAMES if classes.coco_id(n) != cat]
            cat = others[int(rng.integers(len(others)))]
        score = 0.3 + 0.7 * rng.beta(4.0, 1.5) if rng.random() < 0.85 else rng.uniform(0.05, 0.3)
        dets.append(Detection(box, False, int(cat), float(min(score, 0.999)), None))
    for _ in range(int(rng.poisson(fp_rate))):
        if scene.people and rng.random() < 0.3:  # fragment of a person
            p = scene.people[int(rng.integers(len(scene.people)))]
            b = p.box.astype(np.float64)
            frac = rng.uniform(0.35, 0.6)
            nb = np.array([b[0], b[1], b[2], b[1] + frac * (b[3] - b[1])])
            nb += rng.normal(0, 0.05, 4) * (b[2] - b[0])
            box = _clip_box(nb, W, H)
            dets.append(Detection(box, True, 1, float(rng.uniform(0.2, 0.75)),
                                  _noisy_pose(rng, p.keypoints, box, extra=0.05)))
        else:
            bw = rng.uniform(0.05, 0.3) * W
            bh = rng.uniform(0.05, 0.3) * H
            x1, y1 = rng.uniform(0, W - bw), rng.uniform(0, H - bh)
            box = _clip_box([x1, y1, x1 + bw, y1 + bh], W, H)
            if rng.random() < 0.15:
                dets.append(Detection(box, True, 1, float(rng.uniform(0.1, 0.6)),
                                      _box_pose(rng, box)))
            else:
                name = OBJECT_NAMES[int(rng.integers(len(OBJECT_NAMES)))]
                dets.append(Detection(box, False, classes.coco_id(name),
                                      float(rng.uniform(0.05, 0.55)), None))
    order = sorted(range(len(dets)), key=lambda i: -dets[i].score)
    return [dets[i] for i in order]


def _noisy_pose(rng, kps, box, extra: float = 0.0) -> np.ndarray:
    bh = max(4.0, float(box[3] - box[1]))
    out = kps.astype(np.float64).copy()
    out[:, :2] += rng.normal(0.0, 0.015 + extra, (17, 2)) * bh
    out[:, 2] = np.clip(out[:, 2] * rng.uniform(0.8, 1.1, 17) + rng.normal(0, 0.04, 17),
                        0.055, 1.0)
    return out.astype(np.float32)


_CANON = np.array([  # standing skeleton in box-relative coordinates
    (0.5, 0.09), (0.54, 0.07), (0.46, 0.07), (0.6, 0.08), (0.4, 0.08), (0.72, 0.2),
    (0.28, 0.2), (0.8, 0.37), (0.2, 0.37), (0.82, 0.52), (0.18, 0.52), (0.62, 0.5),
    (0.38, 0.5), (0.63, 0.74), (0.37, 0.74), (0.64, 0.97), (0.36, 0.97)])


def _box_pose(rng, box) -> np.ndarray:
    """A pose estimator's guess on a box with no person in it: canonical + big noise."""
    b = np.asarray(box, np.float64)
    out = np.empty((17, 3), np.float64)
    out[:, 0] = b[0] + (_CANON[:, 0] + rng.normal(0, 0.08, 17)) * (b[2] - b[0])
    out[:, 1] = b[1] + (_CANON[:, 1] + rng.normal(0, 0.06, 17)) * (b[3] - b[1])
    out[:, 2] = rng.uniform(0.055, 0.45, 17)
    return out.astype(np.float32)


def negative_pairs(scene: Scene, detections: Sequence[Detection],
                   include_no_interaction: bool = True) -> list[tuple[int, int]]:
    """(human det, object det) index pairs that match no GT interaction.

    A pair matches a GT pair when min(IoU_human, IoU_object) >= 0.5 (IoU = max of the continuous
    and the +1-pixel convention); objects include other humans.  This is what iCAN's
    ``Trainval_Neg`` holds (labelled there with the object's no_interaction HOI).
    ``include_no_interaction=False``: only interactive GT pairs count (V-COCO, whose GT has no
    "no interaction" pairs, keeps the non-interacting ones as negatives).
    """
    if not detections:
        return []
    boxes = np.stack([d.box for d in detections]).astype(np.float64)
    gt = [i for i in scene.interactions if include_no_interaction or i.interactive]
    if gt:
        gh = np.stack([scene.people[i.human].box for i in gt])
        go = np.stack([scene.target_box(i) for i in gt])
        ih = box_iou(boxes, gh)  # (D, G)
        io = box_iou(boxes, go)
    out = []
    for h, dh in enumerate(detections):
        if not dh.is_human:
            continue
        for o in range(len(detections)):
            if o == h:
                continue
            if gt and np.any(np.minimum(ih[h], io[o]) >= 0.5):
                continue
            out.append((h, o))
    return out
