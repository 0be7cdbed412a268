"""TFDS builders that run ``data_prep.convert`` and adopt its shards as the dataset's files.

``_download_and_prepare`` converts the manual dir (the original ``Data/`` folder) straight
into the builder's version folder, then describes the converter's shards to TFDS
(``SplitInfo`` with their lengths and a filename template matching
``convert.shard_name``). Nothing is re-encoded: the TFDS files are the converter's, and
the folder also holds ``manifest.json`` / ``metadata.json``, so it is a valid
``input_pipeline`` data dir too. The features are ``tin_jax.data.features.PARSE_SPEC``
nested at ``/`` (``ex["gt"]["labels"]`` is ``parse_example(...)["gt/labels"]``).
"""

from __future__ import annotations

import os

import tensorflow as tf
from etils import epath
import tensorflow_datasets as tfds

from data_prep import convert as convert_lib
from tin_jax.data import features
from tin_jax.io.errors import DataFormatError
from tin_jax.schema.records import POSE_LEN

# per-item widths of the flattened float arrays (as ``features.parse_example`` reshapes)
WIDTHS = {"human_boxes": 4, "object_boxes": 4, "boxes": 4, "poses": POSE_LEN}
# ``convert.shard_name``: "{split}.tfrecord-{index:05d}-of-{count:05d}"
FILENAME_TEMPLATE = "{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}"

_INSTRUCTIONS = """\
Pass the original TIN ``Data/`` folder (README, "Using the real data") as the manual dir:
``download_config=tfds.download.DownloadConfig(manual_dir="Data")`` or ``--manual_dir Data``.
"""

_CITATION = """\
@inproceedings{li2019transferable,
  title={Transferable Interactiveness Knowledge for Human-Object Interaction Detection},
  author={Li, Yong-Lu and Zhou, Siyuan and Huang, Xijie and Xu, Liang and Ma, Ze and
          Fang, Hao-Shu and Wang, Yanfeng and Lu, Cewu},
  booktitle={CVPR}, year={2019}}
"""


def features_dict() -> tfds.features.FeaturesDict:
    """``features.PARSE_SPEC`` as TFDS features: same serialized keys, dtypes and values."""
    nested: dict[str, dict] = {}
    for key, spec in features.PARSE_SPEC.items():
        group, name = key.split("/")
        if isinstance(spec, tf.io.FixedLenFeature):
            shape = tuple(spec.shape)
        else:
            shape = (None, WIDTHS[name]) if name in WIDTHS and spec.dtype == tf.float32 else (None,)
        nested.setdefault(group, {})[name] = tfds.features.Tensor(shape=shape, dtype=spec.dtype)
    return tfds.features.FeaturesDict(nested)


class _TinBuilder(tfds.core.dataset_builder.FileReaderBuilder, skip_registration=True):
    """Shared by both datasets; ``DATASET`` is the converter's ``--dataset``."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Shards of data_prep.convert, format_version 1."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = _INSTRUCTIONS
    DATASET = ""
    IMAGES_PER_SHARD = 256  # the converter's default, hence the same shards
    SKIP_BAD = False

    @tfds.core.utils.classproperty
    @classmethod
    def code_path(cls) -> epath.Path:
        """This file. TFDS 4.9's default probes ``importlib_resources``, which it only
        requires on Python < 3.9 (ModuleNotFoundError here)."""
        return epath.Path(__file__)

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
                builder=self, description=self.__doc__, features=features_dict(),
                homepage="https://github.com/DirtyHarryLYL/Transferable-Interactiveness-Network",
                citation=_CITATION, disable_shuffling=True)  # image-id order, as converted

    def _manual_dir(self, download_config) -> str:
        manual = download_config.manual_dir if download_config else None
        if manual is None:
            raise DataFormatError(f"{self.name}: no manual_dir; pass the original Data/ folder "
                                  "(DownloadConfig(manual_dir=...) or --manual_dir)")
        manual = os.fspath(manual)
        if not os.path.isdir(manual):
            raise DataFormatError(f"{manual}: manual_dir of {self.name} is not a directory; "
                                  "pass the original Data/ folder")
        return manual

    def _download_and_prepare(self, dl_manager, download_config=None) -> None:
        del dl_manager  # nothing to download: the manual dir is read in place
        manual = self._manual_dir(download_config)
        if self.info.file_format != tfds.core.FileFormat.TFRECORD:
            raise ValueError(f"{self.name}: only file_format='tfrecord' (the converter's shards)")
        try:
            manifest = convert_lib.convert(self.DATASET, manual, os.fspath(self.data_dir),
                                           skip_bad=self.SKIP_BAD, progress=False,
                                           images_per_shard=self.IMAGES_PER_SHARD)
        except DataFormatError as e:
            raise DataFormatError(f"{e} (manual_dir {manual} of {self.name})") from None
        self.info.set_splits(tfds.core.SplitDict([self._split_info(name, s)
                                                   for name, s in manifest["splits"].items()]))

    def _split_info(self, name: str, split: dict) -> tfds.core.SplitInfo:
        template = tfds.core.ShardedFileTemplate(
                data_dir=self.data_dir, template=FILENAME_TEMPLATE, dataset_name=self.name,
                split=name, filetype_suffix="tfrecord")
        return tfds.core.SplitInfo(
                name=name, shard_lengths=[int(s["num_images"]) for s in split["shards"]],
                num_bytes=sum(int(s["bytes"]) for s in split["shards"]), filename_template=template)


class TinHico(_TinBuilder):
    """HICO-DET as converted for TIN: one example per image (GT and negative pairs with
    poses for train; annotations and detections for test)."""

    DATASET = "hico"


class TinVcoco(_TinBuilder):
    """V-COCO as converted for TIN: one example per image (GT and negative pairs with
    poses for train; annotations and detections for test)."""

    DATASET = "vcoco"
