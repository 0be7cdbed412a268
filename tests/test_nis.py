"""python -m tin_jax.nis: another detector's HICO-DET files rescored by a tiny checkpoint's D, against
a direct computation (model call per image, then spec §5.2's NIS rule in numpy), and bad input."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import types

import cv2
import numpy as np
import pytest

from tests.conftest import TINY_FLAGS, TINY_MAX_LONG_SIDE, shrink
from tin_jax.schema import classes
from tin_jax.evaluation import hico_det
from tin_jax.io.errors import DataFormatError

# One worker builds the tiny checkpoint once for all the tests that need it.
pytestmark = pytest.mark.xdist_group("nis")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # plain `pytest` (not `python -m pytest`) leaves out the root: configs/
    sys.path.insert(0, ROOT)
PIXEL_MEANS_BGR = np.array([102.9801, 115.9465, 122.7717], np.float32)  # cfg.PIXEL_MEANS
NIS_DEFAULT = (0.9, 0.1)  # (thr_no, thr_in), spec §5.2
NIS_OVERRIDES = {63: (0.95, 0.15), 43: (0.85, 0.1), 57: (0.85, 0.2), 48: (0.85, 0.2), 41: (0.85, 0.15),
                 2: (0.85, 0.2), 4: (0.85, 0.15), 31: (0.85, 0.1), 19: (0.85, 0.2), 1: (0.85, 0.05),
                 11: (0.85, 0.15)}


def _other_detector(gt, test, rng):
    """Another detector's output: every GT pair with jittered boxes, under its HOI and another HOI of the
    same object (same boxes: one D score for both) and the object's no_interaction HOI, plus the test
    detections' human x object pairs under a random HOI of the object; random scores."""
    rows = []  # (hoi, image, box(8))
    for c in range(gt.num_classes):
        image, boxes = gt.class_gt(c)
        obj = int(gt.class_object[c])
        lo, hi = classes.HOI_RANGE_BY_OBJECT[obj]
        no_inter = [k for k in range(lo, hi + 1) if classes.HICO_HOIS[k][0] == "no_interaction"]
        for i, b in zip(image, boxes):
            b = np.maximum(b - 1 + rng.integers(-3, 4, 8), 0)  # 1-based GT -> 0-based detections
            b[2:4], b[6:8] = np.maximum(b[2:4], b[0:2]), np.maximum(b[6:8], b[4:6])
            for k in {c, int(rng.integers(lo, hi + 1))} | set(no_inter[:1]):
                rows.append((k, int(i), b))
    for i, det in test.items():
        for h in np.flatnonzero(det.is_human):
            for o in range(det.size):
                if o != h:
                    lo, hi = classes.HOI_RANGE_BY_OBJECT[det.classes[o]]
                    rows.append((int(rng.integers(lo, hi + 1)), i, np.round(np.r_[det.boxes[h], det.boxes[o]])))
    hoi, image, boxes = (np.array(x) for x in zip(*rows))
    return hico_det.HicoDetections.from_arrays(hoi, image, boxes[:, :4], boxes[:, 4:], rng.random(len(rows)),
                                               num_images=gt.num_images)


def _pose_of(box, det):
    """--pose_iou's rule: the pose of the test human with a valid pose and the best +1-pixel IoU (the first
    on ties), if that IoU is >= 0.7."""
    best, pose = -1.0, None
    for d in range(det.size):
        if det.is_human[d] and det.pose_valid[d]:
            a, b = box, det.boxes[d]
            iw = max(min(a[2], b[2]) - max(a[0], b[0]) + 1, 0)
            ih = max(min(a[3], b[3]) - max(a[1], b[1]) + 1, 0)
            union = (a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) * (b[3] - b[1] + 1) - iw * ih
            if iw * ih / union > best:
                best, pose = iw * ih / union, det.poses[d]
    return pose if best >= 0.7 else None


def _network_input(encoded, boxes, poses):
    """Spec §4.2-4.3: cv2 BGR minus the means, long side at most 96; patterns from the original boxes."""
    from tin_jax.data import spatial
    bgr = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_COLOR)
    h, w = bgr.shape[:2]
    s = min(1.0, TINY_MAX_LONG_SIDE / max(h, w))
    if s < 1:
        bgr = cv2.resize(bgr, (round(w * s), round(h * s)), interpolation=cv2.INTER_LINEAR)
    x = bgr.astype(np.float32) - PIXEL_MEANS_BGR
    pat = spatial.interaction_patterns(boxes[:, :4], boxes[:, 4:], poses)
    return (x[None], np.array([x.shape[:2]], np.int32), (boxes[:, :4] * s)[None].astype(np.float32),
            (boxes[:, 4:] * s)[None].astype(np.float32), pat[None])


def _d_logits(model, images, pairs):
    """{(image, 8 box values): D's two logits}, one model call per image. Every call is padded
    to one shape (image to the size cap, zero pairs after the real ones; padding changes no
    output: test_tin_model), so the network compiles once instead of once per image."""
    import jax
    from flax import nnx
    graph, state = nnx.split(model)
    run = jax.jit(lambda state, *x: nnx.merge(graph, state)(*x, train=False)["binary"][0])
    most = max(len(keys) for keys in pairs.values())
    pad = lambda a, axis, n: np.pad(a, [(0, n - a.shape[k] if k == axis else 0) for k in range(a.ndim)])
    out = {}
    for i, keys in pairs.items():
        encoded, det = images[i]
        boxes = np.array(keys, np.float64)
        x, hw, hb, ob, pat = _network_input(encoded, boxes, [_pose_of(b, det) for b in boxes[:, :4]])
        x = pad(pad(x, 1, TINY_MAX_LONG_SIDE), 2, TINY_MAX_LONG_SIDE)
        hb, ob, pat = (pad(a, 1, most) for a in (hb, ob, pat))
        logits = np.asarray(run(state, x, hw, hb, ob, pat), np.float64)[:len(keys)]
        out.update({(i, k): l for k, l in zip(keys, logits)})
    return out


def _to_gap(logits, p):
    """The shift that puts logit(p) in the middle of the widest gap of the middle half of ``logits``."""
    x = np.sort(logits)
    mid, q = len(x) // 2, len(x) // 4
    j = max(range(mid - q, mid + q), key=lambda j: x[j + 1] - x[j])
    return np.log(p / (1 - p)) - (x[j] + x[j + 1]) / 2


@pytest.fixture(scope="session")  # built once per worker; its tests share an xdist group
def tiny(raw_dir, hico_dir, tmp_path_factory):
    """A width-4 checkpoint with random weights (BN calibrated on one image, as test_predict does), D's
    bias shifted so that TIN's NIS finds some pairs non-interactive and some not, and another detector's
    files. ``d``: the reference (P_inter, P_noninter) of every distinct pair."""
    import jax
    import jax.numpy as jnp
    from flax import nnx
    from jax.sharding import NamedSharding, PartitionSpec as P

    from configs import tin_hico
    from tin_jax.training import optim
    from tin_jax.state import model as state_model, spec as model_spec, store
    from tin_jax.data import input_pipeline as ip
    from tin_jax.models.resnet import FrozenStat, calibrate_batch_norm

    root = tmp_path_factory.mktemp("nis")
    anno_dir = os.path.join(raw_dir, "hico_20160224_det")
    gt = hico_det.load_ground_truth(anno_dir)
    index = {f: i for i, f in enumerate(gt.filenames)}
    images = {index[rec.filename]: (encoded, rec.det) for rec, encoded in ip.iterate_records(hico_dir, "test")}
    dets = _other_detector(gt, {i: det for i, (_, det) in images.items()}, np.random.default_rng(0))
    hico_det.write_official_detections(root / "other", dets, gt)
    pairs = {}
    for d in dets.per_class:
        for i, b in zip(d.image, d.boxes):
            pairs.setdefault(int(i), set()).add(tuple(b))
    pairs = {i: sorted(keys) for i, keys in sorted(pairs.items())}

    config = tin_hico.get_config("runlocal")
    config.data.dir, config.eval.anno_dir = hico_dir, anno_dir
    shrink(config)
    metadata = ip.load_info(hico_dir).metadata
    repl = NamedSharding(state_model.make_mesh(), P())
    parts, params, stats = state_model.build(model_spec.model_config(config, metadata), config.seed, repl)
    model = parts.merge(params, stats)
    first = next(iter(pairs))
    calibrate_batch_norm(model, lambda m: m(*_network_input(images[first][0], np.array(pairs[first]),
                                                             None)))
    stats = nnx.to_pure_dict(nnx.split(model, nnx.Param, FrozenStat, ...)[2])
    logits = _d_logits(parts.merge(params, stats), images, pairs)
    # D's last layer is affine: scaling its kernel and bias scales both logits of every pair,
    # shifting its bias shifts them. Each logit is spread to an interquartile range of 2 (a
    # random network's D can be nearly constant: its logits' gaps then hold no threshold with
    # a margin), then each default threshold (thr_in 0.1, thr_no 0.9) goes into the widest gap
    # of its logits near their median.
    l = np.array(list(logits.values()))
    scale = 2 / np.subtract(*np.percentile(l, [75, 25], axis=0))
    l = l * scale
    shift = np.array([_to_gap(l[:, 0], 0.1), _to_gap(l[:, 1], 0.9)])
    layer = params["cls_score_binary"]
    layer["kernel"] = layer["kernel"] * jnp.asarray(scale, jnp.float32)
    layer["bias"] = layer["bias"] * jnp.asarray(scale, jnp.float32) + jnp.asarray(shift, jnp.float32)
    tx, _, _ = optim.make_optimizer(config.optim, params)
    state = dict(params=params, stats=jax.device_put(stats, repl), opt=tx.init(params),
                 step=jnp.zeros((), jnp.int32))
    mngr = store.manager(str(root / "work"))
    store.save(mngr, state, model_spec.spec_of(config, ip.load_info(config.data.dir).metadata), config.seed)
    mngr.wait_until_finished()
    d = {k: 1 / (1 + np.exp(-(v * scale + shift))) for k, v in logits.items()}
    return types.SimpleNamespace(root=root, work=root / "work", config=config, gt=gt, dets=dets, d=d,
                                 anno_dir=anno_dir)


def _non_interactive(p, obj):
    thr_no, thr_in = NIS_OVERRIDES.get(obj, NIS_DEFAULT)
    return p[1] > thr_no and p[0] < thr_in


def _rows(dets):
    """{(HOI, image, 8 box values): score} (the detections of a pair and HOI are one row here)."""
    return {(c, int(i), tuple(b)): float(s) for c, d in enumerate(dets.per_class)
            for i, b, s in zip(d.image, d.boxes, d.scores)}


def _cli(*args, timeout=300):
    env = dict(os.environ, JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "tin_jax.nis", "--config", "configs/tin_hico.py:runlocal", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_d_can_come_from_config_eval_d_workdir(tiny, hico_dir, tmp_path):
    """``--config.eval.d_workdir``: D from another workdir (here the same network with D pushed
    to "non-interactive" for every pair), so every HOI but no_interaction is dropped."""
    import jax.numpy as jnp
    from jax.sharding import NamedSharding, PartitionSpec as P

    from tin_jax.inference import scoring
    from tin_jax.state import model as state_model, spec as model_spec, store

    from tin_jax.data import input_pipeline as ip
    config = tiny.config.copy_and_resolve_references()
    _, _, params, stats, _ = scoring.load_model(config, str(tiny.work),
                                                       NamedSharding(state_model.make_mesh(), P()))
    params["cls_score_binary"]["bias"] = params["cls_score_binary"]["bias"] + jnp.array([-1e3, 1e3])  # beyond any logit: sigmoid 0 and 1
    other = tmp_path / "other_d"
    mngr = store.manager(str(other))
    store.save(mngr, dict(params=params, stats=stats, step=jnp.asarray(1, jnp.int32)), model_spec.spec_of(config, ip.load_info(config.data.dir).metadata), config.seed)
    mngr.wait_until_finished()
    with open(other / "config.json", "w") as f:
        json.dump({"model": config.model.to_dict(), "seed": config.seed}, f)
    out = tmp_path / "out"
    proc = _cli(f"--config.data.dir={hico_dir}", *TINY_FLAGS, f"--workdir={tiny.work}",
                f"--detections={tiny.root / 'other'}", f"--out_dir={out}", f"--anno_dir={tiny.anno_dir}",
                f"--config.eval.d_workdir={other}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    before, got = _rows(tiny.dets), _rows(hico_det.read_official_detections(out, tiny.gt))
    kept = {k: s for k, s in before.items() if classes.HICO_HOIS[k[0]][0] == "no_interaction"}
    assert kept and len(kept) < len(before)
    assert got == kept


def test_drop_equals_tins_rule_on_a_direct_computation(tiny, hico_dir):
    out = tiny.root / "drop"
    proc = _cli(f"--config.data.dir={hico_dir}", *TINY_FLAGS, f"--workdir={tiny.work}",
                f"--detections={tiny.root / 'other'}", f"--out_dir={out}", f"--anno_dir={tiny.anno_dir}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    before, got = _rows(tiny.dets), _rows(hico_det.read_official_detections(out, tiny.gt))
    assert len(before) == int(tiny.dets.num_detections.sum())  # no duplicate rows in the input
    expected, dropped, kept_no_inter, cases = {}, 0, 0, set()
    for (c, i, b), s in before.items():
        p, obj = tiny.d[(i, b)], int(tiny.gt.class_object[c])
        thr_no, thr_in = NIS_OVERRIDES.get(obj, NIS_DEFAULT)
        # a decision this close to a threshold would hang on float32 noise, not on the tool
        assert abs(p[0] - thr_in) > 1e-4 and abs(p[1] - thr_no) > 1e-4
        no_inter = classes.HICO_HOIS[c][0] == "no_interaction"
        if _non_interactive(p, obj) and not no_inter:
            dropped += 1
        else:
            expected[(c, i, b)] = s
            kept_no_inter += _non_interactive(p, obj) and no_inter
            cases.add((bool(p[0] < thr_in), bool(p[1] > thr_no)))
    assert got == expected
    # rows dropped; rows kept by each half of the rule; no_interaction rows of non-interactive pairs kept
    assert dropped and kept_no_inter and {(True, False), (False, True)} <= cases, (dropped, kept_no_inter, cases)
    lines = proc.stdout.splitlines()
    assert f"NIS (drop): removed {dropped} of {len(before)} detections" in lines[1]
    tables = [k for k, line in enumerate(lines) if line.startswith("HICO-DET official protocol")]
    assert len(tables) == 2 and lines[tables[0] - 1] == "before:" and lines[tables[1] - 1] == "after NIS (drop):"
    full = [float(lines[k + 3].split()[1]) for k in tables]  # Default, Full mAP
    assert full == [pytest.approx(100 * hico_det.evaluate(tiny.gt, d).default.map_full, abs=0.006)
                    for d in (tiny.dets, hico_det.read_official_detections(out, tiny.gt))]


def test_rescale_multiplies_by_p_inter(tiny):
    from tin_jax.inference import nis
    out = tiny.root / "rescale"
    text = nis.rescore(tiny.config, str(tiny.work), str(tiny.root / "other"), str(out), mode="rescale",
                       evaluate=False)
    assert "before:" not in text
    before, got = _rows(tiny.dets), _rows(hico_det.read_official_detections(out, tiny.gt))
    assert got.keys() == before.keys()
    keys = sorted(before)
    inter = [classes.HICO_HOIS[c][0] != "no_interaction" for c, _, _ in keys]
    expected = [s * (tiny.d[(i, b)][0] if x else 1.0) for (c, i, b), s, x in
                zip(keys, (before[k] for k in keys), inter)]
    # float32 through a random 50-layer network, jit vs eager, bucket padding vs none: ~1e-4
    np.testing.assert_allclose([got[k] for k in keys], expected, rtol=1e-3)
    assert all(got[k] == before[k] for k, x in zip(keys, inter) if not x)


def test_poses_borrowed_from_test_humans_by_iou():
    from tin_jax.inference import nis
    from tin_jax.schema.records import Detections
    poses = np.repeat(np.arange(4, dtype=np.float32)[:, None], 51, axis=1)  # pose of detection d: all d
    # humans 0 and 1 with poses, human 2 without, detection 3 no human
    det = Detections(np.array([[0, 0, 99, 99], [0, 0, 49, 99], [200, 0, 299, 99], [0, 0, 99, 99]], np.float32),
                     np.array([True, True, True, False]), np.ones(4, np.int64), np.ones(4, np.float32),
                     poses, np.array([True, True, False, True]))
    boxes = np.array([[0, 0, 99, 99],     # IoU 1 with human 0, 0.5 with human 1
                      [0, 0, 49, 99],     # 0.5, 1
                      [0, 0, 79, 99],     # 0.8, 0.625
                      [0, 0, 69, 99],     # 0.7, 0.714
                      [30, 0, 99, 99],    # 0.7 (kept: >=), 0.2
                      [31, 0, 99, 99],    # 0.69, 0.19
                      [200, 0, 299, 99]], float)  # human 2 only, which has no pose
    got = nis.match_poses(boxes, det, 0.7)
    assert [None if p is None else int(p[0]) for p in got] == [0, 1, 0, 1, 0, None, None]
    assert nis.match_poses(boxes, det, 1.01) == [None] * 7
    assert nis.match_poses(boxes[:0], det) == []


# -- bad input -----------------------------------------------------------------------------

def _one_line_error(proc, *parts):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and all(p in lines[0] for p in parts), lines


def test_cli_bad_input_is_one_line_and_exit_2(tiny, hico_dir, tmp_path):
    other = tmp_path / "other"
    dets = tiny.dets
    c = next(c for c, d in enumerate(dets.per_class) if len(d))
    d = dets.per_class[c]
    boxes = d.boxes.copy()
    boxes[0, 2] = boxes[0, 0] - 5  # human box x2 < x1
    bad = list(dets.per_class)
    bad[c] = hico_det.ClassDetections(d.image, boxes, d.scores)
    hico_det.write_official_detections(other, hico_det.HicoDetections(tuple(bad), dets.num_images), tiny.gt)
    obj = int(tiny.gt.class_object[c])
    k = c - int(tiny.gt.object_hoi_range[obj, 0])
    common = [f"--config.data.dir={hico_dir}", *TINY_FLAGS, f"--workdir={tiny.work}", f"--anno_dir={tiny.anno_dir}"]
    proc = _cli(*common, f"--detections={other}", f"--out_dir={tmp_path / 'o'}")
    _one_line_error(proc, f"{other / hico_det.detection_filename(obj)}: all_boxes{{{k + 1},{d.image[0] + 1}}} row 1",
                    "x2 < x1")
    proc = _cli(*common, "--config.model.interactiveness=False", f"--detections={tiny.root / 'other'}",
                f"--out_dir={tmp_path / 'o'}")
    _one_line_error(proc, "configs/tin_hico.py", "no interactiveness discriminator D")
    assert not (tmp_path / "o").exists()


def test_bad_files_name_file_and_entry(tiny, tmp_path):
    from tin_jax.inference import nis
    run = lambda det_dir, out=tmp_path / "o", **kw: nis.rescore(tiny.config, str(tiny.work), str(det_dir),
                                                              str(out), evaluate=False, **kw)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "detections_01.mat").write_bytes(b"MATLAB 5.0 MAT-file, truncated")
    with pytest.raises(DataFormatError, match=r"broken/detections_01\.mat: not a readable MATLAB"):
        run(tmp_path / "broken")
    with pytest.raises(DataFormatError, match=r"nowhere: not a folder of detections_XX\.mat"):
        run(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="is the --detections folder"):
        run(tiny.root / "other", out=tiny.root / "other")
    with pytest.raises(DataFormatError, match=r"nope/anno_bbox\.mat: file not found"):
        run(tiny.root / "other", anno_dir=str(tmp_path / "nope"))
    # an image of list_test that the converted test split lacks: the first cell that uses it is named
    gt = dataclasses.replace(tiny.gt, filenames=("HICO_test2015_99999999.jpg",) + tiny.gt.filenames[1:])
    pairs = nis.distinct_pairs(tiny.dets)
    c = next(c for c, rows in enumerate(pairs.rows) if np.any(pairs.image[rows] == 0))
    obj = int(gt.class_object[c])
    with pytest.raises(DataFormatError) as e:
        nis.pair_items(pairs, gt, tiny.config.data.dir, "dets")
    assert str(e.value).startswith(f"dets/{hico_det.detection_filename(obj)}: "
                                   f"all_boxes{{{c - int(gt.object_hoi_range[obj, 0]) + 1},1}}: image "
                                   "HICO_test2015_99999999.jpg is not in the converted test split")


def test_poses_from_coco_keypoint_results_equal_the_test_splits(tiny, hico_dir, tmp_path):
    """--keypoints: the same humans and poses written as COCO keypoint results give every pair
    the pose the converted test split gives it (what D then scores is the same)."""
    from tin_jax.data import input_pipeline as ip
    from tin_jax.inference import nis
    entries = []
    for rec, _ in ip.iterate_records(hico_dir, "test"):
        d = rec.det
        for k in np.flatnonzero(d.is_human & d.pose_valid):
            x1, y1, x2, y2 = (float(v) for v in d.boxes[k])
            entries.append(dict(image_id=int(rec.image_id), category_id=1, score=float(d.scores[k]),
                                bbox=[x1, y1, x2 - x1, y2 - y1], keypoints=[float(v) for v in d.poses[k]]))
    assert entries
    kps = tmp_path / "kps.json"
    kps.write_text(json.dumps(entries))
    from tin_jax.io import coco_results
    pairs = nis.distinct_pairs(tiny.dets)
    det_dir = str(tiny.root / "other")
    split = nis.pair_items(pairs, tiny.gt, hico_dir, det_dir)
    coco = nis.pair_items(pairs, tiny.gt, hico_dir, det_dir, keypoints=coco_results.read_keypoints(str(kps)))
    assert [it.meta["pairs"].tolist() for it in coco] == [it.meta["pairs"].tolist() for it in split]
    n = 0
    for a, b in zip(split, coco):
        for p, q in zip(a.poses, b.poses):
            assert (p is None) == (q is None)
            if p is not None:
                np.testing.assert_array_equal(p, q)
                n += 1
    assert n > 0
