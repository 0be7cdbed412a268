"""tin_jax.io.coco_results: COCO results detections and keypoints, box conversion, keypoint
matching, and a one-line error for every malformed entry."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tin_jax.io import coco_results
from tin_jax.io.errors import DataFormatError
from tin_jax.schema import classes

KPS = [float(v) for j in range(17) for v in (10 + j, 20 + 2 * j, 0.8)]
DETS = [
    {"image_id": 7, "category_id": 1, "bbox": [10.5, 20, 30, 40.25], "score": 0.9},
    {"image_id": 7, "category_id": 47, "bbox": [0, 0, 5, 5], "score": 0.7},  # cup (contiguous 42)
    {"image_id": 7, "category_id": 1, "bbox": [100, 100, 20, 50], "score": 0.6},
    {"image_id": 3, "category_id": 67, "bbox": [1, 2, 3, 4], "score": 0.5, "keypoints": None},  # dining table
    {"image_id": 3, "category_id": 1, "bbox": [5, 5, 10, 10], "score": 0.4, "keypoints": KPS},
]


def _write(tmp_path, name, obj):
    p = tmp_path / name
    p.write_text(json.dumps(obj))
    return str(p)


def test_boxes_classes_and_scores(tmp_path):
    got = coco_results.read_detections(_write(tmp_path, "d.json", DETS))
    assert sorted(got) == [3, 7]
    a = got[7]
    np.testing.assert_array_equal(a.boxes, [[10.5, 20, 40.5, 60.25], [0, 0, 5, 5], [100, 100, 120, 150]])
    assert a.is_human.tolist() == [True, False, True]
    assert a.classes.tolist() == [1, classes.coco_id("cup"), 1] == [1, 42, 1]
    assert a.scores.tolist() == [0.9, 0.7, 0.6]
    assert not a.pose_valid.any() and not a.poses.any()
    b = got[3]
    assert b.classes.tolist() == [classes.coco_id("dining table"), 1]
    assert b.pose_valid.tolist() == [False, True]
    np.testing.assert_array_equal(b.poses[1], KPS)
    for cid, (contiguous, name) in {1: (1, "person"), 90: (80, "toothbrush"), 13: (12, "stop sign")}.items():
        assert classes.COCO_ID_TO_CONTIGUOUS[cid] == contiguous and classes.COCO_OBJECTS[contiguous - 1] == name


def test_keypoints_matched_greedy_by_score(tmp_path):
    dets = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},
            {"image_id": 1, "category_id": 1, "bbox": [1, 0, 10, 10], "score": 0.8},
            {"image_id": 1, "category_id": 1, "bbox": [50, 50, 10, 10], "score": 0.7},
            {"image_id": 1, "category_id": 2, "bbox": [0, 0, 10, 10], "score": 0.9}]
    k = lambda v: [v] * 51
    kps = [{"image_id": 1, "category_id": 1, "keypoints": k(1.0), "score": 0.5, "bbox": [0, 0, 10, 10]},
           # higher score, same box: takes detection 0 first; the 0.5 entry gets detection 1
           {"image_id": 1, "category_id": 1, "keypoints": k(2.0), "score": 0.6, "bbox": [0, 0, 10, 10]},
           # IoU with detection 2 below 0.5: no match
           {"image_id": 1, "keypoints": k(3.0), "score": 0.9, "bbox": [55, 55, 10, 10]},
           {"image_id": 2, "keypoints": k(4.0), "score": 0.9}]  # an image without detections
    got = coco_results.read_detections(_write(tmp_path, "d.json", dets), _write(tmp_path, "k.json", kps))[1]
    assert got.pose_valid.tolist() == [True, True, False, False]
    assert got.poses[:, 0].tolist() == [2.0, 1.0, 0.0, 0.0]
    low = coco_results.read_detections(_write(tmp_path, "d.json", dets), _write(tmp_path, "k.json", kps),
                                       iou_thresh=0.1)[1]
    assert low.pose_valid.tolist() == [True, True, True, False]


def test_keypoint_box_from_visible_keypoints(tmp_path):
    xy = [(20 + j, 30 + j, 1.0 if j < 10 else 0.0) for j in range(17)]
    kps = [{"image_id": 1, "keypoints": [float(v) for p in xy for v in p], "score": 1.0}]
    dets = [{"image_id": 1, "category_id": 1, "bbox": [20, 30, 9, 9], "score": 0.9}]
    got = coco_results.read_detections(_write(tmp_path, "d.json", dets), _write(tmp_path, "k.json", kps))[1]
    assert got.pose_valid.tolist() == [True]  # the box of the 10 visible points, IoU 1


def test_images_list(tmp_path):
    p = _write(tmp_path, "i.json", {"images": [{"id": 5, "file_name": "x.jpg", "height": 4, "width": 6}]})
    assert coco_results.read_images(p) == {5: {"id": 5, "file_name": "x.jpg", "height": 4, "width": 6}}
    bad = _write(tmp_path, "j.json", {"images": [{"id": 5, "file_name": "x.jpg"}, {"id": 5, "file_name": "y"}]})
    with pytest.raises(DataFormatError, match=r"j\.json: images\[1\]: image id 5 appears twice"):
        coco_results.read_images(bad)
    with pytest.raises(DataFormatError, match=r"k\.json: should be an object with a 'images' list"):
        coco_results.read_images(_write(tmp_path, "k.json", []))


BAD = [
    ({"bbox": None}, "entry 1 (image 7): bbox should be [x, y, w, h]"),
    ({"bbox": [1, 2, 3]}, "bbox should be [x, y, w, h]"),
    ({"bbox": [1, 2, -3, 4]}, "has a negative width or height"),
    ({"bbox": [1, float("nan"), 3, 4]}, "bbox should be [x, y, w, h] (4 finite numbers)"),
    ({"category_id": 12}, "unknown COCO category_id 12"),
    ({"category_id": 0}, "unknown COCO category_id 0"),
    ({"category_id": "cup"}, "unknown COCO category_id \"cup\""),
    ({"score": float("nan")}, "score should be a finite number"),
    ({"image_id": "7"}, "entry 1: image_id should be an integer"),
    ({"keypoints": [1.0] * 50}, "keypoints on a non-person detection"),
    ({"score": None, "drop": "score"}, "entry 1: missing key 'score'"),
]


@pytest.mark.parametrize("change,message", BAD)
def test_bad_detection_entries(tmp_path, change, message):
    entry = dict(DETS[1], **{k: v for k, v in change.items() if k != "drop"})
    entry.pop(change.get("drop", ""), None)
    p = _write(tmp_path, "d.json", [DETS[0], entry])
    with pytest.raises(DataFormatError) as e:
        coco_results.read_detections(p)
    assert str(e.value).startswith(f"{p}: entry 1") and message in str(e.value), str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("change,message", [
    ({"keypoints": [1.0] * 50}, "keypoints should be 51 finite numbers"),
    ({"keypoints": [float("inf")] * 51}, "keypoints should be 51 finite numbers"),
    ({"category_id": 2}, "category_id should be 1 (person)"),
    ({"bbox": [0, 0, 1, -1]}, "negative width or height"),
])
def test_bad_keypoint_entries(tmp_path, change, message):
    entry = dict({"image_id": 7, "keypoints": KPS, "score": 0.5}, **change)
    d, k = _write(tmp_path, "d.json", DETS), _write(tmp_path, "k.json", [entry])
    with pytest.raises(DataFormatError) as e:
        coco_results.read_detections(d, k)
    assert str(e.value).startswith(f"{k}: entry 0 (image 7): ") and message in str(e.value), str(e.value)


def test_bad_files(tmp_path):
    with pytest.raises(DataFormatError, match=r"nope\.json: file not found"):
        coco_results.read_detections(str(tmp_path / "nope.json"))
    (tmp_path / "b.json").write_text("[{")
    with pytest.raises(DataFormatError, match=r"b\.json: not valid JSON"):
        coco_results.read_detections(str(tmp_path / "b.json"))
    with pytest.raises(DataFormatError, match=r"o\.json: should be a JSON list of entries"):
        coco_results.read_detections(_write(tmp_path, "o.json", {"annotations": []}))
