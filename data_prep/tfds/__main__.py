"""Builds the TFDS datasets (``tfds build`` needs apache_beam, which tin-jax does not install).

    python -m data_prep.tfds tin_hico --manual_dir Data [--data_dir ~/tensorflow_datasets]
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    from data_prep.tfds import builders  # pylint: disable=g-import-not-at-top
    from tin_jax.io.errors import DataFormatError  # pylint: disable=g-import-not-at-top
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("name", choices=[builders.TinHico.name, builders.TinVcoco.name])
    p.add_argument("--manual_dir", required=True, help="the original TIN Data/ folder")
    p.add_argument("--data_dir", default=None, help="TFDS data dir (default: TFDS's)")
    args = p.parse_args(argv)
    builder = tfds.builder(args.name, data_dir=args.data_dir)
    try:
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
                manual_dir=args.manual_dir, try_download_gcs=False))
    except DataFormatError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{args.name}: {builder.data_dir} "
          + ", ".join(f"{s}: {i.num_examples} images" for s, i in builder.info.splits.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
