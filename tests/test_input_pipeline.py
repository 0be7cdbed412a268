"""The tf.data pipeline against a transcription of TIN's blob builder, plus resume/sharding."""

from __future__ import annotations

import dataclasses
import os
import pickle

import cv2
import numpy as np
import pytest

from tests.reference import tin_blobs
from tests.tolerances import Bounded, assert_within
from tin_jax.data import encoding
from tin_jax.data import input_pipeline as ip
from tin_jax.training import train_step

HICO_GT = "Trainval_GT_HICO_with_pose.pkl"
HICO_NEG = "Trainval_Neg_HICO_with_pose.pkl"


def _load_py2(path):
    with open(path, "rb") as f:
        return pickle.load(f, encoding="latin1")


def _take(ds, n):
    return [b for _, b in zip(range(n), ds.as_numpy_iterator())]


@pytest.fixture(scope="module")
def originals(raw_dir):
    gt = _load_py2(os.path.join(raw_dir, HICO_GT))
    neg = _load_py2(os.path.join(raw_dir, HICO_NEG))
    chunks = {}
    for chunk in tin_blobs.changeForm(gt, 5):
        chunks.setdefault(chunk[0][0], []).append(chunk)
    return chunks, neg


def test_examples_match_original_blob_builder(raw_dir, hico_dir, originals):
    chunks, neg = originals
    cfg = ip.PipelineConfig(data_dir=hico_dir, seed=11, shuffle_buffer=16)
    ds, facts = ip.train_dataset(cfg)
    p = facts["max_pairs"]
    for b in _take(ds, 16):
        image_id, chunk, epoch = int(b["image_id"][0]), int(b["chunk"][0]), int(b["epoch"][0])
        im = cv2.imread(os.path.join(raw_dir, "hico_20160224_det/images/train2015",
                                     f"HICO_train2015_{image_id:08d}.jpg"))
        blob, shape = tin_blobs.image_blob(im)
        rng = np.random.default_rng([cfg.seed, epoch, image_id, chunk])
        randint = lambda a, b_: int(rng.integers(a, b_ + 1))
        sample = lambda pop, k: [list(pop)[i] for i in rng.permutation(len(pop))[:k]]
        pattern, hb, ob, act, num_pos, binary = tin_blobs.Augmented_HO_Neg_HICO_pose_pattern_version2(
            chunks[image_id][chunk], neg, shape, 15, 60, randint, sample)
        n = len(hb)
        assert int(b["num_pos"][0]) == num_pos
        np.testing.assert_array_equal(b["pair_mask"][0], (np.arange(p) < n).astype(np.float32))
        np.testing.assert_array_equal(b["human_boxes"][0, :n], hb[:, 1:])
        np.testing.assert_array_equal(b["object_boxes"][0, :n], ob[:, 1:])
        np.testing.assert_array_equal(b["labels"][0, :n], act)
        np.testing.assert_array_equal(b["binary"][0, :n], binary)
        # the patterns as the train step paints them from the shipped geometry, on the device
        _, painted = train_step.device_batch(b)
        np.testing.assert_array_equal(np.asarray(painted)[0, :n], pattern)
        assert not np.asarray(painted)[0, n:].any() and not b["labels"][0, n:].any()
        assert not b["pattern_geometry"][0, n:].any()
        h, w = shape[:2]
        np.testing.assert_array_equal(b["image_hw"][0], [h, w])
        np.testing.assert_array_equal(b["image"][0, :h, :w], im)  # bit-identical to cv2.imread
        norm = encoding.normalize_image(b["image"], b["image_hw"])
        # The original subtracts the float64 means (then stores float32); ours subtracts them rounded
        # to float32: within eps32/2 of the means plus one rounding of the result (eps32 of the
        # terms' magnitude bounds both): up to one ulp of values >= 128, 1.5e-5.
        ref = Bounded(im) - Bounded.rounded(tin_blobs.PIXEL_MEANS[0, 0])
        np.testing.assert_array_equal(blob[0], ref.value.astype(np.float32))  # the original's blob
        assert_within(norm[0, :h, :w], ref)
        assert not norm[0, h:].any() and not norm[0, :, w:].any()
        assert tuple(b["image"].shape[1:3]) in set(map(tuple, encoding.DEFAULT_BUCKETS))


def test_no_interaction_positives_can_be_labelled_non_interactive(raw_dir, hico_dir, originals):
    """``no_interaction_labels``: the original's binary labels, except that positives labelled
    only with a no_interaction HOI are non-interactive ([0, 1]); everything else unchanged."""
    from tin_jax.schema import classes
    from tin_jax.data import sampling
    chunks, neg = originals
    cfg = ip.PipelineConfig(data_dir=hico_dir, seed=11, shuffle_buffer=16, sampling=sampling.SamplingConfig(
        no_interaction_labels=tuple(classes.NO_INTERACTION_HOIS)))
    ds, _ = ip.train_dataset(cfg)
    no_inter = np.zeros(600, bool)
    no_inter[list(classes.NO_INTERACTION_HOIS)] = True
    flipped = 0
    for b in _take(ds, 40):
        image_id, chunk, epoch = int(b["image_id"][0]), int(b["chunk"][0]), int(b["epoch"][0])
        im = cv2.imread(os.path.join(raw_dir, "hico_20160224_det/images/train2015",
                                     f"HICO_train2015_{image_id:08d}.jpg"))
        rng = np.random.default_rng([cfg.seed, epoch, image_id, chunk])
        randint = lambda a, b_: int(rng.integers(a, b_ + 1))
        sample = lambda pop, k: [list(pop)[i] for i in rng.permutation(len(pop))[:k]]
        _, hb, _, act, num_pos, binary = tin_blobs.Augmented_HO_Neg_HICO_pose_pattern_version2(
            chunks[image_id][chunk], neg, im.shape, 15, 60, randint, sample)
        only_no_inter = np.array([row.any() and not (row.astype(bool) & ~no_inter).any() for row in act])
        want = binary.copy()
        rows = only_no_inter & (np.arange(len(act)) < num_pos)
        want[rows] = [0, 1]
        flipped += int(rows.sum())
        np.testing.assert_array_equal(b["binary"][0, :len(hb)], want)
    assert flipped > 0  # the fixture's scenes have annotated non-interacting pairs


def _keys(batches, per_batch=1):
    return [(int(b["image_id"][k]), int(b["chunk"][k]), int(b["epoch"][k]))
            for b in batches for k in range(per_batch)]


def test_one_epoch_covers_every_chunk_once(hico_dir, originals):
    chunks, _ = originals
    cfg = ip.PipelineConfig(data_dir=hico_dir, seed=1, shuffle_buffer=8)
    ds, facts = ip.train_dataset(cfg)
    per_epoch = facts["chunks_per_epoch"]
    assert per_epoch == sum(len(v) for v in chunks.values())
    keys = _keys(_take(ds, per_epoch + 1))
    assert sorted(k[:2] for k in keys[:per_epoch]) == sorted(
        (i, c) for i, v in chunks.items() for c in range(len(v)))
    assert {k[2] for k in keys[:per_epoch]} == {0} and keys[per_epoch][2] == 1


def test_deterministic_and_seed_dependent(hico_dir):
    mk = lambda seed: _take(ip.train_dataset(ip.PipelineConfig(data_dir=hico_dir, seed=seed))[0], 6)
    a, b, c = mk(5), mk(5), mk(6)
    assert _keys(a) == _keys(b)
    for x, y in zip(a, b):
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
    assert _keys(a) != _keys(c)


def test_resume_at_exact_position_across_epochs(hico_dir):
    cfg = ip.PipelineConfig(data_dir=hico_dir, seed=2, local_batch_size=2)
    ds, facts = ip.train_dataset(cfg)
    steps_per_epoch = facts["chunks_per_epoch"] // 2
    start = steps_per_epoch - 1  # the resumed stream crosses into the next epoch
    full = _take(ds, start + 4)[start:]
    resumed = _take(ip.train_dataset(cfg, start_step=start)[0], 4)
    for x, y in zip(full, resumed):
        assert x.keys() == y.keys()
        for k in x:
            np.testing.assert_array_equal(x[k], y[k], err_msg=k)


@pytest.mark.parametrize("count", [2, 3])
def test_hosts_split_every_global_batch(hico_dir, count):
    """Each host gets its slice of the one global order: same data on 1 or N hosts."""
    steps = 5
    single = _keys(_take(ip.train_dataset(ip.PipelineConfig(
        data_dir=hico_dir, seed=4, local_batch_size=count))[0], steps), count)
    hosts = [_keys(_take(ip.train_dataset(ip.PipelineConfig(data_dir=hico_dir, seed=4),
                                          process_index=i, process_count=count)[0], steps))
             for i in range(count)]
    for s in range(steps):
        assert [h[s] for h in hosts] == single[s * count:(s + 1) * count]
    # and resuming a multi-host run works on the global position
    later = _keys(_take(ip.train_dataset(ip.PipelineConfig(data_dir=hico_dir, seed=4),
                                         start_step=2, process_index=1, process_count=count)[0], 3))
    assert later == hosts[1][2:5]


def test_max_long_side_scales_image_and_boxes(hico_dir):
    base = _take(ip.train_dataset(ip.PipelineConfig(data_dir=hico_dir, seed=3))[0], 1)[0]
    small = _take(ip.train_dataset(ip.PipelineConfig(data_dir=hico_dir, seed=3,
                                                     max_long_side=160))[0], 1)[0]
    h, w = base["image_hw"][0]
    s = float(small["scale"][0])
    assert s == pytest.approx(160 / max(h, w))
    assert max(small["image_hw"][0]) == 160
    np.testing.assert_allclose(small["human_boxes"], base["human_boxes"] * s, rtol=1e-6)
    np.testing.assert_array_equal(small["pattern_geometry"], base["pattern_geometry"])


@pytest.mark.parametrize("long_side", [None, 160])
def test_human_table_holds_each_steps_distinct_boxes(hico_dir, long_side):
    """``human_table_sizes``: every other array is what the per-pair stream gives; each pair's
    table row is its human box bit for bit (scaled alike with ``max_long_side``); the table's
    rows are distinct, in first-appearance order, zero-padded to a configured size."""
    sizes = (18, 20)  # the test data's steps hold ~16-20 distinct humans: both sizes occur
    cfg = ip.PipelineConfig(data_dir=hico_dir, seed=5, local_batch_size=2, max_long_side=long_side)
    plain = _take(ip.train_dataset(cfg)[0], 8)
    tables = _take(ip.train_dataset(dataclasses.replace(cfg, human_table_sizes=sizes))[0], 8)
    p = cfg.sampling.max_pairs
    seen = set()
    for a, b in zip(plain, tables):
        assert set(b) - set(a) == {"human_table", "human_index"}
        for k in a:
            np.testing.assert_array_equal(b[k], a[k], err_msg=k)
        rows = b["human_table"].shape[1]
        seen.add(rows)
        counts = []
        for i in range(2):
            n = int(a["pair_mask"][i].sum())
            index = b["human_index"][i]
            np.testing.assert_array_equal(b["human_table"][i][index[:n]], a["human_boxes"][i, :n])
            assert not index[n:].any()
            distinct = [tuple(r) for r in a["human_boxes"][i, :n]]
            first = list(dict.fromkeys(distinct))  # distinct rows in order of first appearance
            np.testing.assert_array_equal(b["human_table"][i, :len(first)], np.array(first, np.float32))
            assert not b["human_table"][i, len(first):].any()
            counts.append(len(first))
        assert rows == min([s for s in sizes if s >= max(counts)] or [p])
    assert len(seen) > 1, seen


def test_table_rows():
    assert encoding.table_rows(3, (4, 16), 80) == 4
    assert encoding.table_rows(4, (4, 16), 80) == 4
    assert encoding.table_rows(5, (4, 16), 80) == 16
    assert encoding.table_rows(17, (4, 16), 80) == 80
    assert encoding.table_rows(3, (), 80) == 80
    assert encoding.table_rows(20, (24, 32), 24) == 24  # sizes beyond the pair slots: the slots


def test_bucket_choice():
    buckets = ((320, 480), (480, 480), (480, 640))
    assert encoding.bucket_for(300, 400, buckets, 256) == (320, 480)
    assert encoding.bucket_for(330, 400, buckets, 256) == (480, 480)
    assert encoding.bucket_for(470, 600, buckets, 256) == (480, 640)
    assert encoding.bucket_for(700, 900, buckets, 256) == (768, 1024)


def test_vcoco_pipeline_labels(raw_dir, tmp_path):
    from tests.conftest import run_module
    out = str(tmp_path / "vcoco")
    run_module("data_prep.convert", "--dataset", "vcoco", "--data_dir", raw_dir, "--out_dir", out,
               "--noprogress")
    gt = _load_py2(os.path.join(raw_dir, "Trainval_GT_VCOCO_with_pose.pkl"))
    by_image = {}
    for e in gt:
        by_image.setdefault(e[0], []).append(e)
    ds, facts = ip.train_dataset(ip.PipelineConfig(data_dir=out, seed=0))
    assert facts["num_labels"] == 29
    for b in _take(ds, 8):
        n, pos = int(b["pair_mask"][0].sum()), int(b["num_pos"][0])
        chunk = by_image[int(b["image_id"][0])][5 * int(b["chunk"][0]):][:5]
        assert not b["labels"][0, pos:n].any()  # V-COCO negatives: all-zero labels
        assert not b["person_labels"][0, pos:n].any()
        want_labels = {tuple(sorted(e[1])) for e in chunk}
        want_person = {tuple(sorted(e[4])) for e in chunk}
        assert {tuple(np.flatnonzero(r)) for r in b["labels"][0, :pos]} == want_labels
        assert {tuple(np.flatnonzero(r)) for r in b["person_labels"][0, :pos]} == want_person
        np.testing.assert_array_equal(b["binary"][0, :n, 0], np.arange(n) < pos)


def test_undecodable_image_bytes_name_the_image():
    ok, png = cv2.imencode(".png", np.arange(24, dtype=np.uint8).reshape(2, 4, 3))
    np.testing.assert_array_equal(ip.decode_image_bgr(png.tobytes(), 1),
                                  np.arange(24, dtype=np.uint8).reshape(2, 4, 3))
    with pytest.raises(ValueError, match="image 7: its 9 encoded bytes do not decode"):
        ip.decode_image_bgr(b"not a jpg", 7)
