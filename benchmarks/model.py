"""TIN model speed: forward and forward + backward per image (jit), FLOPs, FLOP/s (MFU on GPU).

    python benchmarks/model.py [--repeats 5] [--full_repeats 3] [--skip_full] [--skip_full_res]

Rows (one image per step, as the original trains; 600 HICO-DET classes):

- ``full``: ``TINConfig()``, the ResNet-50 network, at the original resolution (a 600 x 900 image,
  64 pairs) and at a smaller one (320 x 480, 32 pairs). The tensors are unpadded here; the input
  pipeline would pad a 600 x 900 image to the (1024, 1024) default bucket (900 > 800), ~1.9x
  the pixels through the backbone;
- ``demo``: the tiny demo width (``width=8, fc_dim=128``) at both of those and at its own
  160 x 160 bucket with the pipeline's 80 pair slots.

Forward = inference (``train=False``: HOI scores + D's probabilities). Forward + backward = the
HICO-DET loss and its gradient w.r.t. every parameter (dropout on; no optimizer update, see
``benchmarks/train.py`` for the whole step). Times are medians over repeats of one call each,
after a compiling call. FLOPs per call come from XLA's cost analysis of the compiled program; FLOP/s =
FLOPs / median time. On a GPU the MFU against the card's dense tensor-core peak is printed too.

Last, the compilation count: the jitted forward is compiled for two image buckets and called twice
for each; the jit cache then holds two programs, and any image size maps to one of the
``DEFAULT_BUCKETS`` (or a rounded fallback), so compilations are bounded by the bucket count.
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
from flax import nnx  # noqa: E402

from tin_jax.training import train_step  # noqa: E402
from tin_jax.state import model as state_model  # noqa: E402
from tin_jax.data import encoding  # noqa: E402
from tin_jax.data import spatial  # noqa: E402
from tin_jax.models import losses  # noqa: E402
from tin_jax.models.resnet import FrozenStat, calibrate_batch_norm  # noqa: E402
from tin_jax.models.tin import TIN, TINConfig, hoi_scores  # noqa: E402

NUM_CLASSES = 600
FULL = TINConfig(num_classes=NUM_CLASSES)
DEMO = TINConfig(num_classes=NUM_CLASSES, width=8, fc_dim=128)

# Dense peak TFLOP/s (no sparsity) by device kind substring: (bf16/fp16, fp32 matmuls as XLA runs
# them on the GPU, i.e. TF32 tensor cores under JAX's default precision).
GPU_PEAK_TFLOPS = {
    "H200": (989.0, 494.5),
    "H100": (989.0, 494.5),  # SXM; the PCIe card is ~756 / 378
    "A100": (312.0, 156.0),
    "L4": (121.0, 60.0),
    "V100": (125.0, 15.7),
}


# -- inputs and models -----------------------------------------------------------------------

def _boxes(rng, n, h, w):
    """(n, 4) random ``[x1, y1, x2, y2]`` boxes inside an h x w image, 8..60% of its sides."""
    bw = rng.uniform(0.08, 0.6, n) * w
    bh = rng.uniform(0.08, 0.6, n) * h
    x1 = rng.uniform(0, w - bw)
    y1 = rng.uniform(0, h - bh)
    return np.stack([x1, y1, x1 + bw, y1 + bh], axis=1).astype(np.float32)


def synthetic_batch(seed: int, batch: int, image_hw: tuple[int, int], pairs: int,
                    num_pos: int | None = None, bucket: tuple[int, int] | None = None,
                    num_classes: int = NUM_CLASSES) -> dict[str, np.ndarray]:
    """A random batch with the input pipeline's keys, shapes and compact dtypes.

    ``image`` uint8 (B, H, W, 3) padded to ``bucket`` (default: the image size),
    ``pattern_geometry`` (two boxes and 17 limbs a pair, painted in the step), 0/1 uint8 labels;
    the first ``num_pos`` pairs are positives.
    """
    rng = np.random.default_rng(seed)
    h, w = image_hw
    bh, bw = bucket or image_hw
    num_pos = pairs // 4 if num_pos is None else num_pos
    image = np.zeros((batch, bh, bw, 3), np.uint8)
    image[:, :h, :w] = rng.integers(0, 256, (batch, h, w, 3), dtype=np.uint8)
    geometry = _pattern_geometry(rng, (batch, pairs))
    labels = np.zeros((batch, pairs, num_classes), np.uint8)
    rows = np.arange(pairs)[None, :] < num_pos
    cls = rng.integers(0, num_classes, (batch, pairs))
    labels[np.arange(batch)[:, None], np.arange(pairs)[None, :], cls] = 1
    binary = np.stack([rows, ~rows], -1).astype(np.uint8) * np.ones((batch, 1, 1), np.uint8)
    human_boxes = np.stack([_boxes(rng, pairs, h, w) for _ in range(batch)])
    return dict(
        image=image, image_hw=np.tile(np.array([[h, w]], np.int32), (batch, 1)),
        human_boxes=human_boxes,
        part_boxes=np.repeat(human_boxes[:, :, None], 10, axis=2),  # a human without pose
        object_boxes=np.stack([_boxes(rng, pairs, h, w) for _ in range(batch)]),
        pattern_geometry=geometry, labels=labels, person_labels=labels.copy(), binary=binary,
        pair_mask=np.ones((batch, pairs), np.float32),
        num_pos=np.full((batch,), num_pos, np.int32))


def _pattern_geometry(rng, lead: tuple[int, ...]) -> np.ndarray:
    """Random ``spatial.pattern_geometry`` rows: a human and an object box on the 64 px canvas
    and 17 visible limbs between points of it."""
    g = np.zeros(lead + (spatial.GEOMETRY_LEN,), np.int16)
    for box in (slice(0, 4), slice(4, 8)):
        start = rng.integers(0, 48, lead + (2,))
        g[..., box] = np.concatenate([start, start + rng.integers(1, 17, lead + (2,))], axis=-1)
    limbs = np.ones(lead + (len(spatial.LIMBS), spatial.LIMB_FIELDS), np.int16)  # visible
    limbs[..., 1:] = rng.integers(0, 64, limbs.shape[:-1] + (4,))
    g[..., spatial.FIRST_LIMB:] = limbs.reshape(lead + (-1,))
    return g


def with_human_table(batch: dict[str, np.ndarray], distinct: int, rows: int) -> dict[str, np.ndarray]:
    """``batch`` with ``distinct`` distinct human boxes laid out as the pipeline lays out a step:
    pair p reads table row ``p`` (the positives and the first negatives: distinct jittered
    copies, detected humans) then cycles over them (negatives sharing the image's humans); the
    table padded with zero rows to ``rows``. ``human_boxes`` becomes the per-pair view of the
    table, so the per-pair and the table formulations see the same boxes."""
    pairs = batch["human_boxes"].shape[1]
    if not 0 < distinct <= min(rows, pairs):
        raise ValueError(f"distinct={distinct} must be in [1, min(rows={rows}, pairs={pairs})]")
    index = np.arange(pairs) % distinct
    table = np.zeros(batch["human_boxes"].shape[:1] + (rows, 4), np.float32)
    table[:, :distinct] = batch["human_boxes"][:, :distinct]
    human_boxes = table[:, index]
    return dict(batch, human_boxes=human_boxes, human_table=table,
                human_index=np.broadcast_to(index.astype(np.int32), human_boxes.shape[:2]).copy())


def make_model(cfg: TINConfig, seed: int = 0, calibrate: bool = True, model_cls: type = TIN):
    """(parts, params, stats) on the default device, frozen-BN statistics calibrated on one
    small random image (a from-scratch ResNet-50 with identity BN explodes; real runs start
    from a checkpoint whose statistics are real)."""
    mesh = state_model.make_mesh()
    repl = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    parts, params, stats = state_model.build(cfg, seed, repl, model_cls)
    if calibrate:
        b = jax.tree.map(jnp.asarray, synthetic_batch(seed, 1, (160, 240), 8))
        model = parts.merge(params, stats)
        image, patterns = train_step.device_batch(b)
        calibrate_batch_norm(model, lambda m: m(image, b["image_hw"], b["human_boxes"],
                                                b["object_boxes"], patterns))
        stats = nnx.to_pure_dict(nnx.split(model, nnx.Param, FrozenStat, ...)[2])
    return parts, params, stats


def forward_fn(parts):
    """Inference on a pipeline batch: (HOI scores, D's probabilities)."""
    def fn(params, stats, batch):
        model = parts.merge(params, stats)
        image, patterns = train_step.device_batch(batch)
        logits = model(image, batch["image_hw"], batch["human_boxes"], batch["object_boxes"],
                       patterns, train=False)
        return hoi_scores(logits), jax.nn.sigmoid(logits["binary"])
    return fn


def loss_grad_fn(parts, hoi_weight, positive_rows: int):
    """The HICO-DET loss and its gradient w.r.t. the parameters (dropout on), called as the
    train step calls the model (the object stream on the first ``positive_rows`` rows)."""
    def fn(params, stats, batch):
        image, patterns = train_step.device_batch(batch)
        p = batch["pair_mask"].shape[1]
        positive = jnp.arange(p)[None, :] < batch["num_pos"][:, None]

        def loss_fn(prm):
            model = parts.merge(prm, stats)
            nnx.reseed(model, dropout=jax.random.key(1))
            logits = model(image, batch["image_hw"], batch["human_boxes"], batch["object_boxes"],
                           patterns, positive=positive, positive_rows=positive_rows, train=True)
            return losses.hico_loss(logits, batch, hoi_weight)[0]

        return jax.value_and_grad(loss_fn)(params)
    return fn


# -- measurement -----------------------------------------------------------------------------

def flops_of(compiled) -> float:
    """FLOPs of one call from XLA's cost analysis (a dict, or a list of one in older jax)."""
    cost = compiled.cost_analysis()
    if isinstance(cost, (list, tuple)):
        cost = cost[0] if cost else {}
    return float((cost or {}).get("flops", float("nan")))


def gpu_peak(device, dtype) -> float | None:
    """Dense tensor-core peak FLOP/s of a known GPU for the computation dtype, else None."""
    if device.platform != "gpu":
        return None
    for key, (half, single) in GPU_PEAK_TFLOPS.items():
        if key.lower() in device.device_kind.lower():
            return 1e12 * (half if dtype in (jnp.bfloat16, jnp.float16) else single)
    return None


def time_call(fn, args, repeats: int):
    """(compiled, last output, (compile s, first call s, median s, min s, load)) of ``jax.jit(fn)``
    over ``repeats`` calls after the first; load = the 1-minute load average after them (other
    processes on the machine show up there)."""
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    t_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    jax.block_until_ready(compiled(*args))
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(compiled(*args))
        times.append(time.perf_counter() - t0)
    return compiled, out, (t_compile, first, statistics.median(times), min(times), os.getloadavg()[0])


@dataclasses.dataclass
class Row:
    model: str
    image: str
    pairs: int
    what: str
    compile_s: float
    median_s: float
    min_s: float
    load: float
    flops: float
    peak: float | None

    def line(self) -> str:
        rate = self.flops / self.median_s
        mfu = f"{100 * rate / self.peak:>6.1f}%" if self.peak else ""
        return (f"{self.model:<6} {self.image:>9} {self.pairs:>5}  {self.what:<9} {self.compile_s:>9.1f} "
                f"{1e3 * self.median_s:>11.1f} {1e3 * self.min_s:>9.1f} {self.flops / 1e9:>9.1f} {rate / 1e9:>9.1f} "
                f"{self.load:>5.1f} {mfu}")


def bench(name: str, cfg: TINConfig, hw, pairs: int, repeats: int, backward: bool = True,
          bucket=None) -> list[Row]:
    parts, params, stats = make_model(cfg)
    batch = jax.tree.map(jnp.asarray, synthetic_batch(1, 1, hw, pairs, bucket=bucket))
    peak = gpu_peak(jax.devices()[0], cfg.dtype)
    image = "x".join(map(str, bucket or hw))
    rows = []
    fns = [("fwd", forward_fn(parts))]
    if backward:
        weight = losses.class_weights(np.full(NUM_CLASSES, 100))
        fns.append(("fwd+bwd", loss_grad_fn(parts, weight, int(batch["num_pos"].max()))))
    for what, fn in fns:
        compiled, out, (tc, _, tm, tmin, load) = time_call(fn, (params, stats, batch), repeats)
        if what == "fwd+bwd" and not np.isfinite(float(out[0])):
            print(f"warning: {name} {image}: non-finite loss {float(out[0])}", file=sys.stderr)
        rows.append(Row(name, image, pairs, what, tc, tm, tmin, load, flops_of(compiled), peak))
        print("  " + rows[-1].line(), file=sys.stderr, flush=True)
        del compiled, out
    return rows


def compile_count(cfg: TINConfig, pairs: int = 16) -> str:
    """Compile the forward for two buckets, call each twice; report the jit cache size."""
    parts, params, stats = make_model(cfg, calibrate=False)
    fn = jax.jit(forward_fn(parts))
    sizes = [(300, 450), (320, 480), (470, 620), (480, 640)]  # two images per bucket
    shapes = []
    for k, hw in enumerate(sizes):
        bucket = encoding.bucket_for(*hw, encoding.DEFAULT_BUCKETS, 256)
        shapes.append(bucket)
        batch = jax.tree.map(jnp.asarray, synthetic_batch(k, 1, hw, pairs, bucket=bucket))
        jax.block_until_ready(fn(params, stats, batch))
    cache = fn._cache_size()  # pylint: disable=protected-access
    rng = np.random.default_rng(0)
    drawn = {encoding.bucket_for(int(h), int(w), encoding.DEFAULT_BUCKETS, 256)
             for h, w in rng.integers(64, 1025, (10_000, 2))}
    return (f"jit cache: {len(sizes)} images {sizes} -> buckets {shapes}: {cache} compilations "
            f"(calls: {len(sizes)}).\n10,000 random image sizes up to 1024x1024 map to "
            f"{len(drawn)} shapes = the {len(encoding.DEFAULT_BUCKETS)} default buckets: at most "
            f"{len(encoding.DEFAULT_BUCKETS)} compilations per pair count (larger images: sides rounded "
            "up to 256).")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=5, help="timed calls per row (demo, full small)")
    p.add_argument("--full_repeats", type=int, default=3, help="timed calls per full-resolution full row")
    p.add_argument("--skip_full", action="store_true", help="no ResNet-50 rows")
    p.add_argument("--skip_full_res", action="store_true", help="no ResNet-50 rows at 600x900")
    p.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
    args = p.parse_args()

    dt = None if args.dtype == "float32" else jnp.bfloat16
    full, demo = dataclasses.replace(FULL, dtype=dt), dataclasses.replace(DEMO, dtype=dt)
    dev = jax.devices()[0]
    where = (f"{dev.device_kind} ({dev.platform}), {os.cpu_count()} CPU cores" if dev.platform == "cpu"
             else f"{dev.device_kind} ({dev.platform})")
    print(f"TIN forward / forward+backward per image, jit, {args.dtype}; {where}", flush=True)
    t_start = time.perf_counter()
    rows = []
    rows += bench("demo", demo, (160, 160), 80, args.repeats)
    rows += bench("demo", demo, (320, 480), 32, args.repeats)
    rows += bench("demo", demo, (600, 900), 64, args.repeats)
    if not args.skip_full:
        rows += bench("full", full, (320, 480), 32, args.repeats)
        if not args.skip_full_res:
            rows += bench("full", full, (600, 900), 64, args.full_repeats)
    rate_head = "GFLOP/s" + ("  MFU" if dev.platform == "gpu" else "")
    print(f"\n{'model':<6} {'image':>9} {'pairs':>5}  {'pass':<9} {'compile s':>9} "
          f"{'ms / image':>11} {'min ms':>9} {'GFLOP':>9} {rate_head:>9} {'load':>5}")
    for r in rows:
        print(r.line())
    if dev.platform == "gpu" and not rows[0].peak:
        print(f"(no peak FLOP/s known for {dev.device_kind}: no MFU)")
    print("model: full = TINConfig() (ResNet-50, fc 1024), demo = width 8, fc 128; 600 classes. "
          "ms / image: median over repeats (batch 1); GFLOP/s from the median;\n"
          "load: 1-minute load average after the row (> the core count = other processes competed).")
    print()
    print(compile_count(demo))
    print(f"total {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
