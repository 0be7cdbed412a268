"""The converter: content against the raw files, atomicity, resume, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import signal
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT, run_module
from tin_jax.data import input_pipeline

HICO_GT = "Trainval_GT_HICO_with_pose.pkl"
HICO_NEG = "Trainval_Neg_HICO_with_pose.pkl"
HICO_DET = "Test_Faster_RCNN_R-50-PFN_2x_HICO_DET_with_pose.pkl"


def _load_py2(path):
    """Independent reference: the stdlib unpickler, as the original code loads them."""
    with open(path, "rb") as f:
        return pickle.load(f, encoding="latin1")


def _records(out_dir, split):
    return {rec.image_id: (rec, enc) for rec, enc in input_pipeline.iterate_records(out_dir, split)}


def _tree_bytes(d):
    return {n: open(os.path.join(d, n), "rb").read() for n in sorted(os.listdir(d))
            if os.path.isfile(os.path.join(d, n))}


def test_train_records_match_pickles(raw_dir, hico_dir):
    gt = _load_py2(os.path.join(raw_dir, HICO_GT))
    neg = _load_py2(os.path.join(raw_dir, HICO_NEG))
    recs = _records(hico_dir, "train")
    by_image = {}
    for e in gt:
        by_image.setdefault(e[0], []).append(e)
    assert sorted(recs) == sorted(by_image)
    for image_id, entries in by_image.items():
        rec, encoded = recs[image_id]
        path = os.path.join(raw_dir, "hico_20160224_det/images/train2015",
                            f"HICO_train2015_{image_id:08d}.jpg")
        assert encoded == open(path, "rb").read()  # original bytes, not re-encoded
        assert rec.gt.size == len(entries)
        for i, e in enumerate(entries):  # file order kept within the image
            np.testing.assert_allclose(rec.gt.human_boxes[i], np.asarray(e[2], np.float32))
            np.testing.assert_allclose(rec.gt.object_boxes[i], np.asarray(e[3], np.float32))
            assert rec.gt.labels[i] == list(e[1])
            assert rec.gt.pose_valid[i] == (e[5] is not None)
            if e[5] is not None:
                np.testing.assert_allclose(rec.gt.poses[i], np.asarray(e[5], np.float32))
        negs = neg.get(image_id, [])
        assert rec.neg.size == len(negs)
        for j, n in enumerate(negs):
            np.testing.assert_array_equal(rec.neg.human_boxes[j], n[2])
            np.testing.assert_array_equal(rec.neg.object_boxes[j], n[3])
            assert rec.neg.labels[j] == [n[1]]
            assert rec.neg.object_classes[j] == n[5]
            assert rec.neg.scores[j] == pytest.approx(float(n[6]))


def test_test_records_match_detections_and_mat(raw_dir, hico_dir):
    import scipy.io
    det = _load_py2(os.path.join(raw_dir, HICO_DET))
    recs = _records(hico_dir, "test")
    mat = scipy.io.loadmat(os.path.join(raw_dir, "hico_20160224_det/anno_bbox.mat"),
                           squeeze_me=False, struct_as_record=False)
    bbox_test = mat["bbox_test"][0]
    assert len(recs) == len(bbox_test)
    for img in bbox_test:
        name = str(img.filename[0])
        image_id = int(name[-12:-4])
        rec, _ = recs[image_id]
        dets = det.get(image_id, [])
        assert rec.det.size == len(dets)
        for k, d in enumerate(dets):
            np.testing.assert_array_equal(rec.det.boxes[k], d[2])
            assert rec.det.is_human[k] == (d[1] == "Human")
            assert rec.det.classes[k] == d[4]
            assert rec.det.scores[k] == pytest.approx(float(d[5]))
        # GT pairs: every visible connection, boxes shifted from 1-based to 0-based.
        expected = []
        for hoi in img.hoi[0]:
            if int(hoi.invis[0, 0]):
                continue
            for hi, oi in np.asarray(hoi.connection, np.int64).reshape(-1, 2):
                bh, bo = hoi.bboxhuman[0][hi - 1], hoi.bboxobject[0][oi - 1]
                # the records hold float32 boxes, shifted in float32 (the .mat's values are float64)
                box = lambda b: [float(np.float32(v[0, 0]) - np.float32(1)) for v in (b.x1, b.y1, b.x2, b.y2)]
                expected.append((int(hoi.id[0, 0]) - 1, box(bh), box(bo)))
        got = [(rec.gt.labels[i][0], rec.gt.human_boxes[i].tolist(), rec.gt.object_boxes[i].tolist())
               for i in range(rec.gt.size)]
        assert sorted(got) == sorted(expected)


def test_manifest_counts_and_checksums(raw_dir, hico_dir):
    manifest = json.load(open(os.path.join(hico_dir, "manifest.json")))
    gt = _load_py2(os.path.join(raw_dir, HICO_GT))
    neg = _load_py2(os.path.join(raw_dir, HICO_NEG))
    train = manifest["splits"]["train"]
    assert train["num_gt_pairs"] == len(gt)
    assert train["num_images"] == len({e[0] for e in gt})
    assert train["num_neg_pairs"] == sum(len(v) for k, v in neg.items() if k in {e[0] for e in gt})
    assert manifest["skipped"]["count"] == 0
    for split in manifest["splits"].values():
        for shard in split["shards"]:
            data = open(os.path.join(hico_dir, shard["file"]), "rb").read()
            assert hashlib.sha256(data).hexdigest() == shard["sha256"]
    meta = json.load(open(os.path.join(hico_dir, "metadata.json")))
    assert meta["num_labels"] == 600 and len(meta["label_names"]) == 600
    assert meta["rare_hois"], "the synthetic data must have a non-empty Rare split"
    assert not [n for n in os.listdir(hico_dir) if "tmp" in n]


def test_conversion_is_deterministic(raw_dir, hico_dir, tmp_path):
    out = str(tmp_path / "again")
    run_module("data_prep.convert", "--dataset", "hico", "--data_dir", raw_dir, "--out_dir", out,
               "--images_per_shard", "8", "--num_workers", "1", "--noprogress")
    assert _tree_bytes(out) == _tree_bytes(hico_dir)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_kill_and_resume_gives_identical_output(raw_dir, hico_dir, tmp_path, workers):
    out = str(tmp_path / "killed")
    args = ["data_prep.convert", "--dataset", "hico", "--data_dir", raw_dir, "--out_dir", out,
            "--images_per_shard", "8", "--num_workers", workers, "--noprogress"]
    env = dict(os.environ, TIN_JAX_CONVERT_KILL_AT="2:3")  # SIGKILL inside the third shard
    proc = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    names = os.listdir(out)
    assert "manifest.json" not in names
    assert any(".tfrecord-" in n and "tmp" in n for n in names), names  # a half-written shard
    done = [n for n in names if n.startswith("train.tfrecord-")]
    assert 0 < len(done) < 5
    run_module(*args)
    assert _tree_bytes(out) == _tree_bytes(hico_dir)
    assert not [n for n in os.listdir(out) if "tmp" in n]


def test_refuses_to_mix_different_inputs(raw_copy, tmp_path):
    out = str(tmp_path / "o")
    run_module("data_prep.convert", "--dataset", "hico", "--data_dir", raw_copy, "--out_dir", out,
               "--num_workers", "1", "--noprogress")
    gt_path = os.path.join(raw_copy, HICO_GT)
    gt = _load_py2(gt_path)
    _dump(gt[:-1], gt_path)
    proc = run_module("data_prep.convert", "--dataset", "hico", "--data_dir", raw_copy, "--out_dir",
                      out, "--num_workers", "1", "--noprogress", check=False)
    assert proc.returncode == 2 and "--overwrite" in proc.stderr
    run_module("data_prep.convert", "--dataset", "hico", "--data_dir", raw_copy, "--out_dir", out,
               "--num_workers", "1", "--noprogress", "--overwrite")


def _dump(obj, path):
    from data_prep.synthetic.py2pickle import dump_py2
    dump_py2(obj, path)


# --- bad input: one clear line naming the file and the record; nothing half-written ----------

def _corrupt_gt(field, value, index=0):
    def fn(raw):
        path = os.path.join(raw, HICO_GT)
        gt = _load_py2(path)
        gt[index][field] = value
        _dump(gt, path)
        return HICO_GT, f"entry {index}"
    return fn


def _corrupt_image(kind):
    def fn(raw):
        d = os.path.join(raw, "hico_20160224_det/images/train2015")
        name = sorted(os.listdir(d))[0]
        path = os.path.join(d, name)
        if kind == "missing":
            os.unlink(path)
        else:
            data = open(path, "rb").read()
            open(path, "wb").write(data[: len(data) // 3])
        return name, "image"
    return fn


def _gt_not_a_list(raw):
    _dump({"a": 1}, os.path.join(raw, HICO_GT))
    return HICO_GT, "expected a list"


def _evil_pickle(raw):
    with open(os.path.join(raw, HICO_NEG), "wb") as f:
        pickle.dump(os.system, f, protocol=2)
    return HICO_NEG, "refuses to load global"


def _box_outside(raw):
    path = os.path.join(raw, HICO_GT)
    gt = _load_py2(path)
    gt[0][3] = np.array([10.0, 10.0, 5000.0, 40.0])
    _dump(gt, path)
    return f"HICO_train2015_{gt[0][0]:08d}.jpg", "outside"


def _det_class(raw):
    path = os.path.join(raw, HICO_DET)
    det = _load_py2(path)
    key = sorted(det)[0]
    det[key][0][4] = 91
    _dump(det, path)
    return HICO_DET, f"image {key} detection 0"


def _mat_missing_field(raw):
    import scipy.io
    path = os.path.join(raw, "hico_20160224_det/anno_bbox.mat")
    mat = scipy.io.loadmat(path)
    del mat["bbox_test"]
    scipy.io.savemat(path, {k: v for k, v in mat.items() if not k.startswith("__")})
    return "anno_bbox.mat", "bbox_test"


BAD_CASES = {
    "missing_image": _corrupt_image("missing"),
    "truncated_image": _corrupt_image("truncated"),
    "gt_not_a_list": _gt_not_a_list,
    "gt_entry_too_short": lambda raw: (_corrupt_gt_short(raw), "entry 0"),
    "hoi_id_out_of_range": _corrupt_gt(1, [600]),
    "degenerate_box": _corrupt_gt(2, np.array([50.0, 50.0, 10.0, 80.0])),
    "box_outside_image": _box_outside,
    "pose_wrong_length": _corrupt_gt(5, [1.0] * 50),
    "object_class_out_of_range": _det_class,
    "restricted_unpickler": _evil_pickle,
    "mat_field_missing": _mat_missing_field,
}


def _corrupt_gt_short(raw):
    path = os.path.join(raw, HICO_GT)
    gt = _load_py2(path)
    gt[0] = gt[0][:3]
    _dump(gt, path)
    return HICO_GT


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_clear_error_nothing_written(case, raw_copy, tmp_path):
    fname, record = BAD_CASES[case](raw_copy)
    out = str(tmp_path / "out")
    proc = run_module("data_prep.convert", "--dataset", "hico", "--data_dir", raw_copy,
                      "--out_dir", out, "--num_workers", "1", "--noprogress", check=False)
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.strip().splitlines()[-1]
    assert err.startswith("error: ") and fname in err and record in err, proc.stderr
    assert "Traceback" not in proc.stderr
    if os.path.isdir(out):  # no manifest, no half-written shard
        names = os.listdir(out)
        assert "manifest.json" not in names
        assert not [n for n in names if "tmp" in n]


@pytest.mark.parametrize("case", ["truncated_image", "degenerate_box", "pose_wrong_length",
                                  "object_class_out_of_range", "box_outside_image"])
def test_skip_bad_counts_in_manifest(case, raw_copy, tmp_path):
    BAD_CASES[case](raw_copy)
    out = str(tmp_path / "out")
    run_module("data_prep.convert", "--dataset", "hico", "--data_dir", raw_copy, "--out_dir", out,
               "--num_workers", "1", "--noprogress", "--skip_bad")
    manifest = json.load(open(os.path.join(out, "manifest.json")))
    assert manifest["skipped"]["count"] == 1, manifest["skipped"]


def test_vcoco_conversion_matches_raw_files(raw_dir, tmp_path):
    from tin_jax.schema import classes
    out = str(tmp_path / "vcoco")
    proc = run_module("data_prep.convert", "--dataset", "vcoco", "--data_dir", raw_dir, "--out_dir",
                      out, "--images_per_shard", "8", "--noprogress")
    assert "dataset vcoco: 29 classes" in proc.stdout
    gt = _load_py2(os.path.join(raw_dir, "Trainval_GT_VCOCO_with_pose.pkl"))
    det = _load_py2(os.path.join(raw_dir, "Test_Faster_RCNN_R-50-PFN_2x_VCOCO_with_pose.pkl"))
    train = _records(out, "train")
    by_image = {}
    for e in gt:
        by_image.setdefault(e[0], []).append(e)
    assert sorted(train) == sorted(by_image)
    for image_id, entries in by_image.items():
        rec, _ = train[image_id]
        assert rec.filename == f"COCO_train2014_{image_id:012d}.jpg"
        assert [list(e[1]) for e in entries] == rec.gt.labels
        assert [list(e[4]) for e in entries] == rec.gt.person_labels
        np.testing.assert_allclose(rec.gt.human_boxes, np.stack([e[2] for e in entries]).astype(np.float32))
    test = _records(out, "test")
    ids = [int(x) for x in open(os.path.join(raw_dir, "v-coco/data/splits/vcoco_test.ids")).read().split()]
    assert sorted(test) == sorted(ids)
    # Test GT pairs straight from the json files: every positive (action, role) with an object.
    tables = json.load(open(os.path.join(raw_dir, "v-coco/data/vcoco/vcoco_test.json")))
    coco = json.load(open(os.path.join(raw_dir, "v-coco/data/instances_vcoco_all_2014.json")))
    anns = {a["id"]: a for a in coco["annotations"]}
    expected = {i: [] for i in ids}
    for t in tables:
        roles = np.array(t["role_object_id"]).reshape(len(t["role_name"]), -1).T
        for k, image_id in enumerate(t["image_id"]):
            if not t["label"][k]:
                continue
            for r, role in enumerate(t["role_name"][1:], start=1):
                if roles[k, r]:
                    expected[image_id].append(
                        (classes.VCOCO_CLASSES.index(f"{t['action_name']}_{role}"), anns[roles[k, r]]["bbox"][:2]))
    assert sum(map(len, expected.values())) > len(ids) // 2
    for image_id, pairs in expected.items():
        rec, _ = test[image_id]
        got = [(rec.gt.labels[i][0], rec.gt.object_boxes[i][:2].tolist()) for i in range(rec.gt.size)]
        assert sorted(got) == sorted(pairs)
        assert rec.det.size == len(det.get(image_id, []))


# -- --test_detections ----------------------------------------------------------------------

def _coco_from_pickle(det, path, keypoints_apart=False):
    """TIN's test pickle as a COCO results json (and keypoint results, apart or on the entries)."""
    from tin_jax.schema import classes
    dets, kps = [], []
    for image_id, entries in det.items():
        for e in entries:
            x1, y1, x2, y2 = (float(v) for v in e[2])
            human = e[1] == "Human"
            assert human == (int(e[4]) == 1), "a person 'Object' would read as a human"
            d = {"image_id": int(image_id), "category_id": classes.CONTIGUOUS_TO_COCO_ID[int(e[4])],
                 "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(e[5])}
            if e[6] is not None:
                k = {"keypoints": np.asarray(e[6], np.float64).ravel().tolist()}
                if keypoints_apart:
                    kps.append(dict(k, image_id=int(image_id), category_id=1, bbox=d["bbox"], score=d["score"]))
                else:
                    d.update(k)
            dets.append(d)
    with open(path, "w") as f:
        json.dump(dets, f)
    if keypoints_apart:
        with open(path + ".kps.json", "w") as f:
            json.dump(kps, f)
    return path


def _assert_same_test_detections(out, reference):
    got, want = _records(out, "test"), _records(reference, "test")
    assert sorted(got) == sorted(want)
    n = poses = 0
    for image_id, (rec, _) in want.items():
        d, e = got[image_id][0].det, rec.det
        for field in ("boxes", "is_human", "classes", "scores", "poses", "pose_valid"):
            np.testing.assert_array_equal(getattr(d, field), getattr(e, field), err_msg=f"{image_id} {field}")
        n, poses = n + e.size, poses + int(e.pose_valid.sum())
    assert n > 0 and poses > 0


def _convert_with(raw_dir, out, dataset, *extra):
    run_module("data_prep.convert", "--dataset", dataset, "--data_dir", raw_dir, "--out_dir", out,
               "--images_per_shard", "8", "--num_workers", "2", "--noprogress", *extra)
    return json.load(open(os.path.join(out, "manifest.json")))


def test_test_detections_from_explicit_pickle_and_coco_json(raw_dir, hico_dir, tmp_path):
    pkl = os.path.join(raw_dir, HICO_DET)
    default = json.load(open(os.path.join(hico_dir, "manifest.json")))
    explicit = _convert_with(raw_dir, str(tmp_path / "pkl"), "hico", "--test_detections", pkl)
    assert explicit["splits"] == default["splits"]  # the same shards, byte for byte
    det = _load_py2(pkl)
    assert any(e[6] is not None for v in det.values() for e in v)
    coco = _coco_from_pickle(det, str(tmp_path / "dets.json"))
    _convert_with(raw_dir, str(tmp_path / "coco"), "hico", "--test_detections", coco)
    _assert_same_test_detections(str(tmp_path / "coco"), hico_dir)
    apart = _coco_from_pickle(det, str(tmp_path / "dets2.data"), keypoints_apart=True)
    _convert_with(raw_dir, str(tmp_path / "apart"), "hico", "--test_detections", apart,
                  "--test_detections_format", "coco", "--test_keypoints", apart + ".kps.json")
    _assert_same_test_detections(str(tmp_path / "apart"), hico_dir)


def test_vcoco_test_detections_from_coco_json(raw_dir, vcoco_dir, tmp_path):
    det = _load_py2(os.path.join(raw_dir, "Test_Faster_RCNN_R-50-PFN_2x_VCOCO_with_pose.pkl"))
    coco = _coco_from_pickle(det, str(tmp_path / "dets.json"))
    _convert_with(raw_dir, str(tmp_path / "coco"), "vcoco", "--test_detections", coco)
    _assert_same_test_detections(str(tmp_path / "coco"), vcoco_dir)


def test_bad_test_detections_one_line(raw_dir, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"image_id": 1, "category_id": 12, "bbox": [0, 0, 1, 1], "score": 0.5}]))
    proc = run_module("data_prep.convert", "--dataset", "hico", "--data_dir", raw_dir, "--out_dir",
                      str(tmp_path / "o"), "--test_detections", str(bad), "--noprogress", check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {bad}: entry 0 (image 1): unknown COCO category_id 12")


def test_hico_test_pairs_from_the_hicodet_json_annotations(raw_dir, hico_dir, tmp_path):
    """--hico_annotations_json: the json written from the same anno_bbox.mat gives the same
    shards byte for byte (test pairs, rare split) and the same metadata."""
    from data_prep.synthetic.hicodet_json_files import write_hicodet_json_files
    json_dir = tmp_path / "json"
    json_dir.mkdir()
    write_hicodet_json_files(os.path.join(raw_dir, "hico_20160224_det", "anno_bbox.mat"), str(json_dir))
    default = json.load(open(os.path.join(hico_dir, "manifest.json")))
    got = _convert_with(raw_dir, str(tmp_path / "from_json"), "hico", "--hico_annotations_json", str(json_dir))
    assert got["splits"] == default["splits"]
    assert json.load(open(tmp_path / "from_json" / "metadata.json")) == json.load(
        open(os.path.join(hico_dir, "metadata.json")))
    proc = run_module("data_prep.convert", "--dataset", "vcoco", "--data_dir", raw_dir, "--out_dir",
                      str(tmp_path / "v"), "--hico_annotations_json", str(json_dir), check=False)
    assert proc.returncode == 2 and "--hico_annotations_json is for --dataset hico" in proc.stderr
