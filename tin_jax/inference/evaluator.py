"""evaluate.py's core: scores a checkpoint on the test split: inference, TIN's
post-processing, the official protocol (``tin_jax.evaluation``), and the reports (table,
JSON, per-class CSV, detection files). Above the protocols and the post-processing, as
``trainer`` is above the train step."""

from __future__ import annotations

import json
import logging
import os
from typing import NamedTuple

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from tin_jax import cli
from tin_jax.checkpoints import init_from
from tin_jax.data import input_pipeline as ip
from tin_jax.evaluation import binary, ceiling, headline, hico_det
from tin_jax.inference import postprocess, runner, scoring
from tin_jax.state import model as state_model, spec as model_spec


def run_inference(config, parts, params, stats, mesh, num_classes: int, *,
                  progress: bool = False) -> list[dict]:
    """Every test image's candidate pairs and their scores (evaluate.py's forward pass)."""
    e = config.eval
    fn = scoring.scoring_fn(config, parts, params, stats, mesh)
    return runner.run(
        fn, config.data.dir, mesh=mesh,
        human_thresh=e.human_thresh, object_thresh=e.object_thresh, fallback=e.fallback,
        **scoring.inference_options(config), progress=progress,
        empty=dict(hoi_scores=(num_classes,), binary=(2,), human_scores=(num_classes,)))


def _score_test_split(config, workdir: str, dataset: str) -> tuple[ip.DatasetInfo, int | str, list[dict]]:
    """(dataset info, checkpoint step, per-image scored pairs) of the workdir's checkpoint."""
    mesh = state_model.make_mesh()
    info = ip.load_info(config.data.dir)
    if info.metadata["dataset"] != dataset:
        raise ValueError(f"{config.data.dir}: a {info.metadata['dataset']} dataset, not {dataset}")
    loaded = scoring.load_model(config, workdir, NamedSharding(mesh, P()))
    model_spec.check_dataset(loaded.spec, info.metadata, config.data.dir, workdir)
    return info, loaded.step, run_inference(config, loaded.parts, loaded.params, loaded.stats, mesh,
                                            info.num_labels, progress=True)


class Report(NamedTuple):
    """One evaluation: the printed tables and the scalars logged during training."""
    table: str
    scalars: dict[str, float]


def hico_report(config, info: ip.DatasetInfo, gt: hico_det.HicoGroundTruth, per_image: list[dict],
                out_dir: str | None) -> Report:
    """TIN's post-processing and the official protocol on scored test pairs, the ceiling of the
    same candidate pairs (``evaluation.ceiling``) and D's interactiveness AP; the result files go
    to ``out_dir`` (None: none written)."""
    e = config.eval
    index = gt.image_index([r["filename"] for r in per_image])
    pairs = [postprocess.HicoImagePairs(
        image_index=int(i), human_boxes=r["human_boxes"], object_boxes=r["object_boxes"],
        object_class=r["object_class"], hoi_scores=r["hoi_scores"], human_score=r["human_score"],
        object_score=r["object_score"], binary=r["binary"], is_fallback_image=r["is_fallback"])
        for i, r in zip(index, per_image)]
    spec = model_spec.spec_of(config, info.metadata)  # the checkpoint's (checked on loading)
    nis = scoring.uses_nis(config, spec)
    dets = postprocess.hico_detections(pairs, num_images=len(gt.filenames),
                                       lis=postprocess.HICO_LIS if e.lis else None, nis=nis, top_k=e.top_k)
    # The ceiling's rows: every (pair, HOI of its object), in an order that does not depend on
    # the model (its 0/1 scores leave ties, which this order breaks).
    candidates = postprocess.hico_detections(
        [p._replace(hoi_scores=np.zeros(np.shape(p.hoi_scores))) for p in pairs], num_images=len(gt.filenames),
        lis=None, nis=False, top_k=sum(len(p.human_boxes) for p in pairs))
    result = hico_det.evaluate(gt, dets)
    top = ceiling.ceiling_result(gt, candidates)
    table = result.format_table("console") + "\n\n" + headline.headline_table(result, gt, top)
    scalars = {f"eval/official/{s.setting}/{k}": v for s in result.settings for k, v in
               zip(headline.SPLITS, (s.map_full, s.map_rare, s.map_non_rare))}
    for name, summary in (("present", headline.present_summary(result, gt)),
                          ("ceiling", headline.present_summary(top, gt))):
        scalars.update({f"eval/{name}/{s}/{k}": v for s, d in summary.items() for k, v in d.items()})
    has_d = nis or spec.model.interactiveness
    if has_d:
        d_ap = binary.master_binary_ap(
            {binary.hico_image_id(r["filename"]): binary.PairScores(r["human_boxes"], r["object_boxes"], r["binary"])
             for r in per_image},
            interactiveness_gt_pairs(config), first_hoi_only=False,
            include_no_interaction=False)
        scalars["eval/binary_ap"] = d_ap.ap_inter
        table += (f"\n\ninteractiveness AP of D over the {d_ap.num_pairs} candidate pairs ({d_ap.num_inter} "
                  f"match a GT pair of an interactive HOI): {100 * d_ap.ap_inter:.2f}")
    if out_dir is None or jax.process_index() != 0:
        return Report(table, scalars)
    os.makedirs(out_dir, exist_ok=True)
    result.write_json(os.path.join(out_dir, "results.json"))
    with open(os.path.join(out_dir, "results_present_classes.json"), "w") as f:
        json.dump(dict(model=headline.present_summary(result, gt),
                       ceiling=headline.present_summary(top, gt)), f, indent=1)
    result.write_csv(os.path.join(out_dir, "per_class_ap.csv"))
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(f"{headline.headline_table(result, gt, top, style='markdown')}\n\n"
                f"**Official protocol, all {gt.num_classes} classes** (a class without test GT "
                f"counts as AP 0; its recall is 0/0 = NaN, which makes the mean recall NaN, as "
                f"in eval_one.m)\n\n{result.format_table('markdown')}\n")
        if "eval/binary_ap" in scalars:
            f.write(f"\nInteractiveness AP of D (candidate pairs): {100 * scalars['eval/binary_ap']:.2f}\n")
    hico_det.write_official_detections(os.path.join(out_dir, "detections"), dets, gt)
    hico_det.write_compact_detections(os.path.join(out_dir, "detections.npz"), dets, gt)
    from tin_jax.evaluation import reports  # pylint: disable=g-import-not-at-top
    # Drawn: the model's probability sig(sp) (sig(H) + sig(O)) / 2 after NIS; the official
    # scores also carry LIS's detection-score prior (<= 1.1e-3 per box), too small to read.
    display = postprocess.hico_detections(
        [p._replace(hoi_scores=np.asarray(p.hoi_scores) / 2) for p in pairs],
        num_images=len(gt.filenames), lis=None, nis=nis, top_k=e.top_k)
    reports.write_reports(out_dir, result, gt, dets, data_dir=config.data.dir, display=display,
                          display_score="the model's HOI probability, before LIS")
    logging.info("wrote %s", out_dir)
    return Report(table, scalars)


def vcoco_humans(per_image: list[dict]) -> list[postprocess.VcocoHumanPairs]:
    """Regroups the pairs by human, as TIN's V-COCO test list holds them (one entry per
    human with objects, in detection order)."""
    out = []
    for r in per_image:
        for h in dict.fromkeys(r["human_index"].tolist()):
            rows = np.flatnonzero(r["human_index"] == h)
            out.append(postprocess.VcocoHumanPairs(
                image_id=int(r["image_id"]), human_box=r["human_boxes"][rows[0]],
                human_score=float(r["human_score"][rows[0]]),
                h_scores=r["human_scores"][rows[0]], object_boxes=r["object_boxes"][rows],
                object_class=r["object_class"][rows], object_score=r["object_score"][rows],
                ho_scores=r["hoi_scores"][rows], binary=r["binary"][rows]))
    return out


def vcoco_report(config, info: ip.DatasetInfo, gt, per_image: list[dict], out_dir: str | None) -> Report:
    """V-COCO: Vcoco_lis_nis.py's role assembly (priors, LIS, NIS), then vsrl_eval's agent and
    role AP, scenarios 1 and 2; the result files go to ``out_dir`` (None: none written)."""
    from tin_jax.evaluation import vcoco  # pylint: disable=g-import-not-at-top
    e = config.eval
    prior_mask = None
    if e.vcoco_prior_mask:
        from tin_jax.io.safe_pickle import load_pickle  # pylint: disable=g-import-not-at-top
        prior_mask = np.asarray(load_pickle(e.vcoco_prior_mask))
    dets = postprocess.vcoco_detections(
        vcoco_humans(per_image), prior_flag=e.vcoco_prior_flag, prior_mask=prior_mask,
        lis=postprocess.VCOCO_LIS if e.lis else None, nis=scoring.uses_nis(config, model_spec.spec_of(config, info.metadata)))
    result = vcoco.evaluate_vcoco(gt, dets)
    scalars = {"eval/role_ap_s1": result.scenario_1.mean_without_point,
               "eval/role_ap_s2": result.scenario_2.mean_without_point, "eval/agent_ap": result.agent.mean}
    report = Report(result.format_table() + "\n\n" + result.format_summary(), scalars)
    if out_dir is None or jax.process_index() != 0:
        return report
    import pickle  # pylint: disable=g-import-not-at-top
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        f.write(result.to_json() + "\n")
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(f"```\n{result.format_summary()}\n\n{result.format_table()}\n```\n")
    with open(os.path.join(out_dir, "detections_vsrl.pkl"), "wb") as f:  # vsrl_eval.py's input
        pickle.dump(vcoco.detections_to_vsrl(dets), f, protocol=2)
    logging.info("wrote %s", out_dir)
    return report


def load_test_ground_truth(config, dataset: str):
    """The protocol's ground truth (read first, so bad paths fail before any forward pass)."""
    if dataset == "vcoco":
        from tin_jax.evaluation import vcoco  # pylint: disable=g-import-not-at-top
        return vcoco.load_ground_truth(config.eval.vcoco_root, "test")
    d = config.eval.anno_dir
    if config.eval.get("anno_format", "mat") == "json":
        anno_mat = os.path.join(d, "anno.mat")
        return hico_det.load_json_ground_truth(os.path.join(d, "instances_test2015.json"),
                                               os.path.join(d, "instances_train2015.json"),
                                               anno_mat if os.path.exists(anno_mat) else None)
    if config.eval.get("anno_format", "mat") != "mat":
        raise ValueError(f"config.eval.anno_format={config.eval.anno_format!r}: use 'mat' or 'json'")
    return hico_det.load_ground_truth(d)


def interactiveness_gt_pairs(config) -> dict:
    """D's ground truth: every annotated test pair, from the annotation format in use."""
    if config.eval.get("anno_format", "mat") == "json":
        from tin_jax.io import hicodet_json  # pylint: disable=g-import-not-at-top
        test = hicodet_json.read_hicodet_json(os.path.join(config.eval.anno_dir, "instances_test2015.json"),
                                              strict_boxes=False)
        return binary.gt_pairs_from_anno(hicodet_json.bbox_images(test))
    return binary.read_gt_pairs(os.path.join(config.eval.anno_dir, "anno_bbox.mat"))


def report(config, info: ip.DatasetInfo, gt, per_image: list[dict], out_dir: str | None) -> Report:
    """The dataset's protocol on scored test pairs (``hico_report`` or ``vcoco_report``)."""
    fn = vcoco_report if info.metadata["dataset"] == "vcoco" else hico_report
    return fn(config, info, gt, per_image, out_dir)


def evaluate_state(config, info: ip.DatasetInfo, gt, parts, params, stats, mesh,
                   out_dir: str | None) -> Report:
    """Evaluates weights in memory (the trainer's periodic evaluation, ``config.eval_every``)."""
    per_image = run_inference(config, parts, params, stats, mesh, info.num_labels)
    return report(config, info, gt, per_image, out_dir)


def evaluate(config, workdir: str, out_dir: str | None = None) -> str:
    """evaluate.py: scores the checkpoint on its dataset's protocol; returns the printed tables.
    A workdir without a checkpoint scores ``config.init_from``'s weights (``<workdir>/eval_imported``)."""
    cli.require(config, cli.evaluation_fields(config))
    metadata = ip.load_info(config.data.dir).metadata
    cli.check_dataset_kind(config, metadata, config.data.dir)
    dataset = metadata["dataset"]
    note = ""
    if scoring.imports_weights(config, workdir):
        out_dir = out_dir or os.path.join(workdir, f"eval_{scoring.IMPORTED}")
        note = f"evaluated imported weights: {config.init_from} ({workdir} holds no checkpoint)\n\n"
    if not scoring.imports_weights(config, workdir):  # the wrong dataset is said before anything loads
        step = config.eval.checkpoint_step or init_from.latest_step(workdir)
        if step is not None:
            model_spec.check_dataset(scoring.checkpoint_spec(config, workdir, step),
                                     ip.load_info(config.data.dir).metadata, config.data.dir, workdir)
    gt = load_test_ground_truth(config, dataset)
    info, step, per_image = _score_test_split(config, workdir, dataset)
    out_dir = out_dir or os.path.join(workdir, f"eval_{step}")
    table = report(config, info, gt, per_image, out_dir).table
    metrics = os.path.join(workdir, "metrics.jsonl")
    if jax.process_index() == 0 and os.path.exists(metrics):  # the run's curves beside the other figures
        from tin_jax.evaluation import learning_curves  # pylint: disable=g-import-not-at-top
        learning_curves.plot_learning_curves(metrics, os.path.join(out_dir, "learning_curves.png"))
    return f"{note}{table}\n\nreports in {out_dir}"
