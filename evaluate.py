r"""Scores a trained TIN checkpoint with TIN's post-processing and the official protocol.

    python evaluate.py --config configs/tin_hico.py --workdir runs/hico

Writes ``<workdir>/eval_<step>/``: results.json, results.md, per_class_ap.csv and the
official ``detections/detections_XX.mat`` files (readable by the MATLAB evaluation).
"""

from __future__ import annotations

import sys

from absl import app, flags
from ml_collections import config_flags

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "experiment config file", lock_config=True)
flags.DEFINE_string("workdir", None, "the training workdir (its checkpoints)")
flags.DEFINE_string("out_dir", None, "where the reports go (default <workdir>/eval_<step>)")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    del argv
    from absl import logging as absl_logging  # pylint: disable=g-import-not-at-top
    from tin_jax.evaluation import run  # pylint: disable=g-import-not-at-top
    absl_logging.set_verbosity(absl_logging.WARNING)
    from tin_jax.io.errors import DataFormatError  # pylint: disable=g-import-not-at-top
    try:
        result, present = run.evaluate_hico(FLAGS.config, FLAGS.workdir, FLAGS.out_dir)
    except (DataFormatError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    print(result.format_table("console"))
    print()
    print(present)


if __name__ == "__main__":
    app.run(main)
