"""Reading ``anno.mat``: the image lists and image-level labels of the train and test splits."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from tin_jax.io.hico_mat.annotations import HicoImageLabels
from tin_jax.io.hico_mat.checks import check_label_values
from tin_jax.io.hico_mat.common import AnnotationError
from tin_jax.io.hico_mat.list_action import read_actions
from tin_jax.io.hico_mat.mat_fields import char_string, describe, guard, is_empty_matrix, load_mat

__all__ = ["read_anno_mat"]


def _read_file_list(value: Any, where: str) -> list[str]:
    if is_empty_matrix(value) and value.dtype.kind != "O":
        return []
    if not (isinstance(value, np.ndarray) and value.dtype.kind == "O" and value.dtype.names is None):
        raise AnnotationError(f"{where}: should be a cell array of file names, found {describe(value)}")
    if sum(d > 1 for d in value.shape) > 1:
        raise AnnotationError(f"{where}: should be an Nx1 cell array, found shape {value.shape}")
    return [char_string(v, f"{where}{{{i}}}", "file name") for i, v in enumerate(value.ravel(order="F"))]


def _read_labels(value: Any, where: str, num_actions: int, num_images: int, list_name: str) -> np.ndarray:
    if not (isinstance(value, np.ndarray) and value.dtype.names is None and value.dtype.kind in "biuf"):
        raise AnnotationError(f"{where}: should be a numeric matrix, found {describe(value)}")
    if value.ndim != 2 or value.shape != (num_actions, num_images):
        if not (value.size == 0 and num_images == 0):
            raise AnnotationError(f"{where}: shape {value.shape} does not match {num_actions} actions x "
                                                        f"{num_images} images of {list_name}")
    labels = value.astype(np.float64).reshape(num_actions, num_images)
    check_label_values(labels, where)
    return labels


def read_anno_mat(path: str | os.PathLike[str]) -> HicoImageLabels:
    """Read ``anno.mat`` (image-level labels and file lists)."""
    name, data = load_mat(path, ("list_action", "list_train", "list_test", "anno_train", "anno_test"))

    def parse() -> HicoImageLabels:
        actions = read_actions(data["list_action"], name)
        list_train = _read_file_list(data["list_train"], f"{name}: list_train")
        list_test = _read_file_list(data["list_test"], f"{name}: list_test")
        anno_train = _read_labels(data["anno_train"], f"{name}: anno_train", len(actions), len(list_train), "list_train")
        anno_test = _read_labels(data["anno_test"], f"{name}: anno_test", len(actions), len(list_test), "list_test")
        return HicoImageLabels(actions, list_train, list_test, anno_train, anno_test)

    return guard(name, parse)
