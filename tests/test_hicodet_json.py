"""fredzzhang/hicodet json files: reader/writer, the json ground truth against the .mat route, converter rows."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from data_prep.sources import hico as hico_src
from data_prep.sources.common import ProblemLog
from data_prep.synthetic import hicodet_json_files as hjf
from tin_jax.evaluation import hico_det
from tin_jax.io import hico_mat, hicodet_json
from tin_jax.io.errors import DataFormatError
from tin_jax.schema import classes


@pytest.fixture(scope="module")
def json_dir(raw_dir, tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp("hicodet_json"))
    hjf.write_hicodet_json_files(os.path.join(raw_dir, hico_src.ANNO_BBOX), out)
    return out


def _paths(raw_dir: str, json_dir: str) -> dict[str, str]:
    return dict(test=os.path.join(json_dir, hjf.TEST_JSON), train=os.path.join(json_dir, hjf.TRAIN_JSON),
                bbox=os.path.join(raw_dir, hico_src.ANNO_BBOX), anno=os.path.join(raw_dir, hico_src.ANNO))


def _jittered_detections(gt: hico_det.HicoGroundTruth, seed: int) -> hico_det.HicoDetections:
    """GT pairs (0-based) with jitter, duplicates and random false positives, random scores."""
    rng = np.random.default_rng(seed)
    cls = np.repeat(np.arange(gt.num_classes), gt.num_gt)
    boxes = np.repeat(gt.gt_boxes - 1, 2, axis=0) + rng.normal(0, 6, (2 * len(cls), 8))
    cls, image = np.repeat(cls, 2), np.repeat(gt.gt_image, 2)
    n_fp = 200
    fp_cls = rng.choice(np.unique(cls), n_fp)
    fp_img = rng.integers(0, gt.num_images, n_fp)
    corner = rng.uniform(0, 300, (n_fp, 2, 2))
    fp_boxes = np.concatenate([corner, corner + rng.uniform(5, 120, (n_fp, 2, 2))], axis=2).reshape(n_fp, 8)
    boxes = np.concatenate([boxes, fp_boxes]).reshape(-1, 2, 4)
    boxes[..., 2:] = np.maximum(boxes[..., 2:], boxes[..., :2])
    boxes = boxes.reshape(-1, 8)
    return hico_det.HicoDetections.from_arrays(
        np.concatenate([cls, fp_cls]), np.concatenate([image, fp_img]), boxes[:, :4], boxes[:, 4:],
        rng.random(len(boxes)), num_images=gt.num_images)


def test_json_layout_of_the_converted_mat(raw_dir, json_dir):
    p = _paths(raw_dir, json_dir)
    bbox = hico_mat.read_anno_bbox_mat(p["bbox"])
    for split, images in (("train", bbox.train), ("test", bbox.test)):
        anno = hicodet_json.read_hicodet_json(p[split])
        assert anno.filenames == [im.filename for im in images]
        for im, mat in zip(anno.images, images):
            hb = [h for e in mat.hois if not e.invis for h in e.pairs()[0]]
            ob = [o for e in mat.hois if not e.invis for o in e.pairs()[1]]
            np.testing.assert_array_equal(im.human_boxes, np.reshape(hb, (-1, 4)))  # 1-based, unchanged
            np.testing.assert_array_equal(im.object_boxes, np.reshape(ob, (-1, 4)))
            assert [classes.coco_id(anno.objects[o]) for o in im.object] == classes.HOI_TO_OBJECT[im.hoi].tolist()
            assert (im.width, im.height) == (mat.width, mat.height)
        raw = json.load(open(p[split]))
        assert list(raw) == list(hicodet_json.TOP_KEYS) + ["rare", "non_rare"]
        assert hicodet_json.to_json_dict(anno) == raw
    np.testing.assert_array_equal(hicodet_json.count_instances(hicodet_json.read_hicodet_json(p["train"])),
                                  hico_mat.count_train_instances(bbox))


def test_invisible_hois_and_shared_boxes():
    h = np.array([[1, 1, 10, 10], [5, 5, 20, 20]], float)
    o = np.array([[30, 30, 40, 40]], float)
    img = hico_mat.HicoImageAnno("HICO_test2015_00000001.jpg", 50, 60, 3, [
        hico_mat.HicoHoiAnno(7, h, o, np.array([[0, 0], [1, 0]]), False),
        hico_mat.HicoHoiAnno(9, np.zeros((0, 4)), np.zeros((0, 4)), np.zeros((0, 2)), True),
        hico_mat.HicoHoiAnno(8, h[:1], o, np.array([[0, 0]]), False)])
    im = hjf.json_image(img)
    assert im.hoi.tolist() == [7, 7, 8]
    np.testing.assert_array_equal(im.human_boxes, h[[0, 1, 0]])
    np.testing.assert_array_equal(im.object_boxes, o[[0, 0, 0]])
    back = hicodet_json.bbox_images(hicodet_json.HicoJsonAnno([im], (), (), (), np.zeros((600, 3))))[0]
    assert [e.hoi_id for e in back.hois] == [7, 8]
    np.testing.assert_array_equal(back.hois[0].pairs()[0], h)


def test_default_aps_equal_the_mat_route(raw_dir, json_dir):
    p = _paths(raw_dir, json_dir)
    gt_mat = hico_det.load_ground_truth(os.path.dirname(p["bbox"]))
    gt_json = hico_det.load_json_ground_truth(p["test"], p["train"])
    for field in ("filenames", "action_names", "object_names"):
        assert getattr(gt_json, field) == getattr(gt_mat, field)
    for field in ("class_object", "object_hoi_range", "offsets", "gt_image", "gt_boxes", "num_train"):
        np.testing.assert_array_equal(getattr(gt_json, field), getattr(gt_mat, field), err_msg=field)
    assert gt_mat.num_gt.sum() > 10
    for seed in (0, 1):
        dets = _jittered_detections(gt_mat, seed)
        r_mat, r_json = hico_det.evaluate(gt_mat, dets), hico_det.evaluate(gt_json, dets)
        np.testing.assert_array_equal(r_json.default.ap, r_mat.default.ap)
        np.testing.assert_array_equal(r_json.default.recall, r_mat.default.recall)
        assert np.nanmax(r_mat.default.ap) > 0
        # Known Object: the synthetic anno.mat labels are exactly the HOIs with pairs, plus -1 / 0 labels.
        np.testing.assert_array_equal(r_json.known_object.ap, r_mat.known_object.ap)


def test_known_object_mask_from_pairs_versus_anno_mat(raw_dir, json_dir):
    p = _paths(raw_dir, json_dir)
    gt_mat = hico_det.load_ground_truth(os.path.dirname(p["bbox"]))
    gt_json = hico_det.load_json_ground_truth(p["test"], p["train"])
    assert gt_json.known_object_violations() == []
    diff = np.argwhere(gt_json.known_object != gt_mat.known_object)
    assert diff.tolist() == [], f"(class, image) where the json KO mask differs from anno.mat: {diff.tolist()}"
    gt_exact = hico_det.load_json_ground_truth(p["test"], p["train"], anno_mat=p["anno"])
    np.testing.assert_array_equal(gt_exact.known_object, gt_mat.known_object)


def test_known_object_mask_misses_labels_without_pairs(raw_dir, json_dir):
    """An anno.mat positive with no box pair (as for invisible HOIs) is kept only with ``labels``."""
    p = _paths(raw_dir, json_dir)
    test = hicodet_json.read_hicodet_json(p["test"])
    train = hicodet_json.read_hicodet_json(p["train"])
    labels = hico_mat.read_anno_mat(p["anno"])
    obj = next(c for c in range(1, 81) if not np.any(labels.anno_test[slice(*(classes.HOI_RANGE_BY_OBJECT[c]
                                                                              + [0, 1]))] == 1))
    hoi = int(classes.HOI_RANGE_BY_OBJECT[obj][0])
    labels.anno_test[hoi, 0] = 1.0
    gt_pairs = hico_det.ground_truth_from_json(test, train)
    gt_labels = hico_det.ground_truth_from_json(test, train, labels=labels)
    assert gt_labels.known_object[hoi, 0] and not gt_pairs.known_object[hoi, 0]


def test_object_order_is_mapped_by_name(raw_dir, json_dir, tmp_path):
    """A file with ``objects`` in COCO order (fredzzhang/hicodet convert.py) gives the same ground truth."""
    p = _paths(raw_dir, json_dir)
    raw = json.load(open(p["test"]))
    new_index = {name: i for i, name in enumerate(n.replace(" ", "_") for n in classes.COCO_OBJECTS)}
    old_to_new = [new_index[name] for name in raw["objects"]]
    raw["objects"] = sorted(raw["objects"], key=new_index.get)
    for row in raw["correspondence"]:
        row[1] = old_to_new[row[1]]
    for a in raw["annotation"]:
        a["object"] = [old_to_new[o] for o in a["object"]]
    path = tmp_path / "coco_order.json"
    path.write_text(json.dumps(raw))
    coco = hicodet_json.read_hicodet_json(path)
    assert coco.objects[0] == "person"
    np.testing.assert_array_equal(hicodet_json.coco_object_ids(coco.objects), np.arange(1, 81))
    gt_a = hico_det.load_json_ground_truth(p["test"], p["train"])
    gt_b = hico_det.load_json_ground_truth(path, p["train"])
    np.testing.assert_array_equal(gt_a.gt_boxes, gt_b.gt_boxes)
    np.testing.assert_array_equal(gt_a.offsets, gt_b.offsets)


def test_converter_rows_equal_the_mat_route(raw_dir, json_dir):
    p = _paths(raw_dir, json_dir)
    records = hico_src.read(raw_dir, ProblemLog())["splits"]["test"]
    test = hicodet_json.read_hicodet_json(p["test"])
    assert [r.filename for r in records] == test.filenames
    labels = hico_mat.read_anno_mat(p["anno"])
    ambiguous = 0
    for rec, im in zip(records, test.images):
        got = hico_src.pair_set(hicodet_json.gt_pair_rows(im))
        for field in ("human_boxes", "object_boxes", "object_classes", "poses", "pose_valid", "scores"):
            a, b = getattr(got, field), getattr(rec.gt, field)
            assert a.dtype == b.dtype and np.array_equal(a, b), field
        assert got.labels == rec.gt.labels
        # positive_hois: anno.mat's 1 labels; the json only has the HOIs with pairs. They differ where anno.mat
        # labels a HOI with pairs 0 (ambiguous); the synthetic anno.mat has no 1 label without pairs.
        col = labels.list_test.index(im.filename)
        extra = set(hicodet_json.positive_hois(im)) - set(rec.positive_hois)
        assert set(rec.positive_hois) <= set(hicodet_json.positive_hois(im))
        assert all(labels.anno_test[h, col] == 0 for h in extra)
        ambiguous += len(extra)
    assert ambiguous > 0  # the synthetic data exercises the difference
    rare_json = np.flatnonzero(hicodet_json.count_instances(hicodet_json.read_hicodet_json(p["train"])) < 10)
    assert rare_json.tolist() == hico_src.read(raw_dir, ProblemLog())["metadata"]["rare_hois"]
    assert labels.list_test == test.filenames


def _corrupt(raw: dict, what: str) -> str:
    """Apply one corruption; returns the text the error must contain."""
    a = raw["annotation"]
    i = next(k for k, e in enumerate(a) if e["hoi"])
    f = raw["filenames"][i]
    if what == "box":
        a[i]["boxes_h"][0] = [1.0, 2.0, 3.0]
        return f"annotation[{i}] ({f}) pair 0: boxes_h"
    if what == "degenerate":
        a[i]["boxes_o"][0] = [10.0, 10.0, 5.0, 20.0]
        return f"annotation[{i}] ({f}) pair 0: boxes_o"
    if what == "hoi":
        a[i]["hoi"][0] = 600
        return f"annotation[{i}] ({f}): hoi value 600"
    if what == "object":
        a[i]["object"][0] = (a[i]["object"][0] + 1) % 80
        return f"annotation[{i}] ({f}) pair 0: object"
    if what == "lengths":
        a[i]["verb"].append(0)
        return f"annotation[{i}] ({f}): per-pair lists differ"
    if what == "empty":
        raw["empty"].append(i)
        return f"image {i} ({f})"
    if what == "correspondence":
        raw["correspondence"][5][2] = (raw["correspondence"][5][2] + 1) % 117
        return "correspondence[5]"
    if what == "objects":
        raw["objects"][3] = "spaceship"
        return "objects[3] 'spaceship'"
    if what == "size":
        raw["size"][i] = [640]
        return f"annotation[{i}] ({f}): size"
    if what == "missing":
        del raw["verbs"]
        return "missing key 'verbs'"
    raise AssertionError(what)


@pytest.mark.parametrize("what", ["box", "degenerate", "hoi", "object", "lengths", "empty", "correspondence",
                                  "objects", "size", "missing"])
def test_malformed_files_give_one_line_errors(raw_dir, json_dir, tmp_path, what):
    raw = json.load(open(_paths(raw_dir, json_dir)["test"]))
    expected = _corrupt(raw, what)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(DataFormatError) as err:
        hicodet_json.read_hicodet_json(path)
    msg = str(err.value)
    assert msg.startswith(str(path)) and "\n" not in msg and expected in msg, msg


def test_unreadable_files(tmp_path):
    with pytest.raises(DataFormatError, match="file not found"):
        hicodet_json.read_hicodet_json(tmp_path / "nope.json")
    (tmp_path / "x.json").write_text("{")
    with pytest.raises(DataFormatError, match="not readable JSON"):
        hicodet_json.read_hicodet_json(tmp_path / "x.json")


def test_rare_list_must_match_the_train_file(raw_dir, json_dir, tmp_path):
    p = _paths(raw_dir, json_dir)
    raw = json.load(open(p["test"]))
    moved = raw["non_rare"].pop(0) if raw["non_rare"] else raw["rare"].pop(0)
    (raw["rare"] if moved not in raw["rare"] else raw["non_rare"]).append(moved)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(DataFormatError, match=f"first difference: HOI {moved}"):
        hico_det.load_json_ground_truth(path, p["train"])
