"""evaluate.py's core: scores a checkpoint on the test split: inference, TIN's
post-processing, the official protocol (``tin_jax.evaluation``), and the reports (table,
JSON, per-class CSV, detection files). Above the protocols and the post-processing, as
``trainer`` is above the train step."""

from __future__ import annotations

import json
import logging
import os

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
from jax.sharding import NamedSharding, PartitionSpec as P

from tin_jax import inference, postprocess, train_step, trainer
from tin_jax.data import input_pipeline as ip
from tin_jax.evaluation import hico_det
from tin_jax.models.tin import hoi_scores


def load_checkpoint(config, workdir: str, repl):
    """(model parts, params, stats, step) from ``workdir``'s checkpoints."""
    info = ip.load_info(config.data.dir)
    mngr = ocp.CheckpointManager(os.path.join(os.path.abspath(workdir), "checkpoints"))
    step = config.eval.checkpoint_step or mngr.latest_step()
    if step is None:
        raise FileNotFoundError(f"{workdir}: no checkpoint to evaluate (train first)")
    cfg = train_step.model_config(config, info.metadata)
    parts, params, stats = train_step.build(cfg, config.seed, repl)
    target = trainer._abstract(dict(params=params, stats=stats), repl)  # pylint: disable=protected-access
    got = trainer.restore(mngr, target, step, partial=True)
    return info, parts, got["params"], got["stats"], step


def predict_fn(parts, params, stats):
    """Per pair: ``hoi_scores`` (TIN's test score), ``binary`` (D's sigmoids, zeros without D)
    and ``human_scores`` = sigmoid(H), which depends on the human alone (V-COCO's agent score
    for the object-less actions; the original ran a separate human-only pass for it).
    A D-only model (TPAMI's part-level D, configs/rcd3.py) gives zero HOI and human scores."""
    @jax.jit
    def fn(image, image_hw, human_boxes, object_boxes, patterns, part_boxes, human_index=None,
           object_index=None):
        model = parts.merge(params, stats)
        logits = model(image, image_hw, human_boxes, object_boxes, patterns, part_boxes=part_boxes,
                       human_index=human_index, object_index=object_index, train=False)
        zeros = lambda c: jnp.zeros(patterns.shape[:2] + (c,), jnp.float32)
        binary = jax.nn.sigmoid(logits["binary"]) if "binary" in logits else zeros(2)
        if "sp" not in logits:
            c = model.cfg.num_classes
            return dict(hoi_scores=zeros(c), binary=binary, human_scores=zeros(c))
        return dict(hoi_scores=hoi_scores(logits), binary=binary,
                    human_scores=jax.nn.sigmoid(logits["H"]))
    return fn


def d_model_config(config, d_workdir: str):
    """The config a separate D model was trained with (its workdir's config.json), over our
    defaults, reading the same converted dataset as ``config``."""
    from configs import common  # pylint: disable=g-import-not-at-top
    path = os.path.join(d_workdir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: missing; config.eval.d_workdir must be a train.py workdir")
    with open(path) as f:
        saved = json.load(f)
    d = common.base_config()
    d.model.update(saved.get("model", {}))
    d.seed = saved.get("seed", d.seed)
    d.data.dir = config.data.dir
    d.eval.checkpoint_step = 0
    return d


def _with_separate_d(config, main_fn, mesh):
    """``main_fn`` with D's scores replaced by those of the model in ``config.eval.d_workdir``
    (the released TIN numbers took D from another run; TPAMI's RCD_3 from its part-level D)."""
    d_config = d_model_config(config, config.eval.d_workdir)
    if not d_config.model.interactiveness:
        raise ValueError(f"{config.eval.d_workdir}: config.eval.d_workdir holds a model without D")
    _, d_parts, d_params, d_stats, _ = load_checkpoint(d_config, config.eval.d_workdir,
                                                       NamedSharding(mesh, P()))
    d_fn = predict_fn(d_parts, d_params, d_stats)

    def fn(*args):
        return dict(main_fn(*args), binary=d_fn(*args)["binary"])
    return fn


def uses_nis(config, metadata: dict) -> bool:
    """NIS needs D: the model's own, or a separate one."""
    return bool(config.eval.nis and (config.eval.d_workdir
                                     or train_step.model_config(config, metadata).interactiveness))


def inference_options(config) -> dict:
    """Slot size, image buckets and resize of every forward pass over pairs (evaluate.py,
    predict.py, python -m tin_jax.nis): the same as training's."""
    return dict(pairs_per_slot=config.eval.pairs_per_slot, boxes_per_slot=config.eval.boxes_per_slot,
                buckets=tuple(tuple(b) for b in config.data.image_buckets),
                max_long_side=config.data.max_long_side or None)


def scoring_fn(config, parts, params, stats, mesh):
    """``predict_fn`` of a checkpoint, D's scores taken from ``config.eval.d_workdir`` when set
    (evaluate.py and predict.py alike)."""
    fn = predict_fn(parts, params, stats)
    return _with_separate_d(config, fn, mesh) if config.eval.d_workdir else fn


def run_inference(config, parts, params, stats, mesh, num_classes: int) -> list[dict]:
    """Every test image's candidate pairs and their scores (evaluate.py's forward pass)."""
    e = config.eval
    fn = scoring_fn(config, parts, params, stats, mesh)
    return inference.run(
        fn, config.data.dir, mesh=mesh,
        human_thresh=e.human_thresh, object_thresh=e.object_thresh, fallback=e.fallback,
        **inference_options(config), empty=dict(hoi_scores=(num_classes,), binary=(2,), human_scores=(num_classes,)))


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


def _score_test_split(config, workdir: str, dataset: str) -> tuple[ip.DatasetInfo, int, list[dict]]:
    """(dataset info, checkpoint step, per-image scored pairs) of the workdir's checkpoint."""
    mesh = train_step.make_mesh()
    info, parts, params, stats, step = load_checkpoint(config, workdir, NamedSharding(mesh, P()))
    if info.metadata["dataset"] != dataset:
        raise ValueError(f"{config.data.dir}: a {info.metadata['dataset']} dataset, not {dataset}")
    return info, step, run_inference(config, parts, params, stats, mesh, info.num_labels)


def evaluate_hico(config, workdir: str, out_dir: str | None = None
                  ) -> tuple[hico_det.HicoDetResult, str]:
    """Returns the official result and the table over the classes with test GT."""
    e = config.eval
    gt = hico_det.load_ground_truth(e.anno_dir)  # bad paths fail before the forward pass
    info, step, per_image = _score_test_split(config, workdir, "hico")
    index = gt.image_index([r["filename"] for r in per_image])
    dets = postprocess.hico_detections(
        [postprocess.HicoImagePairs(
            image_index=int(i), human_boxes=r["human_boxes"], object_boxes=r["object_boxes"],
            object_class=r["object_class"], hoi_scores=r["hoi_scores"], human_score=r["human_score"],
            object_score=r["object_score"], binary=r["binary"], is_fallback_image=r["is_fallback"])
         for i, r in zip(index, per_image)],
        num_images=len(gt.filenames), lis=postprocess.HICO_LIS if e.lis else None,
        nis=uses_nis(config, info.metadata), top_k=e.top_k)
    result = hico_det.evaluate(gt, dets)
    present_table, present_summary = present_classes_table(result, gt)
    out_dir = out_dir or os.path.join(workdir, f"eval_{step}")
    if jax.process_index() == 0:
        os.makedirs(out_dir, exist_ok=True)
        result.write_json(os.path.join(out_dir, "results.json"))
        with open(os.path.join(out_dir, "results_present_classes.json"), "w") as f:
            json.dump(present_summary, f, indent=1)
        result.write_csv(os.path.join(out_dir, "per_class_ap.csv"))
        with open(os.path.join(out_dir, "results.md"), "w") as f:
            f.write(result.format_table("markdown") + "\n")
        hico_det.write_official_detections(os.path.join(out_dir, "detections"), dets, gt)
        hico_det.write_compact_detections(os.path.join(out_dir, "detections.npz"), dets, gt)
        from tin_jax.evaluation import reports  # pylint: disable=g-import-not-at-top
        reports.write_reports(out_dir, result, gt, dets, data_dir=config.data.dir)
        logging.info("wrote %s", out_dir)
    return result, present_table


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


def evaluate_vcoco(config, workdir: str, out_dir: str | None = None):
    """V-COCO: Vcoco_lis_nis.py's role assembly (priors, LIS, NIS), then vsrl_eval's
    agent and role AP, scenarios 1 and 2. Returns the result."""
    from tin_jax.evaluation import vcoco  # pylint: disable=g-import-not-at-top
    e = config.eval
    gt = vcoco.load_ground_truth(e.vcoco_root, "test")  # bad paths fail before the forward pass
    info, step, per_image = _score_test_split(config, workdir, "vcoco")
    prior_mask = None
    if e.vcoco_prior_mask:
        from tin_jax.io.safe_pickle import load_pickle  # pylint: disable=g-import-not-at-top
        prior_mask = np.asarray(load_pickle(e.vcoco_prior_mask))
    nis = uses_nis(config, info.metadata)
    dets = postprocess.vcoco_detections(
        vcoco_humans(per_image), prior_flag=e.vcoco_prior_flag, prior_mask=prior_mask,
        lis=postprocess.VCOCO_LIS if e.lis else None, nis=nis)
    result = vcoco.evaluate_vcoco(gt, dets)
    out_dir = out_dir or os.path.join(workdir, f"eval_{step}")
    if jax.process_index() == 0:
        import pickle  # pylint: disable=g-import-not-at-top
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "results.json"), "w") as f:
            f.write(result.to_json() + "\n")
        with open(os.path.join(out_dir, "results.md"), "w") as f:
            f.write(f"```\n{result.format_summary()}\n\n{result.format_table()}\n```\n")
        with open(os.path.join(out_dir, "detections_vsrl.pkl"), "wb") as f:  # vsrl_eval.py's input
            pickle.dump(vcoco.detections_to_vsrl(dets), f, protocol=2)
        logging.info("wrote %s", out_dir)
    return result


def evaluate(config, workdir: str, out_dir: str | None = None) -> str:
    """evaluate.py: scores the checkpoint on its dataset's protocol; returns the printed tables."""
    dataset = ip.load_info(config.data.dir).metadata["dataset"]
    if dataset == "vcoco":
        result = evaluate_vcoco(config, workdir, out_dir)
        return result.format_table() + "\n\n" + result.format_summary()
    result, present = evaluate_hico(config, workdir, out_dir)
    return result.format_table("console") + "\n\n" + present
