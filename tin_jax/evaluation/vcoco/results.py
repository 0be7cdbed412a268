"""V-COCO results: agent AP and role AP per scenario, their means, and the report vsrl_eval prints.

Agent mean = ``nansum(AP) / #actions`` (26; an action without positive GT counts as 0); role mean = ``nanmean``
over the 25 roles; TIN's "omitting point" mean drops ``point-instr`` (TIN prints ``(nanmean * 25 - AP_point) /
24``, which equals the nanmean over the other 24 when all 25 are defined).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tin_jax.evaluation.vcoco.matching import SCENARIOS

__all__ = ["OMITTED_ROLE", "AgentAP", "RoleAP", "VcocoEvalResult"]

OMITTED_ROLE = ("point", "instr")  # TIN's "omitting the action point" average


def _nan_to_none(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


@dataclasses.dataclass(frozen=True)
class AgentAP:
    actions: tuple[str, ...]
    ap: tuple[float, ...]  # fractions; NaN where the action has no positive GT
    npos: tuple[int, ...]

    @property
    def mean(self) -> float:
        """``nansum(AP) / #actions``, as vsrl_eval's "Average Agent AP"."""
        return float(np.nansum(np.asarray(self.ap, dtype=np.float32))) / len(self.ap)


@dataclasses.dataclass(frozen=True)
class RoleAP:
    scenario: str
    roles: tuple[tuple[str, str], ...]  # (action, role)
    ap: tuple[float, ...]
    npos: tuple[int, ...]

    def _nanmean(self, keep: Sequence[bool]) -> float:
        vals = np.asarray([a for a, k in zip(self.ap, keep) if k], dtype=np.float32)
        if vals.size == 0 or np.all(np.isnan(vals)):
            return math.nan
        return float(np.nanmean(vals))

    @property
    def mean(self) -> float:
        """nanmean over all roles (25 for V-COCO), as vsrl_eval's "Average Role AP"."""
        return self._nanmean([True] * len(self.roles))

    @property
    def mean_without_point(self) -> float:
        """nanmean without point-instr (24 roles): TIN's "omitting the action point" number."""
        return self._nanmean([r != OMITTED_ROLE for r in self.roles])

    def by_name(self) -> dict[str, float]:
        return {f"{a}-{r}": ap for (a, r), ap in zip(self.roles, self.ap)}


@dataclasses.dataclass(frozen=True)
class VcocoEvalResult:
    agent: AgentAP
    scenario_1: RoleAP
    scenario_2: RoleAP
    num_images: int
    num_detections: int
    num_outside_split: int  # detections whose image is not in the split (ignored, as by vsrl_eval)

    def role(self, scenario: str) -> RoleAP:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; use one of {SCENARIOS}")
        return getattr(self, scenario)

    def format_table(self) -> str:
        """The report vsrl_eval (TIN's copy) prints, in percent."""
        lines = ["---------Reporting Agent AP (%)------------------"]
        for action, ap, n in zip(self.agent.actions, self.agent.ap, self.agent.npos):
            lines.append(f"{action: >20}: AP = {ap * 100:0.2f} (#pos = {n:d})")
        lines += [f"Average Agent AP = {self.agent.mean * 100:.2f}", "---------------------------------------------"]
        for scenario in SCENARIOS:
            table = self.role(scenario)
            lines.append("---------Reporting Role AP (%)------------------")
            for (action, role), ap, n in zip(table.roles, table.ap, table.npos):
                lines.append(f"{action + '-' + role: >23}: AP = {ap * 100:0.2f} (#pos = {n:d})")
            lines += [f"Average Role [{scenario}] AP = {table.mean * 100:.2f}",
                      "---------------------------------------------",
                      f"Average Role [{scenario}] AP = {table.mean_without_point * 100:.2f}, "
                      'omitting the action "point"',
                      "---------------------------------------------"]
        return "\n".join(lines)

    def format_summary(self) -> str:
        """The headline numbers in one small table (papers report role AP over 24 roles)."""
        rows = [f"V-COCO role mAP (%)   {'24 roles':>8}  {'25 roles':>8}"]
        for scenario in SCENARIOS:
            t = self.role(scenario)
            rows.append(f"{scenario.replace('_', ' ').capitalize():<20}  {t.mean_without_point * 100:>8.2f}  "
                        f"{t.mean * 100:>8.2f}")
        rows.append(f"{'Agent mAP':<20}  {self.agent.mean * 100:>8.2f}")
        return "\n".join(rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (fractions, NaN -> None) for JSON."""
        out: dict[str, Any] = {
            "agent": {"ap": {a: _nan_to_none(v) for a, v in zip(self.agent.actions, self.agent.ap)},
                      "npos": dict(zip(self.agent.actions, self.agent.npos)),
                      "mean": _nan_to_none(self.agent.mean)},
            "num_images": self.num_images, "num_detections": self.num_detections,
            "num_outside_split": self.num_outside_split,
        }
        for scenario in SCENARIOS:
            table = self.role(scenario)
            out[scenario] = {"ap": {k: _nan_to_none(v) for k, v in table.by_name().items()},
                             "mean": _nan_to_none(table.mean),
                             "mean_without_point": _nan_to_none(table.mean_without_point)}
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)
