r"""Scores a trained TIN checkpoint with TIN's post-processing and the official protocol.

    python evaluate.py --config configs/tin_hico.py --workdir runs/hico \
        --config.data.dir=tfrecords/hico --config.eval.anno_dir=Data/hico_20160224_det
    python evaluate.py --config configs/tin_vcoco.py --workdir runs/vcoco \
        --config.data.dir=tfrecords/vcoco --config.eval.vcoco_root=Data/v-coco
    python evaluate.py --config configs/tin_hico.py --workdir runs/released \
        --config.init_from=Weights/TIN_HICO/HOI_iter_1700000.ckpt \
        --config.data.dir=tfrecords/hico --config.eval.anno_dir=Data/hico_20160224_det

A workdir without a checkpoint takes the weights of ``config.init_from`` (a TIN TF
checkpoint, e.g. the released weights, or another workdir) and writes its reports to
``<workdir>/eval_imported/``.

The protocol follows the converted dataset (config.data.dir): HICO-DET writes
``<workdir>/eval_<step>/`` results.json, results.md, per_class_ap.csv, PNGs and the
official ``detections/detections_XX.mat`` files (readable by the MATLAB evaluation);
V-COCO writes results.json, results.md and ``detections_vsrl.pkl`` (vsrl_eval.py's input).
Multi-host: the same --coordinator_address/--num_processes/--process_id as train.py;
every host scores its share of the images, process 0 writes the reports.
"""

from __future__ import annotations


from absl import app, flags
from ml_collections import config_flags

from tin_jax import cli, multihost

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "experiment config file", lock_config=True)
flags.DEFINE_string("workdir", None, "the training workdir (its checkpoints); without one, "
                    "the weights of --config.init_from")
flags.DEFINE_string("out_dir", None, "where the reports go (default <workdir>/eval_<step>, "
                    "<workdir>/eval_imported for --config.init_from's weights)")
multihost.define_flags()
flags.adopt_module_key_flags(multihost)  # listed by --help, not only --helpfull
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    del argv
    multihost.initialize()
    import jax  # pylint: disable=g-import-not-at-top
    from absl import logging as absl_logging  # pylint: disable=g-import-not-at-top
    from tin_jax.inference import evaluator  # pylint: disable=g-import-not-at-top
    absl_logging.set_verbosity(absl_logging.WARNING)
    from tin_jax.io.errors import DataFormatError  # pylint: disable=g-import-not-at-top
    try:
        table = evaluator.evaluate(FLAGS.config, FLAGS.workdir, FLAGS.out_dir)
    except (DataFormatError, FileNotFoundError, ValueError) as e:
        cli.fail(e, 2)
    if jax.process_index() == 0:
        print(table)


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
