r"""Converts the original TIN inputs into sharded TFRecords.

    python -m data_prep.convert --dataset hico --data_dir Data --out_dir out/hico

Reads the same ``Data/`` folder the original code reads (pickles, images,
annotation files; see ``data_prep/sources``), validates every record and writes
one ``tf.train.Example`` per image (schema: ``tin_jax/data/features.py``).
``--test_detections FILE`` takes the test split's detections from FILE (TIN's pickle
layout or a COCO results json, ``data_prep.sources.hico.read_test_detections``).

Safety: each shard is written under a temporary name and renamed when complete;
a per-shard stats file is renamed after it and marks the shard as done. The
manifest (counts, sha256 of every shard) is written last. Killed and re-run, the
converter keeps finished shards and writes the rest; the output is identical
to an uninterrupted run because every shard is a pure function of its inputs.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import glob
import hashlib
import json
import logging
import math
import os
import pickle
import shutil
import sys
import threading
from typing import Any, Sequence

from data_prep.sources.common import ProblemLog
from tin_jax.schema.records import ImageRecord
from tin_jax.io.errors import DataFormatError

FORMAT_VERSION = 1
PARTS = ".parts"
MANIFEST = "manifest.json"
METADATA = "metadata.json"


def _sources():
    from data_prep.sources import hico, vcoco  # pylint: disable=g-import-not-at-top
    return {"hico": hico, "vcoco": vcoco}


def shard_name(split: str, index: int, count: int) -> str:
    return f"{split}.tfrecord-{index:05d}-of-{count:05d}"


def write_json_atomic(path: str, obj: Any) -> None:
    tmp = f"{path}.tmp-{os.getpid()}-{threading.get_ident()}"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclasses.dataclass
class ShardTask:
    split: str
    index: int
    count: int
    records: list[ImageRecord]
    out_dir: str
    skip_bad: bool
    fingerprint: str

    @property
    def name(self) -> str:
        return shard_name(self.split, self.index, self.count)


def _filter_pairs(pairs, keep):
    import numpy as np  # pylint: disable=g-import-not-at-top
    idx = np.flatnonzero(keep)
    return dataclasses.replace(
            pairs, human_boxes=pairs.human_boxes[idx], object_boxes=pairs.object_boxes[idx],
            object_classes=pairs.object_classes[idx], labels=[pairs.labels[i] for i in idx],
            poses=pairs.poses[idx], pose_valid=pairs.pose_valid[idx], scores=pairs.scores[idx],
            person_labels=[pairs.person_labels[i] for i in idx] if pairs.person_labels else [])


def _check_boxes(rec: ImageRecord, width: int, height: int, log: ProblemLog) -> ImageRecord:
    """Drops (or raises on) pairs / detections whose boxes leave the image."""
    import numpy as np  # pylint: disable=g-import-not-at-top
    from data_prep.sources.common import box_in_image  # pylint: disable=g-import-not-at-top
    out = {}
    for prefix in ("gt", "neg"):
        pairs = getattr(rec, prefix)
        keep = np.ones(pairs.size, bool)
        for i in range(pairs.size):
            where = f"{rec.path}: {prefix} pair {i}"
            try:
                box_in_image(pairs.human_boxes[i], width, height, where, "human box")
                box_in_image(pairs.object_boxes[i], width, height, where, "object box")
            except DataFormatError as e:
                log.bad(str(e))
                keep[i] = False
        out[prefix] = pairs if keep.all() else _filter_pairs(pairs, keep)
    det = rec.det
    keep = np.ones(det.size, bool)
    for i in range(det.size):
        try:
            box_in_image(det.boxes[i], width, height, f"{rec.path}: detection {i}", "box")
        except DataFormatError as e:
            log.bad(str(e))
            keep[i] = False
    if not keep.all():
        det = dataclasses.replace(det, boxes=det.boxes[keep], is_human=det.is_human[keep],
                                                            classes=det.classes[keep], scores=det.scores[keep],
                                                            poses=det.poses[keep], pose_valid=det.pose_valid[keep])
    return dataclasses.replace(rec, gt=out["gt"], neg=out["neg"], det=det)


def read_image(path: str) -> tuple[bytes, int, int]:
    """Returns the file's bytes and its size; raises if missing or undecodable."""
    import io  # pylint: disable=g-import-not-at-top
    from PIL import Image  # pylint: disable=g-import-not-at-top
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise DataFormatError(f"{path}: image cannot be read ({e.strerror or e})") from None
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()  # full decode: catches truncated and corrupt files
            width, height = im.size
    except Exception as e:  # PIL raises many types for bad files
        raise DataFormatError(f"{path}: image is corrupt or not an image ({e})") from None
    return data, height, width


def _fault_injection_point(task: ShardTask, written: int) -> None:
    """Test hook: ``TIN_JAX_CONVERT_KILL_AT=<shard>:<records>`` SIGKILLs the process
    when shard number <shard> has written <records> records (an interruption at a
    known point, for the resume test)."""
    spec = os.environ.get("TIN_JAX_CONVERT_KILL_AT")
    if spec and spec == f"{task.index}:{written}" and task.split == "train":
        os.kill(os.getpid(), 9)


def write_shard(task: ShardTask) -> dict:
    """Writes one shard (in a worker process) and returns its stats."""
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    from tin_jax.data import features  # pylint: disable=g-import-not-at-top
    final = os.path.join(task.out_dir, task.name)
    stats_path = os.path.join(task.out_dir, PARTS, task.name + ".json")
    if os.path.exists(final) and os.path.exists(stats_path):
        with open(stats_path) as f:
            stats = json.load(f)
        if stats.get("fingerprint") == task.fingerprint:
            return stats
    log = ProblemLog(task.skip_bad)
    tmp = os.path.join(task.out_dir, f".{task.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    counts = dict(num_images=0, num_gt_pairs=0, num_neg_pairs=0, num_detections=0)
    gt_counts = []  # per written image: the pipeline derives epoch lengths from it
    try:
        with tf.io.TFRecordWriter(tmp) as writer:
            for rec in task.records:
                try:
                    data, height, width = read_image(rec.path)
                except DataFormatError as e:
                    log.bad(f"{e} (image {rec.image_id})")
                    continue
                rec = _check_boxes(rec, width, height, log)
                _fault_injection_point(task, counts["num_images"])
                writer.write(features.encode_example(rec, data, height, width))
                counts["num_images"] += 1
                counts["num_gt_pairs"] += rec.gt.size
                counts["num_neg_pairs"] += rec.neg.size
                counts["num_detections"] += rec.det.size
                gt_counts.append(rec.gt.size)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, final)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    stats = dict(file=task.name, split=task.split, fingerprint=task.fingerprint,
                              sha256=_sha256(final), bytes=os.path.getsize(final), skipped=log.messages,
                 gt_counts=gt_counts, **counts)
    write_json_atomic(stats_path, stats)
    return stats


def _fingerprint(dataset: str, skip_bad: bool, tasks_by_split: dict[str, list[list[ImageRecord]]]) -> str:
    h = hashlib.sha256()
    h.update(pickle.dumps((FORMAT_VERSION, dataset, skip_bad)))
    for split in sorted(tasks_by_split):
        for shard in tasks_by_split[split]:
            for rec in shard:
                st = os.stat(rec.path) if os.path.exists(rec.path) else None
                h.update(pickle.dumps((split, rec, st and (st.st_size, st.st_mtime_ns)), protocol=4))
            h.update(b"|")
    return h.hexdigest()


def plan(records: Sequence[ImageRecord], images_per_shard: int) -> list[list[ImageRecord]]:
    """Contiguous shards in image-id order, as even as possible."""
    records = sorted(records, key=lambda r: r.image_id)
    n = max(1, math.ceil(len(records) / images_per_shard))
    bounds = [round(i * len(records) / n) for i in range(n + 1)]
    return [records[bounds[i]:bounds[i + 1]] for i in range(n)]


def _clean_tmp(out_dir: str) -> None:
    for p in glob.glob(os.path.join(out_dir, ".*.tmp-*")) + glob.glob(os.path.join(out_dir, "*.tmp-*")):
        os.unlink(p)
    for p in glob.glob(os.path.join(out_dir, PARTS, "*.tmp-*")):
        os.unlink(p)


def convert(dataset: str, data_dir: str, out_dir: str, *, skip_bad: bool = False,
                        num_workers: int | None = None, images_per_shard: int = 256,
                        overwrite: bool = False, progress: bool = True, **test_detections) -> dict:
    """Runs the conversion; returns the manifest. Raises DataFormatError on bad input.
    ``test_detections``: ``test_detections``, ``test_detections_format``, ``test_keypoints``
    of ``hico.read_test_detections`` (default: TIN's test pickle)."""
    sources = _sources()
    if dataset not in sources:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {sorted(sources)}")
    if not os.path.isdir(data_dir):
        raise DataFormatError(f"{data_dir}: data directory does not exist")
    log = ProblemLog(skip_bad)
    src = sources[dataset].read(data_dir, log, **test_detections)
    shards = {split: plan(recs, images_per_shard) for split, recs in src["splits"].items()}
    fingerprint = _fingerprint(dataset, skip_bad, shards)

    os.makedirs(os.path.join(out_dir, PARTS), exist_ok=True)
    plan_path = os.path.join(out_dir, PARTS, "plan.json")
    if os.path.exists(plan_path):
        with open(plan_path) as f:
            old = json.load(f).get("fingerprint")
        if old != fingerprint:
            if not overwrite:
                raise DataFormatError(
                        f"{out_dir}: holds a conversion of different inputs or options; "
                        "pass --overwrite to replace it")
            shutil.rmtree(out_dir)
            os.makedirs(os.path.join(out_dir, PARTS))
    _clean_tmp(out_dir)
    write_json_atomic(plan_path, dict(fingerprint=fingerprint, dataset=dataset))

    tasks = [ShardTask(split, i, len(sh), recs, out_dir, skip_bad, fingerprint)
                      for split, sh in shards.items() for i, recs in enumerate(sh)]
    num_workers = num_workers or min(len(tasks), os.cpu_count() or 1)
    total = sum(len(t.records) for t in tasks)
    stats_by_name: dict[str, dict] = {}
    from tqdm import tqdm  # pylint: disable=g-import-not-at-top
    with tqdm(total=total, unit="img", desc=f"convert {dataset}", disable=not progress,
                        file=sys.stderr) as bar:
        if num_workers <= 1:
            for t in tasks:
                stats_by_name[t.name] = write_shard(t)
                bar.update(len(t.records))
        else:
            # Threads, not processes: JPEG validation (PIL), file I/O, hashing and
            # TFRecord writing release the GIL, and workers skip a TensorFlow import.
            with concurrent.futures.ThreadPoolExecutor(num_workers) as pool:
                futures = {pool.submit(write_shard, t): t for t in tasks}
                try:
                    for fut in concurrent.futures.as_completed(futures):
                        st = fut.result()
                        stats_by_name[st["file"]] = st
                        bar.update(len(futures[fut].records))
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
                finally:
                    pool.shutdown(wait=True, cancel_futures=True)
                    _clean_tmp(out_dir)

    splits = {}
    skipped = list(log.messages)
    for split, sh in shards.items():
        sts = [stats_by_name[shard_name(split, i, len(sh))] for i in range(len(sh))]
        summary = {k: sum(s[k] for s in sts) for k in
                              ("num_images", "num_gt_pairs", "num_neg_pairs", "num_detections")}
        summary["shards"] = [{k: s[k] for k in ("file", "num_images", "bytes", "sha256", "gt_counts")} for s in sts]
        splits[split] = summary
        for s in sts:
            skipped.extend(s["skipped"])
    metadata = dict(src["metadata"], format_version=FORMAT_VERSION)
    write_json_atomic(os.path.join(out_dir, METADATA), metadata)
    manifest = dict(format_version=FORMAT_VERSION, dataset=dataset, fingerprint=fingerprint,
                                    metadata_sha256=_sha256(os.path.join(out_dir, METADATA)),
                                    splits=splits, skipped=dict(count=len(skipped), records=skipped))
    write_json_atomic(os.path.join(out_dir, MANIFEST), manifest)  # written last
    return manifest


def format_summary(manifest: dict, metadata: dict) -> str:
    counts = metadata.get("train_pair_counts", [])
    line = (f"dataset {manifest['dataset']}: {metadata['num_labels']} classes, "
            f"{sum(1 for c in counts if c > 0)} with training pairs")
    if "official_train_instances" in metadata:  # HICO-DET's Rare split (< 10 instances)
        inst = metadata["official_train_instances"]
        line += f", {sum(1 for c in inst if 0 < c < 10)} rare (1-9 training instances)"
    lines = [line]
    lines.append(f"{'split':<8}{'images':>9}{'GT pairs':>10}{'neg pairs':>11}{'detections':>12}{'shards':>8}")
    for split, s in manifest["splits"].items():
        lines.append(f"{split:<8}{s['num_images']:>9}{s['num_gt_pairs']:>10}{s['num_neg_pairs']:>11}"
                                  f"{s['num_detections']:>12}{len(s['shards']):>8}")
    if manifest["skipped"]["count"]:
        lines.append(f"skipped bad records: {manifest['skipped']['count']} (listed in manifest.json)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse  # pylint: disable=g-import-not-at-top
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                                            formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", required=True, choices=["hico", "vcoco"])
    p.add_argument("--data_dir", required=True, help="the original TIN Data/ folder")
    p.add_argument("--out_dir", required=True)
    p.add_argument("--skip_bad", action="store_true",
                                  help="log and count bad records in the manifest instead of stopping")
    p.add_argument("--num_workers", type=int, default=None)
    p.add_argument("--images_per_shard", type=int, default=256)
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--noprogress", "--no_progress", dest="no_progress", action="store_true",
                   help="no progress bar")
    p.add_argument("--test_detections", default=None,
                   help="the test split's detections from this file instead of TIN's test pickle: "
                        "TIN's pickle layout or a COCO results json (detectron2, mmdetection)")
    p.add_argument("--test_detections_format", choices=["tin_pickle", "coco"], default=None,
                   help="format of --test_detections (default: coco for .json, else tin_pickle)")
    p.add_argument("--test_keypoints", default=None,
                   help="COCO keypoint results json, matched to the persons of a coco --test_detections")
    p.add_argument("--hico_annotations_json", default=None,
                   help="HICO-DET: a folder with instances_{test,train}2015.json (fredzzhang/hicodet's "
                        "layout) instead of anno_bbox.mat for the test pairs and the rare split")
    args = p.parse_args(argv)
    extra = {}
    if args.hico_annotations_json:
        if args.dataset != "hico":
            p.error("--hico_annotations_json is for --dataset hico")
        extra["annotations_json"] = args.hico_annotations_json
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        manifest = convert(args.dataset, args.data_dir, args.out_dir, skip_bad=args.skip_bad,
                                              num_workers=args.num_workers, images_per_shard=args.images_per_shard,
                                              overwrite=args.overwrite, progress=not args.no_progress,
                                              test_detections=args.test_detections,
                                              test_detections_format=args.test_detections_format,
                                              test_keypoints=args.test_keypoints, **extra)
    except DataFormatError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    with open(os.path.join(args.out_dir, METADATA)) as f:
        metadata = json.load(f)
    print(format_summary(manifest, metadata))
    return 0


if __name__ == "__main__":
    sys.exit(main())
