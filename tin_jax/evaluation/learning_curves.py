"""``learning_curves.png`` of a training workdir, drawn from its ``metrics.jsonl``: the loss of
each term (H, O, sp, D, ...) on the training stream, and the held-out mAP of the periodic
evaluations (``config.eval_every``) beside the ceiling of the same candidate pairs.

A line of ``metrics.jsonl`` is either a training log line (``loss``, ``loss_<term>``, ``lr``, ...)
or an evaluation line (keys under ``eval/``, see ``tin_jax.inference.evaluator.eval_scalars``).
"""

from __future__ import annotations

import json
import os

import numpy as np

from tin_jax.evaluation import reports

# Evaluation keys drawn, with their legend labels (HICO-DET, then V-COCO).
EVAL_CURVES = (
    ("eval/present/def/full", "Default mAP, classes with test GT"),
    ("eval/present/def/rare", "Default mAP, rare"),
    ("eval/present/def/non_rare", "Default mAP, non-rare"),
    ("eval/binary_ap", "interactiveness AP (D)"),
    ("eval/role_ap_s1", "role AP, scenario 1"),
    ("eval/role_ap_s2", "role AP, scenario 2"),
    ("eval/agent_ap", "agent AP"),
)
CEILING_KEY = "eval/ceiling/def/full"


def read_metrics(path: str) -> tuple[list[dict], list[dict]]:
    """(training lines, evaluation lines) of a metrics.jsonl, each sorted by step."""
    train, evals = [], []
    with open(path) as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                (evals if any(k.startswith("eval/") for k in row) else train).append(row)
    key = lambda r: r["step"]
    return sorted(train, key=key), sorted(evals, key=key)


def plot_learning_curves(metrics_path: str, path: str, size: tuple[int, int] = (1400, 520)) -> str:
    """Writes the two-panel figure to ``path``; returns it."""
    train, evals = read_metrics(metrics_path)
    fig = reports.new_figure(size)
    ax = fig.add_subplot(1, 2, 1)
    terms = sorted({k for r in train for k in r if k.startswith("loss_") or k.startswith("source_loss_")})
    for key in ["loss"] + terms:
        pts = [(r["step"], r[key]) for r in train if key in r and np.isfinite(r[key]) and r[key] > 0]
        if pts:
            s, v = zip(*pts)
            ax.plot(s, v, lw=2.2 if key == "loss" else 1.2, label=key.replace("loss_", "") if key != "loss" else "total")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_title("training loss per term (mean over each logging interval)", fontsize=10)
    if ax.lines:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)

    ax = fig.add_subplot(1, 2, 2)
    for key, label in EVAL_CURVES:
        pts = [(r["step"], 100 * r[key]) for r in evals if key in r and np.isfinite(r[key])]
        if pts:
            s, v = zip(*pts)
            ax.plot(s, v, marker="o", ms=4, lw=1.5, label=label)
    ceil = [(r["step"], 100 * r[CEILING_KEY]) for r in evals if CEILING_KEY in r]
    if ceil:
        s, v = zip(*ceil)
        ax.plot(s, v, ls="--", color="gray", lw=1.2, label="ceiling (perfect classifier, Default)")
        ax.axhline(2 / 3 * v[-1], ls=":", color="gray", lw=1.0, label="2/3 of the ceiling")
    ax.set_xlabel("step")
    ax.set_ylabel("%")
    ax.set_ylim(0, 100)
    ax.set_title("held-out evaluation (test split)" if evals else
                 "held-out evaluation: none yet (config.eval_every)", fontsize=10)
    if ax.lines:
        ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return reports.save_png(fig, path)
