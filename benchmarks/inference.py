"""Test-time forward passes: per-pair boxes against each slot's distinct boxes.

    python benchmarks/inference.py [--images 24] [--width 64] [--max_humans 6] [--max_objects 20]

A test image pairs every selected human with every selected object (humans included), so the
same boxes recur across its pairs. Two packings of the same pairs through ``runner.run_items``
and ``scoring.predict_fn`` (the code evaluate.py runs), side by side:

- ``per-pair``: the boxes of every pair, 32 pairs per slot (``boxes_per_slot=0``; the default
  before): two res5 crops per pair, the backbone once per 32 pairs;
- ``distinct``: each slot's distinct human and object boxes, at most 16 of each, 64 pairs per
  slot (the defaults now): res5 once per box.

Synthetic images (random pixels, 480 x 640) with 1..``max_humans`` humans and
1..``max_objects`` other objects each (uniform); the full network (``--width 64`` = ResNet-50,
600 classes) with random weights. Printed: slots, res5 crops computed (padding included), XLA's
FLOPs per slot and in all, wall time after a compiling run, and the largest difference between
the two packings' scores (float32 noise).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402
import jax  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.model import FULL, flops_of, make_model  # noqa: E402
from tin_jax.inference import runner  # noqa: E402
from tin_jax.inference import scoring  # noqa: E402
from tin_jax.state import model as state_model  # noqa: E402

PACKINGS = {"per-pair": dict(pairs_per_slot=32, boxes_per_slot=0),
            "distinct": dict(pairs_per_slot=64, boxes_per_slot=16)}
HW = (480, 640)


def synthetic_items(n: int, max_humans: int, max_objects: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    h, w = HW
    encoded = cv2.imencode(".jpg", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))[1].tobytes()

    def boxes(k):
        x1, y1 = rng.uniform(0, w * 0.7, k), rng.uniform(0, h * 0.7, k)
        return np.stack([x1, y1, x1 + rng.uniform(20, w * 0.3, k), y1 + rng.uniform(20, h * 0.3, k)], 1)

    items = []
    for _ in range(n):
        humans = boxes(int(rng.integers(1, max_humans + 1)))
        candidates = np.concatenate([humans, boxes(int(rng.integers(1, max_objects + 1)))])
        pairs = [(a, b) for a in range(len(humans)) for b in range(len(candidates)) if a != b]
        hi, oi = np.array(pairs).T
        items.append(runner.PairItem(encoded, h, w, humans[hi].astype(np.float32),
                                        candidates[oi].astype(np.float32), [None] * len(pairs)))
    return items


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=24)
    p.add_argument("--width", type=int, default=64, help="64 = ResNet-50; smaller for a quick look")
    p.add_argument("--max_humans", type=int, default=6)
    p.add_argument("--max_objects", type=int, default=20)
    args = p.parse_args()
    cfg = dataclasses.replace(FULL, width=args.width)
    parts, params, stats = make_model(cfg)
    mesh = state_model.make_mesh()
    fn = scoring.predict_fn(parts, params, stats)
    items = synthetic_items(args.images, args.max_humans, args.max_objects)
    pairs = sum(len(it.human_boxes) for it in items)
    device = jax.devices()[0]
    print(f"# test-time forward: {device.device_kind} ({device.platform}), width {args.width}, "
          f"{len(items)} images {HW[0]}x{HW[1]}, {pairs} pairs")
    results, rows = {}, []
    for name, packing in PACKINGS.items():
        slots = runner._slots(items, **packing)  # pylint: disable=protected-access
        rows_per_slot = packing["boxes_per_slot"] or packing["pairs_per_slot"]
        kw = dict(mesh=mesh, buckets=(HW,), **packing)
        runner.run_items(fn, items[:1], **kw)  # compile
        t0 = time.perf_counter()
        results[name] = runner.run_items(fn, items, **kw)
        seconds = time.perf_counter() - t0
        # the FLOPs of one slot's program, from the same function jitted on one slot's shapes
        P = packing["pairs_per_slot"]
        zeros = lambda *s: np.zeros(s, np.float32)
        index = (np.zeros((1, P), np.int32),) * 2 if packing["boxes_per_slot"] else (None, None)
        compiled = jax.jit(fn).lower(zeros(1, *HW, 3), np.array([HW], np.int32), zeros(1, rows_per_slot, 4),
                                     zeros(1, rows_per_slot, 4), zeros(1, P, 64, 64, 3),
                                     zeros(1, P, 10, 4), *index).compile()
        flops = flops_of(compiled)
        rows.append((name, len(slots), 2 * rows_per_slot * len(slots), flops, flops * len(slots), seconds))
        print(f"  {name}: {seconds:.1f} s", file=sys.stderr, flush=True)
    print("\n| packing | slots | res5 crops | GFLOP per slot | TFLOP in all | seconds | images/s |\n"
          "|---|---:|---:|---:|---:|---:|---:|")
    for name, n, crops, f, total, sec in rows:
        print(f"| {name} | {n} | {crops} | {f / 1e9:.0f} | {total / 1e12:.2f} | {sec:.1f} | "
              f"{len(items) / sec:.2f} |")
    (_, na, ca, _, ta, sa), (_, nb, cb, _, tb, sb) = rows
    print(f"| per-pair / distinct | {na / nb:.2f}x | {ca / cb:.2f}x | | {ta / tb:.2f}x | {sa / sb:.2f}x | |")
    diff = max(float(np.abs(a["hoi_scores"] - b["hoi_scores"]).max())
               for a, b in zip(results["per-pair"], results["distinct"]))
    print(f"\nlargest |score difference| between the packings: {diff:.2e}")


if __name__ == "__main__":
    main()
