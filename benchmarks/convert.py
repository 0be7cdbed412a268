"""Conversion throughput (images/s): parallel workers against one worker as the baseline.

    python benchmarks/convert.py [--train 400 --test 100 --workers 1 2]

Generates a synthetic HICO-DET ``Data/`` folder once, then converts it with each
worker count into a fresh directory (median of --repeats runs) and prints
images/s and the speed-up over the first worker count.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train", type=int, default=400)
    p.add_argument("--test", type=int, default=100)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--images_per_shard", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()

    import numpy as np
    from data_prep import convert
    from data_prep.synthetic import hico_files

    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw")
        hico_files.make_hico(raw, np.random.default_rng(0), args.train, args.test)
        n = args.train + args.test
        print(f"HICO-DET synthetic: {n} images, {args.images_per_shard} images/shard, "
              f"{os.cpu_count()} CPU cores")
        print(f"{'workers':>8} {'median s':>9} {'images/s':>9} {'vs first':>9}")
        base = None
        for w in args.workers:
            times = []
            for r in range(args.repeats):
                out = os.path.join(tmp, f"out-{w}-{r}")
                t0 = time.perf_counter()
                convert.convert("hico", raw, out, num_workers=w,
                                images_per_shard=args.images_per_shard, progress=False)
                times.append(time.perf_counter() - t0)
            med = statistics.median(times)
            base = base or med
            print(f"{w:>8} {med:>9.2f} {n / med:>9.1f} {base / med:>8.2f}x")


if __name__ == "__main__":
    main()
