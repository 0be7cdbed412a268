"""Round-trip and layout tests for the raw annotation readers/writers (HICO-DET .mat, V-COCO json)."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest
import scipy.io

from tin_jax.io import hico_mat as hm
from tin_jax.io import vcoco_json as vj
from tin_jax.io.errors import DataFormatError
from tin_jax.io.hico_mat import (AnnotationError, HicoAction, HicoBboxAnno, HicoHoiAnno, HicoImageAnno,
                                                                  HicoImageLabels)

# ==================================================================================================
# HICO-DET
# ==================================================================================================


def _actions(n: int = 600) -> list[HicoAction]:
    acts = [HicoAction(f"obj{i // 10}", f"verb{i % 10}", f"verb{i % 10}ing") for i in range(n)]
    acts[0] = HicoAction("airplane", "board", "boarding", syn=["board", "get on"], definition="get on board",
                                              synset={"wid": "v01", "name": "board.v.01", "count": 3.0}, add_def="x")
    acts[9] = HicoAction("airplane", "no_interaction", "no_interaction")  # [] for the free-form fields
    return acts


def _hoi(hoi_id, human, obj, conn, invis=False) -> HicoHoiAnno:
    return HicoHoiAnno(hoi_id, np.array(human, float).reshape(-1, 4), np.array(obj, float).reshape(-1, 4),
                                          np.array(conn, np.int64).reshape(-1, 2), invis)


def _bbox_anno() -> HicoBboxAnno:
    train = [
            HicoImageAnno("HICO_train2015_00000001.jpg", 640, 480, 3, [
                    _hoi(0, [[10, 20, 110, 220], [15, 25, 100, 200]], [[50, 60, 300, 400]], [[0, 0], [1, 0]]),
                    _hoi(5, [[1, 2, 30, 40]], [[5, 6, 70, 80], [8, 9, 90, 99]], [[0, 1], [0, 0], [0, 1]]),
                    _hoi(7, [], [], [], invis=True),
                    _hoi(5, [[3, 3, 9, 9]], [[4, 4, 8, 8]], [[0, 0]], invis=True),  # invisible: not counted
            ]),
            HicoImageAnno("HICO_train2015_00000002.jpg", 300, 200, 1, [
                    _hoi(599, [[7.5, 8.25, 70.5, 80.75], [1, 1, 2, 2]], [[2, 3, 20, 30]], [[0, 0]]),
            ]),
    ]
    test = [HicoImageAnno("HICO_test2015_00000001.jpg", 500, 400, 3,
                                                [_hoi(160, [[11, 12, 13, 14]], [[21, 22, 23, 24]], [[0, 0]])])]
    return HicoBboxAnno(_actions(), train, test)


def _raw(path):
    return scipy.io.loadmat(path, squeeze_me=False, struct_as_record=False)


def test_anno_bbox_roundtrip(tmp_path):
    anno = _bbox_anno()
    path = tmp_path / "anno_bbox.mat"
    hm.write_anno_bbox_mat(path, anno)
    back = hm.read_anno_bbox_mat(path)
    assert back == anno
    assert back.actions[0].synset == {"wid": "v01", "name": "board.v.01", "count": 3.0}
    assert back.actions[0].syn == ["board", "get on"] and back.actions[9].definition is None
    assert back.train[0].hois[2].human_boxes.shape == (0, 4) and back.train[0].hois[2].connections.shape == (0, 2)
    assert back.train[1].hois[0].connections.dtype == np.int64
    assert not [p for p in os.listdir(tmp_path) if p != "anno_bbox.mat"]  # no temp file left behind


def test_anno_bbox_one_of_everything(tmp_path):
    """One image per split, one HOI, one box each, one connection: the cases loadmat squeezes."""
    anno = HicoBboxAnno(
            _actions(),
            [HicoImageAnno("HICO_train2015_00000001.jpg", 10, 20, 3, [_hoi(3, [[1, 2, 3, 4]], [[5, 6, 7, 8]], [[0, 0]])])],
            [HicoImageAnno("HICO_test2015_00000001.jpg", 30, 40, 3, [_hoi(4, [[2, 2, 4, 4]], [[6, 6, 9, 9]], [[0, 0]])])])
    path = tmp_path / "anno_bbox.mat"
    hm.write_anno_bbox_mat(path, anno)
    assert hm.read_anno_bbox_mat(path) == anno
    raw = _raw(path)
    assert raw["bbox_train"].shape == (1, 1) and raw["bbox_test"].shape == (1, 1)
    hoi = raw["bbox_test"][0, 0].hoi
    assert hoi.shape == (1, 1)
    assert hoi[0, 0].bboxhuman.shape == (1, 1) and hoi[0, 0].bboxobject.shape == (1, 1)
    assert hoi[0, 0].connection.shape == (1, 2) and hoi[0, 0].connection.tolist() == [[1.0, 1.0]]
    # Also the squeezed view most third-party loaders use must still make sense.
    sq = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    assert sq["bbox_test"].hoi.bboxhuman.x2 == 4.0 and sq["bbox_test"].hoi.id == 5.0


def test_anno_bbox_raw_matlab_layout(tmp_path):
    """Check the file with raw scipy, as the official MATLAB / TIN Python code index it."""
    anno = _bbox_anno()
    path = tmp_path / "anno_bbox.mat"
    hm.write_anno_bbox_mat(path, anno)
    raw = _raw(path)
    assert sorted(k for k in raw if not k.startswith("__")) == ["bbox_test", "bbox_train", "list_action"]
    la = raw["list_action"]
    assert la.shape == (600, 1)
    assert la[0, 0]._fieldnames == ["nname", "vname", "vname_ing", "syn", "def", "synset", "add_def"]
    assert la[0, 0].nname.tolist() == ["airplane"] and la[0, 0].vname_ing.tolist() == ["boarding"]
    assert la[9, 0].synset.shape == (0, 0) and la[9, 0].synset.dtype == np.float64  # MATLAB []
    assert la[0, 0].synset[0, 0].name.tolist() == ["board.v.01"] and la[0, 0].syn.shape == (1, 2)

    bt = raw["bbox_train"]
    assert bt.shape == (1, 2) and raw["bbox_test"].shape == (1, 1)
    im = bt[0, 0]
    assert im._fieldnames == ["filename", "size", "hoi"]
    assert im.filename.tolist() == ["HICO_train2015_00000001.jpg"]
    assert im.size.shape == (1, 1) and im.size[0, 0]._fieldnames == ["width", "height", "depth"]
    assert [getattr(im.size[0, 0], f)[0, 0] for f in ("width", "height", "depth")] == [640.0, 480.0, 3.0]
    assert im.hoi.shape == (1, 4)
    h0 = im.hoi[0, 0]
    assert h0._fieldnames == ["id", "bboxhuman", "bboxobject", "connection", "invis"]
    assert h0.id.dtype == np.float64 and h0.id.tolist() == [[1.0]]  # 1-based double
    assert h0.invis.dtype == np.float64 and h0.invis.tolist() == [[0.0]]
    assert h0.bboxhuman.shape == (1, 2) and h0.bboxhuman[0, 0]._fieldnames == ["x1", "x2", "y1", "y2"]
    b = h0.bboxhuman[0, 1]
    assert [getattr(b, f)[0, 0] for f in ("x1", "y1", "x2", "y2")] == [15.0, 25.0, 100.0, 200.0]
    assert h0.connection.dtype == np.float64 and h0.connection.tolist() == [[1.0, 1.0], [2.0, 1.0]]  # 1-based Kx2
    h2 = im.hoi[0, 2]  # invisible, no boxes: [] as in the real file
    assert h2.invis.tolist() == [[1.0]]
    for f in ("bboxhuman", "bboxobject", "connection"):
        v = getattr(h2, f)
        assert v.shape == (0, 0) and v.dtype == np.float64
    assert bt[0, 1].hoi[0, 0].id.tolist() == [[600.0]]

    # eval_one.m's GT conversion, transcribed: boxes(k,:) = [bbox_h(conn(k,1)).x1 y1 x2 y2 bbox_o(conn(k,2)).x1 ...]
    gt = {}
    for i in range(bt.shape[1]):
        for j in range(bt[0, i].hoi.shape[1]):
            h = bt[0, i].hoi[0, j]
            if not h.invis[0, 0]:
                conn = h.connection
                rows = []
                for k in range(conn.shape[0]):
                    bh, bo = h.bboxhuman[0, int(conn[k, 0]) - 1], h.bboxobject[0, int(conn[k, 1]) - 1]
                    rows.append([bh.x1[0, 0], bh.y1[0, 0], bh.x2[0, 0], bh.y2[0, 0],
                                              bo.x1[0, 0], bo.y1[0, 0], bo.x2[0, 0], bo.y2[0, 0]])
                gt[(int(h.id[0, 0]), i)] = rows
    assert gt[(6, 0)] == [[1, 2, 30, 40, 8, 9, 90, 99], [1, 2, 30, 40, 5, 6, 70, 80], [1, 2, 30, 40, 8, 9, 90, 99]]
    assert gt[(600, 1)] == [[7.5, 8.25, 70.5, 80.75, 2, 3, 20, 30]]

    # TIN HICO_Benchmark_Binary.py's access pattern (loadmat defaults: struct_as_record=True).
    data = scipy.io.loadmat(path)
    info = data["bbox_train"][0, 0]["hoi"]
    assert [int(h[0][0]) for h in info["id"].tolist()[0]] == [1, 6, 8, 6]
    assert info["invis"][0, 2].tolist()[0][0] == 1
    boxes = info["bboxhuman"][0, 0].tolist()
    assert list(np.array(boxes[0][1], dtype="int32")[:, 0, 0]) == [15, 100, 25, 200]  # (x1, x2, y1, y2)
    assert info["connection"][0, 1].tolist() == [[1, 2], [1, 1], [1, 2]]


def _labels(n_train: int = 3, n_test: int = 2) -> HicoImageLabels:
    rng = np.random.default_rng(0)
    choices = np.array([1.0, 0.0, -1.0, np.nan])
    return HicoImageLabels(_actions(), [f"HICO_train2015_{i + 1:08d}.jpg" for i in range(n_train)],
                                                  [f"HICO_test2015_{i + 1:08d}.jpg" for i in range(n_test)],
                                                  rng.choice(choices, size=(600, n_train)), rng.choice(choices, size=(600, n_test)))


@pytest.mark.parametrize("n_train,n_test", [(3, 2), (1, 1)])
def test_anno_mat_roundtrip_and_layout(tmp_path, n_train, n_test):
    labels = _labels(n_train, n_test)
    path = tmp_path / "anno.mat"
    hm.write_anno_mat(path, labels)
    back = hm.read_anno_mat(path)
    assert back == labels
    assert np.isnan(back.anno_train).sum() == np.isnan(labels.anno_train).sum()
    raw = _raw(path)
    assert sorted(k for k in raw if not k.startswith("__")) == ["anno_test", "anno_train", "list_action", "list_test",
                                                                                                                            "list_train"]
    assert raw["list_train"].shape == (n_train, 1) and raw["list_train"].dtype == object  # cell array
    assert raw["list_test"][n_test - 1, 0].tolist() == [f"HICO_test2015_{n_test:08d}.jpg"]  # anno.list_test{i}
    assert raw["anno_train"].shape == (600, n_train) and raw["anno_train"].dtype == np.float64
    assert raw["list_action"].shape == (600, 1)
    # Generate_detection.m: str2double(List{i}(end-9 : end-4)) is the image id.
    assert int(raw["list_test"][0, 0][0][-10:-4]) == 1


def test_count_train_instances_and_rare():
    anno = _bbox_anno()
    counts = hm.count_train_instances(anno)
    assert counts.shape == (600,) and counts.dtype == np.int64
    expected = np.zeros(600, np.int64)
    expected[0], expected[5], expected[599] = 2, 3, 1  # invisible HOIs (7, and the 2nd of 5) are skipped
    np.testing.assert_array_equal(counts, expected)
    assert hm.rare_hoi_mask(anno).all()  # everything < 10 here
    big = HicoBboxAnno(anno.actions, anno.train * 4, anno.test)
    assert not hm.rare_hoi_mask(big)[5] and hm.rare_hoi_mask(big)[0]  # 12 >= 10, 8 < 10


def _struct(shape, fields, rows):
    arr = np.empty(shape, dtype=[(f, object) for f in fields])
    flat = [np.unravel_index(i, shape, order="F") for i in range(int(np.prod(shape)))]
    for idx, row in zip(flat, rows):
        for f in fields:
            arr[f][idx] = row[f]
    return arr


def test_reader_normalises_foreign_shapes(tmp_path):
    """Files written by other tools: column/row vectors, 1-D connection saved as a row, dict = 1x1 struct."""
    acts = _struct((1, 3), ["nname", "vname", "vname_ing"],
                                  [{"nname": "a", "vname": "v", "vname_ing": "ving"}] * 3)  # a 1xN row, no optional fields
    box = {"x1": 1.0, "x2": 3.0, "y1": 2.0, "y2": 4.0}
    hoi_single = {"id": 2, "bboxhuman": box, "bboxobject": box, "connection": np.array([1, 1]), "invis": False}
    images = _struct((2, 1), ["filename", "size", "hoi"], [  # an Nx1 column instead of 1xN
            {"filename": "a.jpg", "size": {"width": 5, "height": 6, "depth": 3}, "hoi": hoi_single},
            {"filename": "b.jpg", "size": {"width": 7, "height": 8, "depth": 3},
              "hoi": _struct((1, 2), ["id", "bboxhuman", "bboxobject", "connection", "invis"], [
                      hoi_single, {"id": 3.0, "bboxhuman": np.zeros((0, 0)), "bboxobject": np.zeros((1, 0)),
                                                "connection": np.zeros((0, 2)), "invis": np.uint8(1)}])}])
    path = tmp_path / "foreign.mat"
    scipy.io.savemat(path, {"list_action": acts, "bbox_train": images,
                                                    "bbox_test": np.zeros((0, 0))}, oned_as="row")  # [] = no images
    anno = hm.read_anno_bbox_mat(path)
    assert [a.name for a in anno.actions] == ["v a"] * 3 and anno.actions[0].syn is None
    assert anno.test == []
    h = anno.train[0].hois[0]
    assert h.hoi_id == 1 and h.human_boxes.tolist() == [[1, 2, 3, 4]] and h.connections.tolist() == [[0, 0]]
    assert anno.train[1].hois[1].invis and anno.train[1].hois[1].object_boxes.shape == (0, 4)
    assert (anno.train[1].width, anno.train[1].height) == (7, 8)

    lists = tmp_path / "foreign_anno.mat"
    cell = np.empty((1, 2), dtype=object)  # a 1xN cell instead of Nx1
    cell[0, 0], cell[0, 1] = "a.jpg", "b.jpg"
    one = np.empty((1, 1), dtype=object)
    one[0, 0] = "c.jpg"
    scipy.io.savemat(lists, {"list_action": acts, "list_train": cell, "list_test": one,
                                                      "anno_train": np.array([[1, 0], [-1, np.nan], [1, 1]]), "anno_test": np.ones((3, 1))})
    labels = hm.read_anno_mat(lists)
    assert labels.list_train == ["a.jpg", "b.jpg"] and labels.list_test == ["c.jpg"]
    assert labels.anno_test.shape == (3, 1)


def test_check_consistency():
    anno = _bbox_anno()
    labels = HicoImageLabels(anno.actions, [im.filename for im in anno.train], [im.filename for im in anno.test],
                                                      np.ones((600, 2)), np.ones((600, 1)))
    hm.check_consistency(anno, labels)
    labels.list_train[1] = "wrong.jpg"
    with pytest.raises(AnnotationError, match=r"bbox_train\[1\] is 'HICO_train2015_00000002.jpg'.*wrong.jpg"):
        hm.check_consistency(anno, labels)


# ---- bad HICO input --------------------------------------------------------------------------------------


@pytest.fixture()
def bbox_file(tmp_path):
    path = tmp_path / "anno_bbox.mat"
    hm.write_anno_bbox_mat(path, _bbox_anno())
    return path


def _mutate(path, fn):
    data = scipy.io.loadmat(path, squeeze_me=False)  # struct_as_record=True: structured arrays, writable views
    fn(data)
    scipy.io.savemat(path, {k: v for k, v in data.items() if not k.startswith("__")})


def _drop_field(arr, name):
    names = [n for n in arr.dtype.names if n != name]
    out = np.empty(arr.shape, dtype=[(n, object) for n in names])
    for n in names:
        out[n] = arr[n]
    return out


def _img1_hoi0(d):
    return d["bbox_train"][0, 1]["hoi"][0, 0]


BAD_BBOX_CASES = {
        "connection_range": (lambda d: _img1_hoi0(d).__setitem__("connection", np.array([[3.0, 1.0]])),
                                                  r"bbox_train\[1\] \(HICO_train2015_00000002\.jpg\) hoi\[0\]: connection row 0: human index 3 "
                                                  r"out of range for 2 human boxes"),
        "object_range": (lambda d: _img1_hoi0(d).__setitem__("connection", np.array([[1.0, 1.0], [2.0, 0.0]])),
                                          r"hoi\[0\]: connection row 1: object index 0 out of range for 1 object boxes"),
        "connection_shape": (lambda d: _img1_hoi0(d).__setitem__("connection", np.array([[1.0, 1.0, 1.0]])),
                                                  r"bbox_train\[1\] .*hoi\[0\]: connection should be Kx2, found shape \(1, 3\)"),
        "connection_fraction": (lambda d: _img1_hoi0(d).__setitem__("connection", np.array([[1.5, 1.0]])),
                                                        r"hoi\[0\]: connection indices should be integers"),
        "id_zero": (lambda d: _img1_hoi0(d).__setitem__("id", np.array([[0.0]])),
                                r"bbox_train\[1\] \(HICO_train2015_00000002\.jpg\) hoi\[0\]: HOI id 0 outside 1\.\.600"),
        "id_601": (lambda d: d["bbox_test"][0, 0]["hoi"][0, 0].__setitem__("id", np.array([[601.0]])),
                              r"bbox_test\[0\] \(HICO_test2015_00000001\.jpg\) hoi\[0\]: HOI id 601 outside 1\.\.600"),
        "id_not_scalar": (lambda d: _img1_hoi0(d).__setitem__("id", np.array([[1.0, 2.0]])),
                                            r"hoi\[0\]: id should be a numeric scalar, found a 1x2"),
        "degenerate": (lambda d: d["bbox_test"][0, 0]["hoi"][0, 0]["bboxobject"][0, 0].__setitem__("x2", np.array([[1.0]])),
                                      r"bbox_test\[0\] \(HICO_test2015_00000001\.jpg\) hoi\[0\] bboxobject\[0\]: degenerate box"),
        "nan_box": (lambda d: _img1_hoi0(d)["bboxhuman"][0, 1].__setitem__("y1", np.array([[np.nan]])),
                                r"bbox_train\[1\] .*hoi\[0\] bboxhuman\[1\]: non-finite coordinate"),
        "invis_2": (lambda d: _img1_hoi0(d).__setitem__("invis", np.array([[2.0]])),
                                r"hoi\[0\]: invis should be 0 or 1, found 2"),
        "missing_hoi_field": (lambda d: d["bbox_train"][0, 1].__setitem__("hoi", _drop_field(_img1_hoi0(d)[None, None]
                                                                                                                                                                                  .reshape(1, 1), "connection")),
                                                    r"bbox_train\[1\] \(HICO_train2015_00000002\.jpg\): hoi is missing field\(s\) connection"),
        "missing_box_field": (lambda d: _img1_hoi0(d).__setitem__("bboxobject", _drop_field(_img1_hoi0(d)["bboxobject"],
                                                                                                                                                                                "y2")),
                                                    r"hoi\[0\]: bboxobject is missing field\(s\) y2"),
        "missing_image_field": (lambda d: d.__setitem__("bbox_test", _drop_field(d["bbox_test"], "size")),
                                                        r"bbox_test is missing field\(s\) size"),
        "missing_action_field": (lambda d: d.__setitem__("list_action", _drop_field(d["list_action"], "vname_ing")),
                                                          r"list_action is missing field\(s\) vname_ing"),
        "filename_numeric": (lambda d: d["bbox_train"][0, 0].__setitem__("filename", np.array([[3.0]])),
                                                  r"bbox_train\[0\]: filename should be a char array, found a 1x1 float64"),
        "size_missing": (lambda d: d["bbox_train"][0, 0].__setitem__("size", np.zeros((0, 0))),
                                          r"bbox_train\[0\] \(HICO_train2015_00000001\.jpg\): size should be a 1x1 struct"),
        "hoi_not_struct": (lambda d: d["bbox_train"][0, 0].__setitem__("hoi", np.array([[1.0, 2.0]])),
                                              r"bbox_train\[0\] \(HICO_train2015_00000001\.jpg\): hoi should be a struct array"),
        "images_matrix": (lambda d: d.__setitem__("bbox_train", np.concatenate([d["bbox_train"]] * 2)),
                                            r"bbox_train should be a 1xN struct array, found shape \(2, 2\)"),
        "missing_variable": (lambda d: d.pop("bbox_test"), r"missing variable\(s\) bbox_test"),
}


@pytest.mark.parametrize("case", sorted(BAD_BBOX_CASES))
def test_bad_anno_bbox(bbox_file, case):
    mutate, pattern = BAD_BBOX_CASES[case]
    _mutate(bbox_file, mutate)
    with pytest.raises(AnnotationError, match=pattern) as err:
        hm.read_anno_bbox_mat(bbox_file)
    assert str(err.value).startswith(f"{bbox_file}: ")
    assert isinstance(err.value, DataFormatError) and isinstance(err.value, ValueError)


def test_degenerate_box_can_be_allowed(bbox_file):
    _mutate(bbox_file, BAD_BBOX_CASES["degenerate"][0])
    anno = hm.read_anno_bbox_mat(bbox_file, strict_boxes=False)
    assert anno.test[0].hois[0].object_boxes[0, 2] == 1.0
    with pytest.raises(AnnotationError, match="degenerate"):
        hm.write_anno_bbox_mat(bbox_file.parent / "again.mat", anno)
    hm.write_anno_bbox_mat(bbox_file.parent / "again.mat", anno, strict_boxes=False)


def test_unreadable_files(tmp_path):
    missing = tmp_path / "nope" / "anno_bbox.mat"
    with pytest.raises(AnnotationError, match=f"^{missing}: file not found"):
        hm.read_anno_bbox_mat(missing)
    garbage = tmp_path / "anno.mat"
    garbage.write_bytes(b"this is not a MATLAB file" * 10)
    with pytest.raises(AnnotationError, match=f"^{garbage}: not a readable MATLAB .mat file"):
        hm.read_anno_mat(garbage)
    with pytest.raises(AnnotationError, match=f"^{tmp_path}: not a regular file"):
        hm.read_anno_mat(tmp_path)


BAD_ANNO_CASES = {
        "shape": (lambda d: d.__setitem__("anno_test", np.ones((600, 3))),
                            r"anno_test: shape \(600, 3\) does not match 600 actions x 2 images of list_test"),
        "value": (lambda d: d["anno_train"].__setitem__((5, 1), 2.0),
                            r"anno_train: label 2\.0 at \(action 5, image 1\) is not one of 1, 0, -1, NaN"),
        "list_not_cell": (lambda d: d.__setitem__("list_test", np.array(["a.jpg", "b.jpg"])),
                                            r"list_test: should be a cell array of file names"),
        "name_not_char": (lambda d: d["list_train"].__setitem__((2, 0), np.array([[7.0]])),
                                            r"list_train\{2\}: file name should be a char array"),
        "missing_variable": (lambda d: d.pop("list_action"), r"missing variable\(s\) list_action"),
}


@pytest.mark.parametrize("case", sorted(BAD_ANNO_CASES))
def test_bad_anno_mat(tmp_path, case):
    path = tmp_path / "anno.mat"
    hm.write_anno_mat(path, _labels())
    mutate, pattern = BAD_ANNO_CASES[case]
    _mutate(path, mutate)
    with pytest.raises(AnnotationError, match=pattern) as err:
        hm.read_anno_mat(path)
    assert str(err.value).startswith(f"{path}: ")


def test_writer_rejects_bad_records(tmp_path):
    path = tmp_path / "anno_bbox.mat"

    def attempt(mutate, pattern):
        anno = _bbox_anno()
        mutate(anno)
        with pytest.raises(AnnotationError, match=pattern) as err:
            hm.write_anno_bbox_mat(path, anno)
        assert str(err.value).startswith(f"{path}: ")
        assert not path.exists() and not os.listdir(tmp_path)  # nothing half-written

    attempt(lambda a: setattr(a.train[1].hois[0], "hoi_id", 600),
                    r"bbox_train\[1\] \(HICO_train2015_00000002\.jpg\) hoi\[0\]: HOI id 600 \(0-based\) outside 0\.\.599")
    attempt(lambda a: setattr(a.train[1].hois[0], "connections", np.array([[2, 0]])),
                    r"bbox_train\[1\] .*hoi\[0\]: connection row 0: human index 2 \(0-based\) out of range for 2 human boxes")
    attempt(lambda a: setattr(a.test[0].hois[0], "human_boxes", np.array([[5.0, 5.0, 4.0, 9.0]])),
                    r"bbox_test\[0\] .*hoi\[0\] bboxhuman\[0\]: degenerate box")
    attempt(lambda a: setattr(a.test[0].hois[0], "object_boxes", np.array([1.0, 2.0, 3.0, 4.0])),
                    r"bbox_test\[0\] .*hoi\[0\]: object_boxes should be a numeric \(n, 4\) array, found \(4,\)")
    attempt(lambda a: setattr(a.train[0], "width", 0), r"bbox_train\[0\] .*: width should be a positive int")
    attempt(lambda a: setattr(a.actions[3], "vname", None), r"list_action\[3\]: vname should be a str")
    attempt(lambda a: setattr(a.actions[4], "syn", object()), r"list_action\[4\] .*: field syn: cannot store")

    labels = _labels()
    labels.anno_test = labels.anno_test[:, :1]
    with pytest.raises(AnnotationError, match=r"anno_test: shape \(600, 1\) does not match 600 actions x 2 images"):
        hm.write_anno_mat(tmp_path / "anno.mat", labels)
    labels = _labels()
    labels.list_train[0] = ""
    with pytest.raises(AnnotationError, match=r"list_train\{0\}: file name should be a non-empty str"):
        hm.write_anno_mat(tmp_path / "anno.mat", labels)


def test_atomic_overwrite_keeps_old_file_on_error(bbox_file):
    before = bbox_file.read_bytes()
    anno = _bbox_anno()
    anno.train[0].hois[0].hoi_id = -1
    with pytest.raises(AnnotationError):
        hm.write_anno_bbox_mat(bbox_file, anno)
    assert bbox_file.read_bytes() == before


# ==================================================================================================
# V-COCO
# ==================================================================================================


def _coco_and_images():
    """3 train images (persons + objects) and 1 test image with a single person; every person in every action."""
    images = [vj.CocoImage(100, "COCO_train2014_000000000100.jpg", 640, 480),
                        vj.CocoImage(7, "COCO_train2014_000000000007.jpg", 300, 200),
                        vj.CocoImage(55, "COCO_train2014_000000000055.jpg", 50, 40),
                        vj.CocoImage(9, "COCO_val2014_000000000009.jpg", 100, 100)]
    anns = [
            vj.CocoAnnotation(1001, 100, 1, [10.0, 20.0, 100.0, 200.0], 20000.0),
            vj.CocoAnnotation(1002, 100, 1, [300.0, 50.5, 40.25, 80.0], 3220.0),
            vj.CocoAnnotation(1003, 100, 37, [120.0, 30.0, 10.0, 10.0], 100.0),  # sports ball
            vj.CocoAnnotation(1004, 100, 39, [100.0, 40.0, 30.0, 5.0], 150.0),  # baseball bat
            vj.CocoAnnotation(1005, 100, 90, [0.0, 0.0, 5.0, 5.0], 25.0, iscrowd=1),  # toothbrush, not a role object
            vj.CocoAnnotation(701, 7, 1, [5.0, 5.0, 300.0, 100.0], 100.0),  # runs past the right edge
            vj.CocoAnnotation(702, 7, 2, [50.0, 60.0, 70.0, 80.0], 5600.0),  # bicycle
            vj.CocoAnnotation(5501, 55, 1, [1.0, 1.0, 10.0, 10.0], 0.0),  # zero area: dropped by vsrl_eval
            vj.CocoAnnotation(901, 9, 1, [0.0, 0.0, 10.0, 10.0], 100.0),
    ]
    return vj.CocoInstances(images, anns, info={"description": "synthetic"}, licenses=[{"id": 1, "name": "x"}])


def _person(ann_id, positives, roles):
    labels = {name: int(name in positives) for name, _, _ in vj.VCOCO_ACTIONS}
    all_roles = {name: {r: 0 for r in rs[1:]} for name, rs, _ in vj.VCOCO_ACTIONS if len(rs) > 1}
    for (action, role), obj in roles.items():
        all_roles[action][role] = obj
    return vj.VcocoPerson(ann_id, np.zeros(4), labels, all_roles)


def _vcoco_tree(root):
    specs = [vj.VcocoActionSpec(n, r, i) for n, r, i in vj.VCOCO_ACTIONS]
    train_images = [
            vj.VcocoImage(7, "", 0, 0, [_person(701, {"ride", "sit"}, {("ride", "instr"): 702, ("sit", "instr"): 702})], {}),
            vj.VcocoImage(55, "", 0, 0, [_person(5501, {"stand"}, {})], {}),
            vj.VcocoImage(100, "", 0, 0, [
                    _person(1001, {"hit", "stand"}, {("hit", "instr"): 1004, ("hit", "obj"): 1003}),
                    _person(1002, {"look"}, {("look", "obj"): 1001})], {}),
    ]
    test_images = [vj.VcocoImage(9, "", 0, 0, [_person(901, {"smile"}, {})], {})]
    coco = _coco_and_images()
    vj.write_coco_instances(root, coco)
    train_tables = vj.action_tables_from_images(specs, train_images)
    vj.write_vcoco_split(root, "train", train_tables)
    vj.write_ids(root, "train", [7, 55, 100])
    vj.write_vcoco_split(root, "test", vj.action_tables_from_images(specs, test_images))
    vj.write_ids(root, "test", [9])
    return coco, train_tables


def _load_vcoco_transcribed(path):
    """v-coco vsrl_utils.load_vcoco / vsrl_eval._load_vcoco, transcribed."""
    with open(path) as f:
        vsrl_data = json.load(f)
    for i in range(len(vsrl_data)):
        vsrl_data[i]["role_object_id"] = \
                np.array(vsrl_data[i]["role_object_id"]).reshape((len(vsrl_data[i]["role_name"]), -1)).T
        for j in ["ann_id", "label", "image_id"]:
            vsrl_data[i][j] = np.array(vsrl_data[i][j]).reshape((-1, 1))
    return vsrl_data


def test_vcoco_layout_matches_vsrl_utils(tmp_path):
    coco, tables = _vcoco_tree(tmp_path)
    jpath = tmp_path / "data" / "vcoco" / "vcoco_train.json"
    raw = json.loads(jpath.read_text())
    assert not jpath.read_text().endswith("\n")
    assert [list(d) for d in raw] == [list(vj.VCOCO_JSON_KEYS)] * 26
    assert [(d["action_name"], d["role_name"], d["include"]) for d in raw] == \
            [(n, list(r), [list(x) for x in i]) for n, r, i in vj.VCOCO_ACTIONS]
    data = _load_vcoco_transcribed(jpath)
    hit = data[[d["action_name"] for d in data].index("hit")]
    assert hit["role_object_id"].shape == (4, 3) and hit["ann_id"].shape == (4, 1)
    np.testing.assert_array_equal(hit["role_object_id"][:, 0], hit["ann_id"][:, 0])
    # vsrl_eval._get_vsrl_data for person 1001: label 1, instr = bat 1004, obj = ball 1003.
    has_label = np.where(np.logical_and(hit["ann_id"] == 1001, hit["label"] == 1))[0]
    assert has_label.size == 1 and hit["role_object_id"][has_label].tolist() == [[1001, 1004, 1003]]
    assert hit["image_id"][:, 0].tolist() == [7, 55, 100, 100]
    # vsrl_eval.__init__'s check of the split file
    image_ids = np.loadtxt(open(tmp_path / "data" / "splits" / "vcoco_train.ids"))
    assert np.all(np.equal(np.sort(np.unique(data[0]["image_id"])), image_ids))
    assert (tmp_path / "data" / "splits" / "vcoco_test.ids").read_text() == "9\n"
    # COCO file as pycocotools indexes it
    inst = json.loads((tmp_path / "data" / "instances_vcoco_all_2014.json").read_text())
    assert list(inst) == ["info", "images", "licenses", "annotations", "categories"]
    assert len(inst["categories"]) == 80 and inst["categories"][-1] == {"supercategory": "indoor", "id": 90,
                                                                                                                                            "name": "toothbrush"}
    ann = {a["id"]: a for a in inst["annotations"]}[1002]
    assert ann["bbox"] == [300.0, 50.5, 40.25, 80.0] and ann["image_id"] == 100 and ann["category_id"] == 1
    assert {"segmentation", "area", "iscrowd", "image_id", "bbox", "category_id", "id"} <= set(ann)
    assert {im["id"]: im for im in inst["images"]}[7]["file_name"] == "COCO_train2014_000000000007.jpg"

    assert vj.read_vcoco_json(jpath) == tables
    assert vj.read_coco_instances(tmp_path / "data" / "instances_vcoco_all_2014.json") == coco


def test_read_vcoco_assembles_images(tmp_path):
    _, tables = _vcoco_tree(tmp_path)
    split = vj.read_vcoco(tmp_path, "train")
    assert split.action_names == [n for n, _, _ in vj.VCOCO_ACTIONS]
    assert [im.image_id for im in split.images] == [7, 55, 100]
    im100 = split.images[2]
    assert (im100.file_name, im100.width, im100.height) == ("COCO_train2014_000000000100.jpg", 640, 480)
    p = im100.persons[0]
    assert p.ann_id == 1001 and sorted(p.positive_actions()) == ["hit", "stand"]
    np.testing.assert_array_equal(p.box, [10, 20, 109, 219])  # vsrl_eval: x + w - 1
    bat = im100.role_object(p, "hit", "instr")
    assert bat.ann_id == 1004 and bat.category_id == 39 and bat.contiguous_id == 35
    np.testing.assert_array_equal(bat.bbox_xywh, [100, 40, 30, 5])
    assert im100.role_object(p, "hit", "obj").contiguous_id == 33  # sports ball
    assert im100.role_object(p, "look", "obj") is None and im100.role_object(p, "stand", "agent") is None
    assert im100.role_object(im100.persons[1], "look", "obj").ann_id == 1001  # a person as the object
    assert set(im100.objects) == {1001, 1002, 1003, 1004, 1005} and im100.objects[1005].iscrowd
    assert split.images[0].persons[0].box.tolist() == [5, 5, 299, 104]  # clipped to width - 1
    assert not split.images[1].objects[5501].eval_valid and im100.objects[1003].eval_valid
    utils = vj.read_vcoco(tmp_path, "train", box_convention="vsrl_utils")
    assert utils.images[2].persons[0].box.tolist() == [10, 20, 110, 220]
    assert utils.images[0].persons[0].box.tolist() == [5, 5, 305, 105]
    # assembling back gives the file's tables
    assert vj.action_tables_from_images(split.actions, split.images) == tables
    test = vj.read_vcoco(tmp_path, "test")
    assert len(test.images) == 1 and len(test.images[0].persons) == 1 and test.images[0].persons[0].labels["smile"] == 1


def test_coco_category_mapping():
    assert len(vj.COCO_CATEGORIES) == 80 and len(set(vj.COCO_ID_TO_NAME.values())) == 80
    assert sorted(vj.COCO_ID_TO_CONTIGUOUS.values()) == list(range(1, 81))
    assert list(vj.COCO_ID_TO_CONTIGUOUS) == sorted(vj.COCO_ID_TO_CONTIGUOUS)  # vsrl_eval: enumerate(sorted ids)
    cont = {vj.COCO_ID_TO_NAME[k]: v for k, v in vj.COCO_ID_TO_CONTIGUOUS.items()}
    # contiguous ids named in TIN (Generate_HICO_detection_nis.py, Vcoco_lis_nis.py)
    assert {n: cont[n] for n in ("person", "bicycle", "motorcycle", "airplane", "fire hydrant", "sheep", "skis",
                                                              "wine glass", "fork", "apple", "chair", "tv", "toothbrush")} == {
            "person": 1, "bicycle": 2, "motorcycle": 4, "airplane": 5, "fire hydrant": 11, "sheep": 19, "skis": 31,
            "wine glass": 41, "fork": 43, "apple": 48, "chair": 57, "tv": 63, "toothbrush": 80}
    assert vj.CONTIGUOUS_TO_COCO_ID[80] == 90 and vj.COCO_NAME_TO_ID["dining table"] == 67
    includes = {c for _, _, inc in vj.VCOCO_ACTIONS for role in inc for c in role}
    assert includes <= set(vj.COCO_NAME_TO_ID)


def test_real_vcoco_json_roundtrips_byte_identical(tmp_path):
    """If the v-coco mirror is present, its vcoco_train.json round-trips byte for byte."""
    repo = os.environ.get("TIN_JAX_VCOCO_REPO", "")  # a git clone of s-gupta/v-coco
    if not repo or not os.path.isdir(repo):
        pytest.skip("set TIN_JAX_VCOCO_REPO to a git clone of s-gupta/v-coco")
    try:
        blob = subprocess.run(["git", "-C", repo, "show", "HEAD:data/vcoco/vcoco_train.json"], check=True,
                                                    capture_output=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        pytest.skip("cannot read the v-coco mirror")
    src = tmp_path / "vcoco_train.json"
    src.write_bytes(blob)
    tables = vj.read_vcoco_json(src)
    assert [t.action_name for t in tables] == [n for n, _, _ in vj.VCOCO_ACTIONS]
    out = tmp_path / "out.json"
    vj.write_vcoco_json(out, tables)
    assert out.read_bytes() == blob


# ---- bad V-COCO input ------------------------------------------------------------------------------------


def _edit_json(path, fn):
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def _action(data, name):
    return next(d for d in data if d["action_name"] == name)


BAD_VCOCO_JSON = {
        "missing_key": (lambda d: d[3].pop("include"), r"action\[3\]: missing key\(s\) include"),
        "roles_length": (lambda d: _action(d, "hit")["role_object_id"].pop(),
                                          r"action\[6\] \(hit\): role_object_id has 11 entries, expected 4 persons x 3 roles"),
        "agent_column": (lambda d: _action(d, "ride")["role_object_id"].__setitem__(1, 999),
                                          r"action\[3\] \(ride\): person 1 \(ann_id 5501\): role_object_id agent column is 999"),
        "label": (lambda d: _action(d, "stand")["label"].__setitem__(2, 2),
                            r"action\[1\] \(stand\): person 2 \(ann_id 1001\): label 2 is not 0 or 1"),
        "label_float": (lambda d: _action(d, "stand")["label"].__setitem__(2, 1.0),
                                        r"action\[1\] \(stand\): label\[2\] should be an int, found 1\.0"),
        "duplicate_person": (lambda d: [d[1][k].append(d[1][k][0]) for k in ("image_id", "ann_id", "label",
                                                                                                                                                        "role_object_id")],
                                                  r"action\[1\] \(stand\): ann_id 701 is listed more than once"),
        "include_length": (lambda d: d[0]["include"].pop(), r"action\[0\] \(hold\): include should be a list of 2"),
        "agent_first": (lambda d: d[0]["role_name"].reverse(),
                                        r"action\[0\] \(hold\): role_name should start with 'agent'"),
        "image_disagrees": (lambda d: d[5]["image_id"].__setitem__(0, 55),
                                                r"action\[5\] \(look\): ann_id 701 is in image 55 but action\[0\] puts it in image 7"),
        "not_list": (lambda d: d.clear(), r"should be a non-empty JSON list"),
}


@pytest.mark.parametrize("case", sorted(BAD_VCOCO_JSON))
def test_bad_vcoco_json(tmp_path, case):
    _vcoco_tree(tmp_path)
    path = tmp_path / "data" / "vcoco" / "vcoco_train.json"
    mutate, pattern = BAD_VCOCO_JSON[case]
    _edit_json(path, mutate)
    with pytest.raises(AnnotationError, match=pattern) as err:
        vj.read_vcoco(tmp_path, "train")
    assert str(err.value).startswith(f"{path}: ")


def test_bad_vcoco_cross_file(tmp_path):
    _vcoco_tree(tmp_path)
    jpath = tmp_path / "data" / "vcoco" / "vcoco_train.json"
    ipath = tmp_path / "data" / "splits" / "vcoco_train.ids"
    cpath = tmp_path / "data" / "instances_vcoco_all_2014.json"
    good_json, good_ids, good_coco = jpath.read_text(), ipath.read_text(), cpath.read_text()

    def attempt(pattern, json_fn=None, ids_text=None, coco_fn=None):
        jpath.write_text(good_json)
        ipath.write_text(good_ids if ids_text is None else ids_text)
        cpath.write_text(good_coco)
        if json_fn:
            _edit_json(jpath, json_fn)
        if coco_fn:
            _edit_json(cpath, coco_fn)
        with pytest.raises(AnnotationError, match=pattern):
            vj.read_vcoco(tmp_path, "train")

    attempt(rf"^{ipath}: image ids differ from .*only in \.ids: \[8\]", ids_text="7\n8\n55\n100\n")
    attempt(rf"^{ipath}: line 2: 'x5' is not an image id", ids_text="7\nx5\n100\n")
    attempt(rf"^{ipath}: line 3: image id 7 repeats line 1", ids_text="7\n55\n7\n100\n")
    attempt(rf"^{jpath}: action\[0\] \(hold\): person 0: ann_id 701 is not an annotation of",
                    coco_fn=lambda c: c["annotations"].pop(5))
    attempt(rf"^{jpath}: action\[0\] \(hold\): person 0: ann_id 701 has category 2, not person",
                    coco_fn=lambda c: c["annotations"][5].__setitem__("category_id", 2))
    attempt(rf"^{jpath}: action\[2\] \(sit\): person 0 \(ann_id 701\): instr object 1003 belongs to image 100, not 7",
                    json_fn=lambda d: _action(d, "sit")["role_object_id"].__setitem__(4, 1003))
    attempt(rf"^{jpath}: action\[2\] \(sit\): person 0 \(ann_id 701\): instr object 4242 is not an annotation",
                    json_fn=lambda d: _action(d, "sit")["role_object_id"].__setitem__(4, 4242))
    attempt(rf"^{cpath}: annotations\[2\] \(id 1003\): bbox should be 4 finite numbers",
                    coco_fn=lambda c: c["annotations"][2].__setitem__("bbox", [1, 2, 3]))
    attempt(rf"^{cpath}: annotations\[2\] \(id 1003\): category_id 12 is not in categories",
                    coco_fn=lambda c: c["annotations"][2].__setitem__("category_id", 12))
    attempt(rf"^{cpath}: annotations\[0\] \(id 1001\): image_id 8 is not in images",
                    coco_fn=lambda c: c["annotations"][0].__setitem__("image_id", 8))
    attempt(rf"^{cpath}: missing key\(s\) categories", coco_fn=lambda c: c.pop("categories"))
    cpath.write_text("{not json")
    with pytest.raises(AnnotationError, match=rf"^{cpath}: not readable JSON"):
        vj.read_coco_instances(cpath)
    with pytest.raises(AnnotationError, match="file not found"):
        vj.read_vcoco(tmp_path, "val")


def test_vcoco_writers_reject_bad_input(tmp_path):
    coco = _coco_and_images()
    coco.annotations[3].category_id = 12
    with pytest.raises(AnnotationError, match=r"annotations\[3\] \(id 1004\): category_id 12 is not in categories"):
        vj.write_coco_instances(tmp_path, coco)
    coco = _coco_and_images()
    coco.annotations[0].bbox = [0.0, 0.0, -1.0, 4.0]
    with pytest.raises(AnnotationError, match=r"annotations\[0\] \(id 1001\): bbox should be"):
        vj.write_coco_instances(tmp_path, coco)
    with pytest.raises(AnnotationError, match=r"vcoco_train\.ids: entry 1: duplicate image id 7"):
        vj.write_ids(tmp_path, "train", [7, 7])
    table = vj.VcocoActionTable("hold", ["obj", "agent"], [[], []], np.array([1]), np.array([2]), np.array([1]),
                                                            np.array([[2, 0]]))
    with pytest.raises(AnnotationError, match=r"vcoco_train\.json: action\[0\] \(hold\): role_name should be"):
        vj.write_vcoco_split(tmp_path, "train", [table])
    table = vj.VcocoActionTable("hold", ["agent", "obj"], [[], []], np.array([1]), np.array([2]), np.array([1]),
                                                            np.array([[3, 0]]))
    with pytest.raises(AnnotationError, match=r"action\[0\] \(hold\): person 0 \(ann_id 2\): role_object_id agent"):
        vj.write_vcoco_split(tmp_path, "train", [table])
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").rglob("*.json"))
