"""Loading a .mat file and reading typed values out of ``loadmat(squeeze_me=False)`` structs.

Every getter checks the MATLAB type and shape and raises :class:`AnnotationError` naming the record.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.io

from tin_jax.io.hico_mat.common import AnnotationError

__all__ = [
        "char_string", "describe", "guard", "int_scalar", "is_empty_matrix", "load_mat", "numeric_matrix",
        "numeric_scalar", "struct_records",
]


def load_mat(path: str | os.PathLike[str], variables: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """Load ``path`` with ``scipy.io.loadmat`` and check it holds ``variables``; returns (path str, data)."""
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


def guard(name: str, fn: Callable[[], Any]) -> Any:
    """Run a parser; any unexpected low-level error becomes an AnnotationError naming the file."""
    try:
        return fn()
    except AnnotationError:
        raise
    except (TypeError, ValueError, IndexError, KeyError, AttributeError) as e:
        raise AnnotationError(f"{name}: malformed content ({type(e).__name__}: {e})") from e


def describe(value: Any) -> str:
    """A short description of a loadmat value for error messages, e.g. ``a 1x3 struct array``."""
    if isinstance(value, np.ndarray):
        if value.dtype.names is not None:
            return f"a {'x'.join(map(str, value.shape))} struct array"
        kind = {"U": "char", "S": "char", "O": "cell", "b": "logical"}.get(value.dtype.kind, str(value.dtype))
        return f"a {'x'.join(map(str, value.shape))} {kind} array"
    return f"a {type(value).__name__}"


def is_empty_matrix(value: Any) -> bool:
    """MATLAB ``[]``: an empty numeric (or empty cell) array."""
    return (isinstance(value, np.ndarray) and value.dtype.names is None and value.size == 0
                    and value.dtype.kind in "biufO")


def struct_records(value: Any, where: str, fields: Sequence[str], what: str) -> list[Any]:
    """Elements of a struct vector (any orientation; ``[]`` = none), after checking the required fields."""
    if is_empty_matrix(value):
        return []
    if not isinstance(value, np.ndarray) or value.dtype.names is None:
        raise AnnotationError(f"{where}: {what} should be a struct array, found {describe(value)}")
    if sum(d > 1 for d in value.shape) > 1:
        raise AnnotationError(f"{where}: {what} should be a 1xN struct array, found shape {value.shape}")
    missing = [f for f in fields if f not in value.dtype.names]
    if missing:
        raise AnnotationError(f"{where}: {what} is missing field(s) {', '.join(missing)} "
                                                    f"(has {', '.join(value.dtype.names)})")
    return list(value.ravel(order="F"))


def char_string(value: Any, where: str, what: str) -> str:
    """A MATLAB char row (or a one-element cell around one) as str."""
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "US":
            if value.size == 0:
                return ""
            if value.size == 1:
                item = value.ravel()[0]
                return item.decode("latin1") if isinstance(item, bytes) else str(item)
            raise AnnotationError(f"{where}: {what} should be a char row, found {describe(value)}")
        if value.dtype.kind == "O" and value.size == 1:  # a one-element cell around the string
            return char_string(value.ravel()[0], where, what)
    raise AnnotationError(f"{where}: {what} should be a char array, found {describe(value)}")


def numeric_scalar(value: Any, where: str, what: str) -> float:
    """A one-element numeric array as float."""
    if isinstance(value, np.ndarray) and value.dtype.names is None and value.dtype.kind in "biuf":
        if value.size == 1:
            return float(value.ravel()[0])
    raise AnnotationError(f"{where}: {what} should be a numeric scalar, found {describe(value)}")


def int_scalar(value: Any, where: str, what: str) -> int:
    """A one-element numeric array holding an integer value, as int."""
    x = numeric_scalar(value, where, what)
    if not np.isfinite(x) or x != int(x):
        raise AnnotationError(f"{where}: {what} should be an integer, found {x!r}")
    return int(x)


def numeric_matrix(value: Any, where: str, what: str, ncols: int) -> np.ndarray:
    """A numeric K x ``ncols`` matrix as float64 (``[]`` gives shape (0, ncols))."""
    if not (isinstance(value, np.ndarray) and value.dtype.names is None and value.dtype.kind in "biuf"):
        if is_empty_matrix(value):
            return np.zeros((0, ncols))
        raise AnnotationError(f"{where}: {what} should be a numeric Kx{ncols} matrix, found {describe(value)}")
    if value.size == 0:
        return np.zeros((0, ncols))
    if value.ndim != 2 or value.shape[1] != ncols:
        raise AnnotationError(f"{where}: {what} should be Kx{ncols}, found shape {value.shape}")
    return value.astype(np.float64)
