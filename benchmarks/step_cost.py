"""Where a training step's compute goes, and what four reformulations save.

    python benchmarks/step_cost.py [--image 480 640] [--repeats 3] [--dtype bfloat16] [--skip_step]
                                   [--distinct 22] [--table_rows 24] [--flops_only_rows 32 48 64 80]

The full network (``TINConfig()``, ResNet-50, 600 classes) on one image per step with the
pipeline's 80 pair slots (20 positives first: pos_augment 15 + chunk 5, then 60 negatives).
Three formulations, side by side:

- ``direct``: the graph as the original writes it: the iCAN context
  ``mean(relu(conv1x1(head_g * att)))`` in the original's order, the 512 -> 1024 conv over
  every position once per pair; the object stream (res5 + attention) on all 80 rows; the
  gradient of every parameter computed, the frozen ones dropped by the optimizer's mask;
- ``reformulated`` (the model tin-jax trains): ``tin.attended_mean`` (``W (a g) + b = a (W g) + b``: one conv per image, a scale per
  pair); the object stream on the 20 positive rows only (``TIN(..., positive_rows=)``: nothing
  reads a negative's object features in training; the original TF graph crops objects of
  positives only, with a dynamic shape); frozen parameters differentiated as constants
  (``optim.stop_frozen_gradients``; TF's ``var_list`` pruned them the same way). Same losses
  and gradients (tests/test_tin_model.py, tests/test_optim.py);
- ``distinct``: the same, with the human res5 once per distinct human box of the step (the
  pipeline's ``human_table`` / ``human_index``, ``config.data.human_table_sizes``): ``--distinct``
  distinct humans (default 22, the most any step of the synthetic training set holds:
  ``benchmarks/distinct_boxes.py``) in a table of ``--table_rows`` rows. Same losses and
  gradients as ``reformulated`` (tests/test_tin_model.py); the losses printed below agree.

Part 1 profiles the forward pass by pieces: each component compiled and timed alone, with its
FLOPs from XLA's cost analysis ("the rest" = the whole forward minus the pieces); part 2 the whole jitted train step (forward, loss, gradient, clipping, momentum) of
both, for the joint phase (stem + block1 frozen) and the D-only phase: FLOPs, XLA's temporary
buffer size (the activations the backward keeps, among others), median step time and the
ratios. Last, the bound these FLOPs put on the full HICO-DET schedule (2M image-iterations) at
100% of a card's dense bfloat16 peak, and on a GPU the MFU measured.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.model import (FULL, GPU_PEAK_TFLOPS, flops_of, gpu_peak,  # noqa: E402
                              make_model, synthetic_batch, time_call, with_human_table)
from benchmarks.train import jitted_step  # noqa: E402
from configs import common  # noqa: E402
from tin_jax.training import train_step  # noqa: E402
from tin_jax.data import sampling  # noqa: E402
from tin_jax.models.resnet import mask_padding  # noqa: E402
from tin_jax.models.tin import TIN  # noqa: E402

PAIRS = sampling.SamplingConfig().max_pairs  # 80
NUM_POS = sampling.SamplingConfig().max_positives  # 20
SCHEDULE_IMAGES = 2_000_000  # the HICO-DET schedule in image-iterations (issue 5's target)


class DirectTIN(TIN):
    """The baseline: the context in the original's order, the object stream on every row."""

    def _object_rows(self, positive, positive_rows):
        return None

    def _context_map(self, head_g):
        return head_g

    def _context(self, attention, instance, head_phi, head_g, valid):
        att = attention(instance, head_phi, valid)  # (B, P, h, w)
        x = jax.nn.relu(self.bottleneck(head_g[:, None] * att[..., None].astype(head_g.dtype)))
        m = valid[:, None, :, :, None].astype(x.dtype)
        count = valid.sum(axis=(1, 2)).astype(jnp.float32)[:, None, None]
        return (x * m).sum(axis=(2, 3)).astype(jnp.float32) / count


VARIANTS = {"direct": DirectTIN, "reformulated": TIN, "distinct": TIN}
TABLE = "distinct"  # the formulation that reads the human table


def _measure(fn, args, repeats) -> tuple[float, float]:
    """(FLOPs, median seconds) of one jitted piece."""
    compiled, _, (_, _, median, _, _) = time_call(fn, args, repeats)
    return flops_of(compiled), median


def components(cfg, batch, repeats) -> list[tuple[str, tuple, tuple]]:
    """(component, (FLOPs, s) of each formulation of ``VARIANTS``) of one forward pass; a profile
    by pieces, each compiled and timed alone."""
    parts, params, stats = {}, {}, {}
    for name, cls in VARIANTS.items():
        parts[name], params[name], stats[name] = make_model(cfg, calibrate=False, model_cls=cls)
    image, patterns = train_step.device_batch(batch)
    hw = batch["image_hw"]
    humans = {n: batch["human_table"] if n == TABLE else batch["human_boxes"] for n in VARIANTS}
    index = {n: batch["human_index"] if n == TABLE else None for n in VARIANTS}
    positive = jnp.arange(PAIRS)[None] < batch["num_pos"][:, None]

    c = 16 * cfg.width
    fh, fw = (-(-s // 16) for s in batch["image"].shape[1:3])
    rng = np.random.default_rng(0)  # stand-ins for the head and the res5 features
    head_in = jnp.asarray(np.maximum(rng.normal(size=(1, fh, fw, c)), 0), cfg.dtype or jnp.float32)
    fc7_in = jnp.asarray(np.maximum(rng.normal(size=(1, PAIRS, 2 * c)), 0), jnp.float32)

    def piece(name, what):
        """GFLOP of one piece; the res5 and context pieces take the head as an input."""
        def fn(prm, st, head, fc7):
            m = parts[name].merge(prm, st)
            fhw = -(-hw // 16)
            rows = m._object_rows(positive, NUM_POS)
            if what == "backbone":
                return m.backbone.image_to_head(image, hw)
            if what == "human res5":
                return m._res5(m.backbone.block4, head, humans[name], fhw)
            if what == "object res5":
                return m._res5(m.block5, head, batch["object_boxes"][:, :rows], fhw)
            if what == "spatial + pose CNNs":
                return m.sp(patterns[..., :2]), m.pose_map(patterns[..., 2:])
            if what == "attention contexts (H + O)":
                valid = mask_padding(jnp.ones(head.shape[:3] + (1,), bool), fhw)[..., 0]
                phi = jax.nn.relu(m.head_phi(head))
                cmap = m._context_map(jax.nn.relu(m.head_g(head)))
                return (m._context(m.Att_H, fc7, phi, cmap, valid),
                        m._context(m.Att_O, fc7[:, :rows], phi, cmap, valid))
            if what == "forward":
                return m(image, hw, humans[name], batch["object_boxes"], patterns,
                         human_index=index[name], positive=positive, positive_rows=NUM_POS,
                         train=True)
            raise ValueError(what)
        return _measure(fn, (params[name], stats[name], head_in, fc7_in), repeats)

    rows = []
    for what in ("backbone", "human res5", "object res5", "attention contexts (H + O)",
                 "spatial + pose CNNs"):
        rows.append((what, *(piece(n, what) for n in VARIANTS)))
        print(f"  {what}: done", file=sys.stderr, flush=True)
    total = [piece(n, "forward") for n in VARIANTS]
    rest = [tuple(t[j] - sum(r[1 + i][j] for r in rows) for j in range(2))
            for i, t in enumerate(total)]
    rows.append(("the rest (RoI crops, attention logits, FC heads, D)", *rest))
    rows.append(("whole forward", *total))
    return rows


PHASES = {  # phase -> (train_only regex, fixed_blocks) of configs/tin_hico.py's two phases
    "joint (H, O, sp, D)": ("", 1),
    "D only": ("binary", 1),
}


def step_config(name, train_only, fixed_blocks):
    """The phase's training config as the formulation ran it (see ``time_train_step``)."""
    config = common.base_config()
    config.optim.train_only = train_only if name != "direct" else ""
    config.optim.fixed_blocks = fixed_blocks if name != "direct" else 0
    config.loss.terms = ("binary",) if train_only else ("H", "O", "sp", "binary")
    return config


def step_batch(name, batch):
    """The per-pair formulations do not read the table (the trainer's keys of a run without)."""
    return batch if name == TABLE else {k: v for k, v in batch.items() if not k.startswith("human_")
                                        or k == "human_boxes"}


def time_train_step(name, cfg, batches, repeats, train_only, fixed_blocks):
    """(FLOPs, temp bytes, median s, first step's loss, last loss) of the jitted train step of
    one formulation.

    ``before`` differentiated every parameter (the optimizer's mask dropped the frozen ones
    afterwards): run here with nothing frozen, which computes the same gradients (plus their
    tiny update).
    """
    step, state = jitted_step(cfg, step_config(name, train_only, fixed_blocks), VARIANTS[name])
    batches = [step_batch(name, b) for b in batches]
    compiled = step.lower(state, batches[0]).compile()
    mem = compiled.memory_analysis()
    temp = float(getattr(mem, "temp_size_in_bytes", float("nan"))) if mem is not None else float("nan")
    state, metrics = compiled(state, batches[0])
    first_loss = float(metrics["loss"])  # same parameters and batch in every formulation
    times = []
    for k in range(repeats):
        t0 = time.perf_counter()
        state, metrics = compiled(state, batches[(k + 1) % len(batches)])
        jax.block_until_ready((state, metrics))
        times.append(time.perf_counter() - t0)
    print(f"  {name} step: {statistics.median(times):.2f} s", file=sys.stderr, flush=True)
    return flops_of(compiled), temp, statistics.median(times), first_loss, float(metrics["loss"])


def table_flops(cfg, batch, rows_list, train_only="", fixed=1) -> dict[int, float]:
    """Joint-phase train-step FLOPs of the ``distinct`` formulation per table size (compiled
    for XLA's cost analysis only, not run)."""
    out = {}
    for rows in rows_list:
        b = jax.tree.map(jnp.asarray, with_human_table(jax.tree.map(np.asarray, batch),
                                                      min(rows, PAIRS), rows))
        step, state = jitted_step(cfg, step_config(TABLE, train_only, fixed), TIN)
        out[rows] = flops_of(step.lower(state, b).compile())
        print(f"  table of {rows} rows: {out[rows] / 1e12:.3f} TFLOP", file=sys.stderr, flush=True)
    return out


def _ratios(a, b):
    return "|".join(f" {x / y:.2f}x " for x, y in zip(a, b))


def print_components(cfg, batch, repeats) -> None:
    names = list(VARIANTS)
    print(f"\nForward pass by component (each piece compiled and timed alone, median of "
          f"{repeats}; GFLOP from XLA's cost analysis):\n")
    print("| component | " + " | ".join(f"GFLOP {n}" for n in names) + " | " +
          " | ".join(f"ms {n}" for n in names) + " | GFLOP direct / distinct |\n|---|" + "---:|" * 7)
    for what, *res in components(cfg, batch, repeats):
        # "the rest" is a difference of timings: within noise it can come out <= 0
        times = " | ".join(f"{1e3 * t:.0f}" if t > 0 else "(noise)" for _, t in res)
        print(f"| {what} | " + " | ".join(f"{f / 1e9:.1f}" for f, _ in res) + f" | {times} | "
              f"{res[0][0] / res[-1][0]:.2f}x |", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--image", type=int, nargs=2, default=(480, 640), help="image (= bucket) size")
    p.add_argument("--repeats", type=int, default=3, help="timed steps per formulation")
    p.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
    p.add_argument("--skip_step", action="store_true", help="FLOP table only, no train steps")
    p.add_argument("--distinct", type=int, default=22, help="distinct human boxes in the step")
    p.add_argument("--table_rows", type=int, default=24, help="their table's size")
    p.add_argument("--flops_only_rows", type=int, nargs="*", default=(32, 48, 64, 80),
                   help="further table sizes: the joint step's FLOPs only (compiled, not run)")
    args = p.parse_args()
    dtype = jnp.bfloat16 if args.dtype == "bfloat16" else None
    cfg = dataclasses.replace(FULL, dtype=dtype)
    hw = tuple(args.image)
    make = lambda k: jax.tree.map(jnp.asarray, with_human_table(
        synthetic_batch(k, 1, hw, PAIRS, NUM_POS), args.distinct, args.table_rows))
    device = jax.devices()[0]
    print(f"# TIN train step cost: {device.device_kind} ({device.platform}), {args.dtype}, "
          f"image {hw[0]}x{hw[1]}, {PAIRS} pair slots ({NUM_POS} positive); distinct: "
          f"{args.distinct} distinct humans in a table of {args.table_rows} rows")
    print_components(cfg, make(1), args.repeats)
    if args.skip_step:
        return
    batches = [make(k) for k in range(3)]
    print(f"\nWhole train step (median of {args.repeats} after a compiling step; "
          f"direct = every parameter differentiated):\n")
    print("| phase | formulation | TFLOP | temp buffers (GiB) | step (s) | loss, step 1 | loss, last |\n"
          "|---|---|---:|---:|---:|---:|---:|")
    joint = None
    for phase, (train_only, fixed) in PHASES.items():
        res = {n: time_train_step(n, cfg, batches, args.repeats, train_only, fixed) for n in VARIANTS}
        for n, (f, temp, t, first, last) in res.items():
            print(f"| {phase} | {n} | {f / 1e12:.3f} | {temp / 2**30:.2f} | {t:.2f} | {first:.6f} | "
                  f"{last:.4f} |")
        for a, b in (("direct", "reformulated"), ("reformulated", "distinct"), ("direct", "distinct")):
            print(f"| {phase} | {a} / {b} |{_ratios(res[a][:3], res[b][:3])}| | |", flush=True)
        joint = joint or res
    print(f"\n(load average {os.getloadavg()[0]:.1f})")

    rows = sorted(set(args.flops_only_rows) - {args.table_rows})
    if rows:
        print(f"\nJoint-phase step FLOPs by human table size (distinct; {args.table_rows} rows from "
              f"above, the rest compiled for XLA's cost analysis only; {PAIRS} rows = every pair slot):\n")
        flops = {args.table_rows: joint[TABLE][0], **table_flops(cfg, batches[0], rows)}
        print("| table rows | TFLOP per image-step | vs reformulated (80 per-pair rows) |\n|---:|---:|---:|")
        for r in sorted(flops):
            print(f"| {r} | {flops[r] / 1e12:.3f} | {joint['reformulated'][0] / flops[r]:.2f}x |")

    print(f"\nLower bound for {SCHEDULE_IMAGES:,} image-iterations of the joint phase at 100% of "
          f"the dense bf16 peak (the FLOPs above, at this image size):")
    for card in ("H100", "A100"):
        peak = GPU_PEAK_TFLOPS[card][0] * 1e12
        print(f"- {card}: " + ", ".join(f"{n} {SCHEDULE_IMAGES * joint[n][0] / peak / 60:.0f} min"
                                       for n in VARIANTS))
    peak = gpu_peak(device, dtype)
    if peak:
        for n, (f, _, t, _, _) in joint.items():
            print(f"- measured MFU on this card, joint phase, {n}: {100 * f / t / peak:.1f}%")


if __name__ == "__main__":
    main()
