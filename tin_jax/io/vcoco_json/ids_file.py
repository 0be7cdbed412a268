"""``vcoco_<split>.ids``: one COCO image id per line."""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np

from tin_jax.io.hico_mat.common import AnnotationError, atomic_write
from tin_jax.io.vcoco_json.json_files import is_int
from tin_jax.io.vcoco_json.paths import ids_path

__all__ = ["read_ids", "write_ids"]


def read_ids(path: str | os.PathLike[str]) -> list[int]:
    """Read a ``.ids`` file: one integer image id per line."""
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise AnnotationError(f"{name}: file not found" if not os.path.exists(name) else f"{name}: not a regular file")
    try:
        with open(name, encoding="ascii") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise AnnotationError(f"{name}: cannot read ({type(e).__name__}: {e})") from e
    ids, seen = [], {}
    for k, line in enumerate(lines):
        s = line.strip()
        if not s:
            continue
        if not s.isdigit():
            raise AnnotationError(f"{name}: line {k + 1}: {s!r:.40} is not an image id")
        v = int(s)
        if v in seen:
            raise AnnotationError(f"{name}: line {k + 1}: image id {v} repeats line {seen[v]}")
        seen[v] = k + 1
        ids.append(v)
    return ids


def write_ids(vcoco_root: str | os.PathLike[str], split: str, image_ids: Iterable[int], *,
                            path: str | os.PathLike[str] | None = None) -> str:
    """Write ``<vcoco_root>/data/splits/vcoco_<split>.ids`` (or ``path``), one id per line; returns the path."""
    name = os.fspath(path) if path is not None else ids_path(vcoco_root, split)
    ids = list(image_ids)
    seen = set()
    for k, v in enumerate(ids):
        if not (is_int(v) or isinstance(v, np.integer)) or v < 0:
            raise AnnotationError(f"{name}: entry {k}: {v!r} is not a non-negative int image id")
        if int(v) in seen:
            raise AnnotationError(f"{name}: entry {k}: duplicate image id {v}")
        seen.add(int(v))
    text = "".join(f"{int(v)}\n" for v in ids)
    try:
        atomic_write(name, lambda f: f.write(text.encode("ascii")))
    except OSError as e:
        raise AnnotationError(f"{name}: cannot write ({e})") from e
    return name
