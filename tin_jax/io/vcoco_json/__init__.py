"""Read and write V-COCO annotations in the layout of the s-gupta/v-coco repository.

``<vcoco_root>`` is the repository root; the files are

- ``data/vcoco/vcoco_{train,val,test,trainval}.json``: a JSON list of 26 per-action dicts with keys (file order)
    ``image_id``, ``ann_id``, ``role_object_id``, ``label``, ``action_name``, ``role_name``, ``include``.
    ``image_id``/``ann_id``/``label`` are flat lists of length N (one row per annotated person, the same persons in
    the same order for every action in the released files); ``role_name`` is ``['agent', ...]`` (R roles);
    ``include`` holds one list of COCO category names per role (which objects may fill it); ``role_object_id`` is a
    flat list of N*R ints stored **role-major**: ``vsrl_utils.load_vcoco`` does
    ``np.array(role_object_id).reshape((R, -1)).T`` to get an (N, R) matrix whose column 0 equals ``ann_id``; 0
    means "no object for this role". ``label`` is 1/0. The files are written by ``json.dumps`` with the default
    separators and no trailing newline.
- ``data/instances_vcoco_all_2014.json``: COCO instances format (``info``, ``images``, ``licenses``,
    ``annotations``, ``categories``); annotation ``bbox`` is ``[x, y, w, h]`` and ``category_id`` uses COCO's sparse
    1..90 ids. ``vsrl_eval`` maps them to contiguous 1..80 ids in sorted order (:data:`~tin_jax.schema.classes.COCO_ID_TO_CONTIGUOUS`),
    which is what TIN/iCAN's pickles use.
- ``data/splits/vcoco_{split}.ids``: one COCO image id per line (newline-terminated); ``vsrl_eval`` asserts
    that they equal the sorted unique ``image_id`` of the json.

:func:`read_vcoco` assembles these into per-image persons with their action labels and role objects.
Boxes are converted from COCO ``[x, y, w, h]`` to ``[x1, y1, x2, y2]``; two conventions exist in the v-coco code
(see :func:`coco_box_to_xyxy`) and ``vsrl_eval``'s (the evaluation's) is the default. Bad content raises
:class:`~tin_jax.io.hico_mat.AnnotationError` naming the file and the record.

Modules: ``annotations`` (dataclasses), ``action_tables`` (vcoco_<split>.json), ``coco_instances``
(instances_vcoco_all_2014.json), ``ids_file`` (vcoco_<split>.ids), ``assembly`` (:func:`read_vcoco` and its
inverse), ``vocabulary`` (categories, actions, json keys), ``boxes``, ``paths``, ``json_files``.
"""

from tin_jax.io.vcoco_json.action_tables import read_vcoco_json, write_vcoco_json, write_vcoco_split
from tin_jax.io.vcoco_json.annotations import (CocoAnnotation, CocoImage, CocoInstances, VcocoActionSpec,
                                               VcocoActionTable, VcocoImage, VcocoPerson, VcocoSplit)
from tin_jax.io.vcoco_json.assembly import action_tables_from_images, read_vcoco
from tin_jax.io.vcoco_json.boxes import coco_box_to_xyxy
from tin_jax.io.vcoco_json.coco_instances import read_coco_instances, write_coco_instances
from tin_jax.io.vcoco_json.ids_file import write_ids
from tin_jax.io.vcoco_json.paths import coco_instances_path, ids_path, vcoco_json_path
from tin_jax.io.vcoco_json.vocabulary import COCO_ID_TO_NAME, COCO_NAME_TO_ID, VCOCO_ACTIONS, VCOCO_JSON_KEYS
from tin_jax.schema.classes import COCO_CATEGORIES, COCO_ID_TO_CONTIGUOUS, CONTIGUOUS_TO_COCO_ID

__all__ = [
        "COCO_CATEGORIES", "COCO_ID_TO_CONTIGUOUS", "COCO_ID_TO_NAME", "COCO_NAME_TO_ID", "CONTIGUOUS_TO_COCO_ID",
        "CocoAnnotation", "CocoImage", "CocoInstances", "VCOCO_ACTIONS", "VCOCO_JSON_KEYS", "VcocoActionSpec",
        "VcocoActionTable", "VcocoImage", "VcocoPerson", "VcocoSplit", "action_tables_from_images",
        "coco_box_to_xyxy", "coco_instances_path", "ids_path", "read_coco_instances", "read_vcoco",
        "read_vcoco_json", "vcoco_json_path", "write_coco_instances", "write_ids", "write_vcoco_json",
        "write_vcoco_split",
]
