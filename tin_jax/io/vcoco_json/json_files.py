"""Loading and atomically writing JSON files, with errors that name the file."""

from __future__ import annotations

import json
import os
from typing import Any

from tin_jax.io.hico_mat.common import AnnotationError, atomic_write

__all__ = ["dump_json", "is_int", "load_json"]


def load_json(path: str | os.PathLike[str]) -> tuple[str, Any]:
    """Parse a UTF-8 JSON file; returns (path str, value)."""
    name = os.fspath(path)
    if not os.path.exists(name):
        raise AnnotationError(f"{name}: file not found")
    if not os.path.isfile(name):
        raise AnnotationError(f"{name}: not a regular file")
    try:
        with open(name, "rb") as f:
            return name, json.loads(f.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise AnnotationError(f"{name}: not readable JSON ({type(e).__name__}: {e})") from e


def is_int(v: Any) -> bool:
    """True for a JSON integer (an int that is not a bool)."""
    return isinstance(v, int) and not isinstance(v, bool)


def dump_json(path: str, obj: Any, trailing_newline: bool = False) -> None:
    """Write ``json.dumps(obj)`` (default separators) to ``path`` atomically."""
    text = json.dumps(obj) + ("\n" if trailing_newline else "")
    try:
        atomic_write(path, lambda f: f.write(text.encode("utf-8")))
    except OSError as e:
        raise AnnotationError(f"{path}: cannot write ({e})") from e
