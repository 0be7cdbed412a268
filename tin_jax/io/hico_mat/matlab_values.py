"""Generic MATLAB <-> Python value conversion (for list_action's free-form fields)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["matlab_to_python", "python_to_matlab"]


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
