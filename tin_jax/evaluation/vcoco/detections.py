"""V-COCO detections: the vsrl list of per-person dicts that ``vsrl_eval.VCOCOeval._do_eval`` takes.

``_collect_detections_for_image`` reads one dict per (image, scored person) with ``image_id``, ``person_box`` =
``[x1, y1, x2, y2]``, ``'<action>_agent'`` = score and ``'<action>_<role>'`` = ``[x1, y1, x2, y2, score]``
(0-based pixel boxes). A missing ``'<action>_<role>'`` key (``KeyError`` there) is "no detection" here, the same
as a NaN score.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from tin_jax.io.errors import DataFormatError
from tin_jax.io.safe_pickle import load_pickle

__all__ = ["ROLE_SUFFIXES", "VcocoDetection", "detections_from_vsrl", "detections_to_vsrl", "read_vsrl_detections"]

ROLE_SUFFIXES = ("agent", "obj", "instr")


@dataclasses.dataclass(frozen=True, eq=False)
class VcocoDetection:
    """One scored person of one image, as one dict of vsrl_eval's detection list.

    Attributes:
        image_id: COCO image id.
        person_box: (4,) ``[x1, y1, x2, y2]`` 0-based pixels.
        agent_scores: action name -> agent score (``'<action>_agent'``).
        role_boxes: (action, role) -> (5,) ``[x1, y1, x2, y2, score]`` (``'<action>_<role>'``).
    A missing entry or a NaN score means "no detection" for that action (role).
    """

    image_id: int
    person_box: np.ndarray
    agent_scores: Mapping[str, float] = dataclasses.field(default_factory=dict)
    role_boxes: Mapping[tuple[str, str], np.ndarray] = dataclasses.field(default_factory=dict)


def _split_key(key: Any) -> tuple[str, str] | None:
    """``'talk_on_phone_instr'`` -> ``('talk_on_phone', 'instr')``; None for keys that are not scores."""
    if not isinstance(key, str) or "_" not in key:
        return None
    action, role = key.rsplit("_", 1)
    return (action, role) if action and role in ROLE_SUFFIXES else None


def _numbers(value: Any, size: int, where: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as e:
        raise DataFormatError(f"{where}: expected {size} number(s), found {value!r:.80} ({e})") from None
    if arr.size != size:
        raise DataFormatError(f"{where}: expected {size} number(s), found {arr.size}")
    return arr


def _image_id(value: Any, where: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise DataFormatError(f"{where}: image_id should be an integer, found {value!r}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    raise DataFormatError(f"{where}: image_id should be an integer, found {value!r:.40}")


def _detection_from_dict(entry: Any, where: str) -> VcocoDetection:
    if not isinstance(entry, Mapping):
        raise DataFormatError(f"{where}: should be a dict, found {type(entry).__name__}")
    for key in ("image_id", "person_box"):
        if key not in entry:
            raise DataFormatError(f"{where}: missing key {key!r}")
    image_id = _image_id(entry["image_id"], where)
    where = f"{where} (image {image_id})"
    person_box = _numbers(entry["person_box"], 4, f"{where}: person_box")
    agent, roles = {}, {}
    for key, value in entry.items():
        parts = _split_key(key)
        if parts is None or value is None:
            continue
        action, role = parts
        if role == "agent":
            agent[action] = float(_numbers(value, 1, f"{where}: {key}")[0])
        else:
            roles[(action, role)] = _numbers(value, 5, f"{where}: {key}")
    return VcocoDetection(image_id, person_box, agent, roles)


def detections_from_vsrl(records: Any, *, source: str = "<detections>") -> list[VcocoDetection]:
    """Wrap vsrl_eval's detection list (list of dicts); keys that are not scores are ignored.

    Raises:
        DataFormatError: naming ``source`` and the entry, for anything that is not in that layout.
    """
    if not isinstance(records, (list, tuple)):
        raise DataFormatError(f"{source}: should be a list of per-person dicts, found {type(records).__name__}")
    return [_detection_from_dict(entry, f"{source}: entry {k}") for k, entry in enumerate(records)]


def read_vsrl_detections(path: str | os.PathLike[str]) -> list[VcocoDetection]:
    """Read a vsrl detection pickle (the file ``VCOCOeval._do_eval`` takes) without running its code."""
    name = os.fspath(path)
    return detections_from_vsrl(load_pickle(name), source=name)


def detections_to_vsrl(detections: Iterable[VcocoDetection]) -> list[dict[str, Any]]:
    """The vsrl list for ``detections``, e.g. to pickle for the original ``vsrl_eval.py``."""
    out = []
    for det in detections:
        entry: dict[str, Any] = {"image_id": int(det.image_id),
                                 "person_box": np.asarray(det.person_box, dtype=np.float64).reshape(4)}
        for action, score in det.agent_scores.items():
            entry[f"{action}_agent"] = float(score)
        for (action, role), box in det.role_boxes.items():
            entry[f"{action}_{role}"] = np.asarray(box, dtype=np.float64).reshape(5)
        out.append(entry)
    return out
