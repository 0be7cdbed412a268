"""The HICO-DET numbers a reader looks at first: mAP over the classes that have test ground
truth, the model beside its ceiling (``tin_jax.evaluation.ceiling``).

The official numbers average all 600 classes. On the real test set every class has ground
truth; on a small (synthetic) one most do not, their AP of 0 swamps the mean and their
recall is 0/0 = NaN. This view is ours, labelled as such, next to the official table.
"""

from __future__ import annotations

import numpy as np

from tin_jax.evaluation import hico_det

SPLITS = ("full", "rare", "non_rare")


def present_classes(gt: hico_det.HicoGroundTruth) -> np.ndarray:
    """(600,) bool: the classes with at least one test GT pair."""
    return np.diff(gt.offsets) > 0


def present_summary(result: hico_det.HicoDetResult, gt: hico_det.HicoGroundTruth) -> dict[str, dict[str, float]]:
    """{'def' | 'ko': {'full' | 'rare' | 'non_rare': mAP (0..1) over the present classes}}; NaN for
    an empty split."""
    present = present_classes(gt)
    rare = result.rare
    masks = {"full": present, "rare": present & rare, "non_rare": present & ~rare}
    return {s.setting: {k: float(np.mean(s.ap[m])) if m.any() else float("nan") for k, m in masks.items()}
            for s in result.settings}


def _pct(x: float) -> str:
    return "nan" if np.isnan(x) else f"{100 * x:.2f}"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b > 0 and not np.isnan(a) else "-"


def headline_table(result: hico_det.HicoDetResult, gt: hico_det.HicoGroundTruth,
                   ceiling: hico_det.HicoDetResult | None = None, style: str = "console") -> str:
    """The model's mAP over the present classes (Full / Rare / Non-Rare, both settings), with the
    ceiling and the model / ceiling ratio beside it when given. ``style``: console or markdown."""
    present = present_classes(gt)
    n_rare = int((present & result.rare).sum())
    model = present_summary(result, gt)
    top = present_summary(ceiling, gt) if ceiling is not None else None
    names = {s.setting: s.name for s in result.settings}
    title = (f"mAP (%) over the {int(present.sum())} HOI classes with test ground truth "
             f"({n_rare} rare, {int(present.sum()) - n_rare} non-rare)")
    note = ("ceiling: the same candidate pairs scored by a perfect classifier (1 if the pair matches a "
            "GT pair of the HOI, else 0); below 100 only through detection recall")
    if style == "markdown":
        head = "| setting | model: Full / Rare / Non-Rare |"
        rule = "|---|---|"
        if top:
            head += " ceiling: Full / Rare / Non-Rare | model / ceiling (Full) |"
            rule += "---|---|"
        lines = [f"**{title}**", "", head, rule]
        for s, name in names.items():
            row = f"| {name} | {' / '.join(_pct(model[s][k]) for k in SPLITS)} |"
            if top:
                row += (f" {' / '.join(_pct(top[s][k]) for k in SPLITS)} |"
                        f" {_ratio(model[s]['full'], top[s]['full'])} |")
            lines.append(row)
        if top:
            lines += ["", f"_{note}._"]
        return "\n".join(lines)
    if style != "console":
        raise ValueError(f"unknown table style {style!r} (console, markdown)")
    cols = f"{'Full':>7}{'Rare':>7}{'Non-Rare':>10}"
    lines = [title + ":"]
    if top:
        lines.append(f"{'':16}{'model':^24}  {'ceiling':^24}  {'model/ceiling':>13}")
        lines.append(f"{'setting':16}{cols}  {cols}  {'Full':>13}")
    else:
        lines.append(f"{'setting':16}{cols}")
    for s, name in names.items():
        row = f"{name:16}" + "".join(f"{_pct(model[s][k]):>{w}}" for k, w in zip(SPLITS, (7, 7, 10)))
        if top:
            row += "  " + "".join(f"{_pct(top[s][k]):>{w}}" for k, w in zip(SPLITS, (7, 7, 10)))
            row += f"  {_ratio(model[s]['full'], top[s]['full']):>13}"
        lines.append(row)
    if top:
        lines.append(f"({note})")
    return "\n".join(lines)
