"""Scores a checkpoint on the test split: inference, TIN's post-processing, the
official protocol, and the reports (table, JSON, per-class CSV, detection files)."""

from __future__ import annotations

import json
import logging
import os

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
from jax.sharding import NamedSharding, PartitionSpec as P

from tin_jax import inference, postprocess, trainer
from tin_jax.data import input_pipeline as ip
from tin_jax.evaluation import hico_det
from tin_jax.models.tin import hoi_scores


def load_checkpoint(config, workdir: str, repl):
    """(model parts, params, stats, step) from ``workdir``'s checkpoints."""
    info = ip.load_info(config.data.dir)
    cfg = trainer.model_config(config, info.metadata)
    parts, params, stats = trainer.build(cfg, config.seed, repl)
    mngr = ocp.CheckpointManager(os.path.join(os.path.abspath(workdir), "checkpoints"))
    step = config.eval.checkpoint_step or mngr.latest_step()
    if step is None:
        raise FileNotFoundError(f"{workdir}: no checkpoint to evaluate (train first)")
    target = trainer._abstract(dict(params=params, stats=stats), repl)  # pylint: disable=protected-access
    got = trainer.restore(mngr, target, step, partial=True)
    return info, parts, got["params"], got["stats"], step


def predict_fn(parts, params, stats):
    @jax.jit
    def fn(image, image_hw, human_boxes, object_boxes, patterns):
        model = parts.merge(params, stats)
        logits = model(image, image_hw, human_boxes, object_boxes, patterns, train=False)
        binary = (jax.nn.sigmoid(logits["binary"]) if "binary" in logits
                  else jnp.zeros(human_boxes.shape[:2] + (2,), jnp.float32))
        return hoi_scores(logits), binary
    return fn


def present_classes_table(result: hico_det.HicoDetResult, gt: hico_det.HicoGroundTruth) -> tuple[str, dict]:
    """mAP over the classes that have test ground truth.

    The official numbers average all 600 classes; on the real test set every class
    has ground truth, on a small (synthetic) one most do not, and their AP of 0 would
    swamp the mean. This second view is ours, labelled as such.
    """
    present = np.diff(gt.offsets) > 0
    rare = result.default.rare
    rows, summary = [], {}
    for setting in (result.default, result.known_object):
        vals = {}
        for name, mask in (("full", present), ("rare", present & rare), ("non_rare", present & ~rare)):
            vals[name] = float(np.mean(setting.ap[mask])) if mask.any() else float("nan")
        summary[setting.setting] = vals
        rows.append(f"{setting.name:<16}{100 * vals['full']:>6.2f}  {100 * vals['rare']:>6.2f}  "
                    f"{100 * vals['non_rare']:>8.2f}")
    head = (f"mAP (%) over the {int(present.sum())} classes with test ground truth "
            f"({int((present & rare).sum())} rare, {int((present & ~rare).sum())} non-rare):\n"
            f"{'setting':<16}{'Full':>6}  {'Rare':>6}  {'Non-Rare':>8}")
    return "\n".join([head] + rows), summary


def evaluate_hico(config, workdir: str, out_dir: str | None = None
                  ) -> tuple[hico_det.HicoDetResult, str]:
    """Returns the official result and the table over the classes with test GT."""
    mesh = trainer.make_mesh()
    repl = NamedSharding(mesh, P())
    info, parts, params, stats, step = load_checkpoint(config, workdir, repl)
    if info.metadata["dataset"] != "hico":
        raise ValueError(f"{config.data.dir}: evaluate.py scores HICO-DET models (V-COCO: "
                         "see tin_jax.evaluation.vcoco)")
    e = config.eval
    per_image = inference.run(
        predict_fn(parts, params, stats), config.data.dir, mesh=mesh,
        human_thresh=e.human_thresh, object_thresh=e.object_thresh, fallback=e.fallback,
        pairs_per_slot=e.pairs_per_slot, buckets=tuple(tuple(b) for b in config.data.image_buckets),
        max_long_side=config.data.max_long_side or None)
    gt = hico_det.load_ground_truth(e.anno_dir)
    index = gt.image_index([r["filename"] for r in per_image])
    dets = postprocess.hico_detections(
        [postprocess.HicoImagePairs(
            image_index=int(i), human_boxes=r["human_boxes"], object_boxes=r["object_boxes"],
            object_class=r["object_class"], hoi_scores=r["hoi_scores"], human_score=r["human_score"],
            object_score=r["object_score"], binary=r["binary"], is_fallback_image=r["is_fallback"])
         for i, r in zip(index, per_image)],
        num_images=len(gt.filenames), lis=postprocess.HICO_LIS if e.lis else None,
        nis=e.nis and trainer.model_config(config, info.metadata).interactiveness, top_k=e.top_k)
    result = hico_det.evaluate(gt, dets)
    out_dir = out_dir or os.path.join(workdir, f"eval_{step}")
    if jax.process_index() == 0:
        os.makedirs(out_dir, exist_ok=True)
        result.write_json(os.path.join(out_dir, "results.json"))
        with open(os.path.join(out_dir, "results_present_classes.json"), "w") as f:
            json.dump(present_classes_table(result, gt)[1], f, indent=1)
        result.write_csv(os.path.join(out_dir, "per_class_ap.csv"))
        with open(os.path.join(out_dir, "results.md"), "w") as f:
            f.write(result.format_table("markdown") + "\n")
        hico_det.write_official_detections(os.path.join(out_dir, "detections"), dets, gt)
        from tin_jax.evaluation import reports  # pylint: disable=g-import-not-at-top
        reports.write_reports(out_dir, result, gt, dets, data_dir=config.data.dir)
        logging.info("wrote %s", out_dir)
    return result, present_classes_table(result, gt)[0]
