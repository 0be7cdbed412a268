"""Training-input throughput (examples/s): tf.data pipeline against the original's loop.

    python benchmarks/pipeline.py [--steps 200]

Baseline: TIN's own per-step blob building, transcribed in tests/reference
(cv2.imread, jitter, spatial maps, one image at a time in Python). Ours: the
tf.data pipeline over the converted shards (parallel decode + sampling). Both
build the same examples (tests/test_input_pipeline.py checks that). The last row adds the
TPAMI part level's body-part boxes (``PipelineConfig(part_boxes=True)``, part-level models only).
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _original_loop(raw: str, steps: int) -> float:
    import cv2
    from tests.reference import tin_blobs

    load = lambda n: pickle.load(open(os.path.join(raw, n), "rb"), encoding="latin1")
    gt, neg = load("Trainval_GT_HICO_with_pose.pkl"), load("Trainval_Neg_HICO_with_pose.pkl")
    chunks = tin_blobs.changeForm(gt, 5)
    rnd = random.Random(0)
    t0 = time.perf_counter()
    for it in range(steps):
        chunk = chunks[it % len(chunks)]
        im = cv2.imread(os.path.join(raw, "hico_20160224_det/images/train2015",
                                     f"HICO_train2015_{chunk[0][0]:08d}.jpg"))
        _, shape = tin_blobs.image_blob(im)
        tin_blobs.Augmented_HO_Neg_HICO_pose_pattern_version2(chunk, neg, shape, 15, 60, rnd.randint, rnd.sample)
    return steps / (time.perf_counter() - t0)


def _pipeline(out: str, steps: int, batch: int, part_boxes: bool = False) -> float:
    from tin_jax.data import input_pipeline as ip
    ds, _ = ip.train_dataset(ip.PipelineConfig(data_dir=out, local_batch_size=batch,
                                               part_boxes=part_boxes))
    it = ds.as_numpy_iterator()
    for _ in range(5):  # warm-up: graph tracing, first files
        next(it)
    t0 = time.perf_counter()
    for _ in range(steps // batch):
        next(it)
    return (steps // batch) * batch / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train", type=int, default=200)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()

    import numpy as np
    from data_prep import convert
    from data_prep.synthetic import hico_files

    with tempfile.TemporaryDirectory() as tmp:
        raw, out = os.path.join(tmp, "raw"), os.path.join(tmp, "hico")
        hico_files.make_hico(raw, np.random.default_rng(0), args.train, 8)
        convert.convert("hico", raw, out, progress=False)
        rows = [("original loop (baseline)", lambda: _original_loop(raw, args.steps)),
                ("tf.data, batch 1", lambda: _pipeline(out, args.steps, 1)),
                ("tf.data, batch 8", lambda: _pipeline(out, args.steps, 8)),
                ("tf.data, batch 8, part boxes", lambda: _pipeline(out, args.steps, 8, True))]
        print(f"{args.steps} training examples (one chunk each), {os.cpu_count()} CPU cores")
        print(f"{'input':<30} {'examples/s':>11} {'vs baseline':>12}")
        base = None
        for name, fn in rows:
            rate = statistics.median(fn() for _ in range(args.repeats))
            base = base or rate
            print(f"{name:<30} {rate:>11.1f} {rate / base:>11.2f}x")


if __name__ == "__main__":
    main()
