"""What a trained HICO-DET checkpoint has learned, stream by stream, on training and test pairs.

    python benchmarks/diagnose.py --config configs/demo.py --workdir out/demo/train [--step N]

Pair classification, with the boxes given (no detection recall in it):

- training pairs: every GT pair of the training split with its HOI labels, and the negative pairs
  (``Trainval_Neg``) labelled with their object's no_interaction HOI, as the pipeline feeds them;
- test pairs: the candidate pairs of the test split (TIN's pair selection on the detections), an
  HOI label where the pair matches a GT pair of that HOI (``min(IoU_h, IoU_o) >= 0.5``).

Per HOI class (those with positives in both splits), AP of ranking the pairs of its object class by
each stream's score: ``sigmoid(H)``, ``sigmoid(O)``, ``sigmoid(sp)`` and TIN's combination
``sigmoid(sp) (sigmoid(H) + sigmoid(O))``; their mean over classes (mAP). Training mAP far above
test mAP is overfitting; both low is underfitting. D: AP of ``P_inter`` for "interactive" (training:
GT pairs, as D is trained; test: candidates matching a GT pair of an interactive HOI). Then the
distribution of the test scores before and after LIS, what NIS removes, and the class weights.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402
import jax  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import NamedSharding, PartitionSpec as P  # noqa: E402

from tin_jax.inference import runner, postprocess  # noqa: E402
from tin_jax.inference import scoring  # noqa: E402
from tin_jax.state import model as state_model  # noqa: E402

from tin_jax.training import train_step  # noqa: E402
from tin_jax.schema import classes  # noqa: E402
from tin_jax.data import input_pipeline as ip  # noqa: E402
from tin_jax.evaluation import hico_det  # noqa: E402

STREAMS = ("H", "O", "sp", "TIN")
NO_INTERACTION = np.asarray(classes.NO_INTERACTION_HOIS)


def streams_fn(parts, params, stats):
    def fn(image, image_hw, human_boxes, object_boxes, patterns, part_boxes, human_index=None,
           object_index=None):
        logits = parts.merge(params, stats)(image, image_hw, human_boxes, object_boxes, patterns,
                                            part_boxes=part_boxes, human_index=human_index,
                                            object_index=object_index, train=False)
        sig = {k: jax.nn.sigmoid(logits[k]) for k in ("H", "O", "sp")}
        out = dict(sig, TIN=sig["sp"] * (sig["H"] + sig["O"]))
        if "binary" in logits:
            out["binary"] = jax.nn.sigmoid(logits["binary"])
        return out
    return fn


def train_items(data_dir: str) -> list[runner.PairItem]:
    """Every training image's GT and negative pairs, with their labels in ``meta``."""
    items = []
    for rec, encoded in ip.iterate_records(data_dir, "train"):
        g, n = rec.gt, rec.neg
        h, w = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_COLOR).shape[:2]
        labels = [list(l) for l in g.labels] + [[int(classes.NO_INTERACTION_HOI_BY_OBJECT[c])] for c in n.object_classes]
        poses = [p if v else None for p, v in zip(np.concatenate([g.poses, n.poses]),
                                                    np.concatenate([g.pose_valid, n.pose_valid]))]
        object_class = np.concatenate([g.object_classes, n.object_classes])
        interactive = np.concatenate([np.ones(g.size, bool), np.zeros(n.size, bool)])
        items.append(runner.PairItem(encoded, h, w, np.concatenate([g.human_boxes, n.human_boxes]),
                                        np.concatenate([g.object_boxes, n.object_boxes]), poses,
                                        dict(labels=labels, object_class=object_class, interactive=interactive)))
    return items


def test_labels(per_image: list[dict], gt: hico_det.HicoGroundTruth) -> None:
    """Adds ``labels`` (HOIs each candidate pair matches) and ``interactive`` to each test image."""
    index = gt.image_index([r["filename"] for r in per_image])
    for i, r in zip(index, per_image):
        boxes = np.concatenate([r["human_boxes"], r["object_boxes"]], 1) + 1
        labels = [[] for _ in range(len(boxes))]
        for c in range(gt.num_classes):
            gi, gb = gt.class_gt(c)
            rows = gb[gi == i]
            if len(rows):
                ov = np.max([hico_det.pair_overlap(boxes, np.repeat(g[None], len(boxes), 0)) for g in rows], 0)
                for k in np.flatnonzero(ov >= hico_det.MIN_OVERLAP):
                    labels[k].append(c)
        r["labels"] = labels
        r["interactive"] = np.array([any(c not in NO_INTERACTION for c in l) for l in labels], bool)


def pair_map(per_image: list[dict], stream: str, classes_: np.ndarray) -> tuple[float, np.ndarray]:
    """mAP over ``classes_`` of ranking each class's object-class pairs by ``stream``."""
    obj = np.concatenate([r["object_class"] for r in per_image])
    scores = np.concatenate([r[stream] for r in per_image])
    labels = [set(l) for r in per_image for l in r["labels"]]
    aps = []
    for c in classes_:
        rows = np.flatnonzero(classes.HOI_TO_OBJECT[c] == obj)
        y = np.array([c in labels[k] for k in rows])
        aps.append(average_precision(scores[rows, c], y))
    return float(np.mean(aps)), np.asarray(aps)


def average_precision(score: np.ndarray, y: np.ndarray) -> float:
    """Non-interpolated AP (area under the precision-recall steps), ties broken by order."""
    if not y.any():
        return float("nan")
    order = np.argsort(-score, kind="stable")
    tp = y[order]
    precision = np.cumsum(tp) / np.arange(1, len(tp) + 1)
    return float(precision[tp].sum() / tp.sum())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="configs/demo.py")
    p.add_argument("--workdir", default="out/demo/train")
    p.add_argument("--step", type=int, default=0)
    args = p.parse_args(argv)
    path, _, arg = args.config.partition(":")
    config = importlib.import_module("configs." + os.path.splitext(os.path.basename(path))[0]).get_config(arg or None)
    config.eval.checkpoint_step = args.step
    mesh = state_model.make_mesh()
    info = ip.load_info(config.data.dir)
    _, parts, params, stats, step = scoring.load_model(config, args.workdir, NamedSharding(mesh, P()))
    fn = streams_fn(parts, params, stats)
    opts = scoring.inference_options(config)
    train = runner.run_items(fn, train_items(config.data.dir), mesh=mesh, **opts)
    e = config.eval
    test = runner.run(fn, config.data.dir, mesh=mesh, human_thresh=e.human_thresh, object_thresh=e.object_thresh,
                         fallback=e.fallback, **opts,
                         empty={k: (info.num_labels,) for k in STREAMS} | {"binary": (2,)})
    gt = hico_det.load_ground_truth(e.anno_dir)
    test_labels(test, gt)
    both = np.intersect1d(*[np.unique([c for r in split for l in r["labels"] for c in l]) for split in (train, test)])
    print(f"checkpoint step {step}: {sum(len(r['labels']) for r in train)} training pairs, "
          f"{sum(len(r['labels']) for r in test)} test candidate pairs, {len(both)} HOI classes with "
          "positives in both")
    print(f"\npair-classification mAP (%) over those classes   {'train':>7} {'test':>7}")
    for s in STREAMS:
        label = "TIN: sig(sp) (sig(H) + sig(O))" if s == "TIN" else f"sigmoid({s}) alone"
        print(f"  {label:<45} {100 * pair_map(train, s, both)[0]:>7.2f} {100 * pair_map(test, s, both)[0]:>7.2f}")
    if "binary" in train[0]:
        aps = [average_precision(np.concatenate([r["binary"][:, 0] for r in split]),
                                 np.concatenate([r["interactive"] for r in split])) for split in (train, test)]
        share = np.mean(np.concatenate([r["interactive"] for r in test]))
        print(f"  {'D: P_inter for interactive pairs':<45} {100 * aps[0]:>7.2f} {100 * aps[1]:>7.2f}"
              f"   (chance: {100 * share:.2f} on test)")

    s = np.concatenate([r["TIN"].max(-1) for r in test])
    h = np.concatenate([r["human_score"] for r in test])
    o = np.concatenate([r["object_score"] for r in test])
    lis = postprocess.lis_weight(h, postprocess.HICO_LIS) * postprocess.lis_weight(o, postprocess.HICO_LIS)
    q = (0.0, 0.5, 0.9, 1.0)
    print("\ntest pairs, best HOI score per pair: quantiles " + ", ".join(f"{x:g}" for x in q))
    print("  before LIS  " + "  ".join(f"{v:.3g}" for v in np.quantile(s, q)))
    print("  after LIS   " + "  ".join(f"{v:.3g}" for v in np.quantile(s * lis, q)))
    if "binary" in test[0]:
        d = np.concatenate([r["binary"] for r in test])
        removed = postprocess.hico_non_interactive(d, np.concatenate([r["object_class"] for r in test]))
        truly = np.concatenate([r["interactive"] for r in test])
        print(f"  NIS removes {int(removed.sum())} of {len(removed)} candidate pairs: "
              f"{int((removed & ~truly).sum())} non-interactive, {int((removed & truly).sum())} interactive "
              f"(of {int(truly.sum())})")
    w = train_step.loss_weights(info.metadata, config)["hoi"]
    seen = np.asarray(info.metadata["train_pair_counts"]) > 0
    print(f"\nclass weights w = ln(N / n) (they multiply the logits in training): classes with training "
          f"pairs {w[seen].min():.2f}..{w[seen].max():.2f} (median {np.median(w[seen]):.2f}), others {w[~seen].max():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
