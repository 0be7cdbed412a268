"""What a checkpoint holds, said in JSON: the network's configuration and its classes.

Every checkpoint carries its :class:`ModelSpec` (``model.json`` beside the weights), so the
network is rebuilt from the workdir alone: no converted dataset, no ``configs/`` folder.
A ``--config`` or a dataset that contradicts it is one line naming the differing fields.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import jax.numpy as jnp

from tin_jax.models.tin import TINConfig
from tin_jax.schema import classes

SPEC_VERSION = 1
RARE_BELOW = 10  # HICO-DET's rare classes: fewer than 10 training instances

# config.model fields that shape the network (and so the checkpoint): a --config that
# differs from the checkpoint in one of them describes another model.
ARCHITECTURE_FIELDS = ("interactiveness", "pose_map", "d_negative_copy", "part_level",
                       "hoi_classifier", "fc_dim", "width", "resnet_units", "spatial_width", "dtype")


class SpecMismatchError(ValueError):
    """A config or dataset that contradicts a checkpoint's model (one line)."""


@dataclasses.dataclass(frozen=True)
class ClassInfo:
    """The classes a model scores: their names, each class's object, the rare split."""
    dataset: str  # 'hico' | 'vcoco'
    names: tuple[str, ...]  # 'verb object' (HICO-DET) / TIN's V-COCO class names
    object_of_class: tuple[int, ...]  # COCO-contiguous object id per class (HICO), 0 for V-COCO
    train_pair_counts: tuple[int, ...]  # positive training pairs per class
    rare: tuple[int, ...]  # classes with fewer than RARE_BELOW training pairs

    @classmethod
    def of_dataset(cls, metadata: dict) -> "ClassInfo":
        dataset = metadata["dataset"]
        counts = tuple(int(c) for c in metadata.get("train_pair_counts", ()))
        if dataset == "hico":
            names = tuple(f"{v} {o}" for v, o in classes.HICO_HOIS)
            objects = tuple(int(o) for o in classes.HOI_TO_OBJECT)
        else:
            names = tuple(classes.VCOCO_CLASSES)
            objects = (0,) * len(names)
        return cls(dataset, names, objects, counts,
                   tuple(i for i, c in enumerate(counts) if c < RARE_BELOW))


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A checkpoint's model: enough to rebuild it and to name what it predicts."""
    model: TINConfig
    classes: ClassInfo

    def to_json(self) -> dict:
        model = dataclasses.asdict(self.model)
        model["dtype"] = dtype_name(self.model.dtype)
        return dict(version=SPEC_VERSION, model=model, classes=dataclasses.asdict(self.classes))

    @classmethod
    def from_json(cls, d: dict, where: str) -> "ModelSpec":
        if d.get("version") != SPEC_VERSION:
            raise SpecMismatchError(f"{where}: model spec version {d.get('version')!r}, this "
                                    f"tin-jax reads version {SPEC_VERSION}")
        try:
            model = dict(d["model"])
            model["dtype"] = None if model["dtype"] == "float32" else jnp.dtype(model["dtype"])
            if "resnet_units" in model:  # JSON's list; specs written before the field: ResNet-50
                model["resnet_units"] = tuple(model["resnet_units"])
            info = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d["classes"].items()}
            return cls(TINConfig(**model), ClassInfo(**info))
        except (KeyError, TypeError) as e:
            raise SpecMismatchError(f"{where}: not a model spec ({type(e).__name__}: {e})") from None


def dtype_name(dtype: Any) -> str:
    return "float32" if dtype is None else jnp.dtype(dtype).name


def _resnet_units(m) -> tuple[int, int, int, int]:
    units = tuple(m.get("resnet_units", TINConfig.resnet_units))
    if len(units) != 4 or not all(isinstance(u, int) and u >= 1 for u in units):
        raise ValueError(f"config.model.resnet_units: four unit counts >= 1 (block1, block2, block3, "
                         f"res5), got {units} (ml_collections joins the values of a flag given twice)")
    return units


def model_config(config, metadata: dict) -> TINConfig:
    """The network of ``config.model`` for a dataset (``metadata``: its metadata.json)."""
    m = config.model
    return TINConfig(num_classes=int(metadata["num_labels"]), dataset=metadata["dataset"],
                     interactiveness=m.interactiveness, pose_map=m.pose_map,
                     d_negative_copy=m.d_negative_copy, part_level=m.part_level,
                     hoi_classifier=m.hoi_classifier, fc_dim=m.fc_dim, width=m.width,
                     resnet_units=_resnet_units(m),
                     spatial_width=m.get("spatial_width", TINConfig.spatial_width),
                     dtype=None if m.dtype == "float32" else jnp.dtype(m.dtype))


def spec_of(config, metadata: dict) -> ModelSpec:
    """The spec of the model ``config`` trains on a dataset."""
    return ModelSpec(model_config(config, metadata), ClassInfo.of_dataset(metadata))


def config_conflicts(config, spec: ModelSpec) -> list[str]:
    """``config.model``'s architecture fields that differ from ``spec`` (``name config vs saved``)."""
    wanted = model_config(config, dict(num_labels=spec.model.num_classes, dataset=spec.model.dataset))
    out = []
    for name in ARCHITECTURE_FIELDS:
        mine, saved = getattr(wanted, name), getattr(spec.model, name)
        if name == "dtype":
            mine, saved = dtype_name(mine), dtype_name(saved)
        if mine != saved:
            out.append(f"model.{name} {mine} (--config) vs {saved} (checkpoint)")
    return out


def check_config(config, spec: ModelSpec, where: str) -> None:
    """Raises :class:`SpecMismatchError` when ``config.model`` describes another network."""
    bad = config_conflicts(config, spec)
    if bad:
        raise SpecMismatchError(f"{where}: --config describes another model than the checkpoint's: "
                                f"{'; '.join(bad)} (drop the overrides, or use the run's own "
                                "config.json)")


def check_dataset(spec: ModelSpec, metadata: dict, data_dir: str, where: str) -> None:
    """Raises when the converted dataset in ``data_dir`` is not the one the model was trained on."""
    dataset, n = metadata["dataset"], int(metadata["num_labels"])
    if dataset != spec.model.dataset or n != spec.model.num_classes:
        raise SpecMismatchError(
            f"{data_dir}: a {dataset} dataset ({n} classes), but the model in {where} was trained "
            f"on {spec.model.dataset} ({spec.model.num_classes} classes): give the matching "
            "--config.data.dir (and config)")


def dumps(spec: ModelSpec) -> str:
    return json.dumps(spec.to_json(), indent=1)
