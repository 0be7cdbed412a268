"""TIN's released test outputs (pickles) read without running pickle code, as scoring inputs.

HICO-DET: ``dict image_id -> [[Hbox, Obox, obj_class, cls_prob_HO(600), H_score, O_score, cls_prob_binary(2)],
...]`` (:func:`read_tin_test_pickle`, :func:`hico_pairs_from_tin`). The released numbers read D from a *separate*
pickle (``80000_TIN_D_noS.pkl``), flattened over its dict order, indexed by a running pair counter over the main
pickle that skips the fallback (``all_remaining``) images. :func:`hico_pairs_from_tin` with ``d_outputs`` does
the same alignment and insists that it is the intended one: the D pickle's pairs, in order, must belong to the
same images as the main pickle's non-fallback pairs (otherwise a clear ``ValueError``; the original would
silently misalign or run past the end). Fallback images keep the main pickle's own D scores (NIS ignores them
anyway).

V-COCO: a list of per-human dicts (``test_VCOCO_D_pose_pattern_naked.py``; :func:`read_vcoco_test_pickle`,
:func:`vcoco_pairs_from_tin`), D optionally from another run's list aligned by list index. A human whose D
record has another length is an error here (the original prints 'wrong' and drops the human).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from tin_jax.inference.postprocess.hico_scoring import HicoImagePairs
from tin_jax.inference.postprocess.vcoco_scoring import NUM_VCOCO_CLASSES, VcocoHumanPairs
from tin_jax.io.errors import DataFormatError
from tin_jax.io.safe_pickle import load_pickle
from tin_jax.schema import classes

__all__ = ["TIN_HICO_FALLBACK_IMAGE_IDS", "TinImageOutput", "attach_d_scores", "hico_pairs_from_tin",
           "read_tin_test_pickle", "read_vcoco_test_pickle", "vcoco_pairs_from_tin"]

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
            np.asarray(r["H_Score"]).reshape(NUM_VCOCO_CLASSES), np.asarray(r["object_box"]).reshape(m, 4),
            np.asarray(r["object_class"]).reshape(m), np.asarray(r["O_det"]).reshape(m),
            np.asarray(r["HO_Score"]).reshape(m, NUM_VCOCO_CLASSES), np.asarray(binary).reshape(m, 2)))
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
