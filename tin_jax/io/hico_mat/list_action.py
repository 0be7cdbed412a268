"""``list_action`` (the 600 HOI definitions, in both files): reading it and building it for ``savemat``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tin_jax.io.hico_mat.annotations import ACTION_FIELDS, HicoAction
from tin_jax.io.hico_mat.common import AnnotationError
from tin_jax.io.hico_mat.mat_fields import char_string, struct_records
from tin_jax.io.hico_mat.matlab_values import matlab_to_python, python_to_matlab

__all__ = ["action_struct", "read_actions"]


def read_actions(value: Any, name: str) -> list[HicoAction]:
    """Read a ``list_action`` struct array into :class:`HicoAction` rows (file order)."""
    actions = []
    for i, rec in enumerate(struct_records(value, name, ACTION_FIELDS[:3], "list_action")):
        w = f"{name}: list_action[{i}]"
        known = {}
        for f in ACTION_FIELDS[:3]:
            known[f] = char_string(rec[f], w, f)
        names = rec.dtype.names
        extra = {n: matlab_to_python(rec[n]) for n in names if n not in ACTION_FIELDS}
        opt = {n: matlab_to_python(rec[n]) if n in names else None for n in ACTION_FIELDS[3:]}
        actions.append(HicoAction(known["nname"], known["vname"], known["vname_ing"], syn=opt["syn"],
                                                            definition=opt["def"], synset=opt["synset"], add_def=opt["add_def"], extra=extra))
    return actions


def _check_action(action: Any, where: str) -> None:
    if not isinstance(action, HicoAction):
        raise AnnotationError(f"{where}: expected a HicoAction, got {type(action).__name__}")
    for f in ("nname", "vname", "vname_ing"):
        if not isinstance(getattr(action, f), str):
            raise AnnotationError(f"{where}: {f} should be a str, got {getattr(action, f)!r}")
    clash = [k for k in action.extra if k in ACTION_FIELDS]
    if clash:
        raise AnnotationError(f"{where}: extra repeats standard field(s) {', '.join(clash)}")


def action_struct(actions: Sequence[HicoAction], where: str) -> np.ndarray:
    """Validate ``actions`` and build the 600x1 ``list_action`` struct array ``savemat`` writes."""
    extra_names: list[str] = []
    for i, a in enumerate(actions):
        _check_action(a, f"{where}[{i}]")
        extra_names += [k for k in a.extra if k not in extra_names]
    names = list(ACTION_FIELDS) + extra_names
    arr = np.empty((len(actions), 1), dtype=[(n, object) for n in names])
    for i, a in enumerate(actions):
        values = {"nname": a.nname, "vname": a.vname, "vname_ing": a.vname_ing, "syn": a.syn, "def": a.definition,
                            "synset": a.synset, "add_def": a.add_def}
        values.update({k: a.extra.get(k) for k in extra_names})
        for n in names:
            try:
                arr[n][i, 0] = python_to_matlab(values[n])
            except TypeError as e:
                raise AnnotationError(f"{where}[{i}] ({a.name}): field {n}: {e}") from e
    return arr
