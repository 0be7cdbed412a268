"""V-COCO ground truth as ``vsrl_eval._get_vcocodb`` builds it.

Per image, every COCO annotation (crowd included) except those with ``ignore == 1``, boxed as
``[x, y, x + max(0, w - 1), y + max(0, h - 1)]`` clipped to the image and kept iff ``area > 0`` and the box is
wider and taller than one pixel. The persons (COCO category 1) among them, in annotation-file order, are the GT
agents. A person listed in the *first* action table of ``vcoco_<split>.json`` gets 0/1 labels for every action
(1 iff ``label == 1`` in that action's table); any other person is "unannotated" (-1 everywhere) and is ignored
by the matching. Each role of a positive label points to the box of its object (``role_object_id``; 0 = no
object); a role object that is not a valid annotation (an ``assert`` there) counts as "no role object".
``include`` (the allowed categories per role) plays no part in the evaluation.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from tin_jax.io.errors import DataFormatError
from tin_jax.io.vcoco_json import (
    VcocoSplit,
    coco_box_to_xyxy,
    coco_instances_path,
    read_coco_instances,
    read_vcoco,
)

__all__ = ["PERSON_CONTIGUOUS_ID", "VcocoGroundTruth", "VcocoImageGT", "build_ground_truth", "load_ground_truth"]

PERSON_CONTIGUOUS_ID = 1


@dataclasses.dataclass(frozen=True, eq=False)
class VcocoImageGT:
    """vsrl_eval's GT persons of one image.

    Attributes:
        boxes: (P, 4) float32 boxes of the valid person annotations, in annotation-file order.
        actions: (P, A) int32, 1/0 per action; a row of -1 marks a person outside V-COCO (ignored).
        role_boxes: (P, A, R, 4) float32 role-object boxes of positive labels; -1 = no role object.
    """

    image_id: int
    boxes: np.ndarray
    actions: np.ndarray
    role_boxes: np.ndarray


@dataclasses.dataclass(frozen=True)
class VcocoGroundTruth:
    actions: tuple[str, ...]
    roles: tuple[tuple[str, ...], ...]  # per action; roles[a][0] == 'agent'
    images: tuple[VcocoImageGT, ...]  # in .ids order (the order vsrl_eval appends detections)

    @property
    def eval_roles(self) -> tuple[tuple[str, str], ...]:
        """(action, role) of every role AP, in vsrl_eval's report order."""
        return tuple((a, r) for a, roles in zip(self.actions, self.roles) for r in roles[1:])


def _eval_boxes(image: Any, ignored: frozenset[int]) -> dict[int, np.ndarray]:
    """ann_id -> vsrl_eval box of the annotations the evaluation keeps (file order)."""
    return {o.ann_id: coco_box_to_xyxy(o.bbox_xywh, "vsrl_eval", image.width, image.height)
            for o in image.objects.values() if o.eval_valid and o.ann_id not in ignored}


def _person_rows(person: Any, actions: Sequence[str], roles: Sequence[Sequence[str]],
                 boxes: Mapping[int, np.ndarray], num_roles: int) -> tuple[np.ndarray, np.ndarray]:
    """(A,) labels and (A, R, 4) role boxes of one annotated person (``_get_vsrl_data``)."""
    labels = np.zeros(len(actions), dtype=np.int32)
    role_boxes = -np.ones((len(actions), num_roles, 4), dtype=np.float32)
    for a, action in enumerate(actions):
        if person.labels.get(action, 0) != 1:
            continue
        labels[a] = 1
        for r, role in enumerate(roles[a][1:]):
            ann = person.roles.get(action, {}).get(role, 0)
            if ann and ann in boxes:
                role_boxes[a, r] = boxes[ann]
    return labels, role_boxes


def _image_gt(image: Any, actions: Sequence[str], roles: Sequence[Sequence[str]],
              ignored: frozenset[int], num_roles: int) -> VcocoImageGT:
    boxes = _eval_boxes(image, ignored)
    persons = {p.ann_id: p for p in image.persons}
    person_ids = [i for i in boxes if image.objects[i].contiguous_id == PERSON_CONTIGUOUS_ID]
    labels = -np.ones((len(person_ids), len(actions)), dtype=np.int32)
    role_boxes = -np.ones((len(person_ids), len(actions), num_roles, 4), dtype=np.float32)
    for k, ann in enumerate(person_ids):
        person = persons.get(ann)
        if person is None or actions[0] not in person.labels:
            continue  # not in the first action table: unannotated
        labels[k], role_boxes[k] = _person_rows(person, actions, roles, boxes, num_roles)
    person_boxes = np.array([boxes[i] for i in person_ids], dtype=np.float32).reshape(-1, 4)
    return VcocoImageGT(image.image_id, person_boxes, labels, role_boxes)


def build_ground_truth(split: VcocoSplit, ignored_ann_ids: Iterable[int] = ()) -> VcocoGroundTruth:
    """vsrl_eval's per-image GT from a :func:`~tin_jax.io.vcoco_json.read_vcoco` split.

    ``ignored_ann_ids``: annotations with ``ignore == 1`` in the COCO file (dropped, as vsrl_eval does).
    """
    actions = tuple(a.name for a in split.actions)
    roles = tuple(tuple(a.roles) for a in split.actions)
    if not actions:
        raise DataFormatError(f"V-COCO split {split.split!r}: no actions")
    num_roles = max(1, max(len(r) - 1 for r in roles))
    ignored = frozenset(int(i) for i in ignored_ann_ids)
    images = tuple(_image_gt(im, actions, roles, ignored, num_roles) for im in split.images)
    return VcocoGroundTruth(actions, roles, images)


def load_ground_truth(vcoco_root: str | os.PathLike[str], split: str = "test") -> VcocoGroundTruth:
    """Read ``<vcoco_root>/data/...`` (the v-coco repository layout) into vsrl_eval's GT."""
    instances = read_coco_instances(coco_instances_path(vcoco_root))
    ignored = [a.id for a in instances.annotations if a.extra.get("ignore") == 1]
    return build_ground_truth(read_vcoco(vcoco_root, split, instances=instances), ignored)
