"""``vcoco_<split>.json``: reading, checking and writing the per-action vsrl tables."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from tin_jax.io.hico_mat.common import AnnotationError
from tin_jax.io.vcoco_json.annotations import VcocoActionTable
from tin_jax.io.vcoco_json.json_files import dump_json, is_int, load_json
from tin_jax.io.vcoco_json.paths import vcoco_json_path
from tin_jax.io.vcoco_json.vocabulary import VCOCO_JSON_KEYS

__all__ = ["read_vcoco_json", "write_vcoco_json", "write_vcoco_split"]


def _int_list(value: Any, where: str, what: str) -> np.ndarray:
    if not isinstance(value, list):
        raise AnnotationError(f"{where}: {what} should be a list of ints, found {type(value).__name__}")
    for k, v in enumerate(value):
        if not is_int(v):
            raise AnnotationError(f"{where}: {what}[{k}] should be an int, found {v!r}")
    return np.array(value, dtype=np.int64).reshape(-1)


def _str_list(value: Any, where: str, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AnnotationError(f"{where}: {what} should be a list of strings, found {value!r:.80}")
    return list(value)


def _table_from_json(entry: Any, where: str) -> VcocoActionTable:
    if not isinstance(entry, dict):
        raise AnnotationError(f"{where}: should be an object, found {type(entry).__name__}")
    missing = [k for k in VCOCO_JSON_KEYS if k not in entry]
    if missing:
        raise AnnotationError(f"{where}: missing key(s) {', '.join(missing)}")
    name = entry["action_name"]
    if not isinstance(name, str) or not name:
        raise AnnotationError(f"{where}: action_name should be a non-empty string, found {name!r}")
    where = f"{where} ({name})"
    roles = _str_list(entry["role_name"], where, "role_name")
    if not roles or roles[0] != "agent":
        raise AnnotationError(f"{where}: role_name should start with 'agent', found {roles}")
    include = entry["include"]
    if not isinstance(include, list) or len(include) != len(roles):
        raise AnnotationError(f"{where}: include should be a list of {len(roles)} lists (one per role), "
                                                    f"found {include!r:.80}")
    include = [_str_list(v, where, f"include[{r}]") for r, v in enumerate(include)]
    image_id = _int_list(entry["image_id"], where, "image_id")
    ann_id = _int_list(entry["ann_id"], where, "ann_id")
    label = _int_list(entry["label"], where, "label")
    flat = _int_list(entry["role_object_id"], where, "role_object_id")
    n = len(ann_id)
    if len(image_id) != n or len(label) != n:
        raise AnnotationError(f"{where}: image_id, ann_id and label lengths differ ({len(image_id)}, {n}, {len(label)})")
    if len(flat) != n * len(roles):
        raise AnnotationError(f"{where}: role_object_id has {len(flat)} entries, expected {n} persons x {len(roles)} roles")
    role_object_id = flat.reshape(len(roles), n).T  # as vsrl_utils.load_vcoco
    table = VcocoActionTable(name, roles, include, image_id, ann_id, label, role_object_id)
    _check_table(table, where)
    return table


def _check_table(t: VcocoActionTable, where: str) -> None:
    n = len(t.ann_id)
    if t.role_object_id.shape != (n, len(t.role_name)):
        raise AnnotationError(f"{where}: role_object_id shape {t.role_object_id.shape} != ({n}, {len(t.role_name)})")
    bad = np.nonzero(~np.isin(t.label, (0, 1)))[0]
    if bad.size:
        k = int(bad[0])
        raise AnnotationError(f"{where}: person {k} (ann_id {int(t.ann_id[k])}): label {int(t.label[k])} is not 0 or 1")
    bad = np.nonzero(t.role_object_id[:, 0] != t.ann_id)[0]
    if bad.size:
        k = int(bad[0])
        raise AnnotationError(f"{where}: person {k} (ann_id {int(t.ann_id[k])}): role_object_id agent column is "
                                                    f"{int(t.role_object_id[k, 0])}, should equal ann_id")
    if np.any(t.role_object_id < 0):
        k, r = (int(x[0]) for x in np.nonzero(t.role_object_id < 0))
        raise AnnotationError(f"{where}: person {k} (ann_id {int(t.ann_id[k])}): negative object id for role "
                                                    f"{t.role_name[r]}")
    uniq, counts = np.unique(t.ann_id, return_counts=True)
    if np.any(counts > 1):
        raise AnnotationError(f"{where}: ann_id {int(uniq[counts > 1][0])} is listed more than once")


def read_vcoco_json(path: str | os.PathLike[str]) -> list[VcocoActionTable]:
    """Read a ``vcoco_<split>.json`` file into one :class:`VcocoActionTable` per action (file order)."""
    name, data = load_json(path)
    if not isinstance(data, list) or not data:
        raise AnnotationError(f"{name}: should be a non-empty JSON list of per-action objects")
    tables = [_table_from_json(entry, f"{name}: action[{i}]") for i, entry in enumerate(data)]
    seen: dict[str, int] = {}
    for i, t in enumerate(tables):
        if t.action_name in seen:
            raise AnnotationError(f"{name}: action[{i}] ({t.action_name}) repeats action[{seen[t.action_name]}]")
        seen[t.action_name] = i
    person_image: dict[int, tuple[int, int]] = {}
    for i, t in enumerate(tables):
        for a, im in zip(t.ann_id.tolist(), t.image_id.tolist()):
            prev = person_image.setdefault(a, (im, i))
            if prev[0] != im:
                raise AnnotationError(f"{name}: action[{i}] ({t.action_name}): ann_id {a} is in image {im} but "
                                                            f"action[{prev[1]}] puts it in image {prev[0]}")
    return tables


def _table_to_json(t: Any, where: str) -> dict[str, Any]:
    if not isinstance(t, VcocoActionTable):
        raise AnnotationError(f"{where}: expected a VcocoActionTable, got {type(t).__name__}")
    if not isinstance(t.action_name, str) or not t.action_name:
        raise AnnotationError(f"{where}: action_name should be a non-empty str, got {t.action_name!r}")
    where = f"{where} ({t.action_name})"
    if (not isinstance(t.role_name, (list, tuple)) or not t.role_name or t.role_name[0] != "agent"
            or not all(isinstance(r, str) for r in t.role_name)):
        raise AnnotationError(f"{where}: role_name should be ['agent', ...], got {t.role_name!r}")
    if (not isinstance(t.include, (list, tuple)) or len(t.include) != len(t.role_name)
            or not all(isinstance(v, (list, tuple)) and all(isinstance(c, str) for c in v) for v in t.include)):
        raise AnnotationError(f"{where}: include should hold one list of category names per role, got {t.include!r:.80}")
    arrays = {}
    for key in ("image_id", "ann_id", "label", "role_object_id"):
        arr = np.asarray(getattr(t, key))
        if arr.dtype.kind not in "iu" and not (arr.size == 0 or (arr.dtype.kind == "f" and np.all(arr == np.round(arr)))):
            raise AnnotationError(f"{where}: {key} should hold integers, got dtype {arr.dtype}")
        arrays[key] = arr.astype(np.int64)
    n = arrays["ann_id"].size
    for key in ("image_id", "ann_id", "label"):
        arrays[key] = arrays[key].reshape(-1)
        if arrays[key].size != n:
            raise AnnotationError(f"{where}: {key} has {arrays[key].size} entries, expected {n}")
    roles = arrays["role_object_id"]
    if roles.size == 0:
        roles = roles.reshape(n, len(t.role_name))
    if roles.shape != (n, len(t.role_name)):
        raise AnnotationError(f"{where}: role_object_id shape {roles.shape} != ({n}, {len(t.role_name)})")
    checked = VcocoActionTable(t.action_name, list(t.role_name), [list(v) for v in t.include], arrays["image_id"],
                                                          arrays["ann_id"], arrays["label"], roles)
    _check_table(checked, where)
    return {
            "image_id": checked.image_id.tolist(),
            "ann_id": checked.ann_id.tolist(),
            "role_object_id": checked.role_object_id.T.reshape(-1).tolist(),  # role-major, as load_vcoco expects
            "label": checked.label.tolist(),
            "action_name": checked.action_name,
            "role_name": checked.role_name,
            "include": checked.include,
    }


def write_vcoco_json(path: str | os.PathLike[str], tables: Sequence[VcocoActionTable]) -> None:
    """Write a ``vcoco_<split>.json`` file (key order and formatting as the released files; atomic)."""
    name = os.fspath(path)
    if not tables:
        raise AnnotationError(f"{name}: need at least one action table")
    dump_json(name, [_table_to_json(t, f"{name}: action[{i}]") for i, t in enumerate(tables)])


def write_vcoco_split(vcoco_root: str | os.PathLike[str], split: str, tables: Sequence[VcocoActionTable]) -> str:
    """Write ``<vcoco_root>/data/vcoco/vcoco_<split>.json``; returns the path."""
    path = vcoco_json_path(vcoco_root, split)
    write_vcoco_json(path, tables)
    return path
