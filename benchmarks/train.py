"""Train-step speed: step time, images/s and pairs/s, float32 against bfloat16 computation.

    python benchmarks/train.py [--repeats 5] [--full_repeats 3] [--skip_full] [--batch 1]

The step is ``train_step.make_train_step`` (forward, HICO-DET loss, gradient, per-variable clipping,
momentum SGD with the SGDR schedule and the frozen mask of ``optim.make_optimizer``), jitted with
the state donated, as ``train.py`` runs it; config values are ``configs/common.base_config()``'s.
Batches are random, in the pipeline's shapes and compact dtypes (uint8 image padded to a bucket,
uint8 patterns and labels, 80 pair slots = pos_augment 15 + chunk 5 + neg_select 60, all real):

- ``demo``: width 8, fc 128 (``configs/demo.py``), its 160 x 160 bucket;
- ``full``: ``TINConfig()`` (ResNet-50) at a small resolution, the 320 x 480 bucket.

Each model runs with ``dtype`` float32 (parameters and computation) and bfloat16 (computation;
parameters, optimizer state and the loss stay float32). Step time = median over repeats of one
step each, after a compiling step; ratios are against the float32 row of the same model.
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

from benchmarks.model import DEMO, FULL, NUM_CLASSES, flops_of, make_model, synthetic_batch  # noqa: E402
from configs import common  # noqa: E402
from tin_jax.training import optim, train_step  # noqa: E402
from tin_jax.data import sampling  # noqa: E402
from tin_jax.models import losses  # noqa: E402
from tin_jax.models.tin import TIN, TINConfig  # noqa: E402

PAIRS = sampling.SamplingConfig().max_pairs  # 80
NUM_POS = sampling.POS_AUGMENT + sampling.CHUNK_SIZE  # 20


@dataclasses.dataclass
class Row:
    model: str
    image: str
    dtype: str
    compile_s: float
    step_s: float
    min_s: float
    load: float
    images: int
    pairs: float
    flops: float
    loss: float


def jitted_step(cfg: TINConfig, config, model_cls: type = TIN):
    """(train.py's jitted HICO-DET step with the state donated, its initial state)."""
    parts, params, stats = make_model(cfg, model_cls=model_cls)
    tx, schedule, _ = optim.make_optimizer(config.optim, params)
    state = dict(params=params, stats=stats, opt=jax.jit(tx.init)(params),
                 step=jnp.zeros((), jnp.int32))
    weights = {"hoi": losses.class_weights(np.full(NUM_CLASSES, 100))}
    step = jax.jit(train_step.make_train_step(parts, tx, schedule, weights, config, "hico"),
                   donate_argnums=0)
    return step, state


def bench(name: str, cfg: TINConfig, bucket: tuple[int, int], batch: int, repeats: int,
          config) -> Row:
    """Median step time of one (model, dtype) on a few cycling random batches."""
    step, state = jitted_step(cfg, config)
    batches = [jax.tree.map(jnp.asarray, synthetic_batch(k, batch, bucket, PAIRS, NUM_POS))
               for k in range(3)]
    t0 = time.perf_counter()
    compiled = step.lower(state, batches[0]).compile()
    t_compile = time.perf_counter() - t0
    state, metrics = compiled(state, batches[0])
    jax.block_until_ready(metrics)
    times, pairs = [], []
    for k in range(repeats):
        b = batches[(k + 1) % len(batches)]
        t0 = time.perf_counter()
        state, metrics = compiled(state, b)
        jax.block_until_ready((state, metrics))
        times.append(time.perf_counter() - t0)
        pairs.append(float(metrics["pairs"]))
    loss = float(metrics["loss"])
    dtype = "float32" if cfg.dtype is None else jnp.dtype(cfg.dtype).name
    row = Row(name, "x".join(map(str, bucket)), dtype, t_compile, statistics.median(times),
              min(times), os.getloadavg()[0], batch,
              float(np.mean(pairs)), flops_of(compiled), loss)
    print(f"  {name} {row.image} {dtype}: compile {t_compile:.1f} s, step {1e3 * row.step_s:.1f} ms, "
          f"loss {loss:.4f}", file=sys.stderr, flush=True)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=8, help="timed steps per demo row")
    p.add_argument("--full_repeats", type=int, default=3, help="timed steps per full row")
    p.add_argument("--batch", type=int, default=1, help="images per step (the original: 1)")
    p.add_argument("--skip_full", action="store_true", help="no ResNet-50 rows")
    args = p.parse_args()

    config = common.base_config()
    dev = jax.devices()[0]
    where = (f"{dev.platform}, {os.cpu_count()} CPU cores" if dev.platform == "cpu"
             else f"{dev.device_kind} ({dev.platform})")
    print(f"TIN train step (make_train_step + make_optimizer, base_config optim: {config.optim.schedule} "
          f"lr {config.optim.lr}, momentum {config.optim.momentum}, clip {config.optim.clip_norm}); "
          f"batch {args.batch}, {PAIRS} pairs/image; {where}", flush=True)
    t_start = time.perf_counter()
    models = [("demo", DEMO, (160, 160), args.repeats)]
    if not args.skip_full:
        models.append(("full", FULL, (320, 480), args.full_repeats))
    rows = []
    for name, cfg, bucket, repeats in models:
        for dt in (None, jnp.bfloat16):
            rows.append(bench(name, dataclasses.replace(cfg, dtype=dt), bucket, args.batch, repeats,
                              config))
    print(f"\n{'model':<6} {'image':>8} {'dtype':<9} {'compile s':>9} {'step ms':>9} {'images/s':>9} "
          f"{'pairs/s':>9} {'min ms':>9} {'GFLOP':>8} {'GFLOP/s':>8} {'loss':>8} {'load':>5}  {'vs float32':>10}")
    base = {}
    for r in rows:
        base.setdefault(r.model, r)
        speed = base[r.model].step_s / r.step_s
        print(f"{r.model:<6} {r.image:>8} {r.dtype:<9} {r.compile_s:>9.1f} {1e3 * r.step_s:>9.1f} "
              f"{r.images / r.step_s:>9.3f} {r.pairs / r.step_s:>9.1f} {1e3 * r.min_s:>9.1f} "
              f"{r.flops / 1e9:>8.1f} {r.flops / r.step_s / 1e9:>8.1f} {r.loss:>8.4f} {r.load:>5.1f}  "
              f"{speed:>9.2f}x")
    print("step ms: median over repeats; vs float32: float32 median / this median (> 1 = faster);\n"
          "GFLOP: XLA's cost analysis of the compiled step; load: 1-minute load average after the\n"
          "row (above the core count = other processes competed for the cores).")
    print(f"total {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
