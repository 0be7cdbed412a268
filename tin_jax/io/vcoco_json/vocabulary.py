"""What the released V-COCO files name: COCO categories by id, the 26 actions with their roles, the json keys."""

from __future__ import annotations

from tin_jax.schema.classes import COCO_CATEGORIES

__all__ = ["COCO_ID_TO_NAME", "COCO_NAME_TO_ID", "PERSON_CATEGORY_ID", "VCOCO_ACTIONS", "VCOCO_JSON_KEYS"]

# COCO category ids (the instances json's sparse 1..90 ids) <-> names, from schema.classes.COCO_CATEGORIES.
COCO_ID_TO_NAME: dict[int, str] = {cid: name for cid, name, _ in COCO_CATEGORIES}
COCO_NAME_TO_ID: dict[str, int] = {name: cid for cid, name, _ in COCO_CATEGORIES}
PERSON_CATEGORY_ID = 1

# The 26 actions of the released vcoco_*.json in file order: (action_name, role names, per-role include lists).
VCOCO_ACTIONS: tuple[tuple[str, tuple[str, ...], tuple[tuple[str, ...], ...]], ...] = (
        ("hold", ("agent", "obj"), ((), ())),
        ("stand", ("agent",), ((),)),
        ("sit", ("agent", "instr"), ((), ("bicycle", "motorcycle", "horse", "elephant", "bench", "chair", "couch", "bed",
                                                                            "toilet", "dining table", "suitcase", "handbag", "backpack"))),
        ("ride", ("agent", "instr"), ((), ("bicycle", "motorcycle", "bus", "truck", "boat", "train", "airplane", "car",
                                                                              "horse", "elephant"))),
        ("walk", ("agent",), ((),)),
        ("look", ("agent", "obj"), ((), ())),
        ("hit", ("agent", "instr", "obj"), ((), ("tennis racket", "baseball bat"), ("sports ball",))),
        ("eat", ("agent", "obj", "instr"), ((), ("banana", "apple", "sandwich", "orange", "carrot", "broccoli",
                                                                                          "hot dog", "pizza", "cake", "donut"), ("fork", "knife", "spoon"))),
        ("jump", ("agent", "instr"), ((), ("snowboard", "skis", "skateboard", "surfboard"))),
        ("lay", ("agent", "instr"), ((), ("bench", "dining table", "toilet", "bed", "couch", "chair"))),
        ("talk_on_phone", ("agent", "instr"), ((), ("cell phone",))),
        ("carry", ("agent", "obj"), ((), ())),
        ("throw", ("agent", "obj"), ((), ("sports ball", "frisbee"))),
        ("catch", ("agent", "obj"), ((), ("sports ball", "frisbee"))),
        ("cut", ("agent", "instr", "obj"), ((), ("scissors", "fork", "knife"), ())),
        ("run", ("agent",), ((),)),
        ("work_on_computer", ("agent", "instr"), ((), ("laptop",))),
        ("ski", ("agent", "instr"), ((), ("skis",))),
        ("surf", ("agent", "instr"), ((), ("surfboard",))),
        ("skateboard", ("agent", "instr"), ((), ("skateboard",))),
        ("smile", ("agent",), ((),)),
        ("drink", ("agent", "instr"), ((), ("wine glass", "bottle", "cup", "bowl"))),
        ("kick", ("agent", "obj"), ((), ("sports ball",))),
        ("point", ("agent", "instr"), ((), ())),
        ("read", ("agent", "obj"), ((), ("book",))),
        ("snowboard", ("agent", "instr"), ((), ("snowboard",))),
)

VCOCO_JSON_KEYS = ("image_id", "ann_id", "role_object_id", "label", "action_name", "role_name", "include")
