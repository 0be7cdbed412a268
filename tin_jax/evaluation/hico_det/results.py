"""HICO-DET results: per-class AP / recall of each setting, their means, and the tables, JSON and CSV made of them.

Full / Rare / Non-Rare = ``mean`` over all / ``num_inst < 10`` / ``num_inst >= 10`` classes (138 / 462 rare /
non-rare on the real data). Every class counts, with or without GT. Means are left-to-right sums divided by the
count, as Octave computes them (MATLAB may add in another order, which can only move the last bit).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
from typing import Any

import numpy as np

from tin_jax.evaluation.hico_det.matlab_arithmetic import matlab_mean
from tin_jax.io import hico_mat
from tin_jax.io.errors import DataFormatError

__all__ = ["SETTINGS", "SETTING_NAMES", "HicoDetResult", "SettingResult"]

SETTINGS = ("def", "ko")  # eval_one.m eval_mode values, in eval_run.m order
SETTING_NAMES = {"def": "Default", "ko": "Known Object"}


@dataclasses.dataclass(frozen=True, eq=False)
class SettingResult:
    """Per-class AP / recall of one setting (eval_one.m ``AP`` and ``REC``) and their Full/Rare/Non-Rare means."""

    setting: str  # 'def' or 'ko'
    ap: np.ndarray  # (C,)
    recall: np.ndarray  # (C,)
    num_detections: np.ndarray  # (C,) detections evaluated (after the KO filter)
    rare: np.ndarray  # (C,) bool

    @property
    def name(self) -> str:
        return SETTING_NAMES[self.setting]

    @property
    def map_full(self) -> float:
        return matlab_mean(self.ap)

    @property
    def map_rare(self) -> float:
        return matlab_mean(self.ap[self.rare])

    @property
    def map_non_rare(self) -> float:
        return matlab_mean(self.ap[~self.rare])

    @property
    def mrec_full(self) -> float:
        return matlab_mean(self.recall)

    @property
    def mrec_rare(self) -> float:
        return matlab_mean(self.recall[self.rare])

    @property
    def mrec_non_rare(self) -> float:
        return matlab_mean(self.recall[~self.rare])

    def summary(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in ("map_full", "map_rare", "map_non_rare",
                                               "mrec_full", "mrec_rare", "mrec_non_rare")}


def _pct(x: float) -> str:
    return "nan" if math.isnan(x) else f"{100 * x:.2f}"


def _matlab_num(x: float) -> str:
    return "NaN" if math.isnan(x) else f"{x:.4f}"


def _json_value(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


@dataclasses.dataclass(frozen=True, eq=False)
class HicoDetResult:
    """Both settings of eval_run.m (Default, then Known Object) plus the class metadata for reporting."""

    default: SettingResult
    known_object: SettingResult
    action_names: tuple[str, ...]
    num_gt: np.ndarray
    num_train: np.ndarray
    num_images: int

    @property
    def rare(self) -> np.ndarray:
        return self.default.rare

    @property
    def settings(self) -> tuple[SettingResult, SettingResult]:
        return self.default, self.known_object

    def format_table(self, style: str = "console") -> str:
        """The result table: ``console`` (aligned, %), ``markdown`` (README rows) or ``matlab`` (eval_one.m lines)."""
        n_rare = int(self.rare.sum())
        head = (f"HICO-DET official protocol: {len(self.rare)} HOI classes ({n_rare} rare / "
                f"{len(self.rare) - n_rare} non-rare), {self.num_images} test images")
        if style == "markdown":
            lines = ["| HICO-DET | Default (Full / Rare / Non-Rare) | Known Object (Full / Rare / Non-Rare) |",
                     "|---|---|---|"]
            for label, keys in (("mAP (%)", ("map_full", "map_rare", "map_non_rare")),
                                ("mRec (%)", ("mrec_full", "mrec_rare", "mrec_non_rare"))):
                cells = [" / ".join(_pct(getattr(s, k)) for k in keys) for s in self.settings]
                lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
            return "\n".join(lines)
        if style == "matlab":
            lines = []
            for s in self.settings:
                lines += [f"setting:     {s.setting}",
                          f"  mAP / mRec (full):      {_matlab_num(s.map_full)} / {_matlab_num(s.mrec_full)}",
                          f"  mAP / mRec (rare):      {_matlab_num(s.map_rare)} / {_matlab_num(s.mrec_rare)}",
                          f"  mAP / mRec (non-rare):  {_matlab_num(s.map_non_rare)} / {_matlab_num(s.mrec_non_rare)}",
                          ""]
            return "\n".join(lines).rstrip("\n")
        if style != "console":
            raise ValueError(f"unknown table style {style!r} (console, markdown, matlab)")
        lines = [head, f"{'':14}{'mAP (%)':^26}  {'mean recall (%)':^26}",
                 f"{'setting':14}{'Full':>8}{'Rare':>8}{'Non-Rare':>10}  {'Full':>8}{'Rare':>8}{'Non-Rare':>10}"]
        for s in self.settings:
            lines.append(f"{s.name:14}{_pct(s.map_full):>8}{_pct(s.map_rare):>8}{_pct(s.map_non_rare):>10}  "
                         f"{_pct(s.mrec_full):>8}{_pct(s.mrec_rare):>8}{_pct(s.mrec_non_rare):>10}")
        nan_classes = int(np.isnan(self.default.recall).sum())
        if nan_classes:
            lines.append(f"({nan_classes} classes have detections but no GT: recall 0/0 = NaN, as in eval_one.m)")
        return "\n".join(lines)

    def to_dict(self, per_class: bool = True) -> dict[str, Any]:
        """Plain-Python result (fractions, not %; NaN becomes None)."""
        out: dict[str, Any] = {
            "protocol": "ho-rcnn eval_one.m / VOCevaldet_bboxpair.m (11-point AP, min overlap 0.5)",
            "num_classes": len(self.rare), "num_rare": int(self.rare.sum()), "num_images": self.num_images,
            "settings": {s.name: {k: _json_value(v) for k, v in s.summary().items()} for s in self.settings},
        }
        if per_class:
            out["per_class"] = [row for row in self._rows()]
        return out

    def to_json(self, per_class: bool = True) -> str:
        return json.dumps(self.to_dict(per_class), indent=1)

    def _rows(self) -> list[dict[str, Any]]:
        rows = []
        for c, name in enumerate(self.action_names):
            row: dict[str, Any] = {"hoi": c + 1, "action": name, "rare": bool(self.rare[c]),
                                   "num_train": int(self.num_train[c]), "num_gt": int(self.num_gt[c])}
            for s, key in ((self.default, "default"), (self.known_object, "known_object")):
                row[f"num_det_{key}"] = int(s.num_detections[c])
                row[f"ap_{key}"] = _json_value(float(s.ap[c]))
                row[f"rec_{key}"] = _json_value(float(s.recall[c]))
            rows.append(row)
        return rows

    def write_csv(self, path: str | os.PathLike[str]) -> None:
        """Per-class CSV (hoi is 1-based as in list_action; empty cell = NaN), written atomically."""
        rows = self._rows()
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["hoi"], lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else repr(v) if isinstance(v, float) else v) for k, v in row.items()})
        _write_text(path, buf.getvalue())

    def write_json(self, path: str | os.PathLike[str]) -> None:
        _write_text(path, self.to_json() + "\n")


def _write_text(path: str | os.PathLike[str], text: str) -> None:
    try:
        hico_mat.atomic_write(path, lambda f: f.write(text.encode("utf-8")))
    except OSError as e:
        raise DataFormatError(f"{os.fspath(path)}: cannot write ({e})") from e
