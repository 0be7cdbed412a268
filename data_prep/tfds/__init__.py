"""TFDS builders ``tin_hico`` and ``tin_vcoco`` over the converter's shards.

Importing this package registers them::

    import data_prep.tfds  # noqa: F401
    b = tfds.builder("tin_hico", data_dir="~/tensorflow_datasets")
    b.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir="Data"))
    ds = b.as_dataset(split="train")
"""

from data_prep.tfds.builders import TinHico, TinVcoco, features_dict

__all__ = ["TinHico", "TinVcoco", "features_dict"]
