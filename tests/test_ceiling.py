"""The ceiling (a perfect classifier on the same candidate pairs) and the headline table, against
loop references: the 0/1 labels from a direct loop over GT pairs, the APs from the loop
transcription of the official MATLAB evaluation (tests/reference/hico_eval_loops.py)."""

from __future__ import annotations

import numpy as np

from tests.reference import hico_eval_loops as ref
from tests.test_hico_eval import write_world
from tin_jax.evaluation import ceiling, headline
from tin_jax.evaluation import hico_det as hd


def _iou_inclusive(a, b) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0]) + 1
    ih = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if iw <= 0 or ih <= 0:
        return 0.0
    union = (a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) * (b[3] - b[1] + 1) - iw * ih
    return iw * ih / union


def _oracle_loop(anno_dir, dets: hd.HicoDetections) -> hd.HicoDetections:
    """Score 1 where a GT pair of the class on the image has min(IoU_h, IoU_o) >= 0.5, from
    the .mat file walked directly (1-based GT, 0-based detections + 1)."""
    bbox = ref.load(str(anno_dir / "anno_bbox.mat"))
    gt_all = ref.convert_gt(ref.load(str(anno_dir / "anno.mat")), bbox)  # [class][image] -> (k, 8)
    rows = ([], [], [], [])
    for c, d in enumerate(dets.per_class):
        for i, box, _ in zip(d.image, d.boxes, d.scores):
            gts = gt_all[c][i]
            hit = any(min(_iou_inclusive(box[:4] + 1, g[:4]), _iou_inclusive(box[4:] + 1, g[4:])) >= 0.5
                      for g in (gts if gts is not None else []))
            for lst, v in zip(rows, (c, i, box, float(hit))):
                lst.append(v)
    hoi, image, boxes, scores = (np.asarray(r) for r in rows)
    return hd.HicoDetections.from_arrays(hoi, image, boxes[:, :4], boxes[:, 4:], scores,
                                         num_images=dets.num_images)


def test_ceiling_matches_loop_labels_and_the_matlab_transcription(tmp_path):
    anno_dir, _, gt, dets = write_world(tmp_path, 11)
    got = ceiling.oracle_detections(gt, dets)
    want = _oracle_loop(anno_dir, dets)
    for a, b in zip(got.per_class, want.per_class):
        assert np.array_equal(a.scores, b.scores) and np.array_equal(a.image, b.image)
    assert 0 < sum(d.scores.sum() for d in got.per_class) < sum(len(d) for d in got.per_class)
    # the ceiling's APs are what the official code computes on the 0/1-scored files
    det_dir = tmp_path / "oracle"
    hd.write_official_detections(det_dir, want, gt)
    theirs = ref.run(str(anno_dir / "anno.mat"), str(anno_dir / "anno_bbox.mat"), str(det_dir))
    result = ceiling.ceiling_result(gt, dets)
    for s in result.settings:
        assert np.allclose(s.ap, np.asarray(theirs[s.setting][0], float), rtol=0, atol=1e-12, equal_nan=True)


def test_ceiling_of_exact_ground_truth_is_100_where_gt_pairs_are_distinct(tmp_path):
    """Every GT pair as a detection: AP 1 for each class whose GT pairs on an image are told apart
    by the 0.5 rule; where two coincide, the official matching gives both detections the first
    GT pair, and the ceiling is rightly below 1."""
    _, _, gt, _ = write_world(tmp_path, 12)
    rows, distinct = [], []
    for c in range(gt.num_classes):
        gi, gb = gt.class_gt(c)
        rows += [(c, i, b - 1) for i, b in zip(gi, gb)]
        ok = len(gi) > 0
        for i in np.unique(gi):
            b = gb[gi == i]
            for j in range(len(b)):
                for k in range(j):
                    ok &= hd.pair_overlap(b[j:j + 1], b[k:k + 1])[0] < 0.5
        distinct.append(ok)
    hoi, image, boxes = (np.asarray(r) for r in zip(*rows))
    dets = hd.HicoDetections.from_arrays(hoi, image, boxes[:, :4], boxes[:, 4:], np.zeros(len(hoi)),
                                         num_images=gt.num_images)
    ap = ceiling.ceiling_result(gt, dets).default.ap
    distinct = np.asarray(distinct)
    assert distinct.sum() >= 5 and np.allclose(ap[distinct], 1.0, rtol=0, atol=11 * np.finfo(float).eps)  # 11 sums of 1/11
    assert np.all(ap[headline.present_classes(gt) & ~distinct] < 1.0 - 1e-6)


def test_headline_table_means_over_present_classes(tmp_path):
    anno_dir, _, gt, dets = write_world(tmp_path, 13)
    result, top = hd.evaluate(gt, dets), ceiling.ceiling_result(gt, dets)
    counts = np.array([len(gt.class_gt(c)[0]) for c in range(gt.num_classes)])
    present = counts > 0
    assert np.array_equal(headline.present_classes(gt), present)
    summary = headline.present_summary(result, gt)
    assert np.isclose(summary["def"]["full"], result.default.ap[present].mean())
    assert np.isclose(summary["ko"]["non_rare"], result.known_object.ap[present & ~result.rare].mean())
    table = headline.headline_table(result, gt, top)
    assert f"over the {present.sum()} HOI classes" in table and "ceiling" in table
    ratio = summary["def"]["full"] / headline.present_summary(top, gt)["def"]["full"]
    assert f"{ratio:.2f}" in table.splitlines()[3]
    md = headline.headline_table(result, gt, top, style="markdown")
    assert md.count("\n| ") == 3  # header + two settings
