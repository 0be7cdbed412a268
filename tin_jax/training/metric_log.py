"""Per-step metrics: fetched from the devices in bulk, checked finite, written to
``metrics.jsonl`` and TensorBoard."""

from __future__ import annotations

import json
import os
import time

import jax
import numpy as np


class TrainingError(RuntimeError):
    """A run cannot continue (non-finite loss, shape churn, bad init source)."""


class MetricLog:
    """Collects per-step device metrics, fetches them in bulk, checks finiteness, writes."""

    def __init__(self, workdir: str, start_step: int, writer):
        self.pending: list[tuple[int, dict]] = []
        self.writer = writer
        self.path = os.path.join(workdir, "metrics.jsonl")
        self.is_main = jax.process_index() == 0
        if self.is_main and os.path.exists(self.path):  # drop lines a killed run wrote past the resume point
            keep = [l for l in open(self.path) if json.loads(l)["step"] <= start_step]
            with open(self.path, "w") as f:
                f.writelines(keep)
        self.t0, self.steps_since = time.perf_counter(), 0

    def add(self, step: int, metrics: dict) -> None:
        self.pending.append((step, metrics))

    def flush(self, images_per_step: int) -> dict | None:
        """Fetches pending metrics; raises TrainingError at the first non-finite loss."""
        if not self.pending:
            return None
        fetched = jax.device_get([m for _, m in self.pending])
        steps = [s for s, _ in self.pending]
        self.pending = []
        for s, m in zip(steps, fetched):
            total = "loss" if "loss" in m else "source_loss"
            if not np.isfinite(m[total]):
                bad = [k.split("loss_", 1)[1] for k, v in m.items()
                       if "loss_" in k and not np.isfinite(v)]
                raise TrainingError(f"non-finite loss at step {s + 1}: {total}={m[total]} "
                                    f"(terms: {', '.join(bad) or 'total'})")
        dt = time.perf_counter() - self.t0
        n = len(fetched)
        keys = sorted({k for m in fetched for k in m} - {"pairs"})
        mean = {k: float(np.mean([m[k] for m in fetched if k in m])) for k in keys}
        mean["images_per_sec"] = n * images_per_step / dt
        mean["pairs_per_sec"] = float(sum(m["pairs"] for m in fetched)) / dt
        step = steps[-1] + 1
        if self.is_main:
            self.writer.write_scalars(step, mean)
            with open(self.path, "a") as f:
                f.write(json.dumps(dict(step=step, **mean)) + "\n")
        self.t0 = time.perf_counter()
        return mean

    def write_eval(self, step: int, scalars: dict[str, float]) -> None:
        """One evaluation's scalars (keys ``eval/...``), a line of their own in metrics.jsonl."""
        if self.is_main:
            self.writer.write_scalars(step, scalars)
            with open(self.path, "a") as f:
                f.write(json.dumps(dict(step=step, **{k: float(v) for k, v in scalars.items()})) + "\n")
        self.t0 = time.perf_counter()  # the evaluation's time is not training throughput
