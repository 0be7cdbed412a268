"""The TFDS builders (``data_prep.tfds``): built from the raw folder, they read back exactly
what the converter writes, from the converter's own shards."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import data_prep.tfds  # noqa: F401  (registers tin_hico, tin_vcoco)
from data_prep import convert as convert_lib
from tin_jax.data import features, input_pipeline
from tin_jax.io.errors import DataFormatError

NAMES = {"hico": "tin_hico", "vcoco": "tin_vcoco"}


def _config(manual_dir) -> tfds.download.DownloadConfig:
    return tfds.download.DownloadConfig(manual_dir=manual_dir, try_download_gcs=False)


@pytest.fixture(scope="module")
def tfds_root(raw_dir, tmp_path_factory) -> str:
    """One TFDS data_dir holding both datasets, built with the raw folder as manual dir."""
    root = str(tmp_path_factory.mktemp("tfds"))
    for name in NAMES.values():
        tfds.builder(name, data_dir=root).download_and_prepare(download_config=_config(raw_dir))
    return root


def _converter_examples(out_dir: str, split: str) -> list[dict]:
    files = [os.path.join(out_dir, s["file"]) for s in input_pipeline.load_info(out_dir).shards(split)]
    return list(tf.data.TFRecordDataset(files).map(features.parse_example).as_numpy_iterator())


def _flat(ex: dict) -> dict:
    return {f"{group}/{k}": v for group, d in ex.items() for k, v in d.items()}


@pytest.mark.parametrize("dataset", ["hico", "vcoco"])
def test_every_image_matches_the_converter(dataset, tfds_root, hico_dir, vcoco_dir):
    """Same images, same order, same values and dtypes as ``features.parse_example`` on the
    converter's output (converted separately, with other shard sizes)."""
    out_dir = {"hico": hico_dir, "vcoco": vcoco_dir}[dataset]
    builder = tfds.builder(NAMES[dataset], data_dir=tfds_root)
    manifest = input_pipeline.load_info(out_dir).manifest
    assert set(builder.info.splits) == set(manifest["splits"])
    for split in manifest["splits"]:
        want = _converter_examples(out_dir, split)
        got = [_flat(ex) for ex in tfds.as_numpy(builder.as_dataset(split=split))]
        assert builder.info.splits[split].num_examples == len(want) == len(got) > 0
        for g, w in zip(got, want):
            assert set(g) == set(w) == set(features.PARSE_SPEC)
            for k in w:
                assert np.asarray(g[k]).dtype == np.asarray(w[k]).dtype, k
                np.testing.assert_array_equal(g[k], w[k], err_msg=f"{split} {k}")


def test_files_are_the_converters_shards(raw_dir, tfds_root, tmp_path):
    """The TFDS folder is a converter output (default shard size): byte-identical shards,
    and tin-jax's own pipeline reads it."""
    builder = tfds.builder("tin_hico", data_dir=tfds_root)
    ref = convert_lib.convert("hico", raw_dir, str(tmp_path / "ref"), progress=False, num_workers=1)
    info = input_pipeline.load_info(builder.data_dir)
    for split, s in ref["splits"].items():
        assert [(x["file"], x["sha256"]) for x in info.shards(split)] == \
               [(x["file"], x["sha256"]) for x in s["shards"]]
        assert builder.info.splits[split].shard_lengths == [x["num_images"] for x in s["shards"]]
    ids = [rec.image_id for rec, _ in input_pipeline.iterate_records(builder.data_dir, "train")]
    assert ids == sorted(ids) and len(ids) == ref["splits"]["train"]["num_images"]


def test_load_and_read_only_builder(tfds_root):
    """``tfds.load`` and ``tfds.builder_from_directory`` (no builder code) read the same data."""
    ds = tfds.load("tin_vcoco", split="test", data_dir=tfds_root, download=False)
    ids = [int(ex["image"]["id"]) for ex in tfds.as_numpy(ds)]
    path = tfds.builder("tin_vcoco", data_dir=tfds_root).data_dir
    ro = tfds.builder_from_directory(path).as_dataset(split="test")
    assert [int(ex["image"]["id"]) for ex in tfds.as_numpy(ro)] == ids and len(ids) > 0


def test_bad_manual_dir_is_one_clear_line(tmp_path):
    root = str(tmp_path / "tfds")
    missing = str(tmp_path / "no_such_Data")
    empty = tmp_path / "empty_Data"
    empty.mkdir()
    for manual in (missing, str(empty)):
        with pytest.raises(DataFormatError) as e:
            tfds.builder("tin_hico", data_dir=root).download_and_prepare(download_config=_config(manual))
        msg = str(e.value)
        assert manual in msg and "\n" not in msg, msg
    with pytest.raises(DataFormatError, match="manual_dir"):
        tfds.builder("tin_hico", data_dir=root).download_and_prepare(download_config=_config(None))
    assert not tfds.builder("tin_hico", data_dir=root).is_prepared()


def test_command_line(raw_dir, tmp_path, capsys):
    from data_prep.tfds.__main__ import main  # pylint: disable=g-import-not-at-top
    assert main(["tin_hico", "--manual_dir", str(tmp_path / "nope"), "--data_dir", str(tmp_path)]) == 2
    assert str(tmp_path / "nope") in capsys.readouterr().err
