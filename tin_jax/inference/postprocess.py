"""TIN's test-time post-processing: pair selection, LIS, NIS and the per-HOI export, vectorised.

What the original does (``tests/test_postprocess.py`` checks each part against a loop-by-loop transcription,
``tests/reference/tin_postprocess_loops.py``):

Pair selection (``lib/models/test_HICO_pose_pattern_all_wise_pair.py`` and ``test_VCOCO_D_pose_pattern_naked.py``,
:func:`select_pairs`)
    For each 'Human' detection with score > ``human_thresh`` (detection order), each detection (humans included)
    with score > ``object_thresh`` whose box is not identical to the human's (detection order). Strict ``>``.
    HICO 0.8 / 0.3, V-COCO 0.6 / 0.4. If an image has no such pair, HICO falls back to the top-4 'Human' x top-4
    non-'Human' detections of any score (V-COCO has no fallback). The original fills both lists in lockstep and,
    once one kind runs out, appends index ``-1``: the *last* detection is then used as a human (or object) again
    and again. ``fallback='original'`` reproduces that; ``'fixed'`` (default) keeps only the real top-<=4 of each
    kind (no pair if a kind is absent); ``'none'`` adds nothing.

HICO LIS + NIS + top-k (``HICO-DET_Benchmark/Generate_HICO_detection_nis.py``, :func:`hico_detections`)
    For each object class c and each HOI k of its range, over the pairs whose object class is c, in pair order:
    ``score = S[k] * LIS(h) * LIS(o)`` with ``LIS(x) = a / (1 + e^(b - c x)) + d`` = (6, 10, 1.4, 0) and
    ``e = 2.718281828459``, in float64 (the original's scalars promote to it). The pair is dropped for k iff
    ``P_noninter > thr_no`` and ``P_inter < thr_in`` and k is not a no_interaction HOI and the image is not a
    fallback image. D's scores pass through float32 arrays there (``cal_rank_600``), so they are rounded to float32
    here too before the float64 comparison. Thresholds: (0.9, 0.1) plus 11 hand-tuned classes
    (:data:`HICO_NIS_OVERRIDES`). Then ``np.argsort(score)[::-1]``, top 19,999 rows per HOI. Tie order there is
    whatever numpy's quicksort gives; here it is the reversed stable order (score descending, then *later* pairs
    first), which is what that expression gives for a stable sort.
    Boxes stay 0-based floats; the result is built with ``HicoDetections.from_arrays(..., round_boxes=True)``,
    i.e. rounded as ``Generate_detection.m`` rounds the exported rows, cells filled in row order.

Where HICO's D scores come from
    The released numbers read D from a *separate* pickle (``80000_TIN_D_noS.pkl``), flattened over its dict order,
    indexed by a running pair counter over the main pickle that skips the fallback (``all_remaining``) images.
    :func:`hico_pairs_from_tin` with ``d_outputs`` does the same alignment and insists that it is the intended one:
    the D pickle's pairs, in order, must belong to the same images as the main pickle's non-fallback pairs
    (otherwise a clear ``ValueError``; the original would silently misalign or run past the end). Fallback images
    keep the main pickle's own D scores (NIS ignores them anyway).

V-COCO (``tools/Vcoco_lis_nis.py: generate_pkl``, :func:`vcoco_detections`)
    Per scored human (one record of the test pickle): ``prior_flag`` 1/3 applies ``apply_prior`` (hard-coded
    action/object compatibility, kept as the table :data:`VCOCO_PRIOR_ALLOWED`), 2/3 multiplies by
    ``prior_mask[:, object_class]``. ``prior_mask.pkl`` is a downloaded data file; ``prior_mask=None`` skips that
    product. ``Score_obj = HO * LIS(o)`` (LIS (6, 6, 7, 0) in float32, as there), best object per action by
    ``argmax`` (first on ties). Agent score ``LIS(h) * best`` (cut / eat / hit: the max over their two classes;
    stand / smile / run / walk: ``LIS(h) * H_score``). Role ``[obj_box, LIS(h) * best]``, set to ``[nan x 4, 0]``
    if that score is 0, if D says non-interactive for the chosen object (``P_inter < thr_in[c]`` and
    ``P_noninter > thr_no[c]``, :data:`VCOCO_NIS_THRESHOLDS`) or if the chosen object is a person
    (``person_object_suppression``). The original also stores ``[nan x 4, score]`` under 'stand' etc., which the
    evaluator never reads; :class:`VcocoDetection` has no slot for it and drops it. A human whose D record has
    another length is an error here (the original prints 'wrong' and drops the human).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from tin_jax.schema import classes
from tin_jax.evaluation.hico_det import HicoDetections
from tin_jax.evaluation.vcoco import VcocoDetection
from tin_jax.io.errors import DataFormatError
from tin_jax.io.safe_pickle import load_pickle

__all__ = [
    "E", "FALLBACK_TOP_N", "HICO_LIS", "HICO_NIS_OVERRIDES", "HICO_NIS_THRESHOLDS", "HICO_TOP_K",
    "HicoImagePairs", "NO_INTERACTION_HOI_MASK", "TIN_HICO_FALLBACK_IMAGE_IDS", "TinImageOutput", "VCOCO_LIS", "VCOCO_NIS_THRESHOLDS",
    "VCOCO_PRIOR_ALLOWED", "VcocoHumanPairs", "apply_vcoco_prior", "attach_d_scores", "hico_detections",
    "hico_non_interactive", "hico_pairs_from_tin", "lis_weight", "read_tin_test_pickle", "read_vcoco_test_pickle",
    "select_pairs", "vcoco_detections", "vcoco_pairs_from_tin",
]

E = 2.718281828459  # getSigmoid's e, not math.e
HICO_LIS = (6.0, 10.0, 1.4, 0.0)  # (a, b, c, d): Generate_HICO_detection_nis.py getSigmoid(10, 1.4, 0, x)
VCOCO_LIS = (6.0, 6.0, 7.0, 0.0)  # Vcoco_lis_nis.py sigmoid_coeff
HICO_TOP_K = 19999
FALLBACK_TOP_N = 4  # human_num_thres / object_num_thres
HICO_NIS_THRESHOLDS = (0.9, 0.1)  # (thr_no, thr_in): Test_TIN_HICO.py defaults
# (thr_no, thr_in) by COCO class, Generate_HICO_detection_nis.py l.78-110.
HICO_NIS_OVERRIDES: Mapping[int, tuple[float, float]] = {
    63: (0.95, 0.15), 43: (0.85, 0.1), 57: (0.85, 0.2), 48: (0.85, 0.2), 41: (0.85, 0.15), 2: (0.85, 0.2),
    4: (0.85, 0.15), 31: (0.85, 0.1), 19: (0.85, 0.2), 1: (0.85, 0.05), 11: (0.85, 0.15),
}

# Generate_HICO_detection_nis.py ``all_remaining``: test images (numeric ids) with no pair above threshold.
TIN_HICO_FALLBACK_IMAGE_IDS: frozenset[int] = frozenset((
    20, 25, 54, 60, 66, 71, 74, 94, 154, 155, 184, 200, 229, 235, 242, 249, 273, 280, 289, 292, 315, 323, 328,
    376, 400, 421, 432, 436, 461, 551, 554, 578, 613, 626, 639, 641, 642, 704, 705, 768, 773, 776, 796, 809, 827,
    845, 850, 855, 862, 886, 901, 947, 957, 963, 965, 1003, 1011, 1014, 1028, 1042, 1044, 1057, 1090, 1092, 1097,
    1099, 1119, 1171, 1180, 1231, 1241, 1250, 1346, 1359, 1360, 1391, 1420, 1450, 1467, 1495, 1498, 1545, 1560,
    1603, 1605, 1624, 1644, 1659, 1673, 1674, 1677, 1709, 1756, 1808, 1845, 1847, 1849, 1859, 1872, 1881, 1907,
    1910, 1912, 1914, 1953, 1968, 1979, 2039, 2069, 2106, 2108, 2116, 2126, 2142, 2145, 2146, 2154, 2175, 2184,
    2218, 2232, 2269, 2306, 2308, 2316, 2323, 2329, 2390, 2397, 2406, 2425, 2463, 2475, 2483, 2494, 2520, 2576,
    2582, 2591, 2615, 2624, 2642, 2646, 2677, 2703, 2707, 2712, 2717, 2763, 2780, 2781, 2818, 2830, 2833, 2850,
    2864, 2873, 2913, 2961, 2983, 3021, 3040, 3042, 3049, 3057, 3066, 3082, 3083, 3111, 3112, 3122, 3157, 3200,
    3204, 3229, 3293, 3309, 3328, 3341, 3373, 3393, 3423, 3439, 3449, 3471, 3516, 3525, 3537, 3555, 3616, 3636,
    3653, 3668, 3681, 3709, 3718, 3719, 3733, 3737, 3744, 3756, 3762, 3772, 3780, 3784, 3816, 3817, 3824, 3855,
    3865, 3885, 3891, 3910, 3916, 3918, 3919, 3933, 3949, 3980, 4009, 4049, 4066, 4089, 4112, 4143, 4154, 4200,
    4222, 4243, 4254, 4257, 4259, 4266, 4269, 4273, 4308, 4315, 4320, 4331, 4343, 4352, 4356, 4369, 4384, 4399,
    4411, 4424, 4428, 4445, 4447, 4466, 4477, 4482, 4492, 4529, 4534, 4550, 4566, 4596, 4605, 4606, 4620, 4648,
    4710, 4718, 4734, 4771, 4773, 4774, 4801, 4807, 4811, 4842, 4845, 4849, 4874, 4886, 4887, 4907, 4926, 4932,
    4948, 4960, 4969, 5000, 5039, 5042, 5105, 5113, 5159, 5161, 5174, 5183, 5197, 5214, 5215, 5216, 5221, 5264,
    5273, 5292, 5293, 5353, 5438, 5447, 5452, 5465, 5468, 5492, 5498, 5520, 5543, 5551, 5575, 5581, 5605, 5617,
    5623, 5671, 5728, 5759, 5766, 5777, 5799, 5840, 5853, 5875, 5883, 5886, 5898, 5919, 5922, 5941, 5948, 5960,
    5962, 5964, 6034, 6041, 6058, 6080, 6103, 6117, 6134, 6137, 6138, 6163, 6196, 6206, 6210, 6223, 6228, 6232,
    6247, 6272, 6273, 6281, 6376, 6409, 6430, 6438, 6473, 6496, 6595, 6608, 6635, 6678, 6687, 6692, 6695, 6704,
    6712, 6724, 6757, 6796, 6799, 6815, 6851, 6903, 6908, 6914, 6948, 6957, 7065, 7071, 7073, 7089, 7099, 7102,
    7114, 7147, 7169, 7185, 7219, 7226, 7232, 7271, 7285, 7315, 7323, 7341, 7378, 7420, 7433, 7437, 7467, 7489,
    7501, 7513, 7514, 7523, 7534, 7572, 7580, 7614, 7619, 7625, 7658, 7667, 7706, 7719, 7727, 7752, 7813, 7826,
    7829, 7868, 7872, 7887, 7897, 7902, 7911, 7936, 7942, 7945, 8032, 8034, 8042, 8044, 8092, 8101, 8156, 8167,
    8175, 8176, 8205, 8234, 8237, 8244, 8301, 8316, 8326, 8350, 8362, 8385, 8441, 8463, 8479, 8534, 8565, 8610,
    8623, 8651, 8671, 8678, 8689, 8707, 8735, 8761, 8763, 8770, 8779, 8800, 8822, 8835, 8923, 8942, 8962, 8970,
    8984, 9010, 9037, 9041, 9122, 9136, 9140, 9147, 9164, 9165, 9166, 9170, 9173, 9174, 9175, 9185, 9186, 9200,
    9210, 9211, 9217, 9218, 9246, 9248, 9249, 9250, 9254, 9307, 9332, 9337, 9348, 9364, 9371, 9376, 9379, 9389,
    9404, 9405, 9408, 9415, 9416, 9417, 9418, 9419, 9421, 9424, 9433, 9434, 9493, 9501, 9505, 9519, 9520, 9521,
    9522, 9526, 9529, 9531, 9637, 9654, 9655, 9664, 9686, 9688, 9701, 9706, 9709, 9712, 9716, 9717, 9718, 9731,
    9746, 9747, 9748, 9753, 9765,
))

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
    allowed = np.ones((classes.NUM_OBJECTS + 1, len(classes.VCOCO_CLASSES)), dtype=bool)
    for a, objs in _PRIOR_ONLY_WITH.items():
        allowed[:, a] = False
        allowed[list(objs), a] = True
    for a, objs in _PRIOR_NEVER_WITH.items():
        allowed[list(objs), a] = False
    allowed.setflags(write=False)
    return allowed


# Row c (COCO class 1..80; row 0 unused) = which of the 29 V-COCO classes apply_prior leaves untouched.
VCOCO_PRIOR_ALLOWED: np.ndarray = _prior_table()

_NUM_VCOCO = len(classes.VCOCO_CLASSES)
NO_INTERACTION_HOI_MASK = np.zeros(classes.NUM_HOIS, dtype=bool)  # NIS never drops these HOIs
NO_INTERACTION_HOI_MASK[list(classes.NO_INTERACTION_HOIS)] = True


# --------------------------------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------------------------------


def lis_weight(x: Any, params: Sequence[float] = HICO_LIS) -> np.ndarray:
    """Low-grade Instance Suppression ``a / (1 + e^(b - c x)) + d`` in float64, element by element.

    Python floats and libm ``pow``, as the original's scalar code computes it: numpy's vectorised power may
    differ in the last bit, and that would reorder ties downstream. Few distinct scores, so it stays cheap.
    """
    a, b, c, d = (float(v) for v in params)
    x = np.asarray(x, dtype=np.float64)
    values, inverse = np.unique(x.reshape(-1), return_inverse=True)
    out = np.array([a / (1 + E ** (b - c * v)) + d for v in values.tolist()], dtype=np.float64)
    return out[inverse].reshape(x.shape)


def _top_n(candidates: np.ndarray, scores: np.ndarray, n: int) -> np.ndarray:
    """First n of ``candidates`` by score descending, lower index first on ties (the original's strict-> scan)."""
    order = np.argsort(-scores[candidates], kind="stable")
    return candidates[order[:n]]


def _fallback_lists(is_human: np.ndarray, scores: np.ndarray, fallback: str) -> tuple[np.ndarray, np.ndarray]:
    """Humans and objects of the zero-pair fallback (l.77-133 of the HICO test script)."""
    eligible = scores > -1.0  # the scan starts from a best score of -1.0 and uses strict >
    humans = _top_n(np.flatnonzero(is_human & eligible), scores, FALLBACK_TOP_N)
    objects = _top_n(np.flatnonzero(~is_human & eligible), scores, FALLBACK_TOP_N)
    if fallback == "original":
        # Both lists grow in lockstep; a kind that ran out contributes index -1, i.e. the last detection.
        n = max(len(humans), len(objects))
        last = len(scores) - 1
        humans = np.concatenate([humans, np.full(n - len(humans), last, np.int64)])
        objects = np.concatenate([objects, np.full(n - len(objects), last, np.int64)])
    return humans, objects


def select_pairs(det_boxes: Any, is_human: Any, classes_: Any, scores: Any, human_thresh: float,
                 object_thresh: float, fallback: str = "fixed") -> tuple[np.ndarray, np.ndarray, bool]:
    """Candidate (human, object) detection indices of one image, in the original's loop order.

    Args:
        det_boxes: (D, 4) detection boxes.
        is_human: (D,) the detector's 'Human' flag.
        classes_: (D,) object classes; not used by the rule (objects may be humans), checked for shape only.
        scores: (D,) detection scores.
        fallback: for an image without a pair: 'fixed' (top-4 humans x top-4 non-humans, no padding),
            'original' (the same with the original's index -1 padding) or 'none'.

    Returns:
        (human_idx, object_idx, is_fallback): int64 index arrays, and whether the thresholded rule found no pair
        (the image is one of the original's ``all_remaining``, where NIS is off).
    """
    if fallback not in ("fixed", "original", "none"):
        raise ValueError(f"fallback should be 'fixed', 'original' or 'none', not {fallback!r}")
    boxes = np.asarray(det_boxes).reshape(-1, 4)
    human = np.asarray(is_human, dtype=bool).reshape(-1)
    score = np.asarray(scores, dtype=np.float64).reshape(-1)
    n = len(boxes)
    if not len(human) == len(score) == np.asarray(classes_).reshape(-1).shape[0] == n:
        raise ValueError(f"select_pairs: {n} boxes, {len(human)} human flags, "
                         f"{np.asarray(classes_).size} classes and {len(score)} scores should have the same length")
    hs = np.flatnonzero(human & (score > human_thresh))
    os_ = np.flatnonzero(score > object_thresh)
    same = np.all(boxes[hs][:, None, :] == boxes[os_][None, :, :], axis=-1)
    hh, oo = np.nonzero(~same)  # row-major: human-major, then object order
    if len(hh) or fallback == "none" or n == 0:
        return hs[hh].astype(np.int64), os_[oo].astype(np.int64), len(hh) == 0
    humans, objects = _fallback_lists(human, score, fallback)
    return (np.repeat(humans, len(objects)).astype(np.int64), np.tile(objects, len(humans)).astype(np.int64),
            True)


# --------------------------------------------------------------------------------------------------
# HICO-DET
# --------------------------------------------------------------------------------------------------


class HicoImagePairs(NamedTuple):
    """The scored pairs of one HICO-DET test image (one value of TIN's test pickle)."""

    image_index: int          # 0-based index into anno.mat list_test
    human_boxes: Any          # (N, 4) 0-based [x1, y1, x2, y2]
    object_boxes: Any         # (N, 4)
    object_class: Any         # (N,) COCO class 1..80
    hoi_scores: Any           # (N, 600) sig(sp) * (sig(H) + sig(O))
    human_score: Any          # (N,) detection scores
    object_score: Any         # (N,)
    binary: Any               # (N, 2) D's (P_inter, P_noninter)
    is_fallback_image: bool   # pairs came from the zero-pair fallback: NIS is off there


class _HicoFlat(NamedTuple):
    image: np.ndarray
    human_boxes: np.ndarray
    object_boxes: np.ndarray
    object_class: np.ndarray
    hoi_scores: np.ndarray
    human_score: np.ndarray
    object_score: np.ndarray
    binary: np.ndarray
    fallback: np.ndarray


def _flatten_hico(per_image: Sequence[HicoImagePairs]) -> _HicoFlat:
    """Concatenate all pairs in list order (the original's dict order), checking shapes per image."""
    parts: list[list[np.ndarray]] = [[] for _ in range(9)]
    for r in per_image:
        n = np.asarray(r.object_class).reshape(-1).shape[0]
        try:
            arrays = (np.full(n, int(r.image_index), np.int64),
                      np.asarray(r.human_boxes, np.float64).reshape(n, 4),
                      np.asarray(r.object_boxes, np.float64).reshape(n, 4),
                      np.asarray(r.object_class).reshape(n),
                      np.asarray(r.hoi_scores).reshape(n, classes.NUM_HOIS),  # dtype kept: 600 x pairs is big
                      np.asarray(r.human_score, np.float64).reshape(n),
                      np.asarray(r.object_score, np.float64).reshape(n),
                      np.asarray(r.binary).reshape(n, 2),
                      np.full(n, bool(r.is_fallback_image)))
        except (TypeError, ValueError) as e:
            raise ValueError(f"hico_detections: image index {r.image_index}: {n} pairs, but ({e})") from None
        for p, a in zip(parts, arrays):
            p.append(a)
    empty = (np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros((0, 4)), np.zeros(0, np.int64),
             np.zeros((0, classes.NUM_HOIS)), np.zeros(0), np.zeros(0), np.zeros((0, 2)), np.zeros(0, bool))
    flat = _HicoFlat(*(np.concatenate(p) if p else e for p, e in zip(parts, empty)))
    cls = flat.object_class
    if cls.dtype.kind not in "iu" and not np.all(cls == np.round(cls)):
        raise ValueError("hico_detections: object classes should be integers 1..80")
    cls = cls.astype(np.int64)
    if np.any((cls < 1) | (cls > classes.NUM_OBJECTS)):
        raise ValueError(f"hico_detections: object class {int(cls[(cls < 1) | (cls > 80)][0])} outside 1..80")
    return flat._replace(object_class=cls)


def _class_thresholds(default: tuple[float, float], overrides: Mapping[int, tuple[float, float]] | None):
    """(thr_no, thr_in) per COCO class 0..80."""
    thr = np.tile(np.asarray(default, np.float64), (classes.NUM_OBJECTS + 1, 1))
    for c, t in (overrides or {}).items():
        thr[int(c)] = t
    return thr[:, 0], thr[:, 1]


def hico_non_interactive(binary: Any, object_class: Any,
                         thresholds: tuple[float, float] = HICO_NIS_THRESHOLDS,
                         overrides: Mapping[int, tuple[float, float]] | None = HICO_NIS_OVERRIDES) -> np.ndarray:
    """NIS's test per pair: ``P_noninter > thr_no and P_inter < thr_in`` with the object class's (thr_no, thr_in).

    ``binary``: (N, 2) D's (P_inter, P_noninter), rounded to float32 first as ``cal_rank_600`` holds them.
    """
    thr_no, thr_in = _class_thresholds(thresholds, overrides)
    d = np.asarray(binary).astype(np.float32).astype(np.float64).reshape(-1, 2)
    c = np.asarray(object_class).astype(np.int64).reshape(-1)
    return (d[:, 1] > thr_no[c]) & (d[:, 0] < thr_in[c])


def hico_detections(per_image: Sequence[HicoImagePairs], *, num_images: int,
                    lis: Sequence[float] | None = HICO_LIS, nis: bool = True,
                    nis_thresholds: tuple[float, float] = HICO_NIS_THRESHOLDS,
                    nis_overrides: Mapping[int, tuple[float, float]] | None = HICO_NIS_OVERRIDES,
                    exempt_fallback_images: bool = True, top_k: int = HICO_TOP_K) -> HicoDetections:
    """Generate_HICO_detection_nis.py + Generate_detection.m: LIS, NIS and the top-k per HOI.

    Args:
        per_image: pairs of each test image, in the test pickle's order (it decides score ties).
        num_images: test set size (``len(list_test)``).
        lis: (a, b, c, d) of LIS, None for none (score = S[k]).
        nis: drop pairs D calls non-interactive (never for no_interaction HOIs).
        nis_thresholds: default (thr_no, thr_in); ``nis_overrides``: per COCO class.
        exempt_fallback_images: no NIS on images whose pairs came from the fallback (the original's rule).
        top_k: rows kept per HOI over the whole test set.
    """
    f = _flatten_hico(per_image)
    lis_h = lis_o = np.ones(len(f.image))
    if lis is not None:
        lis_h, lis_o = lis_weight(f.human_score, lis), lis_weight(f.object_score, lis)
    ranges = classes.HOI_RANGE_BY_OBJECT[f.object_class].astype(np.int64)  # (P, 2) 0-based inclusive
    counts = ranges[:, 1] - ranges[:, 0] + 1
    pair = np.repeat(np.arange(len(f.image)), counts)
    starts = np.cumsum(counts) - counts
    hoi = ranges[pair, 0] + np.arange(len(pair)) - starts[pair]
    score = f.hoi_scores[pair, hoi].astype(np.float64) * lis_h[pair] * lis_o[pair]
    if nis:
        non_inter = hico_non_interactive(f.binary, f.object_class, nis_thresholds, nis_overrides)
        if exempt_fallback_images:
            non_inter &= ~f.fallback
        keep = ~(non_inter[pair] & ~NO_INTERACTION_HOI_MASK[hoi])
        pair, hoi, score = pair[keep], hoi[keep], score[keep]
    # Per HOI: score descending, later pair first on ties (= a stable argsort, reversed).
    order = np.lexsort((-pair, -score, hoi))
    pair, hoi, score = pair[order], hoi[order], score[order]
    first = np.searchsorted(hoi, hoi, side="left")
    rank = np.arange(len(hoi)) - first
    keep = rank < top_k
    pair, hoi, score = pair[keep], hoi[keep], score[keep]
    return HicoDetections.from_arrays(hoi, f.image[pair], f.human_boxes[pair], f.object_boxes[pair], score,
                                      num_images=num_images, round_boxes=True, source="hico_detections")


class TinImageOutput(NamedTuple):
    """One image of TIN's HICO test pickle, as arrays (pair order kept)."""

    human_boxes: np.ndarray   # (N, 4) float64
    object_boxes: np.ndarray  # (N, 4)
    object_class: np.ndarray  # (N,) int64 1..80
    hoi_scores: np.ndarray    # (N, 600) as stored (float32 in the released files)
    human_score: np.ndarray   # (N,)
    object_score: np.ndarray  # (N,)
    binary: np.ndarray        # (N, 2) as stored


def _array(value: Any, size: int, where: str, what: str) -> np.ndarray:
    """``value`` as a flat numeric array of ``size`` values (dtype kept), or a DataFormatError naming it."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise DataFormatError(f"{where}: {what} is not numeric ({type(value).__name__})")
    if arr.size != size:
        raise DataFormatError(f"{where}: {what} should have {size} value(s), found {arr.size}")
    return arr.reshape(size)


_TIN_FIELDS = (("Hbox", 4), ("Obox", 4), ("obj_class", 1), ("cls_prob_HO", classes.NUM_HOIS), ("H_score", 1),
               ("O_score", 1), ("cls_prob_binary", 2))


def _tin_image(pairs: Any, where: str) -> TinImageOutput:
    if not isinstance(pairs, (list, tuple)):
        raise DataFormatError(f"{where}: should be a list of pairs, found {type(pairs).__name__}")
    columns: list[list[np.ndarray]] = [[] for _ in _TIN_FIELDS]
    for i, e in enumerate(pairs):
        w = f"{where} pair {i}"
        if not isinstance(e, (list, tuple)) or len(e) < len(_TIN_FIELDS):
            raise DataFormatError(f"{w}: expected [Hbox, Obox, obj_class, cls_prob_HO, H_score, O_score, "
                                  f"cls_prob_binary], found {type(e).__name__}")
        for col, (what, size), value in zip(columns, _TIN_FIELDS, e):
            col.append(_array(value, size, w, what))
    n = len(pairs)
    h, o, c, hoi, hs, os_, b = (np.stack(col) if n else np.zeros((0, size))
                                for col, (_, size) in zip(columns, _TIN_FIELDS))
    c = c.reshape(n)
    bad = (c != np.round(c)) | (c < 1) | (c > classes.NUM_OBJECTS)
    if np.any(bad):
        raise DataFormatError(f"{where} pair {int(np.argmax(bad))}: obj_class {c[bad][0]!r} is not a COCO class 1..80")
    return TinImageOutput(h.astype(np.float64), o.astype(np.float64), c.astype(np.int64), hoi,
                          hs.reshape(n).astype(np.float64), os_.reshape(n).astype(np.float64), b)


def read_tin_test_pickle(path: str | os.PathLike[str]) -> dict[int, TinImageOutput]:
    """TIN's HICO test output (``dict image_id -> [[Hbox, Obox, obj_class, cls_prob_HO(600), H_score, O_score,
    cls_prob_binary(2)], ...]``), loaded without running pickle code; dict order kept (it aligns D and breaks ties).
    """
    name = os.fspath(path)
    data = load_pickle(name)
    if not isinstance(data, dict):
        raise DataFormatError(f"{name}: should be a dict image_id -> list of pairs, found {type(data).__name__}")
    out = {}
    for key, pairs in data.items():
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
            raise DataFormatError(f"{name}: key {key!r:.40} is not an integer image id")
        out[int(key)] = _tin_image(pairs, f"{name}: image {int(key)}")
    return out


def attach_d_scores(outputs: Mapping[int, TinImageOutput], d_outputs: Mapping[int, TinImageOutput],
                    fallback_image_ids: frozenset[int] | set[int] = TIN_HICO_FALLBACK_IMAGE_IDS
                    ) -> dict[int, TinImageOutput]:
    """Take D's scores from a separate pickle, aligned the way Generate_HICO_detection_nis.py aligns them.

    There, D pair j (over the D pickle's images in dict order) belongs to the j-th pair of the main pickle counted
    over its non-fallback images only. Here that alignment must also match image by image: the D pairs have to
    come from the same images in the same numbers; anything else raises ``ValueError``. Fallback images keep their
    own scores.
    """
    mine = [(k, len(v.object_class)) for k, v in outputs.items() if k not in fallback_image_ids]
    theirs = [(k, len(v.object_class)) for k, v in d_outputs.items() if len(v.object_class)]
    need, have = sum(n for _, n in mine), sum(n for _, n in theirs)
    if need != have:
        raise ValueError(f"D scores: the main pickle has {need} pairs outside the {len(fallback_image_ids)} "
                         f"fallback images but the D pickle has {have}; the original aligns them pair by pair, "
                         "so the two files must list the same pairs (D without the fallback images)")
    ids_mine = np.repeat([k for k, _ in mine], [n for _, n in mine]).astype(np.int64)
    ids_theirs = np.repeat([k for k, _ in theirs], [n for _, n in theirs]).astype(np.int64)
    if not np.array_equal(ids_mine, ids_theirs):
        j = int(np.argmax(ids_mine != ids_theirs))
        raise ValueError(f"D scores: pair {j} in order belongs to image {ids_mine[j]} in the main pickle but to "
                         f"image {ids_theirs[j]} in the D pickle; the files list images in different orders or "
                         "numbers of pairs, so the original's pair-order alignment would mix images")
    d_flat = np.concatenate([v.binary for v in d_outputs.values()] or [np.zeros((0, 2))])
    out, j = {}, 0
    for k, v in outputs.items():
        if k in fallback_image_ids:
            out[k] = v
            continue
        n = len(v.object_class)
        out[k] = v._replace(binary=d_flat[j:j + n])
        j += n
    return out


def hico_pairs_from_tin(outputs: Mapping[int, TinImageOutput], test_image_ids: Sequence[int], *,
                        fallback_image_ids: frozenset[int] | set[int] = TIN_HICO_FALLBACK_IMAGE_IDS,
                        d_outputs: Mapping[int, TinImageOutput] | None = None) -> list[HicoImagePairs]:
    """The :func:`hico_detections` input for a TIN test pickle.

    Args:
        outputs: :func:`read_tin_test_pickle` result.
        test_image_ids: numeric id of each ``list_test`` entry, in order (``hico_det.image_ids_of(gt.filenames)``).
        fallback_image_ids: images whose pairs came from the fallback (default: the original's 556).
        d_outputs: a separate D pickle to take (P_inter, P_noninter) from (see :func:`attach_d_scores`).
    """
    if d_outputs is not None:
        outputs = attach_d_scores(outputs, d_outputs, fallback_image_ids)
    index = {int(i): k for k, i in enumerate(test_image_ids)}
    missing = [k for k in outputs if k not in index]
    if missing:
        raise ValueError(f"image id {missing[0]} of the test pickle is not in list_test "
                         f"({len(missing)} such ids)")
    return [HicoImagePairs(index[k], *v, is_fallback_image=k in fallback_image_ids) for k, v in outputs.items()]


# --------------------------------------------------------------------------------------------------
# V-COCO
# --------------------------------------------------------------------------------------------------


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
    counts = np.array([np.asarray(h.object_class).size for h in humans])
    starts = np.cumsum(counts) - counts
    ho = np.concatenate([np.asarray(h.ho_scores).reshape(n, _NUM_VCOCO) for h, n in zip(humans, counts)])
    cls = np.concatenate([np.asarray(h.object_class).reshape(n) for h, n in zip(humans, counts)]).astype(np.int64)
    if np.any((cls < 1) | (cls > classes.NUM_OBJECTS)):
        raise ValueError(f"vcoco_detections: object class {int(cls[(cls < 1) | (cls > 80)][0])} outside 1..80")
    boxes = np.concatenate([np.asarray(h.object_boxes).reshape(n, 4) for h, n in zip(humans, counts)])
    binary = np.concatenate([np.asarray(h.binary).reshape(n, 2) for h, n in zip(humans, counts)])
    o_det = np.concatenate([np.asarray(h.object_score, np.float32).reshape(n) for h, n in zip(humans, counts)])
    h_det = np.array([float(np.max(h.human_score)) for h in humans])
    h_scores = np.stack([np.asarray(h.h_scores).reshape(_NUM_VCOCO) for h in humans])

    if prior_flag in (1, 3):
        ho = apply_vcoco_prior(ho, cls)
    if prior_flag in (2, 3) and prior_mask is not None:
        mask = np.asarray(prior_mask)
        if mask.ndim != 2 or mask.shape[0] != _NUM_VCOCO or cls.max() >= mask.shape[1]:
            raise ValueError(f"prior_mask of shape {mask.shape} cannot be indexed [:, class] for classes up to "
                             f"{cls.max()} (needs 29 rows and a column per class id)")
        ho = ho * mask[:, cls].T
    if lis is not None:
        a, b, c, d = (float(v) for v in lis)
        o_det = a / (1 + E ** (b - c * o_det)) + d  # float32 array arithmetic, as the original
        h_det = lis_weight(h_det, lis)
    score_obj = ho * o_det[:, None]
    best = _segment_argmax(score_obj, starts)  # (H, 29) global pair rows
    best_score = score_obj[best, np.arange(_NUM_VCOCO)]
    role_score = h_det[:, None] * best_score
    agent_best: dict[str, np.ndarray] = {}  # per action: the best class score, max over its classes
    for i, (action, role) in enumerate(classes.VCOCO_CLASS_TO_ACTION_ROLE):
        s = best_score[:, i] if role is not None else h_scores[:, i]
        agent_best[action] = _first_max(agent_best[action], s) if action in agent_best else s

    empty_role = (role_score == 0)
    best_cls = cls[best]
    if nis:
        thr = np.asarray(nis_thresholds, np.float64)
        bd = binary[best].astype(np.float64)
        empty_role |= (bd[..., 0] < thr[best_cls - 1, 0]) & (bd[..., 1] > thr[best_cls - 1, 1])
    if person_object_suppression:
        empty_role |= best_cls == 1
    role_score = np.where(empty_role, 0.0, role_score)

    agent = {a: h_det * s for a, s in agent_best.items()}
    out = []
    for j, h in enumerate(humans):
        roles = {}
        for i, (action, role) in enumerate(classes.VCOCO_CLASS_TO_ACTION_ROLE):
            if role is None:
                continue
            box = np.full(4, np.nan) if empty_role[j, i] else boxes[best[j, i]].astype(np.float64)
            roles[(action, role)] = np.append(box, role_score[j, i])
        out.append(VcocoDetection(int(h.image_id), np.asarray(h.human_box, np.float64).reshape(4),
                                  {a: float(v[j]) for a, v in agent.items()}, roles))
    return out


def vcoco_pairs_from_tin(records: Sequence[Mapping[str, Any]],
                         d_records: Sequence[Mapping[str, Any]] | None = None) -> list[VcocoHumanPairs]:
    """The :func:`vcoco_detections` input for TIN's V-COCO test list (one dict per human); D from ``d_records``
    (same list layout, aligned by list index as the original does) when given."""
    if d_records is not None and len(d_records) < len(records):
        raise ValueError(f"D records: {len(d_records)} entries for {len(records)} humans (aligned by list index)")
    out = []
    for t, r in enumerate(records):
        m = len(r["object_class"])
        binary = r["binary_score"] if d_records is None else d_records[t]["binary_score"]
        if m and len(binary) != m:
            raise ValueError(f"record {t} (image {r['image_id']}): {m} objects but {len(binary)} D scores "
                             "(the original prints 'wrong' and drops the human)")
        out.append(VcocoHumanPairs(
            int(r["image_id"]), np.asarray(r["person_box"], np.float64).reshape(4), r["H_det"],
            np.asarray(r["H_Score"]).reshape(_NUM_VCOCO), np.asarray(r["object_box"]).reshape(m, 4),
            np.asarray(r["object_class"]).reshape(m), np.asarray(r["O_det"]).reshape(m),
            np.asarray(r["HO_Score"]).reshape(m, _NUM_VCOCO), np.asarray(binary).reshape(m, 2)))
    return out


def read_vcoco_test_pickle(path: str | os.PathLike[str],
                           d_path: str | os.PathLike[str] | None = None) -> list[VcocoHumanPairs]:
    """TIN's V-COCO test list (``test_VCOCO_D_pose_pattern_naked.py``), optionally with D from another run."""
    name = os.fspath(path)
    records = load_pickle(name)
    d_records = None if d_path is None else load_pickle(os.fspath(d_path))
    for what, recs in ((name, records), (d_path, d_records)):
        if recs is not None and not isinstance(recs, list):
            raise DataFormatError(f"{what}: should be a list of per-human dicts, found {type(recs).__name__}")
    try:
        return vcoco_pairs_from_tin(records, d_records)
    except (KeyError, TypeError) as e:
        raise DataFormatError(f"{name}: not a TIN V-COCO test list ({type(e).__name__}: {e})") from None
