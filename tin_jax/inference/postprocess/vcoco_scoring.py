"""V-COCO scoring: priors, LIS, NIS and the role assembly of ``tools/Vcoco_lis_nis.py: generate_pkl``.

Per scored human (one record of the test pickle): ``prior_flag`` 1/3 applies ``apply_prior`` (hard-coded
action/object compatibility, kept as the table :data:`VCOCO_PRIOR_ALLOWED`), 2/3 multiplies by
``prior_mask[:, object_class]``. ``prior_mask.pkl`` is a downloaded data file; ``prior_mask=None`` skips that
product. ``Score_obj = HO * LIS(o)`` (LIS (6, 6, 7, 0) in float32, as there), best object per action by
``argmax`` (first on ties). Agent score ``LIS(h) * best`` (cut / eat / hit: the max over their two classes;
stand / smile / run / walk: ``LIS(h) * H_score``). Role ``[obj_box, LIS(h) * best]``, set to ``[nan x 4, 0]``
if that score is 0, if D says non-interactive for the chosen object (``P_inter < thr_in[c]`` and
``P_noninter > thr_no[c]``, :data:`VCOCO_NIS_THRESHOLDS`) or if the chosen object is a person
(``person_object_suppression``). The original also stores ``[nan x 4, score]`` under 'stand' etc., which the
evaluator never reads; :class:`VcocoDetection` has no slot for it and drops it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from tin_jax.evaluation.vcoco import VcocoDetection
from tin_jax.inference.postprocess.lis import E, VCOCO_LIS, lis_weight
from tin_jax.schema import classes

__all__ = ["NUM_VCOCO_CLASSES", "VCOCO_NIS_THRESHOLDS", "VCOCO_PRIOR_ALLOWED", "VcocoHumanPairs",
           "apply_vcoco_prior", "vcoco_detections"]

NUM_VCOCO_CLASSES = len(classes.VCOCO_CLASSES)  # 29 (action, role) score columns

# Vcoco_lis_nis.py ``object_mask``: row c-1 = [thr_in, thr_no] of COCO class c.
VCOCO_NIS_THRESHOLDS: np.ndarray = np.array([
    [1e-05, 0.85], [0.0015, 0.8], [0.0002, 0.85], [0.001, 0.8], [0.0007, 0.85], [0.0007, 0.85], [0.002, 0.8],
    [1e-04, 0.85], [5e-05, 0.85], [1e-05, 0.85], [0.0007, 0.85], [0.0007, 0.85], [0.0007, 0.85], [0.0002, 0.85],
    [0.0007, 0.85], [1e-05, 0.85], [1e-05, 0.85], [0.01, 0.95], [0.0008, 0.8], [1e-05, 0.85], [5e-05, 0.95],
    [0.0007, 0.85], [0.0007, 0.85], [0.0007, 0.85], [0.00015, 1.0], [5e-05, 0.85], [1e-04, 0.9], [0.004, 0.75],
    [0.0004, 0.9], [0.01, 0.9], [0.01, 0.9], [1e-05, 0.95], [0.005, 0.95], [0.0007, 0.85], [1e-05, 0.85],
    [1e-05, 0.85], [5e-05, 0.95], [1e-05, 0.95], [0.001, 0.95], [0.05, 0.8], [0.005, 0.8], [0.1, 0.75],
    [0.005, 0.8], [0.001, 0.8], [0.007, 0.75], [0.0008, 0.8], [0.0015, 0.85], [0.004, 0.75], [0.0007, 0.9],
    [0.0004, 0.85], [0.00015, 0.8], [0.005, 0.8], [1e-04, 0.8], [0.0035, 0.8], [0.002, 0.9], [5e-05, 0.85],
    [0.005, 0.8], [0.0015, 0.85], [1e-05, 0.85], [0.0025, 0.9], [0.05, 0.75], [0.0007, 0.85], [0.0007, 0.85],
    [1e-05, 0.9], [0.0007, 0.85], [0.05, 0.9], [1e-05, 0.85], [0.0015, 1.0], [1e-05, 0.85], [1e-05, 0.85],
    [0.0007, 0.85], [0.0007, 0.85], [0.0007, 0.85], [0.003, 0.75], [0.0007, 0.85], [1e-05, 0.85], [0.0035, 0.9],
    [0.05, 0.75], [1e-05, 0.85], [1e-05, 0.85],
])
VCOCO_NIS_THRESHOLDS.setflags(write=False)

# apply_prior.py as data: V-COCO class index -> the COCO classes it is possible with (all others zero it).
_PRIOR_ONLY_WITH: dict[int, tuple[int, ...]] = {
    21: (32,),                                        # snowboard_instr: snowboard
    24: (74,),                                        # read_obj: book
    7: (33,),                                         # kick_obj: sports ball
    13: (41, 40, 42, 46),                             # drink_instr: wine glass, bottle, cup, bowl
    26: (37,),                                        # skateboard_instr: skateboard
    0: (38,),                                         # surf_instr: surfboard
    1: (31,),                                         # ski_instr: skis
    8: (64,),                                         # work_on_computer_instr: laptop
    2: (77, 43, 44),                                  # cut_instr: scissors, fork, knife
    15: (33, 30),                                     # throw_obj: sports ball, frisbee
    28: (33, 30),                                     # catch_obj: sports ball, frisbee
    6: (68,),                                         # talk_on_phone_instr: cell phone
    12: (14, 61, 62, 60, 58, 57),                     # lay_instr: bench, dining table, toilet, bed, couch, chair
    11: (32, 31, 37, 38),                             # jump_instr: snowboard, skis, skateboard, surfboard
    9: (47, 48, 49, 50, 51, 52, 53, 54, 55, 56),      # eat_obj: food
    16: (43, 44, 45),                                 # eat_instr: fork, knife, spoon
    19: (39, 35),                                     # hit_instr: tennis racket, baseball bat
    20: (33,),                                        # hit_obj: sports ball
    5: (2, 4, 6, 8, 9, 7, 5, 3, 18, 21),              # ride_instr: vehicles, horse, elephant
    10: (2, 4, 18, 21, 14, 57, 58, 60, 62, 61, 29, 27, 25),  # sit_instr
}
_PRIOR_NEVER_WITH: dict[int, tuple[int, ...]] = {4: (1,)}  # cut_obj: never a person


def _prior_table() -> np.ndarray:
    allowed = np.ones((classes.NUM_OBJECTS + 1, NUM_VCOCO_CLASSES), dtype=bool)
    for a, objs in _PRIOR_ONLY_WITH.items():
        allowed[:, a] = False
        allowed[list(objs), a] = True
    for a, objs in _PRIOR_NEVER_WITH.items():
        allowed[list(objs), a] = False
    allowed.setflags(write=False)
    return allowed


# Row c (COCO class 1..80; row 0 unused) = which of the 29 V-COCO classes apply_prior leaves untouched.
VCOCO_PRIOR_ALLOWED: np.ndarray = _prior_table()


class VcocoHumanPairs(NamedTuple):
    """One scored human of a V-COCO test image and its objects (one record of TIN's V-COCO test pickle)."""

    image_id: int
    human_box: Any      # (4,)
    human_score: float  # detection score
    h_scores: Any       # (29,) sig(H) of the human-only pass
    object_boxes: Any   # (M, 4)
    object_class: Any   # (M,) COCO class 1..80
    object_score: Any   # (M,)
    ho_scores: Any      # (M, 29) sig(sp) * (sig(H) + sig(O))
    binary: Any         # (M, 2) D's (P_inter, P_noninter)


class _VcocoFlat(NamedTuple):
    """All humans' pairs concatenated (pair rows), plus one row per human."""

    starts: np.ndarray    # (H,) first pair row of each human
    ho: np.ndarray        # (P, 29)
    cls: np.ndarray       # (P,) int64 1..80
    boxes: np.ndarray     # (P, 4)
    binary: np.ndarray    # (P, 2)
    o_det: np.ndarray     # (P,) float32
    h_det: np.ndarray     # (H,) float64
    h_scores: np.ndarray  # (H, 29)


def apply_vcoco_prior(ho_scores: Any, object_class: Any) -> np.ndarray:
    """apply_prior.py: zero the actions impossible with each pair's object class (dtype kept)."""
    ho = np.asarray(ho_scores)
    allowed = VCOCO_PRIOR_ALLOWED[np.asarray(object_class, np.int64)]
    return np.where(allowed, ho, np.zeros((), ho.dtype))


def _segment_argmax(scores: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per segment and column, the row of the first maximum (``np.argmax`` semantics, NaN counts as max)."""
    seg = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(scores))))
    top = np.maximum.reduceat(scores, starts, axis=0)[seg]
    is_max = (scores == top) | (np.isnan(top) & np.isnan(scores))
    rows = np.where(is_max, np.arange(len(scores))[:, None], len(scores))
    return np.minimum.reduceat(rows, starts, axis=0)


def _first_max(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Python ``max(a, b)`` elementwise: b only if strictly greater."""
    return np.where(b > a, b, a)


def _flatten_vcoco(humans: Sequence[VcocoHumanPairs]) -> _VcocoFlat:
    """Concatenate the pairs of humans that have at least one object, checking shapes and classes."""
    counts = np.array([np.asarray(h.object_class).size for h in humans])

    def cat(field: str, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
        return np.concatenate([np.asarray(getattr(h, field), dtype).reshape((n,) + shape)
                               for h, n in zip(humans, counts)])

    ho = cat("ho_scores", (NUM_VCOCO_CLASSES,))
    cls = cat("object_class", ()).astype(np.int64)
    if np.any((cls < 1) | (cls > classes.NUM_OBJECTS)):
        raise ValueError(f"vcoco_detections: object class {int(cls[(cls < 1) | (cls > 80)][0])} outside 1..80")
    return _VcocoFlat(
        starts=np.cumsum(counts) - counts, ho=ho, cls=cls, boxes=cat("object_boxes", (4,)),
        binary=cat("binary", (2,)), o_det=cat("object_score", (), np.float32),
        h_det=np.array([float(np.max(h.human_score)) for h in humans]),
        h_scores=np.stack([np.asarray(h.h_scores).reshape(NUM_VCOCO_CLASSES) for h in humans]))


def _apply_priors(ho: np.ndarray, cls: np.ndarray, prior_flag: int, prior_mask: Any | None) -> np.ndarray:
    """``prior_flag`` 1/3: :func:`apply_vcoco_prior`; 2/3: times ``prior_mask[:, class]`` (when given)."""
    if prior_flag in (1, 3):
        ho = apply_vcoco_prior(ho, cls)
    if prior_flag in (2, 3) and prior_mask is not None:
        mask = np.asarray(prior_mask)
        if mask.ndim != 2 or mask.shape[0] != NUM_VCOCO_CLASSES or cls.max() >= mask.shape[1]:
            raise ValueError(f"prior_mask of shape {mask.shape} cannot be indexed [:, class] for classes up to "
                             f"{cls.max()} (needs 29 rows and a column per class id)")
        ho = ho * mask[:, cls].T
    return ho


def _agent_best(best_score: np.ndarray, h_scores: np.ndarray) -> dict[str, np.ndarray]:
    """Per action: the best class score (H x ...), max over the action's classes; ``H_score`` for role-less ones."""
    agent_best: dict[str, np.ndarray] = {}
    for i, (action, role) in enumerate(classes.VCOCO_CLASS_TO_ACTION_ROLE):
        s = best_score[:, i] if role is not None else h_scores[:, i]
        agent_best[action] = _first_max(agent_best[action], s) if action in agent_best else s
    return agent_best


def _role_dicts(empty_role: np.ndarray, best: np.ndarray, boxes: np.ndarray, role_score: np.ndarray,
                j: int) -> dict[tuple[str, str], np.ndarray]:
    """Human j's ``{(action, role): [x1, y1, x2, y2, score]}``, NaN box where the role is empty."""
    roles = {}
    for i, (action, role) in enumerate(classes.VCOCO_CLASS_TO_ACTION_ROLE):
        if role is None:
            continue
        box = np.full(4, np.nan) if empty_role[j, i] else boxes[best[j, i]].astype(np.float64)
        roles[(action, role)] = np.append(box, role_score[j, i])
    return roles


def vcoco_detections(per_human: Sequence[VcocoHumanPairs], *, prior_flag: int = 3,
                     prior_mask: Any | None = None, lis: Sequence[float] | None = VCOCO_LIS, nis: bool = True,
                     nis_thresholds: Any = VCOCO_NIS_THRESHOLDS,
                     person_object_suppression: bool = True) -> list[VcocoDetection]:
    """Vcoco_lis_nis.py ``generate_pkl``: one :class:`VcocoDetection` per human with at least one object.

    Args:
        prior_flag: 0 none, 1 apply_prior, 2 prior_mask, 3 both (the original's default).
        prior_mask: (29, K) array, column = COCO class id as the original indexes it; None skips that product.
        lis: (a, b, c, d) for LIS(h) and LIS(o); None for none.
        nis: D-based role suppression; ``nis_thresholds`` (80, 2) rows [thr_in, thr_no] by class - 1.
        person_object_suppression: zero the role when its best object is a person (the original does).
    """
    if prior_flag not in (0, 1, 2, 3):
        raise ValueError(f"prior_flag should be 0, 1, 2 or 3, not {prior_flag!r}")
    humans = [h for h in per_human if np.asarray(h.object_class).size]
    if not humans:
        return []
    f = _flatten_vcoco(humans)
    ho = _apply_priors(f.ho, f.cls, prior_flag, prior_mask)
    o_det, h_det = f.o_det, f.h_det
    if lis is not None:
        a, b, c, d = (float(v) for v in lis)
        o_det = a / (1 + E ** (b - c * o_det)) + d  # float32 array arithmetic, as the original
        h_det = lis_weight(h_det, lis)
    score_obj = ho * o_det[:, None]
    best = _segment_argmax(score_obj, f.starts)  # (H, 29) global pair rows
    best_score = score_obj[best, np.arange(NUM_VCOCO_CLASSES)]
    role_score = h_det[:, None] * best_score
    agent_best = _agent_best(best_score, f.h_scores)

    empty_role = (role_score == 0)
    best_cls = f.cls[best]
    if nis:
        thr = np.asarray(nis_thresholds, np.float64)
        bd = f.binary[best].astype(np.float64)
        empty_role |= (bd[..., 0] < thr[best_cls - 1, 0]) & (bd[..., 1] > thr[best_cls - 1, 1])
    if person_object_suppression:
        empty_role |= best_cls == 1
    role_score = np.where(empty_role, 0.0, role_score)

    agent = {a: h_det * s for a, s in agent_best.items()}
    return [VcocoDetection(int(h.image_id), np.asarray(h.human_box, np.float64).reshape(4),
                           {a: float(v[j]) for a, v in agent.items()},
                           _role_dicts(empty_role, best, f.boxes, role_score, j))
            for j, h in enumerate(humans)]
