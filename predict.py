r"""Runs a trained TIN on your own images and detections.

    python predict.py --config configs/tin_hico.py --workdir runs/hico \
        --image my.jpg --detections my.json --out_dir preds/

``--detections``: JSON files of human and object boxes per image (README, "Predicting on
your own images"); integer object classes need ``--category_ids`` (``coco``: sparse 1..90,
``contiguous``: TIN's 1..80). With ``--detections_format=coco`` they are COCO results files
(detectron2 / mmdetection output; ``--images_json`` maps image ids to files, ``--keypoints``
adds a COCO keypoint results file). ``--image`` picks some of their images (default: all). Prints each
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
flags.DEFINE_enum("detections_format", "tin", ["tin", "coco"],
                  "tin: per-image entries (README); coco: COCO results json (detectron2, mmdetection)")
flags.DEFINE_enum("category_ids", None, ["coco", "contiguous"],
                  "integer object classes of tin-format files: coco (sparse 1..90) or contiguous "
                  "(TIN's 1..80); without it only class names are accepted")
flags.DEFINE_string("images_json", None, "coco format: a COCO json whose 'images' map image_id to file_name")
flags.DEFINE_string("image_dir", None, "coco format: folder of the file_names (default: the "
                    "--images_json folder)")
flags.DEFINE_string("keypoints", None, "coco format: COCO keypoint results json, matched to persons by IoU")
flags.DEFINE_float("pose_iou", 0.5, "coco format: least IoU of a keypoint entry and its person box")
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
                               object_thresh=FLAGS.object_thresh,
                               detections_format=FLAGS.detections_format,
                               category_ids=FLAGS.category_ids, images_json=FLAGS.images_json,
                               keypoints=FLAGS.keypoints, image_dir=FLAGS.image_dir,
                               pose_iou=FLAGS.pose_iou)
    except (FileNotFoundError, ValueError) as e:  # DataFormatError included
        cli.fail(e, 2)
    print(text)


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
