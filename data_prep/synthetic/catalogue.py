"""The scene grammar: interaction types, the object classes and the rare-type schedule.

* :data:`CATALOGUE` -- the interaction types (:class:`InteractionType`), each with its HICO
  (verb, object) pairs, V-COCO classes, body parts it uses, sampling weight and rarity.
* :func:`scheduled_rare_types` -- the rare types forced into a scene id (the schedule is
  described in :mod:`data_prep.synthetic.scenes`).
* :func:`compatible` -- whether one person can do two types at once (disjoint body parts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from tin_jax.schema import classes


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

#: Size (w, h) of an object in person-height units, used for distractors / near objects.
OBJ_SIZE = {
    "bicycle": (0.92, 0.62), "cup": (0.065, 0.08), "sports ball": (0.12, 0.12),
    "chair": (0.29, 0.54), "laptop": (0.25, 0.17), "cell phone": (0.036, 0.07),
    "backpack": (0.16, 0.21), "skateboard": (0.43, 0.075),
}
GROUND_OBJECTS = frozenset({"bicycle", "sports ball", "chair", "backpack", "skateboard"})


def scheduled_rare_types(image_id: int, split: str) -> tuple[str, ...]:
    """Rare types forced into scene ``image_id`` of ``split`` (schedule: see ``scenes``)."""
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


#: Posture of the person of each type that lays out the legs.
LEGS_POSTURE = {"ride_bicycle": "ride", "sit_chair": "sit", "kick_ball": "kick",
                "ride_skateboard": "skate"}


def compatible(t: InteractionType, types: Sequence[InteractionType]) -> bool:
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
    legs = [LEGS_POSTURE[u.name] for u in allt if u.name in LEGS_POSTURE]
    return not (legs and any(u.postures and legs[0] not in u.postures for u in allt))
