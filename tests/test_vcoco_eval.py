"""tin_jax.evaluation.vcoco against a transcription of vsrl_eval.py (tests/reference/vsrl_eval_loops.py)."""

from __future__ import annotations

import json
import math
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from tin_jax.evaluation import vcoco
from tin_jax.io.errors import DataFormatError
from tin_jax.io.vcoco_json import (
    VCOCO_ACTIONS,
    CocoAnnotation,
    CocoImage,
    CocoInstances,
    VcocoActionTable,
    coco_instances_path,
    ids_path,
    vcoco_json_path,
    write_coco_instances,
    write_ids,
    write_vcoco_split,
)

try:  # rootdir on sys.path (``python -m pytest``)
    from tests.reference import vsrl_eval_loops as ref
except ImportError:  # plain ``pytest``: tests/ on sys.path
    from reference import vsrl_eval_loops as ref

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCORES = np.linspace(0.05, 1.0, 8)  # a coarse grid, so that ties are common
OBJECT_CATEGORIES = (2, 18, 37, 41, 44, 47, 62, 73, 77)


# --------------------------------------------------------------------------------------------------
# Dataset writers
# --------------------------------------------------------------------------------------------------


def _write_dataset(root, images, annotations, persons, actions=VCOCO_ACTIONS, split="test"):
    """Write a v-coco tree. ``persons``: (image_id, ann_id, {action: (label, {role: obj_ann})}) per V-COCO person;
    a person whose dict lacks the first action is left out of the first table (unannotated for vsrl_eval)."""
    write_coco_instances(root, CocoInstances(images, annotations))
    tables = []
    for name, roles, include in actions:
        rows = [(im, ann, spec[name]) for im, ann, spec in persons if name in spec]
        role_ids = [[ann] + [objs.get(r, 0) for r in roles[1:]] for _, ann, (_, objs) in rows]
        tables.append(VcocoActionTable(
            name, list(roles), [list(v) for v in include], np.array([r[0] for r in rows], dtype=np.int64),
            np.array([r[1] for r in rows], dtype=np.int64), np.array([r[2][0] for r in rows], dtype=np.int64),
            np.array(role_ids, dtype=np.int64).reshape(len(rows), len(roles))))
    write_vcoco_split(root, split, tables)
    write_ids(root, split, sorted({im for im, _, _ in persons}))


def _box_xywh(rng, width, height):
    w, h = rng.uniform(20, 200), rng.uniform(20, 200)
    return [float(rng.uniform(0, width - w)), float(rng.uniform(0, height - h)), float(w), float(h)]


def _random_dataset(root, rng, n_images=10):
    """Random GT with unannotated, crowd, ignored and invalid persons and missing role objects."""
    images, annotations, persons = [], [], []
    next_ann = [1]

    def add(image_id, cat, bbox, **extra):
        area = float(bbox[2] * bbox[3]) if extra.pop("area", True) else 0.0
        iscrowd = int(extra.pop("iscrowd", 0))
        annotations.append(CocoAnnotation(next_ann[0], image_id, cat, bbox, area, iscrowd, extra=extra))
        next_ann[0] += 1
        return next_ann[0] - 1

    for i in range(n_images):
        image_id = 5000 + 7 * i
        images.append(CocoImage(image_id, f"COCO_val2014_{image_id:012d}.jpg", 640, 480))
        vcoco_people, role_targets = [], []
        for p in range(int(rng.integers(1, 5))):
            kind = "vcoco" if p == 0 else rng.choice(["vcoco"] * 6 + ["unannotated", "crowd", "ignored", "invalid",
                                                                      "later_tables"])
            bbox = _box_xywh(rng, 640, 480)
            if kind == "invalid":
                bbox[2] = 0.5  # x2 == x1 after vsrl_eval's "- 1": dropped
            extra = {"ignore": 1} if kind == "ignored" else {}
            ann = add(image_id, 1, bbox, iscrowd=kind == "crowd", **extra)
            if kind in ("vcoco", "invalid", "later_tables"):
                vcoco_people.append((ann, kind))
            if kind == "vcoco":
                role_targets.append(ann)
        for _ in range(int(rng.integers(0, 5))):
            ignored = rng.random() < 0.15
            ann = add(image_id, int(rng.choice(OBJECT_CATEGORIES)), _box_xywh(rng, 640, 480),
                      **({"ignore": 1} if ignored else {}))
            if not ignored:
                role_targets.append(ann)
        for ann, kind in vcoco_people:
            spec = {}
            for a, (name, roles, _) in enumerate(VCOCO_ACTIONS):
                forced = ann == vcoco_people[0][0] and a % n_images == i
                label = int(forced or rng.random() < 0.3)
                objs = {}
                if label:
                    for r in roles[1:]:
                        if rng.random() < 0.7:
                            objs[r] = int(rng.choice(role_targets))
                spec[name] = (label, objs)
            if kind == "later_tables":
                del spec[VCOCO_ACTIONS[0][0]]
            persons.append((image_id, ann, spec))
    _write_dataset(root, images, annotations, persons)
    return images, annotations


def _xyxy(bbox):
    x, y, w, h = bbox
    return np.array([x, y, x + w - 1, y + h - 1], dtype=np.float64)


def _random_detections(rng, images, annotations, *, extra_image=True):
    """vsrl dicts with every key present (the reference needs them all)."""
    boxes_by_image = {}
    for a in annotations:
        boxes_by_image.setdefault(a.image_id, []).append((a.category_id, _xyxy(a.bbox)))
    image_ids = [im.id for im in images] + ([999999] if extra_image else [])
    dets = []

    def score():
        return np.nan if rng.random() < 0.1 else float(rng.choice(SCORES))

    def jitter(b):
        if rng.random() < 0.3:  # slide by about a third of the width: IoU close to 0.5, where +1 matters
            return b + np.array([1.0, 0.0, 1.0, 0.0]) * (b[2] - b[0]) * rng.uniform(0.31, 0.35)
        return b + rng.normal(0, rng.choice([0.0, 3.0, 30.0]), 4)

    for n, image_id in enumerate(image_ids):
        objs = boxes_by_image.get(image_id, [(1, np.array([10.0, 10.0, 100.0, 100.0]))])
        person_boxes = [b for c, b in objs if c == 1]
        bases = []
        for b in person_boxes:
            for _ in range(int(rng.choice([0, 1, 1, 2]))):
                bases.append(jitter(b))
        bases += [b for b in (np.array(_box_xywh(rng, 640, 480)) for _ in range(int(rng.integers(0, 3))))]
        if bases and rng.random() < 0.3:
            bases.append(bases[-1].copy())  # exact duplicate
        if n == 0:
            bases.insert(0, person_boxes[0].copy())
        for k, box in enumerate(bases):
            det = {"image_id": image_id, "person_box": box, "object_class": 3, "binary_score": [0.2, 0.8]}
            for name, roles, _ in VCOCO_ACTIONS:
                det[f"{name}_agent"] = float(rng.choice(SCORES)) if n == 0 and k == 0 else score()
                for r in roles[1:]:
                    kind = rng.choice(["obj", "obj", "zeros", "nan", "random"])
                    if kind == "obj":
                        rbox = jitter(objs[int(rng.integers(len(objs)))][1])
                    elif kind == "zeros":
                        rbox = np.zeros(4)
                    elif kind == "nan":
                        rbox = np.full(4, np.nan)
                    else:
                        rbox = np.array(_box_xywh(rng, 640, 480))
                    s = float(rng.choice(SCORES)) if n == 0 and k == 0 else score()
                    det[f"{name}_{r}"] = np.append(rbox, s)
            dets.append(det)
    return dets


def _reference(root, pkl, split="test"):
    ev = ref.VCOCOeval(vcoco_json_path(root, split), coco_instances_path(root), ids_path(root, split))
    return ev._do_eval(pkl, ovr_thresh=0.5)


def _ours(root, pkl, split="test"):
    return vcoco.evaluate_vcoco(vcoco.load_ground_truth(root, split), vcoco.read_vsrl_detections(pkl))


def _dump(path, dets):
    with open(path, "wb") as f:
        pickle.dump(dets, f, protocol=2)
    return str(path)


# --------------------------------------------------------------------------------------------------
# Against the transcription
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_matches_vsrl_eval_on_random_cases(tmp_path, seed):
    rng = np.random.default_rng(seed)
    images, annotations = _random_dataset(str(tmp_path), rng)
    pkl = _dump(tmp_path / "dets.pkl", _random_detections(rng, images, annotations))
    (agent_ap, npos), (s1, _), (s2, _) = _reference(str(tmp_path), pkl)
    res = _ours(str(tmp_path), pkl)

    np.testing.assert_array_equal(np.float32(res.agent.ap), agent_ap)
    np.testing.assert_array_equal(res.agent.npos, npos.astype(int))
    where = {(a, r): (ai, ri) for ai, (a, roles, _) in enumerate(VCOCO_ACTIONS) for ri, r in enumerate(roles[1:])}
    for scenario, table in (("scenario_1", s1), ("scenario_2", s2)):
        ours = res.role(scenario)
        expected = [table[where[k]] for k in ours.roles]
        np.testing.assert_array_equal(np.float32(ours.ap), np.float32(expected))
        mean25, mean24 = ref.tin_means(table)
        assert ours.mean * 100 == pytest.approx(float(mean25), abs=1e-4)
        assert ours.mean_without_point * 100 == pytest.approx(float(mean24), abs=1e-4)
    assert res.agent.mean * 100 == pytest.approx(float(np.nansum(agent_ap) * 100.0 / len(agent_ap)), abs=1e-4)
    assert res.num_outside_split > 0  # the detections on image 999999 were ignored, as by vsrl_eval
    assert len(res.scenario_1.roles) == 25


def test_scenarios_differ_on_random_case(tmp_path):
    rng = np.random.default_rng(11)
    images, annotations = _random_dataset(str(tmp_path), rng)
    res = _ours(str(tmp_path), _dump(tmp_path / "d.pkl", _random_detections(rng, images, annotations)))
    assert res.scenario_1.ap != res.scenario_2.ap
    assert all(a <= b + 1e-7 for a, b in zip(res.scenario_1.ap, res.scenario_2.ap))  # S2 only forgives


def test_missing_keys_are_no_detection(tmp_path):
    rng = np.random.default_rng(3)
    images, annotations = _random_dataset(str(tmp_path), rng)
    dets = _random_detections(rng, images, annotations)
    dropped = []
    for det in dets:
        det = dict(det)
        for key in [k for k, v in det.items() if k.endswith(("_agent", "_obj", "_instr"))]:
            if np.isnan(np.asarray(det[key], dtype=float).reshape(-1)[-1]):
                del det[key]  # NaN score == missing key
        dropped.append(det)
    full = _ours(str(tmp_path), _dump(tmp_path / "a.pkl", dets))
    sparse = _ours(str(tmp_path), _dump(tmp_path / "b.pkl", dropped))
    assert full.to_dict() == sparse.to_dict()


# --------------------------------------------------------------------------------------------------
# Hand-computed case
# --------------------------------------------------------------------------------------------------

HAND_ACTIONS = (("hold", ("agent", "obj"), ((), ())), ("stand", ("agent",), ((),)))


def _hand_dataset(root, *, empty_image=False, ignore_object=False):
    img = 1
    images = [CocoImage(img, "a.jpg", 640, 480)]
    ann = [CocoAnnotation(1, img, 1, [0, 0, 100, 100], 1e4),        # P1 -> [0, 0, 99, 99]
           CocoAnnotation(2, img, 1, [200, 0, 100, 100], 1e4),      # P2 -> [200, 0, 299, 99]
           CocoAnnotation(3, img, 47, [100, 0, 100, 100], 1e4,      # O1 -> [100, 0, 199, 99]
                          extra={"ignore": 1} if ignore_object else {}),
           CocoAnnotation(4, img, 1, [400, 0, 100, 100], 1e4)]      # P3, not in V-COCO
    persons = [(img, 1, {"hold": (1, {"obj": 3}), "stand": (0, {})}),
               (img, 2, {"hold": (1, {}), "stand": (1, {})})]
    # a second image with one negative person (np.loadtxt of a one-line .ids file is 0-d: vsrl_eval fails)
    images.append(CocoImage(3, "c.jpg", 640, 480))
    ann.append(CocoAnnotation(6, 3, 1, [50, 50, 100, 100], 1e4))
    persons.append((3, 6, {"hold": (0, {}), "stand": (0, {})}))
    if empty_image:
        images.append(CocoImage(2, "b.jpg", 640, 480))
        ann.append(CocoAnnotation(5, 2, 1, [10, 10, 0.5, 100], 50.0))  # its only person box is invalid
        persons.append((2, 5, {"hold": (1, {}), "stand": (0, {})}))
    _write_dataset(root, images, ann, persons, HAND_ACTIONS)


def _det(image_id, box, hold, role_box, stand):
    d = {"image_id": image_id, "person_box": np.array(box, dtype=float), "hold_agent": hold, "stand_agent": stand}
    if role_box is not None:
        d["hold_obj"] = np.append(np.array(role_box, dtype=float), hold)
    return d


HAND_DETS = [
    _det(1, [400, 400, 450, 450], 0.95, [100, 0, 199, 99], np.nan),  # on no GT person: FP (matched to P1, IoU 0)
    _det(1, [0, 0, 99, 99], 0.9, [100, 0, 199, 99], 0.3),            # P1: TP
    _det(1, [0, 0, 99, 99], 0.8, [100, 0, 199, 99], 0.2),            # P1 again: FP
    _det(1, [200, 0, 299, 99], 0.7, [0, 0, 10, 10], 0.6),            # P2 (no GT role): S1 FP, S2 TP
    _det(1, [400, 0, 499, 99], 0.99, [100, 0, 199, 99], 0.99),       # P3 unannotated: ignored
    _det(1, [200, 0, 299, 99], 0.75, None, np.nan),                  # no hold_obj key: no role detection
]


def test_hand_computed(tmp_path):
    _hand_dataset(str(tmp_path))
    pkl = _dump(tmp_path / "d.pkl", HAND_DETS)
    res = _ours(str(tmp_path), pkl)
    # hold agent by score: .99 ignored; .95 FP; .9 TP (P1); .8 FP (P1 again); .75 TP (P2); .7 FP (P2 again)
    # rec 0 .5 .5 1 1, prec 0 .5 1/3 .5 .4 -> envelope .5 up to rec 1 -> AP = .5*.5 + .5*.5
    assert res.agent.ap[0] == pytest.approx(0.5)
    # stand: .99 ignored, .6 TP(P2), .3 FP, .2 FP -> AP 1
    assert res.agent.ap[1] == pytest.approx(1.0)
    assert res.agent.mean == pytest.approx(0.75)
    assert res.agent.npos == (2, 1)
    # hold-obj S1: .95 FP, .9 TP, .8 FP, .7 FP (role predicted, none in GT) -> AP = .5 * .5 = .25
    # hold-obj S2: .95 FP, .9 TP, .8 FP, .7 TP -> AP .5
    assert res.scenario_1.ap == pytest.approx((0.25,))
    assert res.scenario_2.ap == pytest.approx((0.5,))
    assert res.scenario_1.roles == (("hold", "obj"),)
    assert res.num_outside_split == 0 and res.num_detections == len(HAND_DETS)
    # the transcription agrees once every key is present (NaN for the missing one)
    full = [dict(d) for d in HAND_DETS]
    full[-1]["hold_obj"] = np.array([0, 0, 0, 0, np.nan])
    (agent_ap, _), (s1, _), (s2, _) = _reference(str(tmp_path), _dump(tmp_path / "f.pkl", full))
    np.testing.assert_allclose(agent_ap, [0.5, 1.0])
    assert s1[0, 0] == pytest.approx(0.25) and s2[0, 0] == pytest.approx(0.5)


def test_scenario_1_accepts_zero_or_nan_role_box(tmp_path):
    _hand_dataset(str(tmp_path))
    for box in ([0, 0, 0, 0], [np.nan] * 4):
        dets = [dict(d) for d in HAND_DETS]
        dets[3] = _det(1, [200, 0, 299, 99], 0.7, box, 0.6)
        res = _ours(str(tmp_path), _dump(tmp_path / "d.pkl", dets))
        assert res.scenario_1.ap == pytest.approx((0.5,)) and res.scenario_2.ap == pytest.approx((0.5,))


def test_iou_of_exactly_half_matches(tmp_path):
    _hand_dataset(str(tmp_path))
    # P1 = [0, 0, 99, 99] and O1 = [100, 0, 199, 99] are 100 x 100 with +1; these boxes are twice as tall
    assert vcoco.box_overlaps([[0, 0, 99, 99]], [[0, 0, 99, 199]])[0, 0] == 0.5
    res = _ours(str(tmp_path), _dump(tmp_path / "d.pkl", [_det(1, [0, 0, 99, 199], 0.9, [100, 0, 199, 199], 0.5)]))
    assert res.agent.ap[0] == pytest.approx(0.5) and res.scenario_1.ap == pytest.approx((0.5,))


def test_dropped_role_object_counts_as_none(tmp_path):
    # vsrl_eval asserts when a role object is not a kept annotation; here the person has no role object.
    _hand_dataset(str(tmp_path), ignore_object=True)
    res = _ours(str(tmp_path), _dump(tmp_path / "d.pkl", HAND_DETS))
    # S1: .95 FP, .9 FP (role predicted, none in GT), .8 FP, .7 FP; S2: FP TP FP TP
    assert res.scenario_1.ap == (0.0,) and res.scenario_2.ap == pytest.approx((0.5,))


def test_image_without_valid_person_counts_fp(tmp_path):
    # vsrl_eval would crash (argmax of an empty array); here the detection is a FP.
    _hand_dataset(str(tmp_path), empty_image=True)
    dets = HAND_DETS + [_det(2, [10, 10, 60, 60], 0.85, [0, 0, 5, 5], np.nan)]
    res = _ours(str(tmp_path), _dump(tmp_path / "d.pkl", dets))
    # hold: .95 FP .9 TP .85 FP .8 FP .75 TP .7 FP -> rec 0 .5 .5 .5 1 1, prec 0 .5 .33 .25 .4 .33
    assert res.agent.ap[0] == pytest.approx(0.5 * 0.5 + 0.5 * 0.4)
    assert res.agent.npos == (2, 1)  # the invalid person is not a GT positive


def test_no_positive_and_no_detection(tmp_path):
    _hand_dataset(str(tmp_path))
    res = _ours(str(tmp_path), _dump(tmp_path / "d.pkl", []))
    assert res.agent.ap == (0.0, 0.0) and res.scenario_1.ap == (0.0,)
    gt = vcoco.load_ground_truth(str(tmp_path), "test")
    no_pos = vcoco.VcocoGroundTruth(gt.actions, gt.roles, tuple(
        vcoco.VcocoImageGT(im.image_id, im.boxes, np.where(im.actions == 1, 0, im.actions), im.role_boxes)
        for im in gt.images))
    res = vcoco.evaluate_vcoco(no_pos, vcoco.detections_from_vsrl(HAND_DETS))
    assert all(math.isnan(a) for a in res.agent.ap) and math.isnan(res.scenario_1.mean)
    assert res.agent.mean == 0.0  # nansum / #actions
    assert json.loads(res.to_json())["agent"]["ap"]["hold"] is None


def test_means_24_25():
    roles = tuple((a, r) for a, roles, _ in VCOCO_ACTIONS for r in roles[1:])
    rng = np.random.default_rng(0)
    ap = tuple(float(np.float32(v)) for v in rng.uniform(0, 1, len(roles)))
    table = vcoco.RoleAP("scenario_1", roles, ap, (1,) * len(roles))
    role_ap = np.full((26, 2), np.nan, dtype=np.float32)
    k = 0
    for a, (_, rs, _) in enumerate(VCOCO_ACTIONS):
        for r in range(len(rs) - 1):
            role_ap[a, r] = ap[k]
            k += 1
    mean25, mean24 = ref.tin_means(role_ap)
    assert len(roles) == 25 and VCOCO_ACTIONS[-3][0] == "point"  # TIN's role_ap[-3][0]
    assert table.mean * 100 == pytest.approx(float(mean25), abs=1e-5)
    assert table.mean_without_point * 100 == pytest.approx(float(mean24), abs=1e-5)
    assert table.mean_without_point == pytest.approx(np.mean([v for r, v in zip(roles, ap) if r != ("point", "instr")]))


# --------------------------------------------------------------------------------------------------
# Wrapper, result and command line
# --------------------------------------------------------------------------------------------------


def test_detection_wrapper_round_trip():
    dets = vcoco.detections_from_vsrl(HAND_DETS)
    assert dets[0].agent_scores["hold"] == 0.95 and dets[0].role_boxes[("hold", "obj")].shape == (5,)
    assert ("hold", "obj") not in dets[-1].role_boxes
    again = vcoco.detections_from_vsrl(vcoco.detections_to_vsrl(dets))
    for a, b in zip(dets, again):
        assert a.image_id == b.image_id and np.array_equal(a.person_box, b.person_box)
        assert a.agent_scores.keys() == b.agent_scores.keys()
        for k in a.role_boxes:
            np.testing.assert_array_equal(a.role_boxes[k], b.role_boxes[k])


@pytest.mark.parametrize("bad, message", [
    ({"person_box": [0, 0, 1, 1]}, "missing key 'image_id'"),
    ({"image_id": 1, "person_box": [0, 0, 1]}, "person_box: expected 4"),
    ({"image_id": 1, "person_box": [0, 0, 1, 1], "hold_obj": [1, 2, 3]}, "hold_obj: expected 5"),
    ({"image_id": "x", "person_box": [0, 0, 1, 1]}, "image_id should be an integer"),
])
def test_detection_errors(bad, message):
    with pytest.raises(DataFormatError, match=message):
        vcoco.detections_from_vsrl([bad], source="f.pkl")
    with pytest.raises(DataFormatError, match="list of per-person dicts"):
        vcoco.detections_from_vsrl({"a": 1})


def test_result_table_and_json(tmp_path):
    _hand_dataset(str(tmp_path))
    res = _ours(str(tmp_path), _dump(tmp_path / "d.pkl", HAND_DETS))
    table = res.format_table()
    assert "                hold: AP = 50.00 (#pos = 2)" in table
    assert "               hold-obj: AP = 25.00 (#pos = 2)" in table
    assert "Average Role [scenario_2] AP = 50.00" in table
    assert 'omitting the action "point"' in table
    d = json.loads(res.to_json())
    assert d["scenario_1"]["ap"]["hold-obj"] == pytest.approx(0.25) and d["agent"]["mean"] == pytest.approx(0.75)


def test_command_line(tmp_path, capsys):
    _hand_dataset(str(tmp_path))
    pkl = _dump(tmp_path / "d.pkl", HAND_DETS)
    out_json = tmp_path / "r.json"
    assert vcoco.main(["--vcoco_root", str(tmp_path), "--detections", pkl, "--out_json", str(out_json)]) == 0
    assert "Average Agent AP = 75.00" in capsys.readouterr().out
    assert json.loads(out_json.read_text())["scenario_2"]["mean"] == pytest.approx(0.5)
    assert vcoco.main(["--vcoco_root", str(tmp_path), "--detections", str(tmp_path / "none.pkl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    bad = _dump(tmp_path / "bad.pkl", [{"image_id": 1}])
    assert vcoco.main(["--vcoco_root", str(tmp_path), "--detections", bad]) == 2
    assert "missing key 'person_box'" in capsys.readouterr().err
    proc = subprocess.run([sys.executable, "-m", "tin_jax.evaluation.vcoco", "--vcoco_root", str(tmp_path / "x"),
                           "--detections", pkl], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ")
