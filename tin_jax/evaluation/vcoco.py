"""V-COCO agent AP and role AP (scenarios 1 and 2) with the semantics of s-gupta/v-coco ``vsrl_eval.py``.

TIN scores V-COCO with ``lib/ult/vsrl_eval_output_txt.py``, a copy of ``vsrl_eval.VCOCOeval`` that only adds a
text dump and the "omitting point" average; the evaluation itself is unchanged. What it does, and so what this
module does:

Ground truth (``_get_vcocodb``)
    Per image, every COCO annotation (crowd included) except those with ``ignore == 1``, boxed as
    ``[x, y, x + max(0, w - 1), y + max(0, h - 1)]`` clipped to the image and kept iff ``area > 0`` and the box is
    wider and taller than one pixel. The persons (COCO category 1) among them, in annotation-file order, are the
    GT agents. A person listed in the *first* action table of ``vcoco_<split>.json`` gets 0/1 labels for every
    action (1 iff ``label == 1`` in that action's table); any other person is "unannotated" (-1 everywhere) and
    is ignored: a detection whose best-overlap GT person is unannotated is dropped, neither TP nor FP. Each role of
    a positive label points to the box of its object (``role_object_id``; 0 = no object). ``include`` (the
    allowed categories per role) plays no part in the evaluation.

Detections (``_collect_detections_for_image``)
    The standard vsrl list: one dict per (image, scored person) with ``image_id``, ``person_box`` =
    ``[x1, y1, x2, y2]``, ``'<action>_agent'`` = score and ``'<action>_<role>'`` = ``[x1, y1, x2, y2, score]``
    (0-based pixel boxes). Boxes and scores are stored as float32, as the original does, so float64 scores that
    round to the same float32 tie. A NaN score means "no detection" and the entry is skipped.

Matching (``_do_agent_eval`` / ``_do_role_eval``), per image and action (and role)
    Valid detections in descending score order (``argsort()[::-1]`` on float32, the original's very calls, so
    tied scores come in the same order as there); each is assigned to the GT person of maximum IoU (first on ties; no one-to-one search). Unannotated GT person
    -> skipped. TP iff that person has the action, IoU >= 0.5 and (roles) the role IoU >= 0.5, and the person is
    not yet covered for this action (role); a second hit on a covered person is a FP. Role IoU is the predicted
    role box against the GT role object of *that* person; when the person has no GT role object, scenario 1
    counts the role as correct only if the predicted box is all zeros or all NaN, scenario 2 always.
    IoU uses inclusive pixels (``+1`` on widths and heights) and float32 arithmetic.

AP (``voc_ap``)
    All kept detections of an action (role), sorted by score (``argsort()[::-1]`` again), cumulative TP/FP,
    recall = TP / #positive GT persons of the action (the same #pos for every role of the action), and the
    area under the precision envelope at each recall change (VOC 2010+ "all points", not 11-point).
    Agent mean = ``nansum(AP) / #actions`` (26); role mean = ``nanmean`` over the 25 roles; TIN's "omitting
    point" mean drops ``point-instr`` (TIN prints ``(nanmean * 25 - AP_point) / 24``, which equals the nanmean
    over the other 24 when all 25 are defined).

Where the original crashes, this module picks a documented answer instead:

- a missing ``'<action>_<role>'`` key (``KeyError`` there) is "no detection", the same as a NaN score;
- an action with no positive GT person (``assert`` on NaN recall there) has AP NaN, which the means skip as
  described above (so the agent mean counts it as 0);
- an action (role) with no kept detection (``np.amax`` of an empty array there) has AP 0;
- a detection on an image without any valid GT person (``argmax`` of an empty array there) is a FP;
- a role object that is not a valid annotation (an ``assert`` there) counts as "no role object".

NumPy >= 2 evaluates the original's ``np.float32`` scalar expressions in float32 where NumPy 1 used float64
for a few terms (the detection box area); this can move an IoU by one float32 ulp, never more.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from tin_jax.io.errors import DataFormatError
from tin_jax.io.safe_pickle import load_pickle
from tin_jax.io.vcoco_json import (
    VcocoSplit,
    coco_box_to_xyxy,
    coco_instances_path,
    read_coco_instances,
    read_vcoco,
)

__all__ = [
    "SCENARIOS",
    "AgentAP",
    "RoleAP",
    "VcocoDetection",
    "VcocoEvalResult",
    "VcocoGroundTruth",
    "VcocoImageGT",
    "box_overlaps",
    "build_ground_truth",
    "detections_from_vsrl",
    "detections_to_vsrl",
    "evaluate_vcoco",
    "load_ground_truth",
    "main",
    "read_vsrl_detections",
    "voc_ap",
]

SCENARIOS = ("scenario_1", "scenario_2")
ROLE_SUFFIXES = ("agent", "obj", "instr")
OMITTED_ROLE = ("point", "instr")  # TIN's "omitting the action point" average
PERSON_CONTIGUOUS_ID = 1


# --------------------------------------------------------------------------------------------------
# Detections
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Matching and AP
# --------------------------------------------------------------------------------------------------


def box_overlaps(gt: np.ndarray, det: np.ndarray) -> np.ndarray:
    """(D, P) IoU of each detection with each GT box, as ``vsrl_eval.get_overlap`` (``+1``, float32)."""
    gt = np.asarray(gt, dtype=np.float32).reshape(-1, 4)
    det = np.asarray(det, dtype=np.float32).reshape(-1, 4)
    with np.errstate(invalid="ignore", divide="ignore"):
        ixmin = np.maximum(gt[None, :, 0], det[:, None, 0])
        iymin = np.maximum(gt[None, :, 1], det[:, None, 1])
        ixmax = np.minimum(gt[None, :, 2], det[:, None, 2])
        iymax = np.minimum(gt[None, :, 3], det[:, None, 3])
        iw = np.maximum(ixmax - ixmin + 1.0, 0.0)
        ih = np.maximum(iymax - iymin + 1.0, 0.0)
        inters = iw * ih
        det_area = (det[:, 2] - det[:, 0] + 1.0) * (det[:, 3] - det[:, 1] + 1.0)
        gt_area = (gt[:, 2] - gt[:, 0] + 1.0) * (gt[:, 3] - gt[:, 1] + 1.0)
        return inters / (det_area[:, None] + gt_area[None, :] - inters)


def _role_overlaps(gt_roles: np.ndarray, det_roles: np.ndarray, scenario: str) -> np.ndarray:
    """(D, P) role overlap used by the match: IoU, or the scenario's rule where the person has no GT role."""
    has_gt = ~np.all(gt_roles == -1, axis=1)
    if scenario == "scenario_1":
        with np.errstate(invalid="ignore"):
            no_pred = np.all(det_roles == 0.0, axis=1) | np.all(np.isnan(det_roles), axis=1)
        fill = np.where(no_pred, 1.0, 0.0).astype(np.float32)[:, None]
    elif scenario == "scenario_2":
        fill = np.float32(1.0)
    else:
        raise ValueError(f"unknown scenario {scenario!r}; use one of {SCENARIOS}")
    return np.where(has_gt[None, :], box_overlaps(gt_roles, det_roles), fill)


def _greedy_match(scores: np.ndarray, overlaps: np.ndarray, ignore: np.ndarray, positive: np.ndarray,
                  role_overlaps: np.ndarray | None, thresh: float) -> list[tuple[np.float32, int]]:
    """vsrl_eval's assignment in one image: (score, tp) of the kept detections, in visiting order."""
    valid = np.where(~np.isnan(scores))[0]
    order = valid[scores[valid].argsort()[::-1]]
    covered = np.zeros(len(ignore), dtype=bool)
    out = []
    for d in order:
        if not len(ignore):  # no GT person at all: a plain FP (vsrl_eval would crash here)
            out.append((scores[d], 0))
            continue
        jmax = int(overlaps[d].argmax())
        if ignore[jmax]:
            continue
        hit = (positive[jmax] and overlaps[d].max() >= thresh
               and (role_overlaps is None or role_overlaps[d, jmax] >= thresh))
        out.append((scores[d], int(bool(hit) and not covered[jmax])))
        if hit:
            covered[jmax] = True
    return out


def voc_ap(rec: np.ndarray, prec: np.ndarray) -> float:
    """Area under the precision envelope (``vsrl_eval.voc_ap``); 0 for no detections."""
    mrec = np.concatenate(([0.0], np.asarray(rec), [1.0]))
    mpre = np.concatenate(([0.0], np.asarray(prec), [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def _ap(hits: Sequence[tuple[np.float32, int]], npos: float) -> float:
    """AP of one action (role) from its kept detections; NaN when it has no positive GT."""
    if npos <= 0:
        return math.nan
    sc = np.array([s for s, _ in hits], dtype=np.float32)
    tp = np.array([t for _, t in hits], dtype=np.float32)
    idx = sc.argsort()[::-1]
    fp = np.cumsum(1.0 - tp[idx], dtype=np.float32)
    tp = np.cumsum(tp[idx], dtype=np.float32)
    rec = tp / float(npos)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return voc_ap(rec, prec)


def _stack_detections(dets: Sequence[VcocoDetection], gt: VcocoGroundTruth,
                      num_roles: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(D, 4) person boxes, (D, A) agent scores, (D, A, R, 5) roles; float32, NaN = no detection."""
    n, na = len(dets), len(gt.actions)
    boxes = np.zeros((n, 4), dtype=np.float32)
    agent = np.full((n, na), np.nan, dtype=np.float32)
    roles = np.full((n, na, num_roles, 5), np.nan, dtype=np.float32)
    for k, det in enumerate(dets):
        boxes[k] = det.person_box
        for a, action in enumerate(gt.actions):
            score = det.agent_scores.get(action)
            if score is not None:
                agent[k, a] = score
            for r, role in enumerate(gt.roles[a][1:]):
                box = det.role_boxes.get((action, role))
                if box is not None:
                    roles[k, a, r] = box
    return boxes, agent, roles


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


def _nan_to_none(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


@dataclasses.dataclass(frozen=True)
class AgentAP:
    actions: tuple[str, ...]
    ap: tuple[float, ...]  # fractions; NaN where the action has no positive GT
    npos: tuple[int, ...]

    @property
    def mean(self) -> float:
        """``nansum(AP) / #actions``, as vsrl_eval's "Average Agent AP"."""
        return float(np.nansum(np.asarray(self.ap, dtype=np.float32))) / len(self.ap)


@dataclasses.dataclass(frozen=True)
class RoleAP:
    scenario: str
    roles: tuple[tuple[str, str], ...]  # (action, role)
    ap: tuple[float, ...]
    npos: tuple[int, ...]

    def _nanmean(self, keep: Sequence[bool]) -> float:
        vals = np.asarray([a for a, k in zip(self.ap, keep) if k], dtype=np.float32)
        if vals.size == 0 or np.all(np.isnan(vals)):
            return math.nan
        return float(np.nanmean(vals))

    @property
    def mean(self) -> float:
        """nanmean over all roles (25 for V-COCO), as vsrl_eval's "Average Role AP"."""
        return self._nanmean([True] * len(self.roles))

    @property
    def mean_without_point(self) -> float:
        """nanmean without point-instr (24 roles): TIN's "omitting the action point" number."""
        return self._nanmean([r != OMITTED_ROLE for r in self.roles])

    def by_name(self) -> dict[str, float]:
        return {f"{a}-{r}": ap for (a, r), ap in zip(self.roles, self.ap)}


@dataclasses.dataclass(frozen=True)
class VcocoEvalResult:
    agent: AgentAP
    scenario_1: RoleAP
    scenario_2: RoleAP
    num_images: int
    num_detections: int
    num_outside_split: int  # detections whose image is not in the split (ignored, as by vsrl_eval)

    def role(self, scenario: str) -> RoleAP:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; use one of {SCENARIOS}")
        return getattr(self, scenario)

    def format_table(self) -> str:
        """The report vsrl_eval (TIN's copy) prints, in percent."""
        lines = ["---------Reporting Agent AP (%)------------------"]
        for action, ap, n in zip(self.agent.actions, self.agent.ap, self.agent.npos):
            lines.append(f"{action: >20}: AP = {ap * 100:0.2f} (#pos = {n:d})")
        lines += [f"Average Agent AP = {self.agent.mean * 100:.2f}", "---------------------------------------------"]
        for scenario in SCENARIOS:
            table = self.role(scenario)
            lines.append("---------Reporting Role AP (%)------------------")
            for (action, role), ap, n in zip(table.roles, table.ap, table.npos):
                lines.append(f"{action + '-' + role: >23}: AP = {ap * 100:0.2f} (#pos = {n:d})")
            lines += [f"Average Role [{scenario}] AP = {table.mean * 100:.2f}",
                      "---------------------------------------------",
                      f'Average Role [{scenario}] AP = {table.mean_without_point * 100:.2f}, omitting the action "point"',
                      "---------------------------------------------"]
        return "\n".join(lines)

    def format_summary(self) -> str:
        """The headline numbers in one small table (papers report role AP over 24 roles)."""
        rows = [f"V-COCO role mAP (%)   {'24 roles':>8}  {'25 roles':>8}"]
        for scenario in SCENARIOS:
            t = self.role(scenario)
            rows.append(f"{scenario.replace('_', ' ').capitalize():<20}  {t.mean_without_point * 100:>8.2f}  "
                        f"{t.mean * 100:>8.2f}")
        rows.append(f"{'Agent mAP':<20}  {self.agent.mean * 100:>8.2f}")
        return "\n".join(rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (fractions, NaN -> None) for JSON."""
        out: dict[str, Any] = {
            "agent": {"ap": {a: _nan_to_none(v) for a, v in zip(self.agent.actions, self.agent.ap)},
                      "npos": dict(zip(self.agent.actions, self.agent.npos)),
                      "mean": _nan_to_none(self.agent.mean)},
            "num_images": self.num_images, "num_detections": self.num_detections,
            "num_outside_split": self.num_outside_split,
        }
        for scenario in SCENARIOS:
            table = self.role(scenario)
            out[scenario] = {"ap": {k: _nan_to_none(v) for k, v in table.by_name().items()},
                             "mean": _nan_to_none(table.mean),
                             "mean_without_point": _nan_to_none(table.mean_without_point)}
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


# --------------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------------


def evaluate_vcoco(gt: VcocoGroundTruth, detections: Sequence[VcocoDetection],
                   ovr_thresh: float = 0.5) -> VcocoEvalResult:
    """Agent AP and role AP (both scenarios) of ``detections`` against ``gt`` (vsrl_eval's ``_do_eval``)."""
    na = len(gt.actions)
    num_roles = max(1, max(len(r) - 1 for r in gt.roles))
    by_image: dict[int, list[VcocoDetection]] = {}
    for det in detections:
        by_image.setdefault(int(det.image_id), []).append(det)
    agent_hits: list[list] = [[] for _ in range(na)]
    role_hits = {s: [[[] for _ in gt.roles[a][1:]] for a in range(na)] for s in SCENARIOS}
    npos = np.zeros(na, dtype=np.int64)
    for img in gt.images:
        npos += np.sum(img.actions == 1, axis=0)
        boxes, agent, roles = _stack_detections(by_image.get(img.image_id, []), gt, num_roles)
        person_ov = box_overlaps(img.boxes, boxes)
        ignore = np.any(img.actions == -1, axis=1)
        for a in range(na):
            positive = img.actions[:, a] == 1
            agent_hits[a] += _greedy_match(agent[:, a], person_ov, ignore, positive, None, ovr_thresh)
            for r in range(len(gt.roles[a]) - 1):
                for s in SCENARIOS:
                    role_ov = _role_overlaps(img.role_boxes[:, a, r], roles[:, a, r, :4], s)
                    role_hits[s][a][r] += _greedy_match(roles[:, a, r, 4], person_ov, ignore, positive, role_ov,
                                                        ovr_thresh)
    agent = AgentAP(gt.actions, tuple(float(np.float32(_ap(agent_hits[a], npos[a]))) for a in range(na)),
                    tuple(int(n) for n in npos))
    tables = {}
    for s in SCENARIOS:
        aps, counts = [], []
        for a in range(na):
            for r in range(len(gt.roles[a]) - 1):
                aps.append(float(np.float32(_ap(role_hits[s][a][r], npos[a]))))
                counts.append(int(npos[a]))
        tables[s] = RoleAP(s, gt.eval_roles, tuple(aps), tuple(counts))
    split_ids = {img.image_id for img in gt.images}
    outside = sum(len(v) for k, v in by_image.items() if k not in split_ids)
    return VcocoEvalResult(agent, tables["scenario_1"], tables["scenario_2"], len(gt.images),
                           len(detections), outside)


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tin_jax.evaluation.vcoco",
                                description="V-COCO agent/role AP (vsrl_eval semantics) of a vsrl detection pickle.")
    p.add_argument("--vcoco_root", required=True, help="v-coco repository root (holds data/)")
    p.add_argument("--detections", required=True, help="vsrl detection pickle (list of per-person dicts)")
    p.add_argument("--split", default="test", help="V-COCO split (default: test)")
    p.add_argument("--ovr_thresh", type=float, default=0.5, help="IoU threshold (default: 0.5)")
    p.add_argument("--json", default=None, help="also write the result as JSON to this file")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        gt = load_ground_truth(args.vcoco_root, args.split)
        result = evaluate_vcoco(gt, read_vsrl_detections(args.detections), args.ovr_thresh)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                f.write(result.to_json() + "\n")
    except (DataFormatError, OSError) as e:
        print(f"error: {e}".replace("\n", " "), file=sys.stderr)
        return 2
    print(result.format_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
