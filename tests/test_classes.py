"""Checks of tin_jax.schema.classes against facts copied from the original files.

Facts are written out here (spot values, TIN literals, counts) rather than derived from the module.
"""

import numpy as np
import pytest

from tin_jax.schema import classes as C

# TIN HICO-DET_Benchmark/Generate_HICO_detection_nis.py `hoi_range`
# (1-based, indexed by COCO id - 1).
TIN_HOI_RANGE = [
    (161, 170), (11, 24), (66, 76), (147, 160), (1, 10), (55, 65), (187, 194), (568, 576),
    (32, 46), (563, 567), (326, 330), (503, 506), (415, 418), (244, 247), (25, 31), (77, 86),
    (112, 129), (130, 146), (175, 186), (97, 107), (314, 325), (236, 239), (596, 600),
    (343, 348), (209, 214), (577, 584), (353, 356), (539, 546), (507, 516), (337, 342),
    (464, 474), (475, 483), (489, 502), (369, 376), (225, 232), (233, 235), (454, 463),
    (517, 528), (534, 538), (47, 54), (589, 595), (296, 305), (331, 336), (377, 383),
    (484, 488), (253, 257), (215, 224), (199, 208), (439, 445), (398, 407), (258, 264),
    (274, 283), (357, 363), (419, 429), (306, 313), (265, 273), (87, 92), (93, 96), (171, 174),
    (240, 243), (108, 111), (551, 558), (195, 198), (384, 389), (394, 397), (435, 438),
    (364, 368), (284, 290), (390, 393), (408, 414), (547, 550), (450, 453), (430, 434),
    (248, 252), (291, 295), (585, 588), (446, 449), (529, 533), (349, 352), (559, 562),
]

# TIN lib/ult/ult.py `list_no_inter` (1-based).
TIN_LIST_NO_INTER = [
    10, 24, 31, 46, 54, 65, 76, 86, 92, 96, 107, 111,
    129, 146, 160, 170, 174, 186, 194, 198, 208, 214, 224, 232, 235, 239,
    243, 247, 252, 257, 264, 273, 283, 290, 295, 305, 313, 325, 330, 336,
    342, 348, 352, 356, 363, 368, 376, 383, 389, 393, 397, 407, 414, 418,
    429, 434, 438, 445, 449, 453, 463, 474, 483, 488, 502, 506, 516, 528,
    533, 538, 546, 550, 558, 562, 567, 576, 584, 588, 595, 600,
]

# Rows of hico_list_hoi.txt: 1-based id -> (object, verb).
HICO_HOI_SPOTS = {
    1: ("airplane", "board"),
    10: ("airplane", "no_interaction"),
    15: ("bicycle", "hop_on"),
    85: ("cat", "chase"),
    109: ("dining_table", "eat_at"),
    161: ("person", "carry"),
    169: ("person", "lick"),
    170: ("person", "no_interaction"),
    225: ("baseball_bat", "break"),
    377: ("knife", "cut_with"),
    446: ("scissors", "cut_with"),
    489: ("sports_ball", "block"),
    504: ("stop_sign", "stand_under"),
    559: ("toothbrush", "brush_with"),
    563: ("traffic_light", "install"),
    592: ("wine_glass", "toast"),
    600: ("zebra", "no_interaction"),
}

# COCO-contiguous ids used by TIN lib/ult/apply_prior.py (comments give the names).
COCO_ID_SPOTS = {
    "person": 1, "bicycle": 2, "car": 3, "motorcycle": 4, "airplane": 5, "bus": 6, "train": 7,
    "truck": 8, "boat": 9, "fire hydrant": 11, "bench": 14, "sheep": 19, "elephant": 21,
    "backpack": 25, "handbag": 27, "suitcase": 29, "frisbee": 30, "skis": 31, "snowboard": 32,
    "sports ball": 33, "baseball bat": 35, "skateboard": 37, "surfboard": 38,
    "tennis racket": 39, "bottle": 40, "wine glass": 41, "cup": 42, "fork": 43, "knife": 44,
    "spoon": 45, "bowl": 46, "banana": 47, "hot dog": 53, "donut": 55, "cake": 56, "chair": 57,
    "couch": 58, "bed": 60, "dining table": 61, "toilet": 62, "tv": 63, "laptop": 64,
    "cell phone": 68, "book": 74, "scissors": 77, "hair drier": 79, "toothbrush": 80,
}


def test_counts():
    assert len(C.COCO_OBJECTS) == 80
    assert len(C.HICO_OBJECTS) == 80
    assert len(C.HICO_VERBS) == 117
    assert len(C.HICO_VERBS_ING) == 117
    assert len(C.HICO_HOIS) == 600
    assert len(C.NO_INTERACTION_HOIS) == 80
    assert len(C.VCOCO_ACTIONS) == 26
    assert len(C.VCOCO_CLASSES) == 29
    assert len(C.VCOCO_CLASS_TO_ACTION_ROLE) == 29
    assert len(C.VCOCO_EVAL_ROLES_25) == 25
    assert len(C.VCOCO_EVAL_ROLES_24) == 24
    for names in (C.COCO_OBJECTS, C.HICO_OBJECTS, C.HICO_VERBS, C.HICO_HOIS, C.VCOCO_CLASSES):
        assert len(set(names)) == len(names)


def test_coco_objects():
    for name, cid in COCO_ID_SPOTS.items():
        assert C.COCO_OBJECTS[cid - 1] == name
        assert C.coco_id(name) == cid
    assert C.COCO_OBJECTS[9] == "traffic light"
    assert all("_" not in n for n in C.COCO_OBJECTS)


def test_hico_objects():
    assert C.HICO_OBJECTS[0] == "airplane"
    assert C.HICO_OBJECTS[49] == "person"  # hico_list_obj.txt row 050
    assert C.HICO_OBJECTS[-1] == "zebra"
    assert list(C.HICO_OBJECTS) == sorted(C.HICO_OBJECTS)
    expected = {"hair_drier", "dining_table", "sports_ball", "tv", "potted_plant"}
    assert expected <= set(C.HICO_OBJECTS)
    # Same 80 categories as COCO, '_' for ' '.
    assert {n.replace("_", " ") for n in C.HICO_OBJECTS} == set(C.COCO_OBJECTS)
    assert C.coco_id("hair_drier") == C.coco_id("hair drier") == 79


def test_hico_verbs():
    assert C.HICO_VERBS[0] == "adjust"
    assert C.HICO_VERBS[36] == "hold"  # hico_list_vb.txt row 037
    assert C.HICO_VERBS[57] == "no_interaction"  # row 058
    assert C.HICO_VERBS[76] == "ride"  # row 077
    assert C.HICO_VERBS[116] == "zip"
    assert list(C.HICO_VERBS) == sorted(C.HICO_VERBS)
    ing = dict(zip(C.HICO_VERBS, C.HICO_VERBS_ING))
    assert ing["board"] == "boarding"
    assert ing["hop_on"] == "hopping_on"
    assert ing["lie_on"] == "lying_on"
    assert ing["tie"] == "tying"
    assert ing["no_interaction"] == "no_interaction"
    # Spellings as in the original list_action.vname_ing.
    assert ing["control"] == "controling"
    assert ing["spin"] == "spining"


def test_hoi_spot_values():
    for one_based, (obj, verb) in HICO_HOI_SPOTS.items():
        assert C.HICO_HOIS[one_based - 1] == (verb, obj)
    assert C.HICO_HOIS[0] == ("board", "airplane")
    assert C.HICO_HOIS[169] == ("no_interaction", "person")


def test_hoi_to_verb_and_object():
    assert C.HOI_TO_VERB.shape == (600,) and C.HOI_TO_VERB.dtype == np.int32
    assert C.HOI_TO_OBJECT.shape == (600,) and C.HOI_TO_OBJECT.dtype == np.int32
    assert C.HOI_TO_VERB.min() == 0 and C.HOI_TO_VERB.max() == 116
    assert set(C.HOI_TO_OBJECT.tolist()) == set(range(1, 81))
    assert C.HOI_TO_VERB[0] == 4  # board
    assert C.HOI_TO_OBJECT[0] == 5  # airplane
    assert C.HOI_TO_OBJECT[169] == 1  # person
    assert C.HOI_TO_OBJECT[599] == 23  # zebra
    for i, (verb, obj) in enumerate(C.HICO_HOIS):
        assert C.HICO_VERBS[C.HOI_TO_VERB[i]] == verb
        assert C.COCO_OBJECTS[C.HOI_TO_OBJECT[i] - 1] == obj.replace("_", " ")
    with pytest.raises(ValueError):
        C.HOI_TO_VERB[0] = 1  # read-only


def test_hoi_range_matches_tin():
    r = C.HOI_RANGE_BY_OBJECT
    assert r.shape == (81, 2) and r.dtype == np.int32
    assert tuple(r[0]) == (-1, -1)
    for c in range(1, 81):
        first, last = TIN_HOI_RANGE[c - 1]
        assert tuple(r[c]) == (first - 1, last - 1), c
    # Spec examples (1-based): person (161, 170), airplane (1, 10), toothbrush (559, 562).
    assert tuple(r[1]) == (160, 169)
    assert tuple(r[5]) == (0, 9)
    assert tuple(r[80]) == (558, 561)


def test_hoi_ranges_partition_and_contain_their_hois():
    r = C.HOI_RANGE_BY_OBJECT
    covered = np.zeros(600, dtype=int)
    for c in range(1, 81):
        first, last = int(r[c, 0]), int(r[c, 1])
        assert 0 <= first <= last < 600
        covered[first:last + 1] += 1
        assert np.all(C.HOI_TO_OBJECT[first:last + 1] == c)
    assert np.all(covered == 1)
    for i in range(600):
        c = C.HOI_TO_OBJECT[i]
        assert r[c, 0] <= i <= r[c, 1]


def test_no_interaction():
    assert C.NO_INTERACTION_HOIS == tuple(x - 1 for x in TIN_LIST_NO_INTER)
    noint_verb = C.HICO_VERBS.index("no_interaction")
    assert [i for i in range(600) if C.HOI_TO_VERB[i] == noint_verb] == list(C.NO_INTERACTION_HOIS)
    r = C.HOI_RANGE_BY_OBJECT
    by_obj = C.NO_INTERACTION_HOI_BY_OBJECT
    assert by_obj.shape == (81,) and by_obj[0] == -1
    for c in range(1, 81):
        inside = [h for h in C.NO_INTERACTION_HOIS if r[c, 0] <= h <= r[c, 1]]
        assert inside == [by_obj[c]]
        assert C.HICO_HOIS[inside[0]][0] == "no_interaction"
    assert by_obj[1] == 169


def test_hoi_id():
    assert C.hoi_id("board", "airplane") == 0
    assert C.hoi_id("no_interaction", "person") == 169
    assert C.hoi_id("eat_at", "dining_table") == C.hoi_id("eat_at", "dining table") == 108
    assert C.hoi_id("block", "sports ball") == 488
    assert C.hoi_id("brush_with", "toothbrush") == 558
    for i, (verb, obj) in enumerate(C.HICO_HOIS):
        assert C.hoi_id(verb, obj) == i
    with pytest.raises(KeyError, match="fly"):
        C.hoi_id("fly", "person")
    with pytest.raises(KeyError, match="plane"):
        C.hoi_id("board", "plane")


# v-coco data/vcoco/vcoco_{train,val}.json action_name order.
VCOCO_JSON_ACTIONS = [
    "hold", "stand", "sit", "ride", "walk", "look", "hit", "eat", "jump", "lay", "talk_on_phone",
    "carry", "throw", "catch", "cut", "run", "work_on_computer", "ski", "surf", "skateboard",
    "smile", "drink", "kick", "point", "read", "snowboard",
]


def test_vcoco_actions_and_roles():
    assert list(C.VCOCO_ACTIONS) == VCOCO_JSON_ACTIONS
    assert list(C.VCOCO_ROLES) == VCOCO_JSON_ACTIONS
    assert C.VCOCO_ROLES["hit"] == ("agent", "instr", "obj")
    assert C.VCOCO_ROLES["cut"] == ("agent", "instr", "obj")
    assert C.VCOCO_ROLES["eat"] == ("agent", "obj", "instr")
    assert C.VCOCO_ROLES["hold"] == ("agent", "obj")
    assert C.VCOCO_ROLES["talk_on_phone"] == ("agent", "instr")
    agent_only = {a for a, roles in C.VCOCO_ROLES.items() if roles == ("agent",)}
    assert agent_only == {"stand", "walk", "run", "smile"}
    assert all(roles[0] == "agent" for roles in C.VCOCO_ROLES.values())
    # 'include' lists of the json (COCO spelling) map to the ids TIN's apply_prior uses.
    ride = ["bicycle", "motorcycle", "bus", "truck", "boat", "train", "airplane", "car", "horse",
            "elephant"]
    assert sorted(C.coco_id(n) for n in ride) == [2, 3, 4, 5, 6, 7, 8, 9, 18, 21]
    lay = ["bench", "dining table", "toilet", "bed", "couch", "chair"]
    assert sorted(C.coco_id(n) for n in lay) == [14, 57, 58, 60, 61, 62]


# Output indices of TIN apply_prior.py / Vcoco_lis_nis.py (which index is zeroed for which
# object rule), plus Data/action_index.json for the generic ones.
TIN_VCOCO_INDEX = {
    0: "surf_instr", 1: "ski_instr", 2: "cut_instr", 3: "walk", 4: "cut_obj", 5: "ride_instr",
    6: "talk_on_phone_instr", 7: "kick_obj", 8: "work_on_computer_instr", 9: "eat_obj",
    10: "sit_instr", 11: "jump_instr", 12: "lay_instr", 13: "drink_instr", 14: "carry_obj",
    15: "throw_obj", 16: "eat_instr", 17: "smile", 18: "look_obj", 19: "hit_instr",
    20: "hit_obj", 21: "snowboard_instr", 22: "run", 23: "point_instr", 24: "read_obj",
    25: "hold_obj", 26: "skateboard_instr", 27: "stand", 28: "catch_obj",
}


def test_vcoco_classes():
    for i, name in TIN_VCOCO_INDEX.items():
        assert C.VCOCO_CLASSES[i] == name
    assert C.VCOCO_NO_OBJECT_CLASSES == (3, 17, 22, 27)
    assert {C.VCOCO_CLASSES[i] for i in (3, 17, 22, 27)} == {"walk", "smile", "run", "stand"}
    m = C.VCOCO_CLASS_TO_ACTION_ROLE
    assert m[0] == ("surf", "instr")
    assert m[3] == ("walk", None)
    assert m[6] == ("talk_on_phone", "instr")
    assert m[8] == ("work_on_computer", "instr")
    assert m[9] == ("eat", "obj") and m[16] == ("eat", "instr")
    assert m[19] == ("hit", "instr") and m[20] == ("hit", "obj")
    assert [i for i, (_, r) in enumerate(m) if r is None] == [3, 17, 22, 27]
    for (action, role), name in zip(m, C.VCOCO_CLASSES):
        assert name == (action if role is None else f"{action}_{role}")
    assert {a for a, _ in m} == set(VCOCO_JSON_ACTIONS)


def test_vcoco_eval_roles():
    roles25 = C.VCOCO_EVAL_ROLES_25
    assert roles25[0] == ("hold", "obj")
    assert roles25[4:8] == (("hit", "instr"), ("hit", "obj"), ("eat", "obj"), ("eat", "instr"))
    assert roles25[-1] == ("snowboard", "instr")
    # TIN's "omitting point" drops role_ap[-3][0]: the third-last action, first role.
    assert VCOCO_JSON_ACTIONS[-3] == "point"
    assert ("point", "instr") in roles25
    assert ("point", "instr") not in C.VCOCO_EVAL_ROLES_24
    assert set(roles25) - set(C.VCOCO_EVAL_ROLES_24) == {("point", "instr")}
    # The 25 object roles are exactly the 29 output classes minus the 4 agent-only ones.
    with_object = [p for p in C.VCOCO_CLASS_TO_ACTION_ROLE if p[1] is not None]
    assert len(with_object) == 25
    assert set(with_object) == set(roles25)
