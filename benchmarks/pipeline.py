"""Training-input throughput (examples/s per CPU core): tf.data pipeline against the original's loop.

    python benchmarks/pipeline.py [--steps 160] [--repeats 3]

Baseline: TIN's own per-step blob building, transcribed in tests/reference
(cv2.imread, jitter, spatial maps, one image at a time in Python). Ours: the
tf.data pipeline over the converted shards. Both build the same examples
(tests/test_input_pipeline.py checks that).

Two layouts: the synthetic data set as generated (few negatives per image: ~22 pairs per
example) and a *real* layout, where every image has >= 80 negatives as TIN's
``Trainval_Neg`` pickles give HICO-DET images, so that every example has up to 5 GT pairs,
15 jittered copies and 60 sampled negatives (~80 pairs, the per-pair work of real training).
Each row says its mean pairs per example. Rates are measured in subprocesses pinned to 1 or
2 cores (``os.sched_setaffinity``) with tf.data's thread pool sized to match; the sampling
(numpy in ``tf.numpy_function``) holds the GIL, so threads do not scale it: the "2 processes"
rows run two pipelines on one core each, each taking its half of the same global stream
(``process_index``/``process_count``), which is how the rate grows with cores; the "2 workers"
rows are what training runs with ``config.data.workers = 2``: one host's stream, its batches
built by two input processes (``tin_jax.data.workers``) and copied out of shared memory by the
reading process, whose own CPU time per example is measured too. The 8 and 16 core lines are
extrapolations from those measurements, and say so.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
GPU_RATE = 560  # examples/s one H100 consumes at the 1-hour schedule (issue 14)


def _real_layout(raw: str, rng, per_image: int = 80) -> None:
    """Rewrites ``raw``'s Trainval_Neg pickle so that every training image has >= per_image
    negatives: detection-like copies of its own pairs (boxes shifted and scaled by up to 15%,
    clipped to the image; poses moved with their human), written for the converter to read."""
    import cv2
    import numpy as np
    from data_prep.sources import hico as hico_src
    from data_prep.synthetic import py2pickle
    from tin_jax.schema import classes

    load = lambda n: pickle.load(open(os.path.join(raw, n), "rb"), encoding="latin1")
    gt, neg = load(hico_src.TRAIN_GT), load(hico_src.TRAIN_NEG)
    seeds: dict[int, list] = {}
    for e in gt:  # GT pairs as negative-like entries (object class from the HOI)
        c = int(classes.HOI_TO_OBJECT[e[1][0]])
        lo, hi = classes.HOI_RANGE_BY_OBJECT[c]
        seeds.setdefault(e[0], []).append(
            [e[0], int(classes.NO_INTERACTION_HOI_BY_OBJECT[c]), np.asarray(e[2], np.float32),
             np.asarray(e[3], np.float32), list(range(int(lo), int(hi) + 1)), c,
             np.array(1.0, np.float32), e[5]])
    for image_id, base in seeds.items():
        have = list(neg.get(image_id, []))
        h_img, w_img = cv2.imread(hico_src.image_path(raw, "train", image_id)).shape[:2]
        pool = have + base
        while len(have) < per_image:
            src = pool[int(rng.integers(len(pool)))]
            hb, pose = np.asarray(src[2], np.float64), src[7]
            moved = []
            for b in (hb, np.asarray(src[3], np.float64)):
                w, h = b[2] - b[0], b[3] - b[1]
                nb = np.clip(b + rng.uniform(-0.15, 0.15, 4) * [w, h, w, h], 0, [w_img - 1, h_img - 1] * 2)
                nb[2:] = np.maximum(nb[2:], nb[:2] + 1)
                moved.append(nb)
            if pose is not None:
                p = np.asarray(pose, np.float64).reshape(17, 3).copy()
                p[:, :2] += moved[0][:2] - hb[:2]
                pose = [float(v) for v in p.reshape(-1)]
            have.append([image_id, src[1], moved[0].astype(np.float32), moved[1].astype(np.float32),
                         list(src[4]), src[5], np.array(float(rng.uniform(0.3, 1)), np.float32), pose])
        neg[image_id] = have
    py2pickle.dump_py2(neg, os.path.join(raw, hico_src.TRAIN_NEG))


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


def _pipeline(out: str, steps: int, batch: int, part_boxes: bool, threads: int,
              index: int = 0, count: int = 1, workers: int = 0) -> dict:
    """examples/s of this process's slice (``index`` of ``count``), mean pairs per example and
    this process's CPU ms per example (with ``workers`` > 1 input processes
    (``tin_jax.data.workers``, ``threads`` each), the reading process's own share)."""
    from tin_jax.data import input_pipeline as ip, workers as input_workers
    it, _ = input_workers.train_batches(
        ip.PipelineConfig(data_dir=out, local_batch_size=batch, part_boxes=part_boxes,
                          num_parallel_calls=threads, threads=threads, workers=workers),
        process_index=index, process_count=count)
    try:
        for _ in range(3):  # warm-up: graph tracing, first files, workers started
            next(it)
        pairs, t0, cpu0 = 0.0, time.perf_counter(), time.process_time()
        for _ in range(steps // (batch * count)):
            pairs += float(next(it)["pair_mask"].sum())
        n = steps // (batch * count) * batch
        return dict(rate=n / (time.perf_counter() - t0), pairs=pairs / n,
                    cpu_ms=(time.process_time() - cpu0) * 1000 / n)
    finally:
        getattr(it, "close", lambda: None)()


def _stages(out: str, part_boxes: bool, n: int = 96) -> dict:
    """Single-thread ms per example: decode, the pattern geometry the pipeline ships, the rest of
    the sampling, part boxes; and, for comparison, painting the patterns on the host."""
    import cv2
    import tensorflow as tf
    from tin_jax.data import features, input_pipeline as ip, sampling, spatial

    info = ip.load_info(out)
    files = [os.path.join(out, s["file"]) for s in info.shards("train")]
    recs = list(tf.data.TFRecordDataset(files).map(features.parse_example).take(n).as_numpy_iterator())
    decode = lambda encoded: ip.decode_image_bgr(encoded, 0)
    jobs = [(dict(r, image_id=r["image/id"]), c) for r in recs
            for c in range(sampling.num_chunks(len(r["gt/label_counts"])))][:n]
    scfg = sampling.SamplingConfig(negatives_use_stored_label=True)
    captured = []
    geometry = spatial.pattern_geometry

    def run(parts):
        for ex, c in jobs:
            ip.sample_padded(ex, c, 0, 480, 640, 0, info.num_labels, scfg, parts)

    def timed(fn, count=len(jobs)):  # min of 5: other processes only ever slow a run down
        fn()
        return min(_clock(fn) for _ in range(5)) * 1000 / count

    def capture(*a, **k):
        captured.append((a, k))
        return geometry(*a, **k)
    spatial.pattern_geometry = capture  # the pairs of every example, to time alone
    run(False)
    spatial.pattern_geometry = geometry
    # a real-size photo-like JPEG: the first image, resized to HICO-DET's typical 640x480
    big = cv2.resize(decode(recs[0]["image/encoded"]), (640, 480), interpolation=cv2.INTER_LINEAR)
    jpeg = cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    encoded = [r["image/encoded"] for r in recs]

    def each(fn, items):  # results dropped at once, as in the pipeline (no page-fault cost)
        return lambda: [None for x in items if fn(x) is None]
    res = dict(decode=timed(each(decode, encoded), len(encoded)),
               decode_640x480=timed(each(decode, [jpeg] * 50), 50),
               geometry=timed(each(lambda ak: geometry(*ak[0], **ak[1]), captured)))
    total = timed(lambda: run(False))
    res["rest of the sampling"] = total - res["geometry"]
    host_painted = each(lambda ak: spatial.render_patterns_uint8(*ak[0], **ak[1]), captured)
    res["(patterns painted on the host, geometry included)"] = timed(host_painted)
    if part_boxes:
        res["part boxes"] = timed(lambda: run(True)) - total
    return res


def _clock(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _child(args: dict) -> None:
    os.sched_setaffinity(0, args["cores"])  # before TF starts its threads
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args["what"] == "stages":
        res = _stages(args["out"], args["parts"])
    elif args["what"] == "original":
        res = dict(rate=statistics.median(_original_loop(args["raw"], args["steps"]) for _ in range(args["repeats"])))
    else:
        workers = args.get("workers", 0)
        threads = 1 if workers > 1 else len(args["cores"])  # a worker per core
        runs = [_pipeline(args["out"], args["steps"], 8 // args["count"], args["parts"], threads,
                          args["index"], args["count"], workers)
                for _ in range(args["repeats"])]
        res = dict(rate=statistics.median(r["rate"] for r in runs), pairs=runs[0]["pairs"],
                   cpu_ms=statistics.median(r["cpu_ms"] for r in runs))
    print("RESULT " + json.dumps(res))


def _spawn(**args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", json.dumps(args)],
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))


def _result(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate()
    line = [l for l in out.splitlines() if l.startswith("RESULT ")]
    if proc.returncode or not line:
        raise RuntimeError(f"benchmark child failed ({proc.returncode}):\n{out}")
    return json.loads(line[-1][7:])


def _make(tmp: str, train: int) -> dict:
    import numpy as np
    from data_prep import convert
    from data_prep.synthetic import hico_files

    dirs = {}
    for layout in ("synthetic", "real"):
        raw, out = os.path.join(tmp, layout + "_raw"), os.path.join(tmp, layout)
        hico_files.make_hico(raw, np.random.default_rng(0), train, 4)
        if layout == "real":
            _real_layout(raw, np.random.default_rng(1))
        convert.convert("hico", raw, out, progress=False, images_per_shard=32)
        dirs[layout] = (raw, out)
    return dirs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train", type=int, default=120)
    p.add_argument("--steps", type=int, default=160)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return _child(json.loads(args.child))
    cores = sorted(os.sched_getaffinity(0))[:2]
    with tempfile.TemporaryDirectory() as tmp:
        dirs = _make(tmp, args.train)
        common = dict(steps=args.steps, repeats=args.repeats)
        print(f"{os.cpu_count()} CPU cores here, measuring on cores {cores}; "
              f"load average before: {os.getloadavg()[0]:.2f}")
        print("\nsingle-core stage costs (ms per example; decode per image)")
        for layout, (raw, out) in dirs.items():
            st = _result(_spawn(what="stages", out=out, parts=True, cores=cores[:1]))
            print(f"  {layout:<10} " + ", ".join(f"{k} {v:.2f}" for k, v in st.items()))
        base = _result(_spawn(what="original", raw=dirs["real"][0], cores=cores[:1], **common))["rate"]
        print(f"\noriginal loop (baseline), real layout, 1 core: {base:.1f} examples/s")
        print(f"\n{'tf.data, batch 8':<34} {'pairs/ex':>8} {'1 core':>8} {'2 thr, 2 cores':>15} "
              f"{'2 proc, 2 cores':>16} {'2 workers':>10} {'per core':>9}")
        per_core = {}
        for layout, (raw, out) in dirs.items():
            for parts in (False, True):
                one = _result(_spawn(what="pipe", out=out, parts=parts, cores=cores[:1], index=0, count=1, **common))
                two = _result(_spawn(what="pipe", out=out, parts=parts, cores=cores, index=0, count=1, **common))
                procs = [_spawn(what="pipe", out=out, parts=parts, cores=[c], index=i, count=2, **common)
                         for i, c in enumerate(cores)]
                proc_rate = sum(_result(pr)["rate"] for pr in procs)
                pool = _result(_spawn(what="pipe", out=out, parts=parts, cores=cores, index=0, count=1,
                                      workers=len(cores), **common))
                name = f"{layout}{', part boxes' if parts else ''}"
                per_core[name] = (proc_rate / 2, pool, two["rate"])
                print(f"{name:<34} {one['pairs']:>8.1f} {one['rate']:>8.1f} {two['rate']:>15.1f} "
                      f"{proc_rate:>16.1f} {pool['rate']:>10.1f} {proc_rate / 2:>9.1f}")
        need = 3 * GPU_RATE
        print(f"\nEXTRAPOLATION (not measured): examples/s on 8 / 16 cores; target {need} (3 x {GPU_RATE}).\n"
              "Workers: the measured 2-worker rate per core times the cores (the workers and the\n"
              "reading process share them as on 2 cores), at most 1000 / t, t the reading process's\n"
              "measured ms per example (it is one thread). Processes: the '2 proc' rate per core\n"
              "times the cores, an upper bound (no reading process, no copy).")
        for name, (rate, pool, threads_rate) in per_core.items():
            cap = 1000 / pool["cpu_ms"]
            work = lambda n: min(n * pool["rate"] / 2, cap)
            print(f"  {name:<32} workers: {work(8):6.0f} / {work(16):6.0f} (reader {pool['cpu_ms']:.2f} ms/ex, "
                  f"cap {cap:.0f})   processes: {8 * rate:6.0f} / {16 * rate:6.0f}   "
                  f"threads in one process: ~{threads_rate:.0f} (2-thread rate; the GIL-bound sampling caps it)")
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
