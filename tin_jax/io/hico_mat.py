"""Read and write HICO-DET's ``anno_bbox.mat`` and ``anno.mat`` in their original MATLAB layout.

The same functions read the real files (``hico_20160224_det/anno_bbox.mat`` and ``anno.mat``) and write the
embedded synthetic dataset, so the synthetic files are exactly what the official MATLAB/Octave evaluation
(ywchao/ho-rcnn ``evaluation/eval_one.m``, vendored by TIN) and TIN's ``HICO_Benchmark_Binary.py`` index.

Layout (confirmed from eval_one.m, TIN HICO_Benchmark_Binary.py and public scipy loaders of the real file)
------------------------------------------------------------------------------------------------------
``anno_bbox.mat``:

- ``list_action``: 600x1 struct array with fields, in this order, ``nname`` (object, e.g. ``'airplane'``),
    ``vname`` (``'board'``), ``vname_ing`` (``'boarding'``), ``syn``, ``def``, ``synset`` (a WordNet struct; ``[]``
    for the no_interaction HOIs), ``add_def``. Only the first three are interpreted here; the others are carried
    through unchanged (converted to plain Python values, see :func:`matlab_to_python`).
- ``bbox_train`` / ``bbox_test``: 1xN struct arrays with fields ``filename`` (char), ``size`` (1x1 struct
    ``width``, ``height``, ``depth``) and ``hoi``: a 1xK struct array with fields
    ``id`` (1-based HOI index into list_action), ``bboxhuman`` and ``bboxobject`` (1xn struct arrays whose fields
    are **x1, x2, y1, y2 in that order**; ``[]`` when there is no box, as for invisible HOIs), ``connection``
    (Kx2 double, 1-based indices ``[human, object]`` into bboxhuman/bboxobject; ``[]`` when empty) and ``invis``
    (0/1). Every numeric value is a MATLAB double. Boxes are 1-based inclusive MATLAB pixel coordinates (the
    evaluation adds 1 to the 0-based detections before comparing).

``anno.mat``: ``list_action`` (as above), ``list_train`` / ``list_test`` (Nx1 cell arrays of file names),
``anno_train`` (600 x Ntrain double) and ``anno_test`` (600 x Ntest) with image-level labels 1 (positive),
0 (ambiguous), -1 (negative) and NaN (not annotated). The Known-Object setting of eval_one.m keeps an image for
HOI class i iff ``any(anno_test(nid, img) == 1)`` over the HOIs ``nid`` with the same object (``nname``): only
exact 1 counts.

Python side
-----------
HOI ids are 0-based (``HicoHoiAnno.hoi_id = id - 1``) and connections are 0-based indices; boxes are
``[x1, y1, x2, y2]`` float64 **in the file's 1-based coordinates** (no shift is applied, so ``x1 - 1`` gives
the 0-based pixel). Readers call ``scipy.io.loadmat(squeeze_me=False)`` and normalise every one-element case
(one image, one HOI, one box, one connection row, ``[]`` for none) to the shapes above.

Every problem with an input file raises :class:`AnnotationError` whose message starts with the file and the
record, e.g. ``anno_bbox.mat: bbox_train[17] (HICO_train2015_00000018.jpg) hoi[2]: connection row 0: human
index 3 out of range for 2 human boxes`` (record indices are 0-based Python positions; values quoted from the
file keep the file's 1-based convention).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Callable, Sequence
from typing import IO, Any

import numpy as np
import scipy.io

from tin_jax.io.errors import DataFormatError

NUM_HOI = 600
RARE_THRESHOLD = 10  # eval_one.m: rare iff fewer than 10 training instances

ACTION_FIELDS = ("nname", "vname", "vname_ing", "syn", "def", "synset", "add_def")
IMAGE_FIELDS = ("filename", "size", "hoi")
SIZE_FIELDS = ("width", "height", "depth")
HOI_FIELDS = ("id", "bboxhuman", "bboxobject", "connection", "invis")
BOX_FIELDS = ("x1", "x2", "y1", "y2")  # the file's order; Python boxes are [x1, y1, x2, y2]
LABEL_VALUES = (1.0, 0.0, -1.0)  # plus NaN

__all__ = [
        "ACTION_FIELDS", "AnnotationError", "BOX_FIELDS", "HOI_FIELDS", "HicoAction", "HicoBboxAnno",
        "HicoHoiAnno", "HicoImageAnno", "HicoImageLabels", "IMAGE_FIELDS", "NUM_HOI", "RARE_THRESHOLD",
        "SIZE_FIELDS", "atomic_write", "check_consistency", "count_train_instances", "matlab_to_python",
        "python_to_matlab", "values_equal", "FieldsEqual",
        "rare_hoi_mask", "read_anno_bbox_mat", "read_anno_mat", "write_anno_bbox_mat", "write_anno_mat",
]


class AnnotationError(DataFormatError):
    """An annotation file is missing, unreadable or malformed; the message names the file and the record."""


# --------------------------------------------------------------------------------------------------
# Data classes
# --------------------------------------------------------------------------------------------------


def values_equal(a: Any, b: Any) -> bool:
    """Structural equality for nested lists/dicts/arrays (NaN equals NaN)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a_arr, b_arr = np.asarray(a), np.asarray(b)
        if a_arr.shape != b_arr.shape:
            return False
        if a_arr.dtype.kind in "fc" or b_arr.dtype.kind in "fc":
            return bool(np.array_equal(a_arr, b_arr, equal_nan=True))
        return bool(np.array_equal(a_arr, b_arr))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(values_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return bool(a == b)


class FieldsEqual:
    """Dataclass equality field by field with :func:`values_equal` (arrays by value, NaN == NaN).

    Use with ``@dataclasses.dataclass(eq=False)`` so the generated ``__eq__`` does not replace it.
    """

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return all(values_equal(getattr(self, f.name), getattr(other, f.name)) for f in dataclasses.fields(self))


@dataclasses.dataclass(eq=False)
class HicoAction(FieldsEqual):
    """One row of ``list_action``: HOI ``vname``/``vname_ing`` + object ``nname``.

    ``syn``, ``definition`` (MATLAB field ``def``), ``synset`` and ``add_def`` hold the file's values as plain
    Python (str, float, list for a cell, dict for a 1x1 struct, ``None`` for ``[]``); ``extra`` keeps any further
    fields, in file order.
    """

    nname: str
    vname: str
    vname_ing: str
    syn: Any = None
    definition: Any = None
    synset: Any = None
    add_def: Any = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def name(self) -> str:
        """``'<vname> <nname>'``, e.g. ``'board airplane'``."""
        return f"{self.vname} {self.nname}"


@dataclasses.dataclass(eq=False)
class HicoHoiAnno:
    """One element of ``bbox_*(i).hoi``.

    Attributes:
        hoi_id: 0-based HOI class (the file's ``id`` minus 1).
        human_boxes: (n, 4) float64 ``[x1, y1, x2, y2]`` in the file's 1-based inclusive pixel coordinates.
        object_boxes: (m, 4) float64, same convention.
        connections: (k, 2) int64 0-based ``[human_index, object_index]`` pairs (the file's ``connection`` - 1).
        invis: the file's ``invis`` flag; the evaluation skips invisible HOIs entirely.
    """

    hoi_id: int
    human_boxes: np.ndarray
    object_boxes: np.ndarray
    connections: np.ndarray
    invis: bool = False

    def __post_init__(self) -> None:
        self.human_boxes = _as_rows(self.human_boxes, 4, np.float64)
        self.object_boxes = _as_rows(self.object_boxes, 4, np.float64)
        self.connections = _as_rows(self.connections, 2, np.int64)

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(k, 4) human and (k, 4) object boxes of each connection (1-based coordinates)."""
        c = self.connections
        return self.human_boxes[c[:, 0]], self.object_boxes[c[:, 1]]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HicoHoiAnno):
            return NotImplemented
        return (self.hoi_id == other.hoi_id and bool(self.invis) == bool(other.invis)
                        and values_equal(self.human_boxes, other.human_boxes)
                        and values_equal(self.object_boxes, other.object_boxes)
                        and values_equal(self.connections, other.connections))


@dataclasses.dataclass
class HicoImageAnno:
    """One element of ``bbox_train``/``bbox_test``."""

    filename: str
    width: int
    height: int
    depth: int
    hois: list[HicoHoiAnno] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class HicoBboxAnno:
    """Contents of ``anno_bbox.mat``."""

    actions: list[HicoAction]
    train: list[HicoImageAnno]
    test: list[HicoImageAnno]


@dataclasses.dataclass(eq=False)
class HicoImageLabels(FieldsEqual):
    """Contents of ``anno.mat``: image-level labels, (num_actions, num_images) float64 in {1, 0, -1, NaN}."""

    actions: list[HicoAction]
    list_train: list[str]
    list_test: list[str]
    anno_train: np.ndarray
    anno_test: np.ndarray


def _as_rows(value: Any, ncols: int, dtype: Any) -> Any:
    """Normalise an empty array to shape (0, ncols); anything else is left for validation."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        return value
    if arr.size == 0:
        return np.zeros((0, ncols), dtype=dtype)
    if arr.dtype.kind in "biuf":
        return arr.astype(dtype) if dtype is np.float64 or np.all(np.mod(arr, 1) == 0) else arr
    return value


# --------------------------------------------------------------------------------------------------
# Generic MATLAB <-> Python conversion (used for list_action's free-form fields)
# --------------------------------------------------------------------------------------------------


def matlab_to_python(value: Any) -> Any:
    """Convert a ``loadmat(squeeze_me=False)`` value to plain Python.

    char -> str; ``[]`` (empty numeric) -> None; numeric scalar -> float/int/bool; other numeric -> ndarray;
    cell -> list (column-major order); 1x1 struct -> dict; other struct arrays -> list of dicts.
    """
    if not isinstance(value, np.ndarray):
        return value
    if value.dtype.names is not None:
        records = [{name: matlab_to_python(rec[name]) for name in value.dtype.names} for rec in value.ravel(order="F")]
        return records[0] if value.size == 1 else records
    kind = value.dtype.kind
    if kind in "US":
        items = [x.decode("latin1") if isinstance(x, bytes) else str(x) for x in value.ravel()]
        return "" if not items else items[0] if len(items) == 1 else items
    if kind == "O":
        return [matlab_to_python(x) for x in value.ravel(order="F")]
    if value.size == 0:
        return None
    if value.size == 1:
        return value.ravel()[0].item()
    return np.array(value)


def python_to_matlab(value: Any) -> Any:
    """Inverse of :func:`matlab_to_python`, producing what ``scipy.io.savemat`` writes as MATLAB values."""
    if value is None:
        return np.zeros((0, 0))
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return np.array([[bool(value)]])
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, dict):
        return _struct_array([value], (1, 1), list(value))
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, dict) for v in value) and all(list(v) == list(value[0]) for v in value):
            return _struct_array(list(value), (1, len(value)), list(value[0]))
        cell = np.empty((1, len(value)), dtype=object)
        for i, v in enumerate(value):
            cell[0, i] = python_to_matlab(v)
        return cell
    if isinstance(value, np.ndarray):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in a .mat file")


def _struct_array(records: Sequence[dict[str, Any]], shape: tuple[int, int], names: Sequence[str]) -> np.ndarray:
    arr = np.empty(shape, dtype=[(n, object) for n in names])
    for i, rec in enumerate(records):
        idx = np.unravel_index(i, shape, order="F")  # MATLAB's linear (column-major) order
        for n in names:
            arr[n][idx] = python_to_matlab(rec[n])
    return arr


# --------------------------------------------------------------------------------------------------
# Reading helpers
# --------------------------------------------------------------------------------------------------


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        if value.dtype.names is not None:
            return f"a {'x'.join(map(str, value.shape))} struct array"
        kind = {"U": "char", "S": "char", "O": "cell", "b": "logical"}.get(value.dtype.kind, str(value.dtype))
        return f"a {'x'.join(map(str, value.shape))} {kind} array"
    return f"a {type(value).__name__}"


def _is_empty_matrix(value: Any) -> bool:
    """MATLAB ``[]``: an empty numeric (or empty cell) array."""
    return (isinstance(value, np.ndarray) and value.dtype.names is None and value.size == 0
                    and value.dtype.kind in "biufO")


def _records(value: Any, where: str, fields: Sequence[str], what: str) -> list[Any]:
    """Elements of a struct vector (any orientation; ``[]`` = none), after checking the required fields."""
    if _is_empty_matrix(value):
        return []
    if not isinstance(value, np.ndarray) or value.dtype.names is None:
        raise AnnotationError(f"{where}: {what} should be a struct array, found {_describe(value)}")
    if sum(d > 1 for d in value.shape) > 1:
        raise AnnotationError(f"{where}: {what} should be a 1xN struct array, found shape {value.shape}")
    missing = [f for f in fields if f not in value.dtype.names]
    if missing:
        raise AnnotationError(f"{where}: {what} is missing field(s) {', '.join(missing)} "
                                                    f"(has {', '.join(value.dtype.names)})")
    return list(value.ravel(order="F"))


def _string(value: Any, where: str, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "US":
            if value.size == 0:
                return ""
            if value.size == 1:
                item = value.ravel()[0]
                return item.decode("latin1") if isinstance(item, bytes) else str(item)
            raise AnnotationError(f"{where}: {what} should be a char row, found {_describe(value)}")
        if value.dtype.kind == "O" and value.size == 1:  # a one-element cell around the string
            return _string(value.ravel()[0], where, what)
    raise AnnotationError(f"{where}: {what} should be a char array, found {_describe(value)}")


def _scalar(value: Any, where: str, what: str) -> float:
    if isinstance(value, np.ndarray) and value.dtype.names is None and value.dtype.kind in "biuf":
        if value.size == 1:
            return float(value.ravel()[0])
    raise AnnotationError(f"{where}: {what} should be a numeric scalar, found {_describe(value)}")


def _int_scalar(value: Any, where: str, what: str) -> int:
    x = _scalar(value, where, what)
    if not np.isfinite(x) or x != int(x):
        raise AnnotationError(f"{where}: {what} should be an integer, found {x!r}")
    return int(x)


def _matrix(value: Any, where: str, what: str, ncols: int) -> np.ndarray:
    if not (isinstance(value, np.ndarray) and value.dtype.names is None and value.dtype.kind in "biuf"):
        if _is_empty_matrix(value):
            return np.zeros((0, ncols))
        raise AnnotationError(f"{where}: {what} should be a numeric Kx{ncols} matrix, found {_describe(value)}")
    if value.size == 0:
        return np.zeros((0, ncols))
    if value.ndim != 2 or value.shape[1] != ncols:
        raise AnnotationError(f"{where}: {what} should be Kx{ncols}, found shape {value.shape}")
    return value.astype(np.float64)


def _load_mat(path: str | os.PathLike[str], variables: Sequence[str]) -> tuple[str, dict[str, Any]]:
    name = os.fspath(path)
    if not os.path.exists(name):
        raise AnnotationError(f"{name}: file not found")
    if not os.path.isfile(name):
        raise AnnotationError(f"{name}: not a regular file")
    try:
        data = scipy.io.loadmat(name, squeeze_me=False, struct_as_record=True, chars_as_strings=True)
    except NotImplementedError as e:  # MATLAB v7.3 = HDF5
        raise AnnotationError(f"{name}: cannot read this .mat version ({e}); save it with -v7 or -v6") from e
    except Exception as e:  # noqa: BLE001 - any parse failure of a foreign file is a format error
        raise AnnotationError(f"{name}: not a readable MATLAB .mat file ({type(e).__name__}: {e})") from e
    missing = [v for v in variables if v not in data]
    if missing:
        present = sorted(k for k in data if not k.startswith("__"))
        raise AnnotationError(f"{name}: missing variable(s) {', '.join(missing)} (has {', '.join(present) or 'none'})")
    return name, data


def _guard(name: str, fn: Callable[[], Any]) -> Any:
    """Run a parser; any unexpected low-level error becomes an AnnotationError naming the file."""
    try:
        return fn()
    except AnnotationError:
        raise
    except (TypeError, ValueError, IndexError, KeyError, AttributeError) as e:
        raise AnnotationError(f"{name}: malformed content ({type(e).__name__}: {e})") from e


def _read_actions(value: Any, name: str) -> list[HicoAction]:
    actions = []
    for i, rec in enumerate(_records(value, name, ACTION_FIELDS[:3], "list_action")):
        w = f"{name}: list_action[{i}]"
        known = {}
        for f in ACTION_FIELDS[:3]:
            known[f] = _string(rec[f], w, f)
        names = rec.dtype.names
        extra = {n: matlab_to_python(rec[n]) for n in names if n not in ACTION_FIELDS}
        opt = {n: matlab_to_python(rec[n]) if n in names else None for n in ACTION_FIELDS[3:]}
        actions.append(HicoAction(known["nname"], known["vname"], known["vname_ing"], syn=opt["syn"],
                                                            definition=opt["def"], synset=opt["synset"], add_def=opt["add_def"], extra=extra))
    return actions


def _read_boxes(value: Any, where: str, field: str) -> np.ndarray:
    boxes = []
    for b, rec in enumerate(_records(value, where, BOX_FIELDS, field)):
        w = f"{where} {field}[{b}]"
        x1, x2, y1, y2 = (_scalar(rec[f], w, f) for f in BOX_FIELDS)
        boxes.append((x1, y1, x2, y2))
    return np.array(boxes, dtype=np.float64).reshape(-1, 4)


def _read_images(value: Any, name: str, var: str, num_actions: int, strict_boxes: bool) -> list[HicoImageAnno]:
    images = []
    for i, rec in enumerate(_records(value, name, IMAGE_FIELDS, var)):
        w = f"{name}: {var}[{i}]"
        filename = _string(rec["filename"], w, "filename")
        w = f"{w} ({filename})"
        size_recs = _records(rec["size"], w, SIZE_FIELDS, "size")
        if len(size_recs) != 1:
            raise AnnotationError(f"{w}: size should be a 1x1 struct, found {len(size_recs)} elements")
        width, height, depth = (_int_scalar(size_recs[0][f], w, f"size.{f}") for f in SIZE_FIELDS)
        hois = []
        for j, hrec in enumerate(_records(rec["hoi"], w, HOI_FIELDS, "hoi")):
            wh = f"{w} hoi[{j}]"
            file_id = _int_scalar(hrec["id"], wh, "id")
            if not 1 <= file_id <= NUM_HOI:
                raise AnnotationError(f"{wh}: HOI id {file_id} outside 1..{NUM_HOI}")
            if num_actions and file_id > num_actions:
                raise AnnotationError(f"{wh}: HOI id {file_id} exceeds the {num_actions} entries of list_action")
            human = _read_boxes(hrec["bboxhuman"], wh, "bboxhuman")
            obj = _read_boxes(hrec["bboxobject"], wh, "bboxobject")
            conn = _matrix(hrec["connection"], wh, "connection", 2)
            invis = _scalar(hrec["invis"], wh, "invis")
            if invis not in (0.0, 1.0):
                raise AnnotationError(f"{wh}: invis should be 0 or 1, found {invis!r}")
            if conn.size and (not np.all(np.isfinite(conn)) or np.any(conn != np.round(conn))):
                raise AnnotationError(f"{wh}: connection indices should be integers, found {conn.tolist()}")
            conn_idx = conn.astype(np.int64)
            for r, (h, o) in enumerate(conn_idx):
                if not 1 <= h <= len(human):
                    raise AnnotationError(f"{wh}: connection row {r}: human index {h} out of range for {len(human)} human boxes")
                if not 1 <= o <= len(obj):
                    raise AnnotationError(f"{wh}: connection row {r}: object index {o} out of range for {len(obj)} object boxes")
            hoi = HicoHoiAnno(file_id - 1, human, obj, conn_idx - 1, bool(invis))
            _check_boxes(hoi, wh, strict_boxes)
            hois.append(hoi)
        images.append(HicoImageAnno(filename, width, height, depth, hois))
    return images


def read_anno_bbox_mat(path: str | os.PathLike[str], *, strict_boxes: bool = True) -> HicoBboxAnno:
    """Read ``anno_bbox.mat`` (real or synthetic).

    Args:
        path: the file.
        strict_boxes: reject degenerate boxes (x2 < x1 or y2 < y1). Non-finite coordinates are always rejected.
    """
    name, data = _load_mat(path, ("list_action", "bbox_train", "bbox_test"))

    def parse() -> HicoBboxAnno:
        actions = _read_actions(data["list_action"], name)
        train = _read_images(data["bbox_train"], name, "bbox_train", len(actions), strict_boxes)
        test = _read_images(data["bbox_test"], name, "bbox_test", len(actions), strict_boxes)
        return HicoBboxAnno(actions, train, test)

    return _guard(name, parse)


def _read_file_list(value: Any, where: str) -> list[str]:
    if _is_empty_matrix(value) and value.dtype.kind != "O":
        return []
    if not (isinstance(value, np.ndarray) and value.dtype.kind == "O" and value.dtype.names is None):
        raise AnnotationError(f"{where}: should be a cell array of file names, found {_describe(value)}")
    if sum(d > 1 for d in value.shape) > 1:
        raise AnnotationError(f"{where}: should be an Nx1 cell array, found shape {value.shape}")
    return [_string(v, f"{where}{{{i}}}", "file name") for i, v in enumerate(value.ravel(order="F"))]


def _read_labels(value: Any, where: str, num_actions: int, num_images: int, list_name: str) -> np.ndarray:
    if not (isinstance(value, np.ndarray) and value.dtype.names is None and value.dtype.kind in "biuf"):
        raise AnnotationError(f"{where}: should be a numeric matrix, found {_describe(value)}")
    if value.ndim != 2 or value.shape != (num_actions, num_images):
        if not (value.size == 0 and num_images == 0):
            raise AnnotationError(f"{where}: shape {value.shape} does not match {num_actions} actions x "
                                                        f"{num_images} images of {list_name}")
    labels = value.astype(np.float64).reshape(num_actions, num_images)
    _check_label_values(labels, where)
    return labels


def _check_label_values(labels: np.ndarray, where: str) -> None:
    bad = ~(np.isnan(labels) | np.isin(labels, LABEL_VALUES))
    if np.any(bad):
        a, i = (int(x[0]) for x in np.nonzero(bad))
        raise AnnotationError(f"{where}: label {float(labels[a, i])!r} at (action {a}, image {i}) "
                                                    "is not one of 1, 0, -1, NaN")


def read_anno_mat(path: str | os.PathLike[str]) -> HicoImageLabels:
    """Read ``anno.mat`` (image-level labels and file lists)."""
    name, data = _load_mat(path, ("list_action", "list_train", "list_test", "anno_train", "anno_test"))

    def parse() -> HicoImageLabels:
        actions = _read_actions(data["list_action"], name)
        list_train = _read_file_list(data["list_train"], f"{name}: list_train")
        list_test = _read_file_list(data["list_test"], f"{name}: list_test")
        anno_train = _read_labels(data["anno_train"], f"{name}: anno_train", len(actions), len(list_train), "list_train")
        anno_test = _read_labels(data["anno_test"], f"{name}: anno_test", len(actions), len(list_test), "list_test")
        return HicoImageLabels(actions, list_train, list_test, anno_train, anno_test)

    return _guard(name, parse)


# --------------------------------------------------------------------------------------------------
# Validation shared by readers and writers
# --------------------------------------------------------------------------------------------------


def _check_boxes(hoi: HicoHoiAnno, where: str, strict: bool) -> None:
    for field, boxes in (("bboxhuman", hoi.human_boxes), ("bboxobject", hoi.object_boxes)):
        for b, box in enumerate(boxes):
            if not np.all(np.isfinite(box)):
                raise AnnotationError(f"{where} {field}[{b}]: non-finite coordinate in {box.tolist()}")
            x1, y1, x2, y2 = box
            if strict and (x2 < x1 or y2 < y1):
                raise AnnotationError(f"{where} {field}[{b}]: degenerate box x1={x1:g} y1={y1:g} x2={x2:g} y2={y2:g} "
                                                            "(x2 < x1 or y2 < y1)")


def _check_hoi(hoi: Any, where: str, num_actions: int) -> None:
    if not isinstance(hoi, HicoHoiAnno):
        raise AnnotationError(f"{where}: expected a HicoHoiAnno, got {type(hoi).__name__}")
    if isinstance(hoi.hoi_id, bool) or not isinstance(hoi.hoi_id, (int, np.integer)):
        raise AnnotationError(f"{where}: hoi_id should be an int, got {hoi.hoi_id!r}")
    if not 0 <= hoi.hoi_id < NUM_HOI:
        raise AnnotationError(f"{where}: HOI id {hoi.hoi_id} (0-based) outside 0..{NUM_HOI - 1}")
    if num_actions and hoi.hoi_id >= num_actions:
        raise AnnotationError(f"{where}: HOI id {hoi.hoi_id} (0-based) exceeds the {num_actions} actions")
    for field, arr, ncols in (("human_boxes", hoi.human_boxes, 4), ("object_boxes", hoi.object_boxes, 4),
                                                        ("connections", hoi.connections, 2)):
        if not (isinstance(arr, np.ndarray) and arr.ndim == 2 and arr.shape[1] == ncols and arr.dtype.kind in "iuf"):
            shape = getattr(arr, "shape", type(arr).__name__)
            raise AnnotationError(f"{where}: {field} should be a numeric (n, {ncols}) array, found {shape}")
    if hoi.connections.dtype.kind == "f" and np.any(hoi.connections != np.round(hoi.connections)):
        raise AnnotationError(f"{where}: connections should be integer indices, found {hoi.connections.tolist()}")
    n, m = len(hoi.human_boxes), len(hoi.object_boxes)
    for r, (h, o) in enumerate(hoi.connections.astype(np.int64)):
        if not 0 <= h < n:
            raise AnnotationError(f"{where}: connection row {r}: human index {h} (0-based) out of range for {n} "
                                                        "human boxes")
        if not 0 <= o < m:
            raise AnnotationError(f"{where}: connection row {r}: object index {o} (0-based) out of range for {m} "
                                                        "object boxes")
    if not isinstance(hoi.invis, (bool, np.bool_, int, np.integer)) or int(hoi.invis) not in (0, 1):
        raise AnnotationError(f"{where}: invis should be a bool, got {hoi.invis!r}")


def _check_action(action: Any, where: str) -> None:
    if not isinstance(action, HicoAction):
        raise AnnotationError(f"{where}: expected a HicoAction, got {type(action).__name__}")
    for f in ("nname", "vname", "vname_ing"):
        if not isinstance(getattr(action, f), str):
            raise AnnotationError(f"{where}: {f} should be a str, got {getattr(action, f)!r}")
    clash = [k for k in action.extra if k in ACTION_FIELDS]
    if clash:
        raise AnnotationError(f"{where}: extra repeats standard field(s) {', '.join(clash)}")


def check_consistency(bbox: HicoBboxAnno, labels: HicoImageLabels, *, name: str = "anno.mat/anno_bbox.mat") -> None:
    """Assert what eval_one.m asserts: ``bbox_<split>(i).filename == list_<split>{i}`` for every i."""
    for split, images, files in (("train", bbox.train, labels.list_train), ("test", bbox.test, labels.list_test)):
        if len(images) != len(files):
            raise AnnotationError(f"{name}: bbox_{split} has {len(images)} images but list_{split} has {len(files)}")
        for i, (img, f) in enumerate(zip(images, files)):
            if img.filename != f:
                raise AnnotationError(f"{name}: bbox_{split}[{i}] is {img.filename!r} but list_{split}{{{i}}} is {f!r}")


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> None:
    """Write through ``write(file)`` to a temp file in the target directory, then ``os.replace`` it in place."""
    name = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(name))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(name)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)  # mkstemp makes 0600; give the file the mode a plain open() would
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, name)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _action_struct(actions: Sequence[HicoAction], where: str) -> np.ndarray:
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


def _box_struct(boxes: np.ndarray) -> np.ndarray:
    if len(boxes) == 0:
        return np.zeros((0, 0))  # MATLAB [] as in the real file
    arr = np.empty((1, len(boxes)), dtype=[(n, object) for n in BOX_FIELDS])
    for b, (x1, y1, x2, y2) in enumerate(boxes):
        for n, v in zip(BOX_FIELDS, (x1, x2, y1, y2)):
            arr[n][0, b] = float(v)
    return arr


def _image_struct(images: Sequence[HicoImageAnno], where: str, num_actions: int, strict_boxes: bool) -> np.ndarray:
    arr = np.empty((1, len(images)), dtype=[(n, object) for n in IMAGE_FIELDS])
    for i, img in enumerate(images):
        w = f"{where}[{i}]"
        if not isinstance(img, HicoImageAnno):
            raise AnnotationError(f"{w}: expected a HicoImageAnno, got {type(img).__name__}")
        if not isinstance(img.filename, str) or not img.filename:
            raise AnnotationError(f"{w}: filename should be a non-empty str, got {img.filename!r}")
        w = f"{w} ({img.filename})"
        for f in SIZE_FIELDS:
            v = getattr(img, f)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise AnnotationError(f"{w}: {f} should be a positive int, got {v!r}")
        size = np.empty((1, 1), dtype=[(n, object) for n in SIZE_FIELDS])
        for f in SIZE_FIELDS:
            size[f][0, 0] = float(getattr(img, f))
        hoi = np.empty((1, len(img.hois)), dtype=[(n, object) for n in HOI_FIELDS])
        for j, h in enumerate(img.hois):
            wh = f"{w} hoi[{j}]"
            _check_hoi(h, wh, num_actions)
            _check_boxes(h, wh, strict_boxes)
            conn = h.connections.astype(np.float64) + 1.0
            hoi["id"][0, j] = float(h.hoi_id + 1)
            hoi["bboxhuman"][0, j] = _box_struct(h.human_boxes)
            hoi["bboxobject"][0, j] = _box_struct(h.object_boxes)
            hoi["connection"][0, j] = conn if len(conn) else np.zeros((0, 0))
            hoi["invis"][0, j] = float(bool(h.invis))
        arr["filename"][0, i] = img.filename
        arr["size"][0, i] = size
        arr["hoi"][0, i] = hoi
    return arr


def _savemat(name: str, mdict: dict[str, Any]) -> None:
    def write(f: IO[bytes]) -> None:
        scipy.io.savemat(f, mdict, format="5", do_compression=True, oned_as="column")

    try:
        atomic_write(name, write)
    except OSError as e:
        raise AnnotationError(f"{name}: cannot write ({e})") from e


def write_anno_bbox_mat(path: str | os.PathLike[str], anno: HicoBboxAnno, *, strict_boxes: bool = True) -> None:
    """Write ``anno_bbox.mat`` in the original layout (validated first; written atomically).

    ``strict_boxes=False`` lets degenerate boxes (x2 < x1 or y2 < y1) through, for re-writing a real file that
    was read with ``strict_boxes=False``.
    """
    name = os.fspath(path)
    mdict = {
            "list_action": _action_struct(anno.actions, f"{name}: list_action"),
            "bbox_train": _image_struct(anno.train, f"{name}: bbox_train", len(anno.actions), strict_boxes),
            "bbox_test": _image_struct(anno.test, f"{name}: bbox_test", len(anno.actions), strict_boxes),
    }
    _savemat(name, mdict)


def _file_list_cell(files: Sequence[str], where: str) -> np.ndarray:
    cell = np.empty((len(files), 1), dtype=object)
    for i, f in enumerate(files):
        if not isinstance(f, str) or not f:
            raise AnnotationError(f"{where}{{{i}}}: file name should be a non-empty str, got {f!r}")
        cell[i, 0] = f
    return cell


def write_anno_mat(path: str | os.PathLike[str], labels: HicoImageLabels) -> None:
    """Write ``anno.mat`` in the original layout (validated first; written atomically)."""
    name = os.fspath(path)
    num_actions = len(labels.actions)
    mdict: dict[str, Any] = {"list_action": _action_struct(labels.actions, f"{name}: list_action")}
    for split in ("train", "test"):
        files = getattr(labels, f"list_{split}")
        mdict[f"list_{split}"] = _file_list_cell(files, f"{name}: list_{split}")
        where = f"{name}: anno_{split}"
        try:
            arr = np.asarray(getattr(labels, f"anno_{split}"), dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise AnnotationError(f"{where}: not a numeric matrix ({e})") from e
        if arr.shape != (num_actions, len(files)):
            raise AnnotationError(f"{where}: shape {arr.shape} does not match {num_actions} actions x {len(files)} images")
        _check_label_values(arr, where)
        mdict[f"anno_{split}"] = arr
    _savemat(name, mdict)


# --------------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------------


def count_train_instances(anno: HicoBboxAnno) -> np.ndarray:
    """(600,) int64 training instances per HOI, as eval_one.m computes ``num_inst``.

    For every non-invisible HOI annotation of ``bbox_train``, add its number of ``connection`` rows.
    """
    counts = np.zeros(NUM_HOI, dtype=np.int64)
    for img in anno.train:
        for hoi in img.hois:
            if not hoi.invis:
                counts[hoi.hoi_id] += len(hoi.connections)
    return counts


def rare_hoi_mask(anno: HicoBboxAnno) -> np.ndarray:
    """(600,) bool, True for the rare HOIs (fewer than 10 training instances; 138 on the real data)."""
    return count_train_instances(anno) < RARE_THRESHOLD
