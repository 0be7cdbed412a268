r"""Runs a trained TIN on your own images and detections.

    python predict.py --config configs/tin_hico.py --workdir runs/hico \
        --image my.jpg --detections my.json --out_dir preds/

``--detections``: JSON files of human and object boxes per image (README, "Predicting on
your own images"); ``--image`` picks some of their images (default: all). Prints each
image's best HOI triplets (``human #i  <verb> <object> #j  score``) and writes
``<image>.png`` (boxes and the top triplets) and ``predictions.json`` (every scored
triplet) to ``--out_dir``. Scores are evaluate.py's: TIN's pair selection, LIS and NIS
(thresholds from config.eval unless given here). The model comes from the workdir alone
(its checkpoint carries the model spec); no converted dataset is needed.
"""

from __future__ import annotations


from absl import app, flags
from ml_collections import config_flags

from tin_jax import cli

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "experiment config file", lock_config=True)
flags.DEFINE_string("workdir", None, "the training workdir (its checkpoints)")
flags.DEFINE_multi_string("detections", None, "detections JSON file (repeatable)")
flags.DEFINE_multi_string("image", [], "only these images of the detections files (repeatable)")
flags.DEFINE_string("out_dir", None, "where the PNGs and predictions.json go")
flags.DEFINE_integer("top", 10, "triplets printed and drawn per image", lower_bound=1)
flags.DEFINE_float("human_thresh", None, "human detection score threshold (default config.eval)")
flags.DEFINE_float("object_thresh", None, "object detection score threshold (default config.eval)")
flags.mark_flags_as_required(["config", "workdir", "detections", "out_dir"])


def main(argv):
    del argv
    from absl import logging as absl_logging  # pylint: disable=g-import-not-at-top
    from tin_jax.inference import predict  # pylint: disable=g-import-not-at-top
    absl_logging.set_verbosity(absl_logging.WARNING)
    try:
        text = predict.predict(FLAGS.config, FLAGS.workdir, FLAGS.detections, FLAGS.out_dir,
                               images=FLAGS.image, top=FLAGS.top, human_thresh=FLAGS.human_thresh,
                               object_thresh=FLAGS.object_thresh)
    except (FileNotFoundError, ValueError) as e:  # DataFormatError included
        cli.fail(e, 2)
    print(text)


if __name__ == "__main__":
    app.run(main)
