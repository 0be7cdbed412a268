"""HICO-DET detection files: the official ``detections_XX.mat`` layout, TIN's lists and our compact ``.npz``.

Official layout (what eval_one.m loads): one file per COCO object, ``all_boxes{k, i}`` = n x 9 rows
``[hbox(4) obox(4) score]`` for HOI ``k`` of that object's range and test image ``i``. Boxes are 0-based;
``Generate_detection.m`` rounds them (MATLAB ``round``: halves away from zero) when it builds the file and
``eval_one.m`` adds 1. The 19,999-per-HOI cap is TIN's export, not part of the evaluator.
"""

from __future__ import annotations

import math
import os
import zipfile
from typing import Any

import numpy as np
import scipy.io

from tin_jax.evaluation.hico_det.detections import (
    NO_DETECTIONS,
    ClassDetections,
    DetectionFileError,
    HicoDetections,
    check_detections,
    split_by_class,
)
from tin_jax.evaluation.hico_det.ground_truth import COCO_OBJECT_NAMES, NUM_OBJECTS, HicoGroundTruth, image_ids_of
from tin_jax.evaluation.hico_det.mat5 import cell_matrix_element, mat5_file
from tin_jax.evaluation.hico_det.matlab_arithmetic import matlab_round
from tin_jax.io import hico_mat

__all__ = ["COMPACT_KEYS", "MAX_DETECTIONS_PER_HOI", "detection_filename", "read_compact_detections",
           "read_official_detection_file", "read_official_detections", "read_tin_detections",
           "write_compact_detections", "write_official_detections"]

MAX_DETECTIONS_PER_HOI = 19999  # TIN's export cap (Generate_HICO_detection_nis.py), not applied here


def detection_filename(obj: int) -> str:
    """``detections_%02d.mat`` for COCO object 1..80."""
    return f"detections_{obj:02d}.mat"


def _load_all_boxes(path: str) -> Any:
    if not os.path.isfile(path):
        raise DetectionFileError(f"{path}: file not found")
    try:
        data = scipy.io.loadmat(path, squeeze_me=False, variable_names=["all_boxes"])
    except NotImplementedError as e:
        raise DetectionFileError(f"{path}: cannot read this .mat version ({e}); save it with -v7 or -v6") from e
    except Exception as e:  # noqa: BLE001 - any parse failure of a foreign file is a format error
        raise DetectionFileError(f"{path}: not a readable MATLAB .mat file ({type(e).__name__}: {e})") from e
    if "all_boxes" not in data:
        raise DetectionFileError(f"{path}: missing variable all_boxes")
    return data["all_boxes"]


def _is_empty(value: Any) -> bool:
    """MATLAB ``isempty`` for a loaded cell element."""
    return isinstance(value, np.ndarray) and value.size == 0


def read_official_detection_file(path: str | os.PathLike[str], num_rows: int,
                                 num_images: int) -> list[ClassDetections]:
    """Read one ``detections_XX.mat``: ``all_boxes`` = num_rows x num_images cell of n x 9 ``[h o score]``."""
    name = os.fspath(path)
    cells = _load_all_boxes(name)
    if not (isinstance(cells, np.ndarray) and cells.dtype.kind == "O" and cells.ndim == 2):
        kind = getattr(cells, "dtype", type(cells).__name__)
        raise DetectionFileError(f"{name}: all_boxes should be a {num_rows}x{num_images} cell array, found "
                                 f"{kind} of shape {getattr(cells, 'shape', '?')}")
    if cells.shape != (num_rows, num_images):
        raise DetectionFileError(f"{name}: all_boxes should be a {num_rows}x{num_images} cell array (HOIs of the "
                                 f"object x test images), found {cells.shape[0]}x{cells.shape[1]}")
    return [_read_cell_row(name, r, cells[r], num_images) for r in range(num_rows)]


def _bad_cell(name: str, r: int, j: int, value: Any) -> DetectionFileError | None:
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf" and value.ndim == 2 and value.shape[1] == 9:
        return None
    shape = getattr(value, "shape", type(value).__name__)
    return DetectionFileError(f"{name}: all_boxes{{{r + 1},{j + 1}}}: should be a numeric n x 9 matrix "
                              f"[hbox obox score], found {getattr(value, 'dtype', '')} {shape}")


def _read_cell_row(name: str, r: int, row: np.ndarray, num_images: int) -> ClassDetections:
    """One class: its cells concatenated in cell order (fast path: one np.concatenate, checked afterwards)."""
    filled = [j for j, v in enumerate(row) if not _is_empty(v)]
    if not filled:
        return NO_DETECTIONS
    values = [row[j] for j in filled]
    data = None
    try:
        data = np.concatenate(values)
    except (ValueError, TypeError):
        pass
    if data is None or data.dtype.kind not in "biuf" or data.ndim != 2 or data.shape[1] != 9:
        for j, v in zip(filled, values):
            error = _bad_cell(name, r, j, v)
            if error:
                raise error
        raise DetectionFileError(f"{name}: all_boxes row {r + 1}: cells are not numeric n x 9 matrices")
    lengths = np.array([len(v) for v in values], dtype=np.int64)
    image = np.repeat(np.array(filled, dtype=np.int64), lengths)
    data = data.astype(np.float64, copy=False)
    cell_row = np.arange(len(image)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    check_detections(image, data[:, :8], data[:, 8], num_images,
                     lambda i: f"{name}: all_boxes{{{r + 1},{image[i] + 1}}} row {cell_row[i] + 1}")
    return ClassDetections(image, data[:, :8], data[:, 8])


def read_official_detections(det_dir: str | os.PathLike[str], gt: HicoGroundTruth) -> HicoDetections:
    """Read the 80 ``detections_XX.mat`` files of the official layout (what eval_one.m loads)."""
    per_class: list[ClassDetections] = [NO_DETECTIONS] * gt.num_classes
    for obj in range(1, NUM_OBJECTS + 1):
        path = os.path.join(os.fspath(det_dir), detection_filename(obj))
        first = int(gt.object_hoi_range[obj, 0])
        for k, dets in enumerate(read_official_detection_file(path, gt.file_rows(obj), gt.num_images)):
            c = first + k
            if gt.class_object[c] == obj:  # eval_one.m reads class c only from its own object's file
                per_class[c] = dets
    return HicoDetections(tuple(per_class), gt.num_images)


def _tin_rows(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """TIN's pre-MATLAB list: rows ``[Hbox(4), Obox(4), image_id, k-b, score]`` as an N x 5 cell (or N x 11)."""
    cells = _load_all_boxes(path)
    if _is_empty(cells):
        z = np.zeros(0)
        return z.astype(np.int64), z.astype(np.int64), np.zeros((0, 8)), z, z.astype(np.int64)
    if isinstance(cells, np.ndarray) and cells.dtype.kind in "biuf" and cells.ndim == 2 and cells.shape[1] == 11:
        data = cells.astype(np.float64)
        ids, ks = data[:, 8], data[:, 9]
        for arr, what in ((ids, "image id"), (ks, "HOI index")):
            bad = ~np.isfinite(arr) | (arr != np.round(arr))
            if np.any(bad):
                i = int(np.argmax(bad))
                raise DetectionFileError(f"{path}: all_boxes({i + 1},:): {what} {float(arr[i])!r} is not an integer")
        return (ids.astype(np.int64), ks.astype(np.int64), data[:, :8], data[:, 10],
                np.arange(len(data), dtype=np.int64))
    if not (isinstance(cells, np.ndarray) and cells.dtype.kind == "O" and cells.ndim == 2 and cells.shape[1] == 5):
        raise DetectionFileError(f"{path}: all_boxes should be an N x 5 cell array of [Hbox, Obox, image_id, k, "
                                 f"score] rows (TIN layout), found {getattr(cells, 'dtype', '?')} "
                                 f"{getattr(cells, 'shape', '?')}")
    fast = _tin_columns(cells)
    if fast is not None:
        return fast
    n = len(cells)
    boxes, ids, ks, scores = np.zeros((n, 8)), np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n)
    for i in range(n):  # slow path: find the first bad row and name it
        where = f"{path}: all_boxes{{{i + 1},:}}"
        parts = []
        for col, (what, size) in enumerate((("Hbox", 4), ("Obox", 4), ("image id", 1), ("HOI index", 1),
                                            ("score", 1))):
            v = cells[i, col]
            if not (isinstance(v, np.ndarray) and v.dtype.kind in "biuf" and v.size == size):
                raise DetectionFileError(f"{where}: {what} should be {size} number(s), found "
                                         f"{getattr(v, 'dtype', type(v).__name__)} {getattr(v, 'shape', '')}")
            parts.append(v.astype(np.float64).reshape(-1))
        for what, v in (("image id", parts[2][0]), ("HOI index", parts[3][0])):
            if not math.isfinite(v) or v != round(v):
                raise DetectionFileError(f"{where}: {what} {v!r} is not an integer")
        boxes[i, :4], boxes[i, 4:] = parts[0], parts[1]
        ids[i], ks[i], scores[i] = int(parts[2][0]), int(parts[3][0]), parts[4][0]
    return ids, ks, boxes, scores, np.arange(n, dtype=np.int64)


def _tin_columns(cells: np.ndarray) -> tuple[np.ndarray, ...] | None:
    """Fast path for an N x 5 cell of well-formed rows: one concatenate per column; None if anything is off."""
    n = len(cells)
    columns = []
    for col, width in enumerate((4, 4, 1, 1, 1)):
        try:
            values = np.concatenate(cells[:, col].tolist())
        except (ValueError, TypeError):
            return None
        if values.shape != (n, width) or values.dtype.kind not in "biuf":
            return None
        columns.append(values.astype(np.float64))
    ids, ks = columns[2][:, 0], columns[3][:, 0]
    if not (np.all(np.isfinite(ids) & (ids == np.round(ids))) and np.all(np.isfinite(ks) & (ks == np.round(ks)))):
        return None
    return (ids.astype(np.int64), ks.astype(np.int64), np.concatenate(columns[:2], axis=1), columns[4][:, 0],
            np.arange(n, dtype=np.int64))


def _positions(file_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Index of each id in ``file_ids`` (-1 when absent), like Generate_detection.m's ``find(list == imageId)``."""
    if len(file_ids) == 0:
        return np.full(len(ids), -1, dtype=np.int64)
    order = np.argsort(file_ids, kind="stable")
    pos = np.minimum(np.searchsorted(file_ids[order], ids), len(order) - 1)
    return np.where((ids >= 0) & (file_ids[order][pos] == ids), order[pos], -1)


def read_tin_detections(det_dir: str | os.PathLike[str], gt: HicoGroundTruth, *,
                        round_boxes: bool = True) -> HicoDetections:
    """Read TIN's ``detections_XX.mat`` lists (Generate_HICO_detection_nis.py output) as Generate_detection.m does.

    Each row lands in ``all_boxes{k-b+1, i}`` with ``i`` = the test image whose name parses to ``image_id``; rows
    keep file order inside a cell; boxes are MATLAB-rounded unless ``round_boxes=False``.
    """
    file_ids = image_ids_of(gt.filenames)
    hoi_parts, image_parts, box_parts, score_parts = [], [], [], []
    for obj in range(1, NUM_OBJECTS + 1):
        path = os.path.join(os.fspath(det_dir), detection_filename(obj))
        ids, ks, boxes, scores, rows = _tin_rows(path)
        where = lambda i, p=path, r=rows: f"{p}: all_boxes{{{r[i] + 1},:}}"  # noqa: E731
        bad = (ks < 0) | (ks >= gt.file_rows(obj))
        if np.any(bad):
            i = int(np.argmax(bad))
            raise DetectionFileError(f"{where(i)}: HOI index k-b = {ks[i]} outside 0..{gt.file_rows(obj) - 1} "
                                     f"for object {obj} ({COCO_OBJECT_NAMES[obj - 1]})")
        image = _positions(file_ids, ids)
        if np.any(image < 0):
            i = int(np.argmax(image < 0))
            raise DetectionFileError(f"{where(i)}: image id {ids[i]} is not in list_test")
        check_detections(image, boxes, scores, gt.num_images, where)
        hoi_parts.append(gt.object_hoi_range[obj, 0] + ks)
        image_parts.append(image)
        box_parts.append(boxes)
        score_parts.append(scores)
    boxes = np.concatenate(box_parts)
    if round_boxes:
        boxes = matlab_round(boxes)
    hoi = np.concatenate(hoi_parts)
    image = np.concatenate(image_parts)
    scores = np.concatenate(score_parts)
    # eval_one.m reads a class only from its own object's file (they differ only for an odd list_action).
    keep = gt.class_object[hoi] == np.repeat(np.arange(1, NUM_OBJECTS + 1), [len(p) for p in hoi_parts])
    return HicoDetections(split_by_class(hoi[keep], image[keep], boxes[keep], scores[keep], gt.num_classes),
                          gt.num_images)


COMPACT_KEYS = ("hoi", "image", "boxes", "scores")


def write_compact_detections(path: str | os.PathLike[str], dets: HicoDetections, gt: HicoGroundTruth) -> None:
    """Our compact layout: one ``.npz`` of flat rows, ``hoi`` (0-based), ``image`` (the test image's file
    name), ``boxes`` (n, 8) 0-based ``[h, o]`` as in the official files, ``scores`` (float64, so ranks
    survive). A few MB where the official layout is 80 MATLAB files; written atomically."""
    counts = dets.num_detections
    arrays = dict(
        hoi=np.repeat(np.arange(len(counts)), counts).astype(np.int16),
        image=np.asarray(gt.filenames, dtype=object)[np.concatenate(
            [d.image for d in dets.per_class] + [np.zeros(0, np.int64)])].astype(str),
        boxes=np.concatenate([d.boxes for d in dets.per_class] + [np.zeros((0, 8))]),
        scores=np.concatenate([d.scores for d in dets.per_class] + [np.zeros(0)]))
    path = os.fspath(path)
    tmp = path + ".partial.npz"
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def read_compact_detections(path: str | os.PathLike[str], gt: HicoGroundTruth) -> HicoDetections:
    """Read :func:`write_compact_detections`' file (any model can write one: four flat arrays)."""
    name = os.fspath(path)
    try:
        with np.load(name, allow_pickle=False) as f:
            missing = [k for k in COMPACT_KEYS if k not in f.files]
            if missing:
                raise DetectionFileError(f"{name}: missing arrays {missing} (needs {list(COMPACT_KEYS)})")
            arrays = {k: f[k] for k in COMPACT_KEYS}
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise DetectionFileError(f"{name}: not a readable .npz file ({e})") from None
    image = gt.image_index(arrays["image"].tolist(), source=name)
    boxes = np.asarray(arrays["boxes"], np.float64).reshape(-1, 8) if arrays["boxes"].size else np.zeros((0, 8))
    return HicoDetections.from_arrays(arrays["hoi"], image, boxes[:, :4], boxes[:, 4:], arrays["scores"],
                                      num_images=gt.num_images, num_classes=gt.num_classes, source=name)


def write_official_detections(det_dir: str | os.PathLike[str], dets: HicoDetections, gt: HicoGroundTruth, *,
                              compress: bool = True) -> None:
    """Write the 80 ``detections_XX.mat`` in the official layout (each file atomically).

    Rows go into ``all_boxes{k, i}`` in ClassDetections order, so score ties resolve the same when MATLAB reads
    the files back. Empty cells are ``[]``. ``compress`` zlib-compresses each file (as MATLAB's -v7 does).
    """
    if dets.num_images != gt.num_images or len(dets.per_class) != gt.num_classes:
        raise DetectionFileError(f"{det_dir}: detections cover {len(dets.per_class)} classes x {dets.num_images} "
                                 f"images, the annotations {gt.num_classes} x {gt.num_images}")
    for obj in range(1, NUM_OBJECTS + 1):
        first = int(gt.object_hoi_range[obj, 0])
        rows: list[tuple[np.ndarray, np.ndarray] | None] = []
        for k in range(gt.file_rows(obj)):
            d = dets.per_class[first + k]
            own = gt.class_object[first + k] == obj
            rows.append((d.image, np.concatenate([d.boxes, d.scores[:, None]], axis=1)) if own and len(d) else None)
        data = mat5_file("all_boxes", cell_matrix_element("all_boxes", len(rows), gt.num_images, rows), compress)
        path = os.path.join(os.fspath(det_dir), detection_filename(obj))
        try:
            hico_mat.atomic_write(path, lambda f, data=data: f.write(data))
        except OSError as e:
            raise DetectionFileError(f"{path}: cannot write ({e})") from e
