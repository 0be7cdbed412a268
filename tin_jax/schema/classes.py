"""Class lists for HICO-DET and V-COCO as used by TIN (module constants, no I/O).

All HOI ids are 0-based; object class ids are TIN's COCO-contiguous ids 1..80 (1 = person).

Sources (facts, checked against each other):

- ``COCO_CATEGORIES``: (COCO category id, name, supercategory) of the 80 COCO detection categories
  in id order, as in the COCO instances json (sparse ids 1..90). v-coco ``vsrl_eval`` numbers the
  sorted ids 1..80; that is the contiguous id (``COCO_ID_TO_CONTIGUOUS``).
- ``COCO_OBJECTS``: the same 80 names in contiguous-id order (the order of ho-rcnn/TIN
  ``evaluation/get_list_coco_obj.m``), spelled as in the COCO instances json ('traffic light').
- ``HICO_OBJECTS``: HICO-DET ``hico_list_obj.txt`` (alphabetical ``list_action.nname``).
- ``HICO_VERBS``: HICO-DET ``hico_list_vb.txt``; ``HICO_VERBS_ING``: ``list_action.vname_ing``
  (``anno_bbox.mat``), original spellings kept ('controling', 'spining').
- ``HICO_HOIS``: HICO-DET ``list_action`` order (= ``hico_list_hoi.txt``), HOI 1..600 stored
  0-based.
- ``HOI_RANGE_BY_OBJECT``: TIN ``HICO-DET_Benchmark/Generate_HICO_detection_nis.py`` ``hoi_range``
  (1-based there, 0-based inclusive here).
- ``NO_INTERACTION_HOIS``: TIN ``lib/ult/ult.py`` ``list_no_inter`` (= ``hoi_no_inter_all``),
  0-based.
- ``VCOCO_ACTIONS`` / ``VCOCO_ROLES``: v-coco ``data/vcoco/vcoco_*.json`` (``action_name``,
  ``role_name``).
- ``VCOCO_CLASSES``: the 29 iCAN/TIN output classes in ``Data/action_index.json`` index order, as
  indexed by TIN ``apply_prior.py`` and ``tools/Vcoco_lis_nis.py``.
- ``VCOCO_EVAL_ROLES_25``: the (action, role) pairs averaged by v-coco ``vsrl_eval.py``
  ``_do_role_eval``; ``VCOCO_EVAL_ROLES_24`` drops ('point', 'instr') as TIN's "omitting point".
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "NUM_OBJECTS",
    "NUM_VERBS",
    "NUM_HOIS",
    "COCO_CATEGORIES",
    "COCO_OBJECTS",
    "COCO_ID_TO_CONTIGUOUS",
    "CONTIGUOUS_TO_COCO_ID",
    "HICO_OBJECTS",
    "HICO_VERBS",
    "HICO_VERBS_ING",
    "HICO_HOIS",
    "HOI_TO_VERB",
    "HOI_TO_OBJECT",
    "HOI_RANGE_BY_OBJECT",
    "NO_INTERACTION_HOIS",
    "NO_INTERACTION_HOI_BY_OBJECT",
    "coco_id",
    "hoi_id",
    "VCOCO_ACTIONS",
    "VCOCO_ROLES",
    "VCOCO_CLASSES",
    "VCOCO_CLASS_TO_ACTION_ROLE",
    "VCOCO_NO_OBJECT_CLASSES",
    "VCOCO_EVAL_ROLES_25",
    "VCOCO_EVAL_ROLES_24",
]

NUM_OBJECTS = 80
NUM_VERBS = 117
NUM_HOIS = 600

# --------------------------------------------------------------------------------------------
# Objects
# --------------------------------------------------------------------------------------------

# (COCO category id, name, supercategory), in id order; row i <-> COCO-contiguous class id i + 1.
COCO_CATEGORIES: tuple[tuple[int, str, str], ...] = (
    (1, "person", "person"), (2, "bicycle", "vehicle"), (3, "car", "vehicle"),
    (4, "motorcycle", "vehicle"), (5, "airplane", "vehicle"), (6, "bus", "vehicle"),
    (7, "train", "vehicle"), (8, "truck", "vehicle"), (9, "boat", "vehicle"),
    (10, "traffic light", "outdoor"), (11, "fire hydrant", "outdoor"),
    (13, "stop sign", "outdoor"), (14, "parking meter", "outdoor"), (15, "bench", "outdoor"),
    (16, "bird", "animal"), (17, "cat", "animal"), (18, "dog", "animal"), (19, "horse", "animal"),
    (20, "sheep", "animal"), (21, "cow", "animal"), (22, "elephant", "animal"),
    (23, "bear", "animal"), (24, "zebra", "animal"), (25, "giraffe", "animal"),
    (27, "backpack", "accessory"), (28, "umbrella", "accessory"), (31, "handbag", "accessory"),
    (32, "tie", "accessory"), (33, "suitcase", "accessory"), (34, "frisbee", "sports"),
    (35, "skis", "sports"), (36, "snowboard", "sports"), (37, "sports ball", "sports"),
    (38, "kite", "sports"), (39, "baseball bat", "sports"), (40, "baseball glove", "sports"),
    (41, "skateboard", "sports"), (42, "surfboard", "sports"), (43, "tennis racket", "sports"),
    (44, "bottle", "kitchen"), (46, "wine glass", "kitchen"), (47, "cup", "kitchen"),
    (48, "fork", "kitchen"), (49, "knife", "kitchen"), (50, "spoon", "kitchen"),
    (51, "bowl", "kitchen"), (52, "banana", "food"), (53, "apple", "food"),
    (54, "sandwich", "food"), (55, "orange", "food"), (56, "broccoli", "food"),
    (57, "carrot", "food"), (58, "hot dog", "food"), (59, "pizza", "food"), (60, "donut", "food"),
    (61, "cake", "food"), (62, "chair", "furniture"), (63, "couch", "furniture"),
    (64, "potted plant", "furniture"), (65, "bed", "furniture"),
    (67, "dining table", "furniture"), (70, "toilet", "furniture"), (72, "tv", "electronic"),
    (73, "laptop", "electronic"), (74, "mouse", "electronic"), (75, "remote", "electronic"),
    (76, "keyboard", "electronic"), (77, "cell phone", "electronic"),
    (78, "microwave", "appliance"), (79, "oven", "appliance"), (80, "toaster", "appliance"),
    (81, "sink", "appliance"), (82, "refrigerator", "appliance"), (84, "book", "indoor"),
    (85, "clock", "indoor"), (86, "vase", "indoor"), (87, "scissors", "indoor"),
    (88, "teddy bear", "indoor"), (89, "hair drier", "indoor"), (90, "toothbrush", "indoor"),
)
# Index i <-> COCO-contiguous class id i + 1 (ho-rcnn get_list_coco_obj.m order).
COCO_OBJECTS: tuple[str, ...] = tuple(name for _, name, _ in COCO_CATEGORIES)
# COCO category id (the instances json's sparse 1..90 ``category_id``) <-> contiguous id 1..80.
COCO_ID_TO_CONTIGUOUS: dict[int, int] = {
    cid: i + 1 for i, (cid, _, _) in enumerate(COCO_CATEGORIES)
}
CONTIGUOUS_TO_COCO_ID: dict[int, int] = {v: k for k, v in COCO_ID_TO_CONTIGUOUS.items()}

# HICO-DET spelling, alphabetical (hico_list_obj.txt order).
HICO_OBJECTS: tuple[str, ...] = (
    "airplane", "apple", "backpack", "banana", "baseball_bat", "baseball_glove", "bear", "bed",
    "bench", "bicycle", "bird", "boat", "book", "bottle", "bowl", "broccoli", "bus", "cake",
    "car", "carrot", "cat", "cell_phone", "chair", "clock", "couch", "cow", "cup",
    "dining_table", "dog", "donut", "elephant", "fire_hydrant", "fork", "frisbee", "giraffe",
    "hair_drier", "handbag", "horse", "hot_dog", "keyboard", "kite", "knife", "laptop",
    "microwave", "motorcycle", "mouse", "orange", "oven", "parking_meter", "person", "pizza",
    "potted_plant", "refrigerator", "remote", "sandwich", "scissors", "sheep", "sink",
    "skateboard", "skis", "snowboard", "spoon", "sports_ball", "stop_sign", "suitcase",
    "surfboard", "teddy_bear", "tennis_racket", "tie", "toaster", "toilet", "toothbrush",
    "traffic_light", "train", "truck", "tv", "umbrella", "vase", "wine_glass", "zebra",
)

# --------------------------------------------------------------------------------------------
# Verbs
# --------------------------------------------------------------------------------------------

# (vname, vname_ing) in hico_list_vb.txt order.
_VERB_FORMS: tuple[tuple[str, str], ...] = (
    ("adjust", "adjusting"), ("assemble", "assembling"), ("block", "blocking"),
    ("blow", "blowing"), ("board", "boarding"), ("break", "breaking"),
    ("brush_with", "brushing_with"), ("buy", "buying"), ("carry", "carrying"),
    ("catch", "catching"), ("chase", "chasing"), ("check", "checking"), ("clean", "cleaning"),
    ("control", "controling"), ("cook", "cooking"), ("cut", "cutting"),
    ("cut_with", "cutting_with"), ("direct", "directing"), ("drag", "dragging"),
    ("dribble", "dribbling"), ("drink_with", "drinking_with"), ("drive", "driving"),
    ("dry", "drying"), ("eat", "eating"), ("eat_at", "eating_at"), ("exit", "exiting"),
    ("feed", "feeding"), ("fill", "filling"), ("flip", "flipping"), ("flush", "flushing"),
    ("fly", "flying"), ("greet", "greeting"), ("grind", "grinding"), ("groom", "grooming"),
    ("herd", "herding"), ("hit", "hitting"), ("hold", "holding"), ("hop_on", "hopping_on"),
    ("hose", "hosing"), ("hug", "hugging"), ("hunt", "hunting"), ("inspect", "inspecting"),
    ("install", "installing"), ("jump", "jumping"), ("kick", "kicking"), ("kiss", "kissing"),
    ("lasso", "lassoing"), ("launch", "launching"), ("lick", "licking"), ("lie_on", "lying_on"),
    ("lift", "lifting"), ("light", "lighting"), ("load", "loading"), ("lose", "losing"),
    ("make", "making"), ("milk", "milking"), ("move", "moving"),
    ("no_interaction", "no_interaction"), ("open", "opening"), ("operate", "operating"),
    ("pack", "packing"), ("paint", "painting"), ("park", "parking"), ("pay", "paying"),
    ("peel", "peeling"), ("pet", "petting"), ("pick", "picking"), ("pick_up", "picking_up"),
    ("point", "pointing"), ("pour", "pouring"), ("pull", "pulling"), ("push", "pushing"),
    ("race", "racing"), ("read", "reading"), ("release", "releasing"), ("repair", "repairing"),
    ("ride", "riding"), ("row", "rowing"), ("run", "running"), ("sail", "sailing"),
    ("scratch", "scratching"), ("serve", "serving"), ("set", "setting"), ("shear", "shearing"),
    ("sign", "signing"), ("sip", "sipping"), ("sit_at", "sitting_at"), ("sit_on", "sitting_on"),
    ("slide", "sliding"), ("smell", "smelling"), ("spin", "spining"), ("squeeze", "squeezing"),
    ("stab", "stabbing"), ("stand_on", "standing_on"), ("stand_under", "standing_under"),
    ("stick", "sticking"), ("stir", "stirring"), ("stop_at", "stopping_at"),
    ("straddle", "straddling"), ("swing", "swinging"), ("tag", "tagging"),
    ("talk_on", "talking_on"), ("teach", "teaching"), ("text_on", "texting_on"),
    ("throw", "throwing"), ("tie", "tying"), ("toast", "toasting"), ("train", "training"),
    ("turn", "turning"), ("type_on", "typing_on"), ("walk", "walking"), ("wash", "washing"),
    ("watch", "watching"), ("wave", "waving"), ("wear", "wearing"), ("wield", "wielding"),
    ("zip", "zipping"),
)

HICO_VERBS: tuple[str, ...] = tuple(v for v, _ in _VERB_FORMS)
HICO_VERBS_ING: tuple[str, ...] = tuple(g for _, g in _VERB_FORMS)

# --------------------------------------------------------------------------------------------
# HOIs
# --------------------------------------------------------------------------------------------

# list_action order: the HOIs come in contiguous per-object blocks; each block is
# (hico object name, its verbs in HOI order), and every block ends with no_interaction.
_HOI_BLOCKS: tuple[tuple[str, str], ...] = (
    ("airplane", "board direct exit fly inspect load ride sit_on wash no_interaction"),
    ("bicycle", "carry hold inspect jump hop_on park push repair ride sit_on straddle walk "
                "wash no_interaction"),
    ("bird", "chase feed hold pet release watch no_interaction"),
    ("boat", "board drive exit inspect jump launch repair ride row sail sit_on stand_on "
             "tie wash no_interaction"),
    ("bottle", "carry drink_with hold inspect lick open pour no_interaction"),
    ("bus", "board direct drive exit inspect load ride sit_on wash wave no_interaction"),
    ("car", "board direct drive hose inspect jump load park ride wash no_interaction"),
    ("cat", "dry feed hold hug kiss pet scratch wash chase no_interaction"),
    ("chair", "carry hold lie_on sit_on stand_on no_interaction"),
    ("couch", "carry lie_on sit_on no_interaction"),
    ("cow", "feed herd hold hug kiss lasso milk pet ride walk no_interaction"),
    ("dining_table", "clean eat_at sit_at no_interaction"),
    ("dog", "carry dry feed groom hold hose hug inspect kiss pet run scratch straddle "
            "train walk wash chase no_interaction"),
    ("horse", "feed groom hold hug jump kiss load hop_on pet race ride run straddle train "
              "walk wash no_interaction"),
    ("motorcycle", "hold inspect jump hop_on park push race ride sit_on straddle turn walk wash "
                   "no_interaction"),
    ("person", "carry greet hold hug kiss stab tag teach lick no_interaction"),
    ("potted_plant", "carry hold hose no_interaction"),
    ("sheep", "carry feed herd hold hug kiss pet ride shear walk wash no_interaction"),
    ("train", "board drive exit load ride sit_on wash no_interaction"),
    ("tv", "control repair watch no_interaction"),
    ("apple", "buy cut eat hold inspect peel pick smell wash no_interaction"),
    ("backpack", "carry hold inspect open wear no_interaction"),
    ("banana", "buy carry cut eat hold inspect peel pick smell no_interaction"),
    ("baseball_bat", "break carry hold sign swing throw wield no_interaction"),
    ("baseball_glove", "hold wear no_interaction"),
    ("bear", "feed hunt watch no_interaction"),
    ("bed", "clean lie_on sit_on no_interaction"),
    ("bench", "inspect lie_on sit_on no_interaction"),
    ("book", "carry hold open read no_interaction"),
    ("bowl", "hold stir wash lick no_interaction"),
    ("broccoli", "cut eat hold smell stir wash no_interaction"),
    ("cake", "blow carry cut eat hold light make pick_up no_interaction"),
    ("carrot", "carry cook cut eat hold peel smell stir wash no_interaction"),
    ("cell_phone", "carry hold read repair talk_on text_on no_interaction"),
    ("clock", "check hold repair set no_interaction"),
    ("cup", "carry drink_with hold inspect pour sip smell fill wash no_interaction"),
    ("donut", "buy carry eat hold make pick_up smell no_interaction"),
    ("elephant", "feed hold hose hug kiss hop_on pet ride walk wash watch no_interaction"),
    ("fire_hydrant", "hug inspect open paint no_interaction"),
    ("fork", "hold lift stick lick wash no_interaction"),
    ("frisbee", "block catch hold spin throw no_interaction"),
    ("giraffe", "feed kiss pet ride watch no_interaction"),
    ("hair_drier", "hold operate repair no_interaction"),
    ("handbag", "carry hold inspect no_interaction"),
    ("hot_dog", "carry cook cut eat hold make no_interaction"),
    ("keyboard", "carry clean hold type_on no_interaction"),
    ("kite", "assemble carry fly hold inspect launch pull no_interaction"),
    ("knife", "cut_with hold stick wash wield lick no_interaction"),
    ("laptop", "hold open read repair type_on no_interaction"),
    ("microwave", "clean open operate no_interaction"),
    ("mouse", "control hold repair no_interaction"),
    ("orange", "buy cut eat hold inspect peel pick squeeze wash no_interaction"),
    ("oven", "clean hold inspect open repair operate no_interaction"),
    ("parking_meter", "check pay repair no_interaction"),
    ("pizza", "buy carry cook cut eat hold make pick_up slide smell no_interaction"),
    ("refrigerator", "clean hold move open no_interaction"),
    ("remote", "hold point swing no_interaction"),
    ("sandwich", "carry cook cut eat hold make no_interaction"),
    ("scissors", "cut_with hold open no_interaction"),
    ("sink", "clean repair wash no_interaction"),
    ("skateboard", "carry flip grind hold jump pick_up ride sit_on stand_on no_interaction"),
    ("skis", "adjust carry hold inspect jump pick_up repair ride stand_on wear no_interaction"),
    ("snowboard", "adjust carry grind hold jump ride stand_on wear no_interaction"),
    ("spoon", "hold lick wash sip no_interaction"),
    ("sports_ball", "block carry catch dribble hit hold inspect kick pick_up serve sign spin "
                    "throw no_interaction"),
    ("stop_sign", "hold stand_under stop_at no_interaction"),
    ("suitcase", "carry drag hold hug load open pack pick_up zip no_interaction"),
    ("surfboard", "carry drag hold inspect jump lie_on load ride stand_on sit_on wash "
                  "no_interaction"),
    ("teddy_bear", "carry hold hug kiss no_interaction"),
    ("tennis_racket", "carry hold inspect swing no_interaction"),
    ("tie", "adjust cut hold inspect pull tie wear no_interaction"),
    ("toaster", "hold operate repair no_interaction"),
    ("toilet", "clean flush open repair sit_on stand_on wash no_interaction"),
    ("toothbrush", "brush_with hold wash no_interaction"),
    ("traffic_light", "install repair stand_under stop_at no_interaction"),
    ("truck", "direct drive inspect load repair ride sit_on wash no_interaction"),
    ("umbrella", "carry hold lose open repair set stand_under no_interaction"),
    ("vase", "hold make paint no_interaction"),
    ("wine_glass", "fill hold sip toast lick wash no_interaction"),
    ("zebra", "feed hold pet watch no_interaction"),
)

# (verb, hico_object_name) for HOI 0..599.
HICO_HOIS: tuple[tuple[str, str], ...] = tuple(
    (verb, obj) for obj, verbs in _HOI_BLOCKS for verb in verbs.split()
)

_COCO_ID_BY_NAME: dict[str, int] = {name: i + 1 for i, name in enumerate(COCO_OBJECTS)}
# HICO-DET spells the COCO names with '_' in place of ' '.
_COCO_ID_BY_HICO_NAME: dict[str, int] = {
    name: _COCO_ID_BY_NAME[name.replace("_", " ")] for name in HICO_OBJECTS
}
_HICO_NAME_BY_ID: dict[int, str] = {c: name for name, c in _COCO_ID_BY_HICO_NAME.items()}
_VERB_INDEX: dict[str, int] = {v: i for i, v in enumerate(HICO_VERBS)}
_HOI_INDEX: dict[tuple[str, str], int] = {pair: i for i, pair in enumerate(HICO_HOIS)}


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


HOI_TO_VERB: np.ndarray = _frozen(
    np.array([_VERB_INDEX[v] for v, _ in HICO_HOIS], dtype=np.int32)
)
HOI_TO_OBJECT: np.ndarray = _frozen(
    np.array([_COCO_ID_BY_HICO_NAME[o] for _, o in HICO_HOIS], dtype=np.int32)
)


def _ranges_and_no_interaction() -> tuple[np.ndarray, np.ndarray]:
    ranges = np.full((NUM_OBJECTS + 1, 2), -1, dtype=np.int32)
    no_inter = np.full((NUM_OBJECTS + 1,), -1, dtype=np.int32)
    start = 0
    for obj, verbs in _HOI_BLOCKS:
        names = verbs.split()
        c = _COCO_ID_BY_HICO_NAME[obj]
        ranges[c] = (start, start + len(names) - 1)
        no_inter[c] = start + names.index("no_interaction")
        start += len(names)
    return ranges, no_inter


_RANGES, _NO_INTER = _ranges_and_no_interaction()

# Row c (1..80) = (first, last) 0-based inclusive HOI ids of COCO class c; row 0 = (-1, -1).
HOI_RANGE_BY_OBJECT: np.ndarray = _frozen(_RANGES)
# Entry c (1..80) = 0-based no_interaction HOI of COCO class c; entry 0 = -1.
NO_INTERACTION_HOI_BY_OBJECT: np.ndarray = _frozen(_NO_INTER)
# The 80 no_interaction HOIs, ascending (TIN list_no_inter minus 1).
NO_INTERACTION_HOIS: tuple[int, ...] = tuple(
    i for i, (v, _) in enumerate(HICO_HOIS) if v == "no_interaction"
)

del _RANGES, _NO_INTER


def coco_id(obj: str) -> int:
    """COCO-contiguous class id (1..80) of an object given in HICO or COCO spelling."""
    if obj in _COCO_ID_BY_HICO_NAME:
        return _COCO_ID_BY_HICO_NAME[obj]
    if obj in _COCO_ID_BY_NAME:
        return _COCO_ID_BY_NAME[obj]
    raise KeyError(
        f"unknown object {obj!r}: expected a HICO-DET name (e.g. 'dining_table') "
        f"or a COCO name (e.g. 'dining table')"
    )


def hoi_id(verb: str, obj: str) -> int:
    """0-based HICO-DET HOI id of (verb, object); the object may use HICO or COCO spelling."""
    c = coco_id(obj)
    hico_obj = _HICO_NAME_BY_ID[c]
    try:
        return _HOI_INDEX[(verb, hico_obj)]
    except KeyError:
        first, last = (int(x) for x in HOI_RANGE_BY_OBJECT[c])
        valid = ", ".join(HICO_HOIS[i][0] for i in range(first, last + 1))
        raise KeyError(
            f"HICO-DET has no HOI ({verb!r}, {hico_obj!r}); verbs for {hico_obj!r}: {valid}"
        ) from None


# --------------------------------------------------------------------------------------------
# V-COCO
# --------------------------------------------------------------------------------------------

# action_name -> role_name, in vcoco_*.json order (role 0 is always the agent).
VCOCO_ROLES: dict[str, tuple[str, ...]] = {
    "hold": ("agent", "obj"),
    "stand": ("agent",),
    "sit": ("agent", "instr"),
    "ride": ("agent", "instr"),
    "walk": ("agent",),
    "look": ("agent", "obj"),
    "hit": ("agent", "instr", "obj"),
    "eat": ("agent", "obj", "instr"),
    "jump": ("agent", "instr"),
    "lay": ("agent", "instr"),
    "talk_on_phone": ("agent", "instr"),
    "carry": ("agent", "obj"),
    "throw": ("agent", "obj"),
    "catch": ("agent", "obj"),
    "cut": ("agent", "instr", "obj"),
    "run": ("agent",),
    "work_on_computer": ("agent", "instr"),
    "ski": ("agent", "instr"),
    "surf": ("agent", "instr"),
    "skateboard": ("agent", "instr"),
    "smile": ("agent",),
    "drink": ("agent", "instr"),
    "kick": ("agent", "obj"),
    "point": ("agent", "instr"),
    "read": ("agent", "obj"),
    "snowboard": ("agent", "instr"),
}
VCOCO_ACTIONS: tuple[str, ...] = tuple(VCOCO_ROLES)

# The 29 iCAN/TIN V-COCO output classes, by output index (Data/action_index.json).
VCOCO_CLASSES: tuple[str, ...] = (
    "surf_instr", "ski_instr", "cut_instr", "walk", "cut_obj",                  # 0-4
    "ride_instr", "talk_on_phone_instr", "kick_obj", "work_on_computer_instr",  # 5-8
    "eat_obj", "sit_instr", "jump_instr", "lay_instr", "drink_instr",           # 9-13
    "carry_obj", "throw_obj", "eat_instr", "smile", "look_obj",                 # 14-18
    "hit_instr", "hit_obj", "snowboard_instr", "run", "point_instr",            # 19-23
    "read_obj", "hold_obj", "skateboard_instr", "stand", "catch_obj",           # 24-28
)


def _action_role(name: str) -> tuple[str, str | None]:
    if name in VCOCO_ROLES:
        return name, None
    action, role = name.rsplit("_", 1)
    if role not in VCOCO_ROLES.get(action, ())[1:]:
        raise ValueError(f"{name!r} is not an (action, role) of V-COCO")
    return action, role


# Class index -> (action, role); role is None for the agent-only actions.
VCOCO_CLASS_TO_ACTION_ROLE: tuple[tuple[str, str | None], ...] = tuple(
    _action_role(n) for n in VCOCO_CLASSES
)
# stand, smile, run, walk: no object role, scored from the human stream alone.
VCOCO_NO_OBJECT_CLASSES: tuple[int, ...] = (3, 17, 22, 27)

# vsrl_eval role-AP order: for each action in VCOCO_ACTIONS, each non-agent role.
VCOCO_EVAL_ROLES_25: tuple[tuple[str, str], ...] = tuple(
    (a, r) for a in VCOCO_ACTIONS for r in VCOCO_ROLES[a][1:]
)
VCOCO_EVAL_ROLES_24: tuple[tuple[str, str], ...] = tuple(
    p for p in VCOCO_EVAL_ROLES_25 if p != ("point", "instr")
)
