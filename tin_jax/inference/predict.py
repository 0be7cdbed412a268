"""TIN on your own images (``predict.py``): a detections JSON in, scored HOI triplets out.

One entry per image, alone or in a list (paths relative to the JSON file)::

    {"image": "my.jpg",
     "humans":  [{"box": [x1, y1, x2, y2], "score": 0.98, "pose": [[x, y, conf], ...17]}],
     "objects": [{"box": [x1, y1, x2, y2], "score": 0.9, "class": "cup"}]}

``class``: a COCO name, or an integer in a stated convention (``CATEGORY_IDS``: COCO's
sparse 1..90 or TIN's contiguous 1..80). COCO results files (detectron2, mmdetection) are
read by :func:`load_coco_detections`.

Scoring is evaluate.py's, image by image. Detections are numbered humans first, then
objects (list order); humans are also candidate objects, as in TIN. Pairs come from
``postprocess.select_pairs``, the forward pass from ``runner.run_items`` with
``scoring.predict_fn`` (resize to ``max_long_side``, interaction patterns from the original
boxes). HICO-DET models then go through ``postprocess.hico_detections`` itself (LIS, NIS,
only the HOIs of the object's class), run with one "image" per pair so that every row it
keeps names its pair. V-COCO models give the 29 network scores per pair, before V-COCO's
priors and per-human role assembly.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from tin_jax.inference import postprocess
from tin_jax.schema import classes
from tin_jax.schema.body import NUM_JOINTS
from tin_jax.io import coco_results
from tin_jax.io.errors import DataFormatError

_ENTRY_KEYS = {"image": True, "humans": True, "objects": False}  # key -> required
_DETECTION_KEYS = {"humans": {"box": True, "score": True, "pose": False},
                   "objects": {"box": True, "score": True, "class": True}}


@dataclasses.dataclass
class ImageDetections:
    """One validated entry of a detections file, its image read."""
    image: str  # the image file
    encoded: bytes
    height: int
    width: int
    num_humans: int
    boxes: np.ndarray  # (D, 4) float64, humans first, then objects
    scores: np.ndarray  # (D,)
    class_ids: np.ndarray  # (D,) TIN's contiguous 1..80, humans 1
    poses: list  # D entries: (51,) keypoints or None (always None for objects)

    def ref(self, d: int) -> dict:
        """Detection ``d`` as the JSON output names it."""
        if d < self.num_humans:
            return {"list": "humans", "index": int(d)}
        return {"list": "objects", "index": int(d - self.num_humans)}

    def index(self, ref: dict) -> int:
        return ref["index"] + (self.num_humans if ref["list"] == "objects" else 0)

    def label(self, d: int) -> str:
        if d < self.num_humans:
            return f"human #{d}"
        return f"{classes.COCO_OBJECTS[self.class_ids[d] - 1]} #{d - self.num_humans}"


def _fail(where: str, what: str):
    raise DataFormatError(f"{where}: {what}")


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _box(value: Any, where: str, height: int, width: int) -> list[float]:
    if not (isinstance(value, list) and len(value) == 4 and all(_is_number(v) for v in value)):
        _fail(where, f"should be [x1, y1, x2, y2] (4 finite numbers), found {_short(value)}")
    x1, y1, x2, y2 = (float(v) for v in value)
    if x2 < x1 or y2 < y1:
        _fail(where, f"x2 < x1 or y2 < y1 in {value}")
    if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
        _fail(where, f"{value} is outside the {width}x{height} image")
    return [x1, y1, x2, y2]


def _score(value: Any, where: str) -> float:
    if not (_is_number(value) and 0 <= value <= 1):
        _fail(where, f"should be a detection score in [0, 1], found {_short(value)}")
    return float(value)


def _pose(value: Any, where: str) -> np.ndarray | None:
    """17 (x, y, confidence) keypoints in COCO / AlphaPose order, as 17 triples or 51 numbers."""
    if value is None:
        return None
    triples = lambda v: len(v) == NUM_JOINTS and all(
        isinstance(kp, list) and len(kp) == 3 and all(map(_is_number, kp)) for kp in v)
    flat = lambda v: len(v) == 3 * NUM_JOINTS and all(map(_is_number, v))
    if not (isinstance(value, list) and (triples(value) or flat(value))):
        _fail(where, f"should be {NUM_JOINTS} [x, y, confidence] keypoints (COCO order) or "
                     f"{3 * NUM_JOINTS} numbers, found {_short(value)}")
    return np.asarray(value, np.float64).reshape(3 * NUM_JOINTS)


CATEGORY_IDS = {"coco": "COCO's sparse ids 1..90, as detectron2 / mmdetection write",
                "contiguous": "TIN's contiguous ids 1..80"}


def _object_class(value: Any, where: str, category_ids: str | None = None) -> int:
    """A COCO class name, or an integer in the ``category_ids`` convention (``CATEGORY_IDS``)."""
    if isinstance(value, str):
        try:
            return classes.coco_id(value)
        except KeyError:
            _fail(where, f"unknown object class {value!r} (a COCO name as in "
                         "tin_jax/schema/classes.py, e.g. 'dining table')")
    if not (isinstance(value, int) and not isinstance(value, bool)):
        _fail(where, f"should be a COCO class name or an integer class id, found {_short(value)}")
    if category_ids is None:
        _fail(where, f"integer class {value} needs --category_ids: 'coco' ({CATEGORY_IDS['coco']}) "
                     f"or 'contiguous' ({CATEGORY_IDS['contiguous']}); or give the class name")
    table = (classes.COCO_ID_TO_CONTIGUOUS if category_ids == "coco"
             else {c: c for c in range(1, classes.NUM_OBJECTS + 1)})
    if value not in table:
        _fail(where, f"{value} is not one of {CATEGORY_IDS[category_ids]}")
    return table[value]


def _read_image(path: str, where: str) -> tuple[bytes, int, int]:
    import cv2  # pylint: disable=g-import-not-at-top
    if not os.path.isfile(path):
        _fail(where, f"image file {path} not found")
    with open(path, "rb") as f:
        encoded = f.read()
    image = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        _fail(where, f"{path} cannot be decoded as an image")
    return encoded, image.shape[0], image.shape[1]


def _check_keys(entry: Any, keys: dict[str, bool], where: str) -> None:
    if not isinstance(entry, dict):
        _fail(where, f"should be an object with keys {sorted(keys)}, found {_short(entry)}")
    missing = [k for k, required in keys.items() if required and k not in entry]
    unknown = sorted(set(entry) - set(keys))
    if missing or unknown:
        _fail(where, "; ".join([f"missing key {k!r}" for k in missing]
                               + [f"unknown key {k!r} (expected {sorted(keys)})" for k in unknown]))


def _entry(entry: Any, where: str, base_dir: str, category_ids: str | None) -> ImageDetections:
    if isinstance(entry, dict) and isinstance(entry.get("image"), str):
        where = f"{where} ({entry['image']})"
    _check_keys(entry, _ENTRY_KEYS, where)
    if not isinstance(entry["image"], str) or not entry["image"]:
        _fail(where, f"'image' should be a file path, found {_short(entry['image'])}")
    image = os.path.normpath(os.path.join(base_dir, entry["image"]))
    encoded, height, width = _read_image(image, where)
    boxes, scores, classes_, poses = [], [], [], []
    for kind, keys in _DETECTION_KEYS.items():
        dets = entry.get(kind, [])
        if not isinstance(dets, list):
            _fail(where, f"'{kind}' should be a list of detections, found {_short(dets)}")
        for i, det in enumerate(dets):
            w = f"{where}: {kind}[{i}]"
            _check_keys(det, keys, w)
            boxes.append(_box(det["box"], f"{w}.box", height, width))
            scores.append(_score(det["score"], f"{w}.score"))
            if kind == "humans":
                classes_.append(1)
                poses.append(_pose(det.get("pose"), f"{w}.pose"))
            else:
                classes_.append(_object_class(det["class"], f"{w}.class", category_ids))
                poses.append(None)
    return ImageDetections(image, encoded, height, width, len(entry["humans"]),
                           np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(scores, np.float64),
                           np.asarray(classes_, np.int64), poses)


def load_detections(path: str, category_ids: str | None = None) -> list[ImageDetections]:
    """Every entry of one detections file, validated; DataFormatError naming file and entry.
    ``category_ids``: how integer classes read (``CATEGORY_IDS``); None: names only."""
    if category_ids is not None and category_ids not in CATEGORY_IDS:
        raise ValueError(f"category_ids should be one of {sorted(CATEGORY_IDS)}, not {category_ids!r}")
    if not os.path.isfile(path):
        _fail(path, "detections file not found")
    try:
        with open(path) as f:
            data = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        _fail(path, f"not valid JSON ({e})")
    base = os.path.dirname(os.path.abspath(path))
    if isinstance(data, list):
        return [_entry(e, f"{path}: entry {k}", base, category_ids) for k, e in enumerate(data)]
    return [_entry(data, path, base, category_ids)]


def load_coco_detections(path: str, images_json: str, *, keypoints: str | None = None,
                         image_dir: str | None = None,
                         pose_iou: float = coco_results.DEFAULT_IOU) -> list[ImageDetections]:
    """The images of a COCO results file (``tin_jax.io.coco_results``), in ``images_json``
    order: persons are the humans, the other detections the objects (file order each).
    Image files: ``file_name`` under ``image_dir`` (default: the folder of ``images_json``)."""
    dets = coco_results.read_detections(path, keypoints, pose_iou)
    images = coco_results.read_images(images_json)
    unknown = sorted(set(dets) - set(images))
    if unknown:
        _fail(path, f"image_id {unknown[0]} is not in {images_json}")
    base = image_dir or os.path.dirname(os.path.abspath(images_json))
    out = []
    for image_id, info in images.items():
        d = dets.get(image_id)
        if d is None:
            continue
        where = f"{path}: image {image_id} ({info['file_name']})"
        image = os.path.normpath(os.path.join(base, info["file_name"]))
        encoded, height, width = _read_image(image, where)
        if (info.get("height", height), info.get("width", width)) != (height, width):
            _fail(where, f"{images_json} gives {info['width']}x{info['height']}, the image is {width}x{height}")
        order = np.concatenate([np.flatnonzero(d.is_human), np.flatnonzero(~d.is_human)])
        boxes = [_box(d.boxes[k].tolist(), f"{where}: detection {k}.bbox", height, width) for k in order]
        scores = [_score(float(d.scores[k]), f"{where}: detection {k}.score") for k in order]
        poses = [d.poses[k].copy() if d.pose_valid[k] else None for k in order]
        out.append(ImageDetections(image, encoded, height, width, int(d.is_human.sum()),
                                   np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(scores, np.float64),
                                   np.where(d.is_human, 1, d.classes)[order].astype(np.int64), poses))
    return out


def select_images(dets: list[ImageDetections], images: Sequence[str]) -> list[ImageDetections]:
    """The entries of ``images`` (all when empty), in the order given."""
    if not images:
        return dets
    by_path = {os.path.realpath(d.image): d for d in dets}
    out = []
    for image in images:
        if os.path.realpath(image) not in by_path:
            _fail(image, "no entry of the detections files is for this image")
        out.append(by_path[os.path.realpath(image)])
    return out


def pair_item(det: ImageDetections, human_thresh: float, object_thresh: float,
              fallback: str):
    """TIN's candidate pairs of one image as an ``runner.PairItem`` (``meta``: what the
    outputs are reported with)."""
    from tin_jax.inference import runner  # pylint: disable=g-import-not-at-top  (jax, TF: not for bad input)
    is_human = np.arange(len(det.scores)) < det.num_humans
    hi, oi, fb = postprocess.select_pairs(det.boxes, is_human, det.class_ids, det.scores,
                                          human_thresh, object_thresh, fallback=fallback)
    meta = dict(human_index=hi, object_index=oi, is_fallback=bool(fb), human_boxes=det.boxes[hi],
                object_boxes=det.boxes[oi], object_class=det.class_ids[oi], human_score=det.scores[hi],
                object_score=det.scores[oi])
    return runner.PairItem(det.encoded, det.height, det.width, det.boxes[hi], det.boxes[oi],
                              [det.poses[i] for i in hi], meta)


# -- scores --------------------------------------------------------------------------------

def _ranked(pair: np.ndarray, cls: np.ndarray, score: np.ndarray):
    """Score descending, then pair, then class."""
    order = np.lexsort((cls, pair, -score))
    return pair[order].astype(np.int64), cls[order].astype(np.int64), score[order].astype(np.float64)


def hico_triplets(r: dict, *, lis: bool, nis: bool):
    """(pair, HOI, score) of one image after evaluate.py's LIS + NIS, best first."""
    n = len(r["object_class"])
    if n == 0:
        return _ranked(np.zeros(0), np.zeros(0), np.zeros(0))
    # One "image" per pair: every row kept names its pair by its image index; scores do not
    # depend on the grouping, and top_k = n keeps every row.
    one = lambda k, name: r[name][k:k + 1]
    per_pair = [postprocess.HicoImagePairs(
        k, one(k, "human_boxes"), one(k, "object_boxes"), one(k, "object_class"), one(k, "hoi_scores"),
        one(k, "human_score"), one(k, "object_score"), one(k, "binary"), r["is_fallback"])
        for k in range(n)]
    dets = postprocess.hico_detections(per_pair, num_images=n, lis=postprocess.HICO_LIS if lis else None,
                                       nis=nis, top_k=n)
    pair = np.concatenate([d.image for d in dets.per_class])
    hoi = np.repeat(np.arange(classes.NUM_HOIS), dets.num_detections)
    return _ranked(pair, hoi, np.concatenate([d.scores for d in dets.per_class]))


def vcoco_triplets(r: dict):
    """(pair, V-COCO class, score): the network's 29 scores of every pair, best first."""
    n, k = len(r["object_class"]), len(classes.VCOCO_CLASSES)
    if n == 0:
        return _ranked(np.zeros(0), np.zeros(0), np.zeros(0))
    return _ranked(np.repeat(np.arange(n), k), np.tile(np.arange(k), n), r["hoi_scores"].reshape(-1))


def image_report(det: ImageDetections, r: dict, dataset: str, *, lis: bool, nis: bool) -> dict:
    """The output JSON of one image: its pairs and every scored triplet, best first."""
    hico = dataset == "hico"
    pair, cls, score = hico_triplets(r, lis=lis, nis=nis) if hico else vcoco_triplets(r)
    hi, oi = r["human_index"], r["object_index"]
    pairs = [dict(human=int(hi[p]), object=det.ref(oi[p]),
                  object_class=classes.COCO_OBJECTS[det.class_ids[oi[p]] - 1],
                  interactiveness=[float(v) for v in r["binary"][p]]) for p in range(len(hi))]
    triplets = [dict(pair=int(p), human=int(hi[p]), object=det.ref(oi[p]),
                     verb=classes.HICO_HOIS[c][0] if hico else classes.VCOCO_CLASSES[c],
                     object_class=pairs[p]["object_class"], hoi=int(c), score=float(s))
                for p, c, s in zip(pair, cls, score)]
    return dict(image=det.image, width=det.width, height=det.height, dataset=dataset,
                fallback=bool(r["is_fallback"]), pairs=pairs, triplets=triplets)


def format_report(det: ImageDetections, report: dict, top: int) -> str:
    """``human #i  <verb> <object> #j  score`` lines, best first."""
    t = report["triplets"]
    kind = "HOI triplets" if report["dataset"] == "hico" else "(pair, V-COCO class) scores"
    head = (f"{det.image}: {det.num_humans} humans, {len(det.scores) - det.num_humans} objects, "
            f"{len(report['pairs'])} pairs{' (top-4 fallback)' if report['fallback'] else ''}; "
            f"top {min(top, len(t))} of {len(t)} {kind}")
    lines = [f"  human #{x['human']}  {x['verb']} {det.label(det.index(x['object']))}  {x['score']:.4g}"
             for x in t[:top]]
    return "\n".join([head] + lines)


# -- drawing -------------------------------------------------------------------------------

def draw_report(det: ImageDetections, report: dict, path: str, top: int) -> str:
    """The image, every input box thin and labelled, the pairs of the ``top`` triplets thick
    and linked, one ``verb object score`` label per pair (as reports.plot_top_detections)."""
    import cv2  # pylint: disable=g-import-not-at-top
    from tin_jax.evaluation import reports  # pylint: disable=g-import-not-at-top
    # pylint: disable=protected-access
    rgb = cv2.imdecode(np.frombuffer(det.encoded, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
    long_side = max(det.height, det.width)
    zoom = min(max(1.0, 800 / long_side), 1600 / long_side)  # readable labels on small images
    fig = reports.new_figure((max(1, round(det.width * zoom)), max(1, round(det.height * zoom))))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(rgb)
    ax.set_axis_off()
    for d, box in enumerate(det.boxes):
        color = reports.HUMAN_COLOR if d < det.num_humans else reports.OBJECT_COLOR
        reports.draw_box(ax, box, color, lw=1.0, ls="--")
        ax.text(box[0], box[1], det.label(d), fontsize=7, color="white", va="top", clip_on=True,
                bbox=dict(facecolor=color, alpha=0.7, pad=1, lw=0))
    groups: dict[int, list[dict]] = {}
    for t in report["triplets"][:top]:
        groups.setdefault(t["pair"], []).append(t)
    for p, members in groups.items():
        h = det.boxes[report["pairs"][p]["human"]]
        o = det.boxes[det.index(report["pairs"][p]["object"])]
        reports.draw_box(ax, h, reports.HUMAN_COLOR)
        reports.draw_box(ax, o, reports.OBJECT_COLOR)
        hc, oc = (h[:2] + h[2:]) / 2, (o[:2] + o[2:]) / 2
        ax.plot([hc[0], oc[0]], [hc[1], oc[1]], color=reports.LINK_COLOR, lw=2, marker="o", ms=4)
        mid = hc + 0.35 * (oc - hc)  # nearer the human: a pair and its reverse stay apart
        text = "\n".join(f"{t['verb']} {t['object_class']} {t['score']:.3g}".replace("_", " ")
                         for t in members)
        ax.text(mid[0], mid[1], text, fontsize=8, va="center", ha="center", color="black",
                clip_on=True, bbox=dict(facecolor="white", alpha=0.8, pad=1.5, lw=0))
    return reports.save_png(fig, path)


# -- predict.py ----------------------------------------------------------------------------

def _png_names(dets: list[ImageDetections]) -> list[str]:
    """``<image stem>.png``, numbered where two images share a stem."""
    stems = [os.path.splitext(os.path.basename(d.image))[0] for d in dets]
    return [f"{s}.png" if stems.count(s) == 1 else f"{s}_{k}.png" for k, s in enumerate(stems)]


def read_inputs(detection_files: Sequence[str], *, detections_format: str = "tin",
                category_ids: str | None = None, images_json: str | None = None,
                keypoints: str | None = None, image_dir: str | None = None,
                pose_iou: float = coco_results.DEFAULT_IOU) -> list[ImageDetections]:
    """Every entry of ``detection_files``: ``tin`` (this module's JSON, ``category_ids`` for
    integer classes) or ``coco`` (COCO results, with ``images_json`` and ``keypoints``)."""
    if detections_format == "tin":
        if keypoints or images_json:
            raise ValueError("--keypoints and --images_json go with --detections_format=coco")
        return [d for f in detection_files for d in load_detections(f, category_ids)]
    if detections_format != "coco":
        raise ValueError(f"detections_format should be 'tin' or 'coco', not {detections_format!r}")
    if category_ids not in (None, "coco"):
        raise ValueError("--detections_format=coco files hold COCO's sparse category ids "
                         f"(--category_ids=coco), not {category_ids!r}")
    if not images_json:
        raise ValueError("--detections_format=coco needs --images_json (image ids -> file names)")
    return [d for f in detection_files
            for d in load_coco_detections(f, images_json, keypoints=keypoints, image_dir=image_dir,
                                          pose_iou=pose_iou)]


def predict(config, workdir: str, detection_files: Sequence[str], out_dir: str, *,
            images: Sequence[str] = (), top: int = 10, human_thresh: float | None = None,
            object_thresh: float | None = None, **formats) -> str:
    """Scores the images of ``detection_files`` (only ``images`` when given) with the
    workdir's checkpoint; writes one PNG per image and ``predictions.json`` to ``out_dir``
    and returns the printed lines. ``formats``: :func:`read_inputs`' options. Every input
    is checked before the model loads."""
    dets = select_images(read_inputs(detection_files, **formats), images)
    e = config.eval
    from jax.sharding import NamedSharding, PartitionSpec as P  # pylint: disable=g-import-not-at-top
    from tin_jax.inference import runner, scoring  # pylint: disable=g-import-not-at-top  (jax)
    from tin_jax.state import model as state_model  # pylint: disable=g-import-not-at-top
    mesh = state_model.make_mesh()
    loaded = scoring.load_model(config, workdir, NamedSharding(mesh, P()))
    if not loaded.spec.model.hoi_classifier:
        raise ValueError(f"{workdir}: predict.py scores HOIs; this checkpoint's model has no HOI "
                         "classifier (D only)")
    items = [pair_item(d, e.human_thresh if human_thresh is None else human_thresh,
                       e.object_thresh if object_thresh is None else object_thresh, e.fallback)
             for d in dets]
    results = runner.run_items(scoring.scoring_fn(config, loaded.parts, loaded.params, loaded.stats, mesh),
                               items, mesh=mesh, progress=True, **scoring.inference_options(config))
    dataset = loaded.spec.model.dataset
    nis = scoring.uses_nis(config, loaded.spec)
    os.makedirs(out_dir, exist_ok=True)
    written, text = [], []
    for det, r, png in zip(dets, results, _png_names(dets)):
        report = image_report(det, r, dataset, lis=e.lis, nis=nis)
        report["png"] = draw_report(det, report, os.path.join(out_dir, png), top)
        written.append(report)
        text.append(format_report(det, report, top))
    with open(os.path.join(out_dir, "predictions.json"), "w") as f:
        json.dump(written, f, indent=1)
    text.append(f"wrote {os.path.join(out_dir, 'predictions.json')} and {len(written)} PNG(s) in {out_dir}")
    return "\n\n".join(text)
