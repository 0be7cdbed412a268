"""Where the files of a split live below the v-coco repository root."""

from __future__ import annotations

import os

__all__ = ["coco_instances_path", "ids_path", "vcoco_json_path"]


def _check_split(split: str) -> str:
    if not isinstance(split, str) or not split or not split.replace("_", "").isalnum():
        raise ValueError(f"bad V-COCO split name {split!r} (e.g. 'train', 'val', 'test', 'trainval')")
    return split


def vcoco_json_path(vcoco_root: str | os.PathLike[str], split: str) -> str:
    """``<vcoco_root>/data/vcoco/vcoco_<split>.json``."""
    return os.path.join(os.fspath(vcoco_root), "data", "vcoco", f"vcoco_{_check_split(split)}.json")


def coco_instances_path(vcoco_root: str | os.PathLike[str]) -> str:
    """``<vcoco_root>/data/instances_vcoco_all_2014.json``."""
    return os.path.join(os.fspath(vcoco_root), "data", "instances_vcoco_all_2014.json")


def ids_path(vcoco_root: str | os.PathLike[str], split: str) -> str:
    """``<vcoco_root>/data/splits/vcoco_<split>.ids``."""
    return os.path.join(os.fspath(vcoco_root), "data", "splits", f"vcoco_{_check_split(split)}.ids")
