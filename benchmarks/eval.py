"""HICO-DET evaluation time: tin_jax's vectorised evaluator against the loop-by-loop transcription.

    python benchmarks/eval.py [--sample_classes 12 --seed 0 --skip_io]

Generates a full-size HICO-DET-shaped test set (9,658 images, 600 HOI classes, ~33k GT pairs, up to 19,999
detections per class; integer boxes and 4-decimal scores, so ties occur), writes anno_bbox.mat / anno.mat and
the 80 official ``detections_XX.mat``, then times

- reading the two annotation files (ours: tin_jax.io.hico_mat, which validates every record; the transcription:
  bare scipy.io.loadmat) and converting them to per-class GT pairs;
- AP for Default + Known Object: ours on all 600 classes; the transcription (tests/reference/hico_eval_loops.py,
  the same loops as eval_one.m + VOCevaldet_bboxpair.m) on a random subset of classes, extrapolated to all 600
  by detection count (said in the output), with its detection files pre-loaded (eval_one.m reloads a file per
  class; that cost is left out in its favour);
- the detection files: writing the 80 official .mat files (ours: a numpy MAT-v5 writer) and reading them
  (both through scipy.io.loadmat; ours also checks and converts every cell to per-class arrays; eval_one.m
  itself reloads a file for every class, which the transcription is spared).

Both must agree bit for bit on the sampled classes; the script stops if they do not.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

NUM_TEST = 9658
NUM_TRAIN = 600
GT_PAIRS = 33_000
MAX_DETS = 19_999


def _boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 4) integer 1-based boxes in a 640x480 image."""
    x1 = rng.integers(1, 560, n)
    y1 = rng.integers(1, 400, n)
    return np.stack([x1, y1, x1 + rng.integers(8, 200, n), y1 + rng.integers(8, 200, n)], axis=1).astype(float)


def make_annotations(rng: np.random.Generator):
    """Long-tailed GT: every class present, ~33k pairs over 9,658 images; ~138 rare classes in train."""
    from tin_jax.schema import classes
    from tin_jax.io.hico_mat import HicoAction, HicoBboxAnno, HicoHoiAnno, HicoImageAnno, HicoImageLabels

    actions = [HicoAction(obj, verb, classes.HICO_VERBS_ING[classes.HOI_TO_VERB[i]])
               for i, (verb, obj) in enumerate(classes.HICO_HOIS)]
    weights = 1.0 / np.arange(1, 601) ** 0.9
    pairs_per_class = np.maximum(1, np.round(weights[rng.permutation(600)] / weights.sum() * GT_PAIRS)).astype(int)
    test_hois: list[list] = [[] for _ in range(NUM_TEST)]
    for c in range(600):
        left = int(pairs_per_class[c])
        while left > 0:
            k = min(left, int(rng.integers(1, 4)))
            nh, no = int(rng.integers(1, 3)), int(rng.integers(1, 3))
            conn = np.stack([rng.integers(nh, size=k), rng.integers(no, size=k)], axis=1)
            test_hois[int(rng.integers(NUM_TEST))].append(HicoHoiAnno(c, _boxes(rng, nh), _boxes(rng, no), conn))
            left -= k
    test = [HicoImageAnno(f"HICO_test2015_{i + 1:08d}.jpg", 640, 480, 3, h) for i, h in enumerate(test_hois)]
    train_counts = np.where(rng.random(600) < 0.23, rng.integers(1, 10, 600), rng.integers(10, 300, 600))
    train = [HicoImageAnno(f"HICO_train2015_{c + 1:08d}.jpg", 640, 480, 3, [
        HicoHoiAnno(c, _boxes(rng, 1), _boxes(rng, 1), np.zeros((int(train_counts[c]), 2), np.int64))])
        for c in range(600)]
    labels = np.full((600, NUM_TEST), np.nan)
    names = np.array([a.nname for a in actions])
    for i, img in enumerate(test):
        for h in img.hois:
            same = names == names[h.hoi_id]
            labels[same, i] = np.where(np.isnan(labels[same, i]), -1.0, labels[same, i])
        for h in img.hois:
            labels[h.hoi_id, i] = 1.0
    return (HicoBboxAnno(actions, train, test),
            HicoImageLabels(actions, [t.filename for t in train], [t.filename for t in test],
                            np.full((600, NUM_TRAIN), np.nan), labels))


def make_detections(rng: np.random.Generator, gt):
    """Per class up to 19,999 rounded detections: ~25 % jittered GT pairs, the rest random (half on KO images)."""
    from tin_jax.evaluation import hico_det as hd

    per_class = []
    n_det = np.minimum(MAX_DETS, np.round(rng.lognormal(np.log(9000), 0.8, 600))).astype(int)
    for c in range(600):
        n = int(n_det[c])
        g_img, g_box = gt.class_gt(c)
        n_near = n // 4 if len(g_img) else 0
        pick = rng.integers(len(g_img), size=n_near) if n_near else np.zeros(0, int)
        near = g_box[pick] - 1 + rng.integers(-12, 13, (n_near, 8))
        ko_images = np.flatnonzero(gt.known_object[c])
        n_far = n - n_near
        on_ko = rng.random(n_far) < 0.5 if len(ko_images) else np.zeros(n_far, bool)
        far_img = np.where(on_ko, ko_images[rng.integers(max(1, len(ko_images)), size=n_far)] if len(ko_images)
                           else 0, rng.integers(gt.num_images, size=n_far))
        far = np.concatenate([_boxes(rng, n_far), _boxes(rng, n_far)], axis=1) - 1
        boxes = np.concatenate([near, far])
        boxes[:, 2:4] = np.maximum(boxes[:, 2:4], boxes[:, 0:2])
        boxes[:, 6:8] = np.maximum(boxes[:, 6:8], boxes[:, 4:6])
        image = np.concatenate([g_img[pick], far_img])
        scores = np.round(np.concatenate([rng.beta(4, 2, n_near), rng.beta(2, 4, n_far)]), 4)
        order = rng.permutation(n)
        per_class.append(hd.ClassDetections(image[order], boxes[order], scores[order]))
    return hd.HicoDetections(tuple(per_class), gt.num_images)


def _time(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sample_classes", type=int, default=12, help="classes the transcription evaluates")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip_io", action="store_true", help="skip writing/reading the 80 detection files")
    args = p.parse_args()

    from tests.reference import hico_eval_loops as ref
    from tin_jax.evaluation import hico_det as hd
    from tin_jax.io import hico_mat

    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        bbox, labels = make_annotations(rng)
        anno_file, bbox_file = os.path.join(tmp, "anno.mat"), os.path.join(tmp, "anno_bbox.mat")
        hico_mat.write_anno_bbox_mat(bbox_file, bbox)
        hico_mat.write_anno_mat(anno_file, labels)
        del bbox, labels

        t_read_ours, (bbox, labels) = _time(lambda: (hico_mat.read_anno_bbox_mat(bbox_file, strict_boxes=False),
                                                     hico_mat.read_anno_mat(anno_file)))
        t_gt_ours, gt = _time(lambda: hd.ground_truth_from_annotations(bbox, labels))
        del bbox, labels
        t_read_ref, (anno, bbox_raw) = _time(lambda: (ref.load(anno_file), ref.load(bbox_file)))
        t_gt_ref, gt_all = _time(lambda: ref.convert_gt(anno, bbox_raw))
        dets = make_detections(rng, gt)
        n_total = int(dets.num_detections.sum())
        print(f"HICO-DET-shaped data: {gt.num_images} test images, {gt.num_classes} classes "
              f"({int(gt.rare.sum())} rare), {int(gt.num_gt.sum())} GT pairs, {n_total:,} detections "
              f"(max {int(dets.num_detections.max())} per class); {os.cpu_count()} CPU cores")

        t_ours, result = min((_time(lambda: hd.evaluate(gt, dets)) for _ in range(3)), key=lambda x: x[0])

        det_dir = os.path.join(tmp, "dets")
        t_write = t_read = t_read_ref_dets = float("nan")
        if not args.skip_io:
            t_write, _ = _time(lambda: hd.write_official_detections(det_dir, dets, gt))
            t_read, back = _time(lambda: hd.read_official_detections(det_dir, gt))
            assert all(np.array_equal(a.scores, b.scores) for a, b in zip(dets.per_class, back.per_class))
            del back
            t_read_ref_dets, _ = _time(lambda: [ref.load(os.path.join(det_dir, hd.detection_filename(o)))
                                                for o in range(1, 81)])

        # The transcription on a random subset of classes, detection cells pre-loaded.
        sample = np.sort(rng.choice(600, args.sample_classes, replace=False)) + 1
        cells = {}
        for obj in sorted({int(gt.class_object[c - 1]) for c in sample}):
            first = int(gt.object_hoi_range[obj, 0])
            arr = np.empty((gt.file_rows(obj), gt.num_images), dtype=object)
            arr.fill(np.zeros((0, 0)))
            for k in range(arr.shape[0]):
                d = dets.per_class[first + k]
                rows = np.concatenate([d.boxes, d.scores[:, None]], axis=1)
                for j in np.unique(d.image):
                    arr[k, j] = rows[d.image == j]
            cells[obj] = arr
        t_ref = {}
        for mode in ("def", "ko"):
            t_ref[mode], (ap, rec) = _time(lambda m=mode: ref.eval_one(anno, bbox_raw, cells.__getitem__, m,
                                                                       gt_all=gt_all, classes=sample.tolist()))
            mine = result.default if mode == "def" else result.known_object
            idx = sample - 1
            if not (np.array_equal(mine.ap[idx], np.array(ap)[idx])
                    and np.array_equal(mine.recall[idx], np.array(rec)[idx], equal_nan=True)):
                raise SystemExit(f"MISMATCH between tin_jax and the transcription ({mode}) on classes {sample}")
        sampled_dets = int(dets.num_detections[sample - 1].sum())
        scale = n_total / sampled_dets
        t_ref_ap = (t_ref["def"] + t_ref["ko"]) * scale

    print(f"transcription: {args.sample_classes} sampled classes ({sampled_dets:,} detections), "
          f"extrapolated x{scale:.1f} by detection count; results identical on the sampled classes")
    rows = [("read anno_bbox.mat + anno.mat", t_read_ours, t_read_ref, " (ours: hico_mat, validated)"),
            ("GT conversion", t_gt_ours, t_gt_ref, ""),
            ("AP: Default + KO, 600 classes", t_ours, t_ref_ap, " (extrapolated; ours: best of 3)"),
            ("total (annotations + AP)", t_read_ours + t_gt_ours + t_ours, t_read_ref + t_gt_ref + t_ref_ap,
             " (extrapolated)"),
            ("write 80 detections_XX.mat", t_write, float("nan"), ""),
            ("read 80 detections_XX.mat", t_read, t_read_ref_dets, " (transcription: loadmat once per file)")]
    print(f"{'stage':<32}{'tin_jax (s)':>12}{'transcription (s)':>19}{'speed-up':>10}")
    print("-" * 73)
    for name, ours, theirs, note in rows:
        ratio = f"{theirs / ours:.1f}x" if np.isfinite(theirs) and ours > 0 else "-"
        theirs_s = f"{theirs:.1f}" if np.isfinite(theirs) else "-"
        ours_s = f"{ours:.2f}" if np.isfinite(ours) else "skipped"
        print(f"{name:<32}{ours_s:>12}{theirs_s:>19}{ratio:>10}{note}")
    print(f"mAP Default {100 * result.default.map_full:.2f}, Known Object {100 * result.known_object.map_full:.2f} "
          "(meaningless synthetic numbers)")


if __name__ == "__main__":
    main()
