r"""Interactiveness as a plug-in: TIN's Non-Interaction Suppression on another detector's HICO-DET output.

    python -m tin_jax.nis --config configs/tin_hico.py --workdir runs/hico --config.data.dir=tfrecords/hico \
        --detections other_model/detections --out_dir other_model_nis [--anno_dir Data/hico_20160224_det]

In: the other detector's 80 ``detections_XX.mat`` in the official layout (``all_boxes{k, i}`` = n x 9
``[hbox obox score]`` rows for HOI k of the object and image i of ``anno.mat: list_test``; what eval_one.m
reads). Every distinct (image, human box, object box) pair is scored once by our discriminator D as
evaluate.py scores its own pairs (``runner.run_items``: the converted test split's image, resized to
``data.max_long_side``, the two boxes, the interaction pattern); with ``--config.eval.d_workdir`` D is that
other workdir's model's, as in evaluate.py. Out: the same layout in ``--out_dir``, with

- ``--mode drop`` (TIN's NIS, spec §5.2): a row goes when D calls its pair non-interactive,
  ``P_noninter > thr_no and P_inter < thr_in`` (``postprocess.hico_non_interactive``: (0.9, 0.1) and
  the 11 per-object overrides of Generate_HICO_detection_nis.py);
- ``--mode rescale``: every row's score is multiplied by ``P_inter`` (a common soft variant, no thresholds).

Rows of the no_interaction HOIs stay as they are in both modes. TIN also exempts the images where its
own pair selection fell back to the top-4 x top-4; the other detector has no such images, so none is.

Poses: the pattern's pose channel needs keypoints, which the other detector's humans lack. Each takes the
AlphaPose pose of the test split's human detection (in the converted records) whose box overlaps it most,
if that IoU (TIN's ``bb_IOU``, +1 pixels) is at least ``--pose_iou`` (0.7); otherwise it has no pose
(the channel stays empty, as for TIN's own humans without pose; part-level models also place their body
parts from it).

``--anno_dir`` (default ``config.eval.anno_dir``) names the files' columns (``list_test``); its test
ground truth scores the detections before and after (the official table, both printed; ``--noevaluate``
skips that). Bad input: one line ``error: <file>: <what>`` and exit 2.
"""

from __future__ import annotations

import dataclasses
import functools
import os

import numpy as np

from tin_jax.inference import postprocess
from tin_jax.data.jitter import pairwise_box_iou_plus1
from tin_jax.evaluation import hico_det
from tin_jax.io import coco_results
from tin_jax.io.errors import DataFormatError
from tin_jax.schema.records import Detections

MODES = ("drop", "rescale")
POSE_IOU = 0.7


@dataclasses.dataclass
class DistinctPairs:
    """The distinct (image, human box, object box) pairs of a set of detections."""
    image: np.ndarray  # (U,) 0-based list_test index, ascending
    boxes: np.ndarray  # (U, 8) [human box, object box], as in the files (0-based)
    rows: list  # per HOI class: (n_c,) the pair of each of its rows

    def cell(self, image: int, gt: hico_det.HicoGroundTruth, det_dir: str) -> str:
        """``<file>: all_boxes{k,i}``: the first cell that holds a detection on ``image``, for messages."""
        for c, rows in enumerate(self.rows):
            if np.any(self.image[rows] == image):
                obj = int(gt.class_object[c])
                k = c - int(gt.object_hoi_range[obj, 0])
                return f"{os.path.join(det_dir, hico_det.detection_filename(obj))}: all_boxes{{{k + 1},{image + 1}}}"
        raise KeyError(image)


def distinct_pairs(dets: hico_det.HicoDetections) -> DistinctPairs:
    """D depends on the image and the two boxes only: one score serves every HOI row of a pair."""
    keys = np.concatenate([np.concatenate([d.image[:, None], d.boxes], axis=1) for d in dets.per_class])
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    bounds = np.cumsum([0] + [len(d) for d in dets.per_class])
    inverse = inverse.reshape(-1)
    return DistinctPairs(unique[:, 0].astype(np.int64), unique[:, 1:],
                         [inverse[a:b] for a, b in zip(bounds[:-1], bounds[1:])])


def match_poses(human_boxes: np.ndarray, det, min_iou: float = POSE_IOU) -> list:
    """Per box, the pose of the best-overlapping test detection human with a valid pose if IoU >= min_iou,
    else None (first such human on ties)."""
    cand = np.flatnonzero(np.asarray(det.is_human) & np.asarray(det.pose_valid))
    if len(human_boxes) == 0 or len(cand) == 0:
        return [None] * len(human_boxes)
    iou = pairwise_box_iou_plus1(human_boxes, np.asarray(det.boxes)[cand])
    best = np.argmax(iou, axis=1)
    ok = iou[np.arange(len(best)), best] >= min_iou
    return [np.asarray(det.poses[cand[b]], np.float64) if k else None for b, k in zip(best, ok)]


def keypoint_humans(entries: list) -> Detections:
    """COCO keypoint results of one image (``coco_results.read_keypoints``) as pose-carrying humans."""
    n = len(entries)
    boxes = np.array([b for _, b, _ in entries], np.float32).reshape(n, 4)
    poses = np.array([k for _, _, k in entries], np.float32).reshape(n, -1)
    return Detections(boxes, np.ones(n, bool), np.ones(n, np.int64), np.array([s for s, _, _ in entries],
                      np.float32), poses, np.ones(n, bool))


def pair_items(pairs: DistinctPairs, gt: hico_det.HicoGroundTruth, data_dir: str, det_dir: str,
               pose_iou: float = POSE_IOU, keypoints: dict | None = None) -> list:
    """One ``runner.PairItem`` per image with pairs, in the test split's record order (the images
    stream from disk in that order); ``meta['pairs']``: the item's rows of ``pairs``. The poses
    come from the test split's human detections, or from ``keypoints`` (COCO keypoint results
    by image id) when given."""
    from tin_jax.inference import runner  # pylint: disable=g-import-not-at-top  (jax, TF: not for bad input)
    images = runner.SequentialImages(data_dir)
    wanted = {gt.filenames[i]: int(i) for i in np.unique(pairs.image)}
    bounds = np.searchsorted(pairs.image, np.arange(gt.num_images + 1))
    items = []
    for index, (rec, _, (h, w)) in enumerate(runner.iterate_test_records(data_dir)):
        i = wanted.pop(rec.filename, None)
        if i is None:
            continue
        rows = np.arange(bounds[i], bounds[i + 1])
        hb, ob = pairs.boxes[rows, :4], pairs.boxes[rows, 4:]
        humans = rec.det if keypoints is None else keypoint_humans(keypoints.get(rec.image_id, []))
        items.append(runner.PairItem(functools.partial(images.get, index), h, w, hb, ob,
                                     match_poses(hb, humans, pose_iou), dict(pairs=rows)))
    if wanted:
        name, i = next(iter(wanted.items()))
        raise DataFormatError(f"{pairs.cell(i, gt, det_dir)}: image {name} is not in the converted test "
                              f"split of {data_dir}")
    return items


def suppress(dets: hico_det.HicoDetections, pairs: DistinctPairs, binary: np.ndarray,
             gt: hico_det.HicoGroundTruth, mode: str) -> hico_det.HicoDetections:
    """The detections after NIS (``mode`` drop or rescale); ``binary``: (U, 2) D per distinct pair."""
    per_class = []
    for c, (d, rows) in enumerate(zip(dets.per_class, pairs.rows)):
        if postprocess.NO_INTERACTION_HOI_MASK[c] or len(d) == 0:
            per_class.append(d)
        elif mode == "drop":
            keep = ~postprocess.hico_non_interactive(binary[rows], np.full(len(rows), gt.class_object[c]))
            per_class.append(hico_det.ClassDetections(d.image[keep], d.boxes[keep], d.scores[keep]))
        else:
            p_inter = binary[rows, 0].astype(np.float64)
            per_class.append(hico_det.ClassDetections(d.image, d.boxes, d.scores * p_inter))
    return hico_det.HicoDetections(tuple(per_class), dets.num_images)


def _check_inputs(config, config_name: str, det_dir: str, out_dir: str):
    """What can be checked before the annotations and the model load."""
    from tin_jax import cli  # pylint: disable=g-import-not-at-top
    from tin_jax.data import input_pipeline as ip  # pylint: disable=g-import-not-at-top
    cli.require(config, ("data.dir",))
    info = ip.load_info(config.data.dir)
    if info.metadata["dataset"] != "hico":
        raise DataFormatError(f"{config.data.dir}: a {info.metadata['dataset']} dataset; the test images of "
                              "HICO-DET detections come from a HICO-DET conversion (config.data.dir)")
    if not config.model.interactiveness:
        raise ValueError(f"{config_name}: the model has no interactiveness discriminator D "
                         "(config.model.interactiveness is False)")
    if not os.path.isdir(det_dir):
        raise DataFormatError(f"{det_dir}: not a folder of detections_XX.mat files")
    if os.path.realpath(out_dir) == os.path.realpath(det_dir):
        raise ValueError(f"{out_dir}: is the --detections folder; write the rescored files elsewhere")


def rescore(config, workdir: str, det_dir: str, out_dir: str, *, anno_dir: str | None = None,
            mode: str = "drop", pose_iou: float = POSE_IOU, evaluate: bool = True,
            config_name: str = "config", keypoints: str | None = None) -> str:
    """Writes ``det_dir``'s detections after NIS with the workdir's D to ``out_dir``; returns the
    printed lines. Every input is checked before the model loads."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} ({', '.join(MODES)})")
    _check_inputs(config, config_name, det_dir, out_dir)
    if not (anno_dir or config.eval.anno_dir):
        raise ValueError("no annotations: give --anno_dir or --config.eval.anno_dir=<the HICO-DET folder holding "
                         "anno_bbox.mat and anno.mat>")
    gt = hico_det.load_ground_truth(anno_dir or config.eval.anno_dir)
    dets = hico_det.read_official_detections(det_dir, gt)
    pairs = distinct_pairs(dets)
    kps = coco_results.read_keypoints(keypoints) if keypoints else None
    items = pair_items(pairs, gt, config.data.dir, det_dir, pose_iou, kps)

    import jax  # pylint: disable=g-import-not-at-top
    from jax.sharding import NamedSharding, PartitionSpec as P  # pylint: disable=g-import-not-at-top
    from tin_jax.inference import runner, scoring  # pylint: disable=g-import-not-at-top
    from tin_jax.state import model as state_model  # pylint: disable=g-import-not-at-top
    mesh = state_model.make_mesh()
    loaded = scoring.load_model(config, workdir, NamedSharding(mesh, P()))
    if not (loaded.spec.model.interactiveness or config.eval.d_workdir):
        raise ValueError(f"{workdir}: its model has no interactiveness discriminator D")
    step = loaded.step
    results = runner.run_items(
        scoring.scoring_fn(config, loaded.parts, loaded.params, loaded.stats, mesh), items, mesh=mesh,
        progress=True, **scoring.inference_options(config))
    binary = np.zeros((len(pairs.image), 2), np.float32)
    for r in results:
        binary[r["pairs"]] = r["binary"]
    after = suppress(dets, pairs, binary, gt, mode)
    if jax.process_index() == 0:
        os.makedirs(out_dir, exist_ok=True)
        hico_det.write_official_detections(out_dir, after, gt)

    n_before, n_after = int(dets.num_detections.sum()), int(after.num_detections.sum())
    with_pose = sum(p is not None for it in items for p in it.poses)
    text = [f"{det_dir}: {n_before} detections, {len(pairs.image)} distinct pairs on {len(items)} images, "
            f"scored by D (checkpoint step {step}); {with_pose} pairs' humans took a pose from "
            f"{keypoints or 'the test split'} (IoU >= {pose_iou:g})",
            (f"NIS (drop): removed {n_before - n_after} of {n_before} detections" if mode == "drop"
             else f"NIS (rescale): {n_before} scores multiplied by P_inter") + " (no_interaction HOIs untouched)",
            f"wrote {out_dir} (detections_01.mat .. detections_80.mat)"]
    if evaluate:
        for label, d in (("before", dets), (f"after NIS ({mode})", after)):
            text += ["", f"{label}:", hico_det.evaluate(gt, d).format_table("console")]
    return "\n".join(text)


def _define_flags():
    from absl import flags  # pylint: disable=g-import-not-at-top
    from ml_collections import config_flags  # pylint: disable=g-import-not-at-top
    config_flags.DEFINE_config_file("config", None, "experiment config file", lock_config=True)
    flags.DEFINE_string("workdir", None, "the training workdir (its checkpoints)")
    flags.DEFINE_string("detections", None, "the other detector's folder of detections_XX.mat (official layout)")
    flags.DEFINE_string("out_dir", None, "where the rescored detections_XX.mat go")
    flags.DEFINE_string("anno_dir", None, "anno.mat + anno_bbox.mat (default config.eval.anno_dir)")
    flags.DEFINE_enum("mode", "drop", MODES, "drop: TIN's NIS; rescale: score * P_inter")
    flags.DEFINE_float("pose_iou", POSE_IOU, "min IoU with a test-split human to borrow its pose")
    flags.DEFINE_string("keypoints", None, "COCO keypoint results json: the poses come from it "
                        "(matched by IoU, image_id = the HICO test image number) instead of the test split")
    flags.DEFINE_bool("evaluate", True, "print the official table before and after")
    flags.mark_flags_as_required(["config", "workdir", "detections", "out_dir"])


def main(argv):
    del argv
    from absl import flags, logging as absl_logging  # pylint: disable=g-import-not-at-top
    from tin_jax import cli  # pylint: disable=g-import-not-at-top
    from ml_collections import config_flags  # pylint: disable=g-import-not-at-top
    f = flags.FLAGS
    absl_logging.set_verbosity(absl_logging.WARNING)
    try:
        text = rescore(f.config, f.workdir, f.detections, f.out_dir, anno_dir=f.anno_dir, mode=f.mode,
                       pose_iou=f.pose_iou, evaluate=f.evaluate, keypoints=f.keypoints,
                       config_name=config_flags.get_config_filename(f["config"]))
    except (OSError, ValueError) as e:  # DataFormatError included
        cli.fail(e, 2)
    print(text)


def run_main() -> None:
    """The command line (``python -m tin_jax.nis``)."""
    from absl import app  # pylint: disable=g-import-not-at-top
    from tin_jax import cli  # pylint: disable=g-import-not-at-top
    _define_flags()
    app.run(main, flags_parser=cli.parse_flags)


if __name__ == "__main__":
    run_main()
