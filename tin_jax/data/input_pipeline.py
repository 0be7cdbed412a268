"""tf.data input pipeline over the converted TFRecords (one host's part of each batch).

Training stream:

  all shards -> per-epoch seeded shuffle of files and of chunks
  -> one element per TIN chunk (<= 5 GT pairs of one image): the GLOBAL order
  -> this host keeps its slice of every global batch (nothing else is decoded)
  -> decode image, sample pairs (``sampling.sample_chunk``), pad pairs to a fixed count
  -> batch -> pad images to a size bucket -> prefetch

Every host walks the same global order and takes positions
``[i*L, (i+1)*L)`` of each global batch of ``L * process_count`` chunks, so a
global batch is the same whatever the number of hosts: training on 1 or N hosts
(or resuming on another topology) sees identical data. Each host reads every
record (cheap: no decoding) and decodes only its own.

Everything random is seeded from ``(seed, epoch, ...)``, so the stream is a pure
function of the seed, and ``start_step`` resumes it exactly: the epoch length is
known from the manifest, so a restart rebuilds the current epoch and skips the
elements already consumed.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Iterator, Sequence

import cv2
import numpy as np
import tensorflow as tf

from tin_jax.data import encoding, features, sampling, spatial
from tin_jax.data.encoding import DEFAULT_BUCKETS, bucket_for
from tin_jax.schema import body
from tin_jax.schema.records import POSE_LEN, PairSet


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    data_dir: str
    split: str = "train"
    local_batch_size: int = 1  # images per host per step
    seed: int = 0
    shuffle: bool = True  # False gives TIN's fixed order (still repeated)
    shuffle_buffer: int = 512  # in chunks
    image_buckets: Sequence[tuple[int, int]] = DEFAULT_BUCKETS
    bucket_fallback_multiple: int = 256  # images larger than every bucket
    max_long_side: int | None = None  # None = original resolution, as TIN
    sampling: sampling.SamplingConfig = sampling.SamplingConfig()
    # the TPAMI part level's 10 body-part boxes per pair; they double the pair sampling's
    # cost, so only models that read them ask (``trainer.pipeline_config``)
    part_boxes: bool = False
    # Each step's distinct human boxes as a table (``human_table``, padded to the smallest of
    # these row counts that holds them, else to max_pairs) and each pair's row in it
    # (``human_index``): the model runs the human res5 once per distinct box. None = per pair.
    human_table_sizes: Sequence[int] | None = None
    num_parallel_calls: int = -1  # tf.data.AUTOTUNE
    prefetch: int = 2
    # tf.data's private thread pool (None: TF's default, about one thread per core). Decoding
    # scales with it; the sampling (numpy, under the GIL) does not: one process's sampling
    # rate is its ceiling (benchmarks/pipeline.py)
    threads: int | None = None
    # Processes that build this host's batches (decode, jitter, patterns), worker w the
    # batches w, w + workers, ... (``tin_jax.data.workers.train_batches``; ``threads`` is then
    # each worker's): the sampling holds Python's GIL, so threads cannot scale it, processes
    # do. 0 = in the training process, by tf.data.
    workers: int = 0


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    manifest: dict
    metadata: dict

    @property
    def num_labels(self) -> int:
        return int(self.metadata["num_labels"])

    def shards(self, split: str) -> list[dict]:
        try:
            return self.manifest["splits"][split]["shards"]
        except KeyError:
            raise ValueError(f"split {split!r} not in the manifest; have "
                             f"{sorted(self.manifest['splits'])}") from None


def load_info(data_dir: str) -> DatasetInfo:
    """Reads ``manifest.json`` and ``metadata.json`` written by the converter."""
    paths = [os.path.join(data_dir, n) for n in ("manifest.json", "metadata.json")]
    for p in paths:
        if not os.path.exists(p):
            raise FileNotFoundError(f"{p}: missing; convert the dataset first "
                                    "(python -m data_prep.convert ...)")
    with open(paths[0]) as f:
        manifest = json.load(f)
    with open(paths[1]) as f:
        metadata = json.load(f)
    return DatasetInfo(manifest, metadata)


def chunks_per_epoch(gt_counts: Sequence[int], chunk_size: int) -> int:
    return int(sum(sampling.num_chunks(g, chunk_size) for g in gt_counts))


def _pairs_from_arrays(prefix: str, ex: dict) -> PairSet:
    counts = ex[f"{prefix}/label_counts"]
    flat = ex[f"{prefix}/labels"]
    pcounts = ex[f"{prefix}/person_label_counts"]
    pflat = ex[f"{prefix}/person_labels"]
    ragged = lambda c, f: [f[e - n:e].tolist() for n, e in zip(c, np.cumsum(c))]
    return PairSet(
        human_boxes=ex[f"{prefix}/human_boxes"].reshape(-1, 4),
        object_boxes=ex[f"{prefix}/object_boxes"].reshape(-1, 4),
        object_classes=ex[f"{prefix}/object_classes"],
        labels=ragged(counts, flat),
        poses=ex[f"{prefix}/poses"].reshape(-1, POSE_LEN),
        pose_valid=ex[f"{prefix}/pose_valid"].astype(bool),
        scores=ex[f"{prefix}/scores"],
        person_labels=ragged(pcounts, pflat) if len(pcounts) else [],
    )


PART_STREAM = 1  # seeds the part boxes' jitter apart from the pairs' own

_PAIR_KEYS = ("human_boxes", "object_boxes", "object_classes", "label_counts", "labels",
              "person_label_counts", "person_labels", "poses", "pose_valid", "scores")


def sample_padded(ex: dict, chunk: int, epoch: int, height: int, width: int, seed: int,
                  num_labels: int, cfg: sampling.SamplingConfig,
                  part_boxes: bool = True, human_table: bool = False) -> dict[str, np.ndarray]:
    """Numpy side of the pipeline: one chunk's pairs padded to ``cfg.max_pairs``; with
    ``human_table`` also its distinct human boxes (unpadded) and each pair's row in them."""
    gt = _pairs_from_arrays("gt", ex)
    neg = _pairs_from_arrays("neg", ex)
    key = [seed, epoch, int(ex["image_id"]), chunk]
    rng = np.random.default_rng(key)
    part_rng = np.random.default_rng(key + [PART_STREAM]) if part_boxes else None
    s = sampling.sample_chunk(gt, neg, chunk, (height, width), num_labels, rng, cfg, part_rng)
    p, n = cfg.max_pairs, len(s["labels"])
    if n > p or s["num_pos"] > cfg.max_positives:  # impossible by construction; the model relies on it
        raise ValueError(f"{n} pairs ({s['num_pos']} positive) exceed max_pairs={p} "
                         f"(max_positives={cfg.max_positives})")
    pad = lambda a: np.concatenate([a, np.zeros((p - n,) + a.shape[1:], a.dtype)])
    out = {k: pad(v) for k, v in s.items() if k != "num_pos"}
    out["pair_mask"] = pad(np.ones((n,), np.float32))
    out["num_pos"] = s["num_pos"]
    if human_table:
        out["human_table"], index = encoding.distinct_rows(s["human_boxes"])
        out["human_index"] = pad(index)
    return out


def decode_image_bgr(encoded: bytes, image_id: int) -> np.ndarray:
    """uint8 BGR, as ``cv2.imread`` gives it (the original reads images so), with the same
    decoder inference uses. The image stays uint8 through the pipeline (4x less host memory
    traffic than float); :func:`encoding.normalize_image` subtracts the means on the device."""
    image = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"image {image_id}: its {len(encoded)} encoded bytes do not decode "
                         "(not a JPEG/PNG/... image, or truncated)")
    return image


def sampled_specs(cfg: PipelineConfig, num_labels: int) -> list[tuple[str, tf.DType, list]]:
    """(key, dtype, shape) of an example's sampled arrays; the human table's rows (None) vary,
    up to ``max_pairs``."""
    p = cfg.sampling.max_pairs
    specs = [
        ("human_boxes", tf.float32, [p, 4]), ("object_boxes", tf.float32, [p, 4]),
        ("labels", tf.uint8, [p, num_labels]), ("person_labels", tf.uint8, [p, num_labels]),
        ("binary", tf.uint8, [p, 2]), ("pattern_geometry", tf.int16, [p, spatial.GEOMETRY_LEN]),
        ("pair_mask", tf.float32, [p]), ("num_pos", tf.int32, []),
    ] + ([("part_boxes", tf.float32, [p, body.NUM_PARTS, 4])] if cfg.part_boxes else [])
    if cfg.human_table_sizes is not None:
        specs += [("human_table", tf.float32, [None, 4]), ("human_index", tf.int32, [p])]
    return specs


def graph_fn(fn):
    """``fn`` for tf.data's ``map`` / ``filter`` / ``flat_map`` as it is: tf.data would run it
    through AutoGraph first, which rewrites Python control flow on tensors. These functions
    have none, and the rewrite cost a fresh process ~0.7 s on its first pipeline (1.76 ->
    1.03 s to build the training pipeline and take a batch, tiny dataset, 2-core VM)."""
    return tf.autograph.experimental.do_not_convert(fn)


def _sample_fn(cfg: PipelineConfig, num_labels: int):
    scfg = cfg.sampling
    out_specs = sampled_specs(cfg, num_labels)
    tables = cfg.human_table_sizes is not None
    in_keys = [f"{pre}/{k}" for pre in ("gt", "neg") for k in _PAIR_KEYS]

    def np_fn(image_id, chunk, epoch, encoded, *arrays):
        image = decode_image_bgr(encoded, int(image_id))  # cv2 lets go of the GIL meanwhile
        ex = dict(zip(in_keys, arrays), image_id=image_id)
        s = sample_padded(ex, int(chunk), int(epoch), image.shape[0], image.shape[1], cfg.seed,
                          num_labels, scfg, cfg.part_boxes, tables)
        return [image] + [s[k].astype(dt.as_numpy_dtype, copy=False) for k, dt, _ in out_specs]

    def fn(elem):
        ex, chunk, epoch = features.parse_example(elem["record"]), elem["chunk"], elem["epoch"]
        image, *outs = tf.numpy_function(
            np_fn, [ex["image/id"], chunk, epoch, ex["image/encoded"]] + [ex[k] for k in in_keys],
            [tf.uint8] + [dt for _, dt, _ in out_specs], stateful=False)
        image = tf.ensure_shape(image, [None, None, 3])
        height, width = tf.shape(image)[0], tf.shape(image)[1]
        res = {}
        for (k, _, shape), v in zip(out_specs, outs):
            res[k] = tf.ensure_shape(v, shape)
        scale = tf.constant(1.0, tf.float32)
        if cfg.max_long_side:
            image, scale = resize_to_long_side(image, height, width, cfg.max_long_side)
            res["human_boxes"] *= scale
            res["object_boxes"] *= scale
            if cfg.part_boxes:
                res["part_boxes"] *= scale
            if tables:
                res["human_table"] *= scale
        res["image"] = image
        res["image_hw"] = tf.shape(image)[:2]
        res["scale"] = scale
        res["image_id"] = ex["image/id"]
        res["chunk"] = chunk
        res["epoch"] = epoch
        return res

    return fn


_GT_COUNT = {"gt/label_counts": tf.io.VarLenFeature(tf.int64)}


def _chunks(record: tf.Tensor, chunk_size: int, epoch: tf.Tensor) -> tf.data.Dataset:
    """One element per chunk of a record: the record still serialized (it is parsed where
    its chunk is sampled, by this host or input worker only), its chunk, the epoch."""
    n = tf.io.parse_single_example(record, _GT_COUNT)["gt/label_counts"].dense_shape[0]
    k = (n + chunk_size - 1) // chunk_size
    return tf.data.Dataset.range(k).map(graph_fn(lambda c: dict(record=record, chunk=c, epoch=epoch)))


def _epoch_dataset(files: list[str], cfg: PipelineConfig, epoch: tf.Tensor) -> tf.data.Dataset:
    seed = tf.cast(cfg.seed, tf.int64) * 1_000_003 + epoch
    count = len(files)
    files = tf.data.Dataset.from_tensor_slices(files)
    if cfg.shuffle:
        files = files.shuffle(count, seed=seed, reshuffle_each_iteration=False)
    ds = tf.data.TFRecordDataset(files, num_parallel_reads=None)
    ds = ds.flat_map(graph_fn(lambda record: _chunks(record, cfg.sampling.chunk_size, epoch)))
    if cfg.shuffle:
        ds = ds.shuffle(cfg.shuffle_buffer, seed=seed, reshuffle_each_iteration=False)
    return ds


def _pad_to_bucket(cfg: PipelineConfig):
    buckets = [tuple(b) for b in cfg.image_buckets]

    def bucket_np(h, w):
        return np.array(bucket_for(int(h), int(w), buckets, cfg.bucket_fallback_multiple), np.int32)

    def table_rows_np(count):
        return np.int32(encoding.table_rows(int(count), cfg.human_table_sizes or (),
                                            cfg.sampling.max_pairs))

    def fn(batch):
        hw = tf.reduce_max(batch["image_hw"], axis=0)
        target = tf.numpy_function(bucket_np, [hw[0], hw[1]], tf.int32, stateful=False)
        target = tf.ensure_shape(target, [2])
        img = batch["image"]
        shape = tf.shape(img)
        img = tf.pad(img, [[0, 0], [0, target[0] - shape[1]], [0, target[1] - shape[2]], [0, 0]])
        out = dict(batch, image=img)
        if cfg.human_table_sizes is not None:  # one compilation per table size, as per bucket
            table = batch["human_table"]
            rows = tf.numpy_function(table_rows_np, [tf.shape(table)[1]], tf.int32, stateful=False)
            out["human_table"] = tf.pad(table, [[0, 0], [0, rows - tf.shape(table)[1]], [0, 0]])
        return out

    return fn


def resize_to_long_side(image: tf.Tensor, height, width, max_long_side: int) -> tuple[tf.Tensor, tf.Tensor]:
    """(uint8 image, scale): bilinear to a long side of at most ``max_long_side``; inference
    does the same with cv2 (``inference.runner``; tests/test_resize_train_vs_inference.py)."""
    long_side = tf.cast(tf.maximum(height, width), tf.float32)
    scale = tf.minimum(1.0, max_long_side / long_side)
    new_hw = tf.maximum(tf.cast(tf.round(tf.cast(tf.stack([height, width]), tf.float32) * scale), tf.int32),
                        1)  # a sliver keeps one pixel
    resized = tf.image.resize(tf.cast(image, tf.float32), new_hw, method="bilinear")
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8), scale


def train_dataset(cfg: PipelineConfig, *, start_step: int = 0, process_index: int = 0,
                  process_count: int = 1, batch_slice: tuple[int, int] = (0, 1)
                  ) -> tuple[tf.data.Dataset, dict]:
    """Infinite training stream for one host, positioned at ``start_step`` (global steps of
    ``local_batch_size * process_count`` chunks). ``batch_slice=(i, n)`` keeps the host's
    batches ``i, i + n, i + 2n, ...`` only (an input worker's share, ``tin_jax.data.workers``).

    Returns the dataset and facts about it (``chunks_per_epoch``, ``num_labels``).
    Each element is a dict of batched arrays with a leading ``local_batch_size``
    axis: ``image`` (B, H, W, 3) uint8 BGR padded to a bucket (see
    :func:`encoding.normalize_image`), ``image_hw`` the real size, per-pair arrays of
    ``max_pairs`` rows with ``pair_mask`` (``part_boxes`` (B, P, 10, 4) with
    ``cfg.part_boxes``), ``num_pos``, and with ``cfg.human_table_sizes`` the distinct human
    boxes ``human_table`` (B, U, 4) (U: the table size holding the batch's largest count)
    and ``human_index`` (B, max_pairs) int32, each pair's row. Labels are uint8 0/1
    and the interaction patterns ``pattern_geometry`` (B, max_pairs, ``spatial.GEOMETRY_LEN``)
    int16, painted on the device (``train_step.device_batch``): compact on the host, widened
    on the device.
    """
    cfg, ds, facts = chunk_elements(cfg, start_step=start_step, process_index=process_index,
                                    process_count=process_count)
    i, n = batch_slice
    if not 0 <= i < n:
        raise ValueError(f"batch_slice {batch_slice}: want (i, n) with 0 <= i < n")
    if n > 1:  # whole batches: chunks [b*L, (b+1)*L) of this host's stream for b = i mod n
        local = cfg.local_batch_size
        ds = _keep_positions(ds, lambda j: (j // local) % n == i)
    ds = ds.map(graph_fn(_sample_fn(cfg, facts["num_labels"])), num_parallel_calls=cfg.num_parallel_calls,
                deterministic=True)
    ds = ds.padded_batch(cfg.local_batch_size, drop_remainder=True)
    ds = ds.map(graph_fn(_pad_to_bucket(cfg)))
    return ds.with_options(_options(cfg)).prefetch(cfg.prefetch), facts


def _keep_positions(ds: tf.data.Dataset, keep) -> tf.data.Dataset:
    """The elements of ``ds`` whose position i (from 0) has ``keep(i)``."""
    return ds.enumerate().filter(graph_fn(lambda i, _: keep(i))).map(graph_fn(lambda _, x: x))


def _options(cfg: PipelineConfig) -> tf.data.Options:
    options = tf.data.Options()
    options.deterministic = True
    options.experimental_optimization.map_parallelization = True
    if cfg.threads:
        options.threading.private_threadpool_size = cfg.threads
    return options


def chunk_elements(cfg: PipelineConfig, *, start_step: int = 0, process_index: int = 0,
                   process_count: int = 1) -> tuple[PipelineConfig, tf.data.Dataset, dict]:
    """(config with the dataset's defaults resolved, this host's chunks in training order,
    facts): the stream :func:`train_dataset` samples and batches, each element a serialized
    record, its chunk and its epoch."""
    info = load_info(cfg.data_dir)
    if cfg.sampling.negatives_use_stored_label is None:
        cfg = dataclasses.replace(cfg, sampling=dataclasses.replace(
            cfg.sampling, negatives_use_stored_label=info.metadata["dataset"] == "hico"))
    if not 0 <= process_index < process_count:
        raise ValueError(f"process_index {process_index} not in [0, {process_count})")
    shards = info.shards(cfg.split)
    files = [os.path.join(cfg.data_dir, s["file"]) for s in shards]
    per_epoch = chunks_per_epoch([g for s in shards for g in s["gt_counts"]],
                                 cfg.sampling.chunk_size)
    if per_epoch == 0:
        raise ValueError(f"{cfg.data_dir}: split {cfg.split!r} has no GT pairs")
    local, global_batch = cfg.local_batch_size, cfg.local_batch_size * process_count
    first_epoch, offset = divmod(start_step * global_batch, per_epoch)
    first = _epoch_dataset(files, cfg, tf.constant(first_epoch, tf.int64)).skip(offset)
    rest = tf.data.Dataset.range(first_epoch + 1, np.iinfo(np.int64).max).flat_map(
        graph_fn(lambda e: _epoch_dataset(files, cfg, e)))
    ds = first.concatenate(rest)
    if process_count > 1:  # keep this host's slice of every global batch
        lo = process_index * local
        ds = _keep_positions(ds, lambda i: tf.logical_and(i % global_batch >= lo, i % global_batch < lo + local))
    return cfg, ds, dict(chunks_per_epoch=per_epoch, num_labels=info.num_labels,
                    max_pairs=cfg.sampling.max_pairs, global_batch_size=global_batch)


def iterate_records(data_dir: str, split: str) -> Iterator:
    """Yields every :class:`~tin_jax.schema.records.ImageRecord` of a split (numpy, in order)."""
    info = load_info(data_dir)
    files = [os.path.join(data_dir, s["file"]) for s in info.shards(split)]
    for raw in tf.data.TFRecordDataset(files).map(graph_fn(features.parse_example)).as_numpy_iterator():
        yield features.decode_numpy(raw), raw["image/encoded"]
