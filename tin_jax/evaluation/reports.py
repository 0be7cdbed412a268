"""Figures of a HICO-DET evaluation: per-class AP bars, precision-recall curves, detections drawn
on test images. PNG files, matplotlib's Agg backend (no display, no pyplot state), atomic writes.

The PR points come from the evaluator's own ranking and matching (``hico_det.rank_and_match``),
so a curve's 11-point AP is the AP in the result table.

Usage (after ``result = hico_det.evaluate(gt, dets)``)::

    paths = write_reports(out_dir, result, gt, dets, data_dir=config.data.dir)

or one figure at a time: :func:`plot_per_class_ap`, :func:`plot_pr_curves`,
:func:`plot_top_detections`.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Collection, Sequence

import numpy as np

from tin_jax.schema import classes
from tin_jax.evaluation import hico_det
from tin_jax.io import hico_mat, tfrecord

__all__ = ["class_labels", "draw_box", "draw_pr_points", "new_figure", "save_png", "plot_per_class_ap",
           "plot_pr_curves", "plot_top_detections", "precision_recall", "read_split_images", "write_reports"]

DPI = 100
RARE_COLOR, NON_RARE_COLOR = "#d62728", "#1f77b4"
HUMAN_COLOR, OBJECT_COLOR, LINK_COLOR, GT_COLOR = "#1f77b4", "#ff7f0e", "#ffd700", "#2ca02c"
NO_INTERACTION = frozenset(classes.NO_INTERACTION_HOIS)


# -- helpers ---------------------------------------------------------------------------------

def new_figure(size: tuple[int, int]):
    """A Figure of exactly ``size`` = (width, height) pixels on an Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # pylint: disable=g-import-not-at-top
    from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top
    fig = Figure(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig, path: str | os.PathLike[str]) -> str:
    """PNG bytes of ``fig`` written atomically to ``path`` (no bbox cropping: the size is kept)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    data = buf.getvalue()
    hico_mat.atomic_write(path, lambda f: f.write(data))
    return os.fspath(path)


def class_labels(action_names: Sequence[str]) -> list[str]:
    """``'verb object'`` per class: ``classes.HICO_HOIS`` for the 600 HICO-DET HOIs, else the
    given names with ``_`` as a space."""
    if len(action_names) == classes.NUM_HOIS:
        return [f"{v} {o}".replace("_", " ") for v, o in classes.HICO_HOIS]
    return [n.replace("_", " ") for n in action_names]


def _setting(result: hico_det.HicoDetResult, setting: str) -> hico_det.SettingResult:
    if setting not in hico_det.SETTINGS:
        raise ValueError(f"unknown setting {setting!r} (def, ko)")
    return result.default if setting == "def" else result.known_object


# -- (a) per-class AP ------------------------------------------------------------------------

def plot_per_class_ap(result: hico_det.HicoDetResult, path: str | os.PathLike[str], *,
                      setting: str = "def", size: tuple[int, int] = (1600, 600),
                      max_labels: int = 80) -> str:
    """Bar plot of the AP of every class with test GT, sorted descending, rare classes in red.

    Class names label the bars when there are at most ``max_labels`` of them. Dashed lines: the
    mean over the plotted classes, all / rare / non-rare. Returns the path.
    """
    s = _setting(result, setting)
    present = np.flatnonzero(np.asarray(result.num_gt) > 0)
    order = present[np.argsort(-s.ap[present], kind="stable")]
    ap, rare = 100 * s.ap[order], s.rare[order]
    fig = new_figure(size)
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(order))
    ax.bar(x, ap, width=0.85, color=np.where(rare, RARE_COLOR, NON_RARE_COLOR))
    for mask, color, what in ((np.ones_like(rare), "black", "all"), (rare, RARE_COLOR, "rare"),
                              (~rare, NON_RARE_COLOR, "non-rare")):
        if mask.any():
            ax.axhline(float(ap[mask].mean()), color=color, ls="--", lw=1,
                       label=f"mean {what}: {ap[mask].mean():.2f} ({int(mask.sum())} classes)")
    from matplotlib.patches import Patch  # pylint: disable=g-import-not-at-top
    handles, _ = ax.get_legend_handles_labels()
    handles += [Patch(color=RARE_COLOR, label="rare (< 10 training instances)"),
                Patch(color=NON_RARE_COLOR, label="non-rare")]
    labels = class_labels(result.action_names)
    if 0 < len(order) <= max_labels:
        ax.set_xticks(x)
        ax.set_xticklabels([labels[c] for c in order], rotation=90, fontsize=7)
    else:
        ax.set_xlabel("HOI classes with test ground truth, sorted by AP")
    ax.set_xlim(-0.6, max(len(order), 1) - 0.4)
    ax.set_ylim(0, 100)
    ax.set_ylabel("AP (%)")
    ax.set_title(f"HICO-DET per-class AP, {s.name} setting: {len(order)} of {len(s.ap)} classes "
                 f"have test GT (official mAP over all {len(s.ap)}: {100 * s.map_full:.2f})")
    ax.legend(handles=handles, loc="upper right", fontsize=8)
    fig.tight_layout()
    return save_png(fig, path)


# -- (b) precision-recall --------------------------------------------------------------------

def precision_recall(gt: hico_det.HicoGroundTruth, dets: hico_det.HicoDetections, c: int, *,
                     setting: str = "def",
                     min_overlap: float = hico_det.MIN_OVERLAP) -> tuple[np.ndarray, np.ndarray]:
    """(recall, precision) after each ranked detection of class ``c``, from the evaluator's own
    ranking and matching; Known Object keeps the detections on the class's KO images, as
    ``hico_det.evaluate`` does. Recall is NaN for a class without GT."""
    if setting not in hico_det.SETTINGS:
        raise ValueError(f"unknown setting {setting!r} (def, ko)")
    d = dets.per_class[c]
    gt_image, gt_boxes = gt.class_gt(c)
    order, tp = hico_det.rank_and_match(gt_image, gt_boxes, d, min_overlap=min_overlap)
    if setting == "ko":
        tp = tp[gt.known_object[c, d.image[order]]]
    tp_cum = np.cumsum(tp, dtype=np.float64)
    precision = tp_cum / np.arange(1, len(tp) + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = tp_cum / len(gt_image)
    return recall, precision


def draw_pr_points(ax, recall: np.ndarray, precision: np.ndarray, **kwargs) -> None:
    """The raw PR points as a curve, starting at (0, first precision)."""
    if len(recall):
        ax.plot(np.concatenate([[0.0], recall]), np.concatenate([precision[:1], precision]), **kwargs)


def plot_pr_curves(result: hico_det.HicoDetResult, gt: hico_det.HicoGroundTruth,
                   dets: hico_det.HicoDetections, path: str | os.PathLike[str], *,
                   num_classes: int = 8, setting: str = "def",
                   size: tuple[int, int] = (1000, 800)) -> str:
    """Precision-recall curves of the ``num_classes`` classes with the most test GT pairs
    (ties: lower class id first), labelled with their AP from ``result``. Returns the path."""
    s = _setting(result, setting)
    num_gt = gt.num_gt
    top = [int(c) for c in np.argsort(-num_gt, kind="stable")[:num_classes] if num_gt[c] > 0]
    labels = class_labels(result.action_names)
    fig = new_figure(size)
    ax = fig.add_subplot(1, 1, 1)
    colors = [f"C{k % 10}" for k in range(len(top))]
    for c, color in zip(top, colors):
        recall, precision = precision_recall(gt, dets, c, setting=setting)
        rare = ", rare" if s.rare[c] else ""
        draw_pr_points(ax, recall, precision, color=color, lw=1.5,
                       label=f"{labels[c]}: AP {100 * s.ap[c]:.1f} ({int(num_gt[c])} GT, "
                             f"{len(precision)} dets{rare})")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.grid(alpha=0.3)
    ax.set_title(f"Precision-recall, {s.name} setting: the {len(top)} classes with most test GT")
    if top:
        ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return save_png(fig, path)


# -- (c) detections on images ----------------------------------------------------------------

def _image_detections(dets: hico_det.HicoDetections, wanted: Sequence[int]):
    """{image: (classes, (n, 8) boxes, scores)} of the wanted test images, all classes."""
    want = np.asarray(sorted(set(wanted)), np.int64)
    parts = []
    for c, d in enumerate(dets.per_class):
        if len(d):
            keep = np.isin(d.image, want)
            if keep.any():
                parts.append((np.full(int(keep.sum()), c), d.image[keep], d.boxes[keep], d.scores[keep]))
    out = {}
    if not parts:
        return out
    cls, image, boxes, scores = (np.concatenate(p) for p in zip(*parts))
    for i in want.tolist():
        m = image == i
        out[i] = (cls[m], boxes[m], scores[m])
    return out


def draw_box(ax, box, color, lw=2.0, ls="-"):
    """An unfilled rectangle for ``box`` = [x1, y1, x2, y2] in data coordinates."""
    from matplotlib.patches import Rectangle  # pylint: disable=g-import-not-at-top
    x1, y1, x2, y2 = (float(v) for v in box)
    ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=color, lw=lw, ls=ls))


def _split_shards(data_dir: str, split: str) -> list[str]:
    """Paths of the split's shards, from the converter's ``manifest.json``."""
    path = os.path.join(data_dir, "manifest.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: missing; convert the dataset first (python -m data_prep.convert ...)")
    with open(path) as f:
        splits = json.load(f)["splits"]
    if split not in splits:
        raise ValueError(f"split {split!r} not in the manifest; have {sorted(splits)}")
    return [os.path.join(data_dir, s["file"]) for s in splits[split]["shards"]]


def read_split_images(data_dir: str, split: str, filenames: Collection[str]) -> dict[str, np.ndarray]:
    """{filename: (H, W, 3) uint8 RGB} of the wanted images of a converted split, at their stored size.

    The TFRecords are read with :mod:`tin_jax.io.tfrecord` (no TensorFlow), the stored JPEG / PNG bytes decoded
    with OpenCV; a record's CRC is checked when its image is used. Raises ValueError if an image is missing or
    cannot be decoded.
    """
    import cv2  # pylint: disable=g-import-not-at-top
    wanted, out = set(filenames), {}
    for shard in (_split_shards(data_dir, split) if wanted else ()):
        for record in tfrecord.iter_records(shard):
            f = tfrecord.bytes_features(record.payload, ("image/filename", "image/encoded"))
            name = f.get("image/filename", [b""])[0].decode()
            if name not in wanted or name in out:
                continue
            record.verify()
            encoded = f.get("image/encoded", [b""])[0]
            bgr = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_COLOR)
            if bgr is None:
                raise ValueError(f"{data_dir}: {name}: image cannot be decoded")
            out[name] = bgr[..., ::-1]
            if len(out) == len(wanted):
                return out
    missing = sorted(wanted - set(out))
    if missing:
        raise ValueError(f"{data_dir}: split {split!r} has no record of {missing[:3]}")
    return out


def plot_top_detections(data_dir: str, gt: hico_det.HicoGroundTruth,
                        dets: hico_det.HicoDetections, path: str | os.PathLike[str], *,
                        images: Sequence[int] | None = None, num_images: int = 4, top_k: int = 3,
                        split: str = "test", draw_gt: bool = True, cols: int = 2,
                        size: tuple[int, int] = (1600, 1200), interactions_only: bool = True,
                        score_name: str = "score", min_fraction: float = 0.5) -> str:
    """Test images (read from the converted TFRecords by :func:`read_split_images`) with their
    ``top_k`` highest-scoring detections: human box (blue), object box (orange), a line between
    the centres, and one label ``verb object score`` per detection (detections of the same box
    pair share the boxes).

    ``images``: 0-based test indices (``gt.filenames`` order); default the first ``num_images``
    images that have detections. ``draw_gt`` adds the image's GT pairs, thin dashed green.
    ``interactions_only``: leave out HICO-DET's 80 ``no_interaction`` classes (a scored
    "no interaction" says nothing a reader looks for). ``min_fraction``: of the ``top_k``, only
    those scoring at least this fraction of the image's best are drawn (a third verb far below
    the first two is not what the model claims). ``score_name`` heads the figure.
    Returns the path.
    """
    if interactions_only and len(dets.per_class) == classes.NUM_HOIS:
        dropped = hico_det.ClassDetections(np.zeros(0, np.int64), np.zeros((0, 8)), np.zeros(0))
        dets = hico_det.HicoDetections(
            tuple(dropped if c in NO_INTERACTION else d for c, d in enumerate(dets.per_class)),
            dets.num_images)
    if images is None:
        counts = dets.num_detections
        has = np.zeros(gt.num_images, bool)
        for d in (d for d, n in zip(dets.per_class, counts) if n):
            has[d.image] = True
        images = np.flatnonzero(has)[:num_images].tolist()
    images = [int(i) for i in images]
    per_image = _image_detections(dets, images)
    by_name = read_split_images(data_dir, split, {gt.filenames[i] for i in images})
    pixels = {i: by_name[gt.filenames[i]] for i in images}

    labels = class_labels(gt.action_names)
    fig = new_figure(size)
    n = max(len(images), 1)
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    gt_cls = np.repeat(np.arange(gt.num_classes), gt.num_gt)
    for k, i in enumerate(images):
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.imshow(pixels[i])
        ax.set_axis_off()
        if draw_gt:
            for box in gt.gt_boxes[gt.gt_image == i] - 1:  # GT is 1-based, detections 0-based
                draw_box(ax, box[:4], GT_COLOR, lw=1.0, ls="--")
                draw_box(ax, box[4:], GT_COLOR, lw=1.0, ls="--")
        cls, boxes, scores = per_image.get(i, (np.zeros(0, int), np.zeros((0, 8)), np.zeros(0)))
        top = np.argsort(-scores, kind="stable")[:top_k]
        top = top[scores[top] >= min_fraction * scores[top[:1]].max(initial=0.0)]
        groups: dict[tuple, list[int]] = {}
        for j in top.tolist():
            groups.setdefault(tuple(boxes[j].tolist()), []).append(j)
        for pair, members in groups.items():
            h, o = np.asarray(pair[:4]), np.asarray(pair[4:])
            draw_box(ax, h, HUMAN_COLOR)
            draw_box(ax, o, OBJECT_COLOR)
            hc, oc = (h[:2] + h[2:]) / 2, (o[:2] + o[2:]) / 2
            ax.plot([hc[0], oc[0]], [hc[1], oc[1]], color=LINK_COLOR, lw=2, marker="o", ms=4)
            text = "\n".join(f"{labels[cls[j]]} {scores[j]:.3g}" for j in members)
            mid = (hc + oc) / 2  # one label per pair, on its link: pairs sharing a box stay apart
            ax.text(mid[0], mid[1], text, fontsize=8, va="center", ha="center", color="black",
                    bbox=dict(facecolor="white", alpha=0.8, pad=1.5, lw=0), clip_on=True)
        n_gt = int((gt.gt_image == i).sum())
        classes_gt = sorted({labels[c] for c in gt_cls[gt.gt_image == i]})
        ax.set_title(f"{gt.filenames[i]}: top {len(top)} of {len(scores)} detections; "
                     f"{n_gt} GT pairs" + (f" ({', '.join(classes_gt[:2])}"
                                           f"{', ...' if len(classes_gt) > 2 else ''})" if n_gt else ""),
                     fontsize=8)
    fig.suptitle(f"top {top_k} {'interactions' if interactions_only else 'detections'} per image scoring at "
                 f"least {min_fraction:g} of its best ({score_name}); GT pairs dashed green", fontsize=9)
    fig.tight_layout()
    return save_png(fig, path)


# -- all three -------------------------------------------------------------------------------

def write_reports(out_dir: str | os.PathLike[str], result: hico_det.HicoDetResult,
                  gt: hico_det.HicoGroundTruth, dets: hico_det.HicoDetections, *,
                  data_dir: str | None = None, setting: str = "def", num_pr_classes: int = 8,
                  num_images: int = 4, top_k: int = 3, display: hico_det.HicoDetections | None = None,
                  display_score: str = "score") -> dict[str, str]:
    """``per_class_ap.png``, ``pr_curves.png`` and (with ``data_dir``, the converted TFRecords)
    ``detections.png`` in ``out_dir``. ``display``: the detections drawn (default ``dets``), e.g.
    with the model's probabilities instead of the LIS-weighted official scores, named
    ``display_score``. Returns {name: path}."""
    out = os.fspath(out_dir)
    paths = {
        "per_class_ap": plot_per_class_ap(result, os.path.join(out, "per_class_ap.png"),
                                          setting=setting),
        "pr_curves": plot_pr_curves(result, gt, dets, os.path.join(out, "pr_curves.png"),
                                    num_classes=num_pr_classes, setting=setting),
    }
    if data_dir:
        paths["detections"] = plot_top_detections(data_dir, gt, dets if display is None else display,
                                                  os.path.join(out, "detections.png"),
                                                  num_images=num_images, top_k=top_k,
                                                  score_name=display_score)
    return paths
