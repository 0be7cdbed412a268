"""Distinct boxes per training step: how many rows the human res5 needs (``human_table``).

    python benchmarks/distinct_boxes.py [--data_dir DIR] [--epochs 2] [--batch 1 8 32]
                                        [--sizes 24 32 48 64]

Samples every chunk of the training split (``--epochs`` times, with the pipeline's own
``sample_padded``: the same pairs the training stream builds) and counts, per step, the
distinct human boxes (what the table holds), split into positives (GT boxes and their jittered
copies) and negatives (the detected humans of ``Trainval_Neg``), and the distinct object boxes
of the positives (the object stream's rows). Then the table size each step needs with
``config.data.human_table_sizes``: a batch of B images on a host shares one table size, the
largest of its images', so the shares are given per B.

Default: the embedded synthetic HICO-DET (generated and converted here); ``--data_dir`` takes a
converted dataset (``python -m data_prep.convert``), the real one included. Combine the shares
with ``benchmarks/step_cost.py``'s FLOPs per table size for the FLOPs of an average step.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def step_counts(data_dir: str, epochs: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Per step (chunk) of ``epochs`` passes over the training split: the pair count and the
    distinct human / positive human / negative human / positive object boxes."""
    import tensorflow as tf
    from tin_jax.data import features, input_pipeline as ip, sampling

    info = ip.load_info(data_dir)
    scfg = sampling.SamplingConfig(negatives_use_stored_label=info.metadata["dataset"] == "hico")
    files = [os.path.join(data_dir, s["file"]) for s in info.shards("train")]
    distinct = lambda boxes: len(np.unique(boxes, axis=0))
    rows = []
    for epoch in range(epochs):
        for ex in tf.data.TFRecordDataset(files).map(features.parse_example).as_numpy_iterator():
            ex["image_id"] = ex["image/id"]
            height, width = int(ex["image/height"]), int(ex["image/width"])
            for chunk in range(sampling.num_chunks(len(ex["gt/label_counts"]), scfg.chunk_size)):
                s = ip.sample_padded(ex, chunk, epoch, height, width, seed, info.num_labels, scfg,
                                     part_boxes=False, human_table=True)
                n, pos = int(s["pair_mask"].sum()), int(s["num_pos"])
                hb = s["human_boxes"][:n]
                rows.append((n, len(s["human_table"]), distinct(hb[:pos]), distinct(hb[pos:]) if n > pos else 0,
                             distinct(s["object_boxes"][:pos])))
    cols = np.array(rows)
    return dict(zip(("pairs", "humans", "positive humans", "negative humans", "positive objects"), cols.T))


def table_shares(humans: np.ndarray, batch: int, sizes, max_pairs: int) -> dict[int, float]:
    """Share of host batches of ``batch`` consecutive steps per table size (their largest count)."""
    from tin_jax.data import encoding

    n = len(humans) // batch * batch
    need = humans[:n].reshape(-1, batch).max(axis=1)
    picked = np.array([encoding.table_rows(int(c), sizes, max_pairs) for c in need])
    return {int(r): float(np.mean(picked == r)) for r in np.unique(picked)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data_dir", default="", help="a converted dataset (default: synthetic HICO-DET)")
    p.add_argument("--train", type=int, default=400, help="synthetic training images")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch", type=int, nargs="+", default=(1, 8, 32), help="images per host")
    p.add_argument("--sizes", type=int, nargs="+", default=(24, 32, 48, 64), help="table sizes")
    args = p.parse_args()
    from tin_jax.data import sampling

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir
        if not data_dir:
            from data_prep import convert
            from data_prep.synthetic import hico_files
            raw, data_dir = os.path.join(tmp, "raw"), os.path.join(tmp, "hico")
            hico_files.make_hico(raw, np.random.default_rng(0), args.train, 8)
            convert.convert("hico", raw, data_dir, progress=False)
        counts = step_counts(data_dir, args.epochs)
    max_pairs = sampling.SamplingConfig().max_pairs
    print(f"{len(counts['pairs'])} training steps ({args.epochs} epochs of "
          f"{args.data_dir or f'synthetic HICO-DET, {args.train} images'}), {max_pairs} pair slots\n")
    print("| per step | mean | median | p90 | p99 | max |\n|---|---:|---:|---:|---:|---:|")
    for name, v in counts.items():
        q = np.percentile(v, [50, 90, 99])
        print(f"| {name} | {v.mean():.1f} | {q[0]:.0f} | {q[1]:.0f} | {q[2]:.0f} | {v.max()} |")
    print(f"\nHuman res5 rows: per-pair {max_pairs}; distinct, mean {counts['humans'].mean():.1f} "
          f"({max_pairs / counts['humans'].mean():.1f}x fewer)\n")
    sizes = sorted(args.sizes)
    print("| images per host | " + " | ".join(f"table {s}" for s in sizes + [max_pairs]) + " |\n|---:|"
          + "---:|" * (len(sizes) + 1))
    for b in args.batch:
        shares = table_shares(counts["humans"], b, sizes, max_pairs)
        print(f"| {b} | " + " | ".join(f"{100 * shares.get(s, 0):.1f}%" for s in sizes + [max_pairs]) + " |")


if __name__ == "__main__":
    main()
