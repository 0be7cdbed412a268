"""Helpers the HICO-DET and V-COCO file readers share: the error type, atomic writes, value equality."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from tin_jax.io.errors import DataFormatError

__all__ = ["AnnotationError", "FieldsEqual", "atomic_write", "values_equal"]


class AnnotationError(DataFormatError):
    """An annotation file is missing, unreadable or malformed; the message names the file and the record."""


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
