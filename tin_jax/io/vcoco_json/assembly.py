"""Joining a split's action tables, .ids file and COCO instances into per-image persons, and back."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from tin_jax.io.hico_mat.common import AnnotationError
from tin_jax.io.vcoco_json.action_tables import read_vcoco_json
from tin_jax.io.vcoco_json.annotations import (CocoAnnotation, CocoImage, CocoInstances, VcocoActionSpec,
                                               VcocoActionTable, VcocoImage, VcocoObject, VcocoPerson, VcocoSplit)
from tin_jax.io.vcoco_json.boxes import BOX_CONVENTIONS, coco_box_to_xyxy
from tin_jax.io.vcoco_json.coco_instances import read_coco_instances
from tin_jax.io.vcoco_json.ids_file import read_ids
from tin_jax.io.vcoco_json.paths import coco_instances_path, ids_path, vcoco_json_path
from tin_jax.io.vcoco_json.vocabulary import PERSON_CATEGORY_ID
from tin_jax.schema.classes import COCO_ID_TO_CONTIGUOUS

__all__ = ["action_tables_from_images", "read_vcoco"]


def read_vcoco(vcoco_root: str | os.PathLike[str], split: str, *, box_convention: str = "vsrl_eval",
                              instances: CocoInstances | None = None) -> VcocoSplit:
    """Read one split into per-image persons with action labels and role objects.

    Args:
        vcoco_root: the v-coco repository root (``data/`` below it).
        split: ``'train'``, ``'val'``, ``'test'`` or ``'trainval'``.
        box_convention: see :func:`coco_box_to_xyxy`.
        instances: an already-read ``instances_vcoco_all_2014.json`` (it is large; reuse it across splits).

    Checks what ``vsrl_eval`` asserts or relies on: the .ids file and the json's image ids are the same set,
    every person and role object is a COCO annotation of the same image, persons are category 1.
    """
    if box_convention not in BOX_CONVENTIONS:
        raise ValueError(f"unknown box convention {box_convention!r}; use one of {BOX_CONVENTIONS}")
    jpath, ipath, cpath = vcoco_json_path(vcoco_root, split), ids_path(vcoco_root, split), coco_instances_path(vcoco_root)
    tables = read_vcoco_json(jpath)
    ids = read_ids(ipath)
    coco = instances if instances is not None else read_coco_instances(cpath)

    _check_same_images(tables, ids, ipath, jpath)
    coco_images = {im.id: im for im in coco.images}
    anns_by_image: dict[int, list[CocoAnnotation]] = {}
    ann_by_id: dict[int, CocoAnnotation] = {}
    for a in coco.annotations:
        anns_by_image.setdefault(a.image_id, []).append(a)
        ann_by_id[a.id] = a
    for k, image_id in enumerate(ids):
        if image_id not in coco_images:
            raise AnnotationError(f"{ipath}: line {k + 1}: image id {image_id} is not in {cpath}")

    persons = _collect_persons(tables, ids, coco_images, ann_by_id, box_convention, jpath, cpath)
    images = []
    for image_id in ids:
        im = coco_images[image_id]
        objects = _image_objects(im, anns_by_image.get(image_id, []), box_convention, cpath)
        images.append(VcocoImage(image_id, im.file_name, im.width, im.height, persons[image_id], objects))
    actions = [VcocoActionSpec(t.action_name, tuple(t.role_name), tuple(tuple(v) for v in t.include)) for t in tables]
    return VcocoSplit(split, actions, images)


def _check_same_images(tables: Sequence[VcocoActionTable], ids: Sequence[int], ipath: str, jpath: str) -> None:
    """The .ids file and the json tables must list the same set of image ids (as vsrl_eval asserts)."""
    json_ids = set()
    for t in tables:
        json_ids.update(t.image_id.tolist())
    if set(ids) != json_ids:
        only_ids = sorted(set(ids) - json_ids)[:5]
        only_json = sorted(json_ids - set(ids))[:5]
        raise AnnotationError(f"{ipath}: image ids differ from {jpath} (only in .ids: {only_ids}, only in json: "
                                                    f"{only_json})")


def _collect_persons(tables: Sequence[VcocoActionTable], ids: Sequence[int], coco_images: dict[int, CocoImage],
                     ann_by_id: dict[int, CocoAnnotation], box_convention: str, jpath: str, cpath: str
                     ) -> dict[int, list[VcocoPerson]]:
    """Per image id, its annotated persons (first-listed order) with labels and role objects of every action."""
    persons: dict[int, VcocoPerson] = {}
    by_image: dict[int, list[VcocoPerson]] = {i: [] for i in ids}
    for ti, t in enumerate(tables):
        where = f"{jpath}: action[{ti}] ({t.action_name})"
        for k in range(len(t.ann_id)):
            aid, image_id = int(t.ann_id[k]), int(t.image_id[k])
            ann = _person_annotation(ann_by_id, aid, image_id, where, k, cpath)
            roles = _role_objects(t, k, ann_by_id, where, cpath)
            person = persons.get(aid)
            if person is None:
                im = coco_images[image_id]
                box = coco_box_to_xyxy(ann.bbox, box_convention, im.width, im.height)
                person = persons[aid] = VcocoPerson(aid, box, {}, {})
                by_image[image_id].append(person)
            person.labels[t.action_name] = int(t.label[k])
            if len(t.role_name) > 1:
                person.roles[t.action_name] = roles
    return by_image


def _person_annotation(ann_by_id: dict[int, CocoAnnotation], aid: int, image_id: int, where: str, k: int,
                       cpath: str) -> CocoAnnotation:
    """The COCO annotation of table row ``k``'s person, checked to be a person of ``image_id``."""
    ann = ann_by_id.get(aid)
    if ann is None:
        raise AnnotationError(f"{where}: person {k}: ann_id {aid} is not an annotation of {cpath}")
    if ann.image_id != image_id:
        raise AnnotationError(f"{where}: person {k}: ann_id {aid} belongs to image {ann.image_id}, not {image_id}")
    if ann.category_id != PERSON_CATEGORY_ID:
        raise AnnotationError(f"{where}: person {k}: ann_id {aid} has category {ann.category_id}, not person (1)")
    return ann


def _role_objects(t: VcocoActionTable, k: int, ann_by_id: dict[int, CocoAnnotation], where: str,
                  cpath: str) -> dict[str, int]:
    """{role: object ann_id (0 = none)} of table row ``k``'s non-agent roles, each object in the person's image."""
    aid, image_id = int(t.ann_id[k]), int(t.image_id[k])
    roles = {}
    for r, role in enumerate(t.role_name[1:], start=1):
        oid = int(t.role_object_id[k, r])
        if oid:
            obj = ann_by_id.get(oid)
            if obj is None:
                raise AnnotationError(f"{where}: person {k} (ann_id {aid}): {role} object {oid} is not an "
                                                            f"annotation of {cpath}")
            if obj.image_id != image_id:
                raise AnnotationError(f"{where}: person {k} (ann_id {aid}): {role} object {oid} belongs to image "
                                                            f"{obj.image_id}, not {image_id}")
        roles[role] = oid
    return roles


def _image_objects(im: CocoImage, anns: Sequence[CocoAnnotation], box_convention: str,
                   cpath: str) -> dict[int, VcocoObject]:
    """The image's COCO annotations (any category) as :class:`VcocoObject` by ann_id, with vsrl_eval's validity."""
    objects = {}
    for a in anns:
        if a.category_id not in COCO_ID_TO_CONTIGUOUS:
            raise AnnotationError(f"{cpath}: annotation id {a.id}: category_id {a.category_id} is not a COCO-80 id")
        eval_box = coco_box_to_xyxy(a.bbox, "vsrl_eval", im.width, im.height)
        valid = a.area > 0 and eval_box[2] > eval_box[0] and eval_box[3] > eval_box[1]
        objects[a.id] = VcocoObject(a.id, a.category_id, COCO_ID_TO_CONTIGUOUS[a.category_id],
                                    np.array(a.bbox, dtype=np.float64),
                                    coco_box_to_xyxy(a.bbox, box_convention, im.width, im.height),
                                    float(a.area), bool(a.iscrowd), bool(valid))
    return objects


def action_tables_from_images(actions: Sequence[VcocoActionSpec], images: Sequence[VcocoImage]
                                                            ) -> list[VcocoActionTable]:
    """Inverse of the assembly in :func:`read_vcoco`: one table per action, persons in image order.

    A person appears in an action's table iff that action is in ``person.labels`` (the released files list every
    person in every action); missing role entries are written as 0 (no object).
    """
    tables = []
    for spec in actions:
        image_id, ann_id, label, role_ids = [], [], [], []
        for im in images:
            for p in im.persons:
                if spec.name not in p.labels:
                    continue
                image_id.append(im.image_id)
                ann_id.append(p.ann_id)
                label.append(int(p.labels[spec.name]))
                roles = p.roles.get(spec.name, {})
                role_ids.append([p.ann_id] + [int(roles.get(r, 0)) for r in spec.roles[1:]])
        tables.append(VcocoActionTable(
                spec.name, list(spec.roles), [list(v) for v in spec.include], np.array(image_id, dtype=np.int64),
                np.array(ann_id, dtype=np.int64), np.array(label, dtype=np.int64),
                np.array(role_ids, dtype=np.int64).reshape(len(ann_id), len(spec.roles))))
    return tables
