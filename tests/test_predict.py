"""predict.py: a tiny checkpoint's scores on our own images against a direct computation
(model call, then the spec's formulas in numpy), the drawn PNG, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types

import cv2
import numpy as np
import pytest

from tests.conftest import TINY_FLAGS, TINY_MAX_LONG_SIDE, shrink
from tin_jax.inference import predict
from tin_jax.schema import classes
from tin_jax.io.errors import DataFormatError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # plain `pytest` (not `python -m pytest`) leaves out the root: configs/
    sys.path.insert(0, ROOT)
PIXEL_MEANS_BGR = np.array([102.9801, 115.9465, 122.7717], np.float32)  # cfg.PIXEL_MEANS
E = 2.718281828459  # getSigmoid's e (spec §5.2)
NIS_DEFAULT = (0.9, 0.1)  # (thr_no, thr_in)
NIS_OVERRIDES = {63: (0.95, 0.15), 43: (0.85, 0.1), 57: (0.85, 0.2), 48: (0.85, 0.2), 41: (0.85, 0.15),
                 2: (0.85, 0.2), 4: (0.85, 0.15), 31: (0.85, 0.1), 19: (0.85, 0.2), 1: (0.85, 0.05),
                 11: (0.85, 0.15)}
HUMAN_RGB, OBJECT_RGB = (0x1f, 0x77, 0xb4), (0xff, 0x7f, 0x0e)  # reports.HUMAN_COLOR, OBJECT_COLOR

POSE = [[30 + 2 * j, 20 + 4 * j, 0.9] for j in range(17)]
# Image a: 160x120 (resized to 96x72). Humans > 0.8 are subjects; every detection > 0.3 with
# another box is an object: h2 (0.5) is an object only, o1 (0.2) nothing.
ENTRY_A = {"image": "a.png",
           "humans": [{"box": [20, 10, 70, 110], "score": 0.95, "pose": POSE},
                      {"box": [90, 15, 140, 115], "score": 0.9},
                      {"box": [0, 50, 30, 119], "score": 0.5, "pose": None}],
           "objects": [{"box": [60, 60, 100, 90], "class": "cup", "score": 0.8},
                       {"box": [5, 5, 25, 25], "class": "car", "score": 0.2},
                       {"box": [40, 80, 159, 119], "class": "dining table", "score": 0.6}]}
# (human detection, object detection) in TIN's loop order; detections: humans, then objects.
PAIRS_A = [(0, 1), (0, 2), (0, 3), (0, 5), (1, 0), (1, 2), (1, 3), (1, 5)]
# Image b: 64x48, kept as is; its only human is below 0.8: the top-4 x top-4 fallback.
ENTRY_B = {"image": "b.png", "humans": [{"box": [4, 4, 30, 44], "score": 0.5}],
           "objects": [{"box": [30, 20, 60, 40], "class": "bicycle", "score": 0.7}]}
PAIRS_B = [(0, 1)]


def _gray_image(h, w, seed):
    """Grey only: any coloured pixel of the PNG is a drawn box."""
    rng = np.random.default_rng(seed)
    g = (np.add.outer(np.arange(h) * 2, np.arange(w)) % 256 + rng.integers(0, 40, (h, w))) % 256
    return np.repeat(g[..., None], 3, axis=2).astype(np.uint8)


def _detections(entry):
    """(boxes, scores, classes, poses) in detection order, written out from the JSON by hand."""
    dets = [(d["box"], d["score"], 1, d.get("pose")) for d in entry["humans"]]
    dets += [(d["box"], d["score"], d["class"] if isinstance(d["class"], int) else classes.coco_id(d["class"]),
              None) for d in entry["objects"]]
    return dets


def _network_input(path, boxes_h, boxes_o, poses):
    """Image, its size and the pairs as the network sees them (spec §4.2-4.3: cv2 BGR minus
    the means, long side at most 96; the patterns from the original boxes)."""
    from tin_jax.data import spatial
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    h, w = bgr.shape[:2]
    s = min(1.0, TINY_MAX_LONG_SIDE / max(h, w))
    if s < 1:
        bgr = cv2.resize(bgr, (round(w * s), round(h * s)), interpolation=cv2.INTER_LINEAR)
    x = bgr.astype(np.float32) - PIXEL_MEANS_BGR
    bh, bo = np.asarray(boxes_h, np.float64), np.asarray(boxes_o, np.float64)
    pat = spatial.interaction_patterns(bh, bo, [None if p is None else np.ravel(p) for p in poses])
    return (x[None], np.array([x.shape[:2]], np.int32), (bh * s)[None].astype(np.float32),
            (bo * s)[None].astype(np.float32), pat[None])


def _pair_inputs(root, entry, pairs):
    dets = _detections(entry)
    return _network_input(os.path.join(root, entry["image"]), [dets[h][0] for h, _ in pairs],
                          [dets[o][0] for _, o in pairs], [dets[h][3] for h, _ in pairs])


@pytest.fixture(scope="session")  # built once per worker; its tests share an xdist group
def tiny(hico_dir, tmp_path_factory):
    """A width-4 HICO checkpoint with random weights. Identity BN statistics keep the outputs
    finite but saturated (every D score 1.0, HOI scores 0 or 2), so they are calibrated on
    image a first, as trainer.calibrated_stats does for runs from scratch."""
    import jax
    import jax.numpy as jnp
    from flax import nnx
    from jax.sharding import NamedSharding, PartitionSpec as P

    from configs import tin_hico
    from tin_jax.training import optim
    from tin_jax.state import model as state_model, spec as model_spec, store
    from tin_jax.data import input_pipeline as ip
    from tin_jax.models.resnet import FrozenStat, calibrate_batch_norm

    root = tmp_path_factory.mktemp("predict")
    cv2.imwrite(str(root / "a.png"), _gray_image(120, 160, 0))
    cv2.imwrite(str(root / "b.png"), _gray_image(48, 64, 1))
    with open(root / "dets.json", "w") as f:
        json.dump([ENTRY_A, ENTRY_B], f)

    config = tin_hico.get_config("runlocal")
    config.data.dir = hico_dir
    shrink(config)
    metadata = ip.load_info(hico_dir).metadata
    repl = NamedSharding(state_model.make_mesh(), P())
    parts, params, stats = state_model.build(model_spec.model_config(config, metadata), config.seed, repl)
    model = parts.merge(params, stats)
    calibrate_batch_norm(model, lambda m: m(*_pair_inputs(str(root), ENTRY_A, PAIRS_A)))
    stats = nnx.to_pure_dict(nnx.split(model, nnx.Param, FrozenStat, ...)[2])
    tx, _, _ = optim.make_optimizer(config.optim, params)
    state = dict(params=params, stats=jax.device_put(stats, repl), opt=tx.init(params),
                 step=jnp.zeros((), jnp.int32))
    work = root / "work"
    mngr = store.manager(str(work))
    store.save(mngr, state, model_spec.spec_of(config, ip.load_info(config.data.dir).metadata), config.seed)
    mngr.wait_until_finished()
    return types.SimpleNamespace(root=root, work=work, config=config, model=parts.merge(params, stats))


def _sigmoid(x):
    return 1 / (1 + np.exp(-np.asarray(x, np.float64)))


def _lis(x):
    return 6.0 / (1.0 + E ** (10.0 - 1.4 * x))


def _expected(pair_classes, pair_scores, hoi_scores, d_scores, *, fallback, lis=True, nis=True):
    """{(pair, HOI): score} by spec §5.2: the object class's HOIs, S * LIS(h) * LIS(o), a pair
    dropped for every HOI but no_interaction when D says non-interactive (not on fallback images)."""
    out = {}
    for p, (c, (hs, os_)) in enumerate(zip(pair_classes, pair_scores)):
        thr_no, thr_in = NIS_OVERRIDES.get(c, NIS_DEFAULT)
        d_in, d_no = d_scores[p]
        lo, hi = classes.HOI_RANGE_BY_OBJECT[c]
        for k in range(lo, hi + 1):
            if nis and not fallback and d_no > thr_no and d_in < thr_in and classes.HICO_HOIS[k][0] != "no_interaction":
                continue
            out[(p, k)] = float(hoi_scores[p, k]) * ((_lis(hs) * _lis(os_)) if lis else 1.0)
    return out


def _reference(tiny, entry, pairs, fallback):
    logits = tiny.model(*_pair_inputs(str(tiny.root), entry, pairs), train=False)
    s = _sigmoid(logits["sp"][0]) * (_sigmoid(logits["H"][0]) + _sigmoid(logits["O"][0]))
    d = _sigmoid(logits["binary"][0])
    dets = _detections(entry)
    return _expected([dets[o][2] for _, o in pairs], [(dets[h][1], dets[o][1]) for h, o in pairs],
                     s, d, fallback=fallback), d


def _cli(*args, timeout=300):
    env = dict(os.environ, JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "predict.py", "--config", "configs/tin_hico.py:runlocal", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _ref_of(entry, det):
    n = len(entry["humans"])
    return {"list": "humans", "index": det} if det < n else {"list": "objects", "index": det - n}


@pytest.mark.xdist_group("predict")
def test_predict_scores_equal_a_direct_computation(tiny, hico_dir):
    """Also: predict needs only the workdir (its checkpoint carries the model spec), not the
    converted dataset the model was trained on: data.dir points nowhere here."""
    out = tiny.root / "out"
    proc = _cli(f"--config.data.dir={tiny.root / 'dataset_moved_away'}", *TINY_FLAGS, f"--workdir={tiny.work}",
                f"--detections={tiny.root / 'dets.json'}", f"--out_dir={out}", "--top=5")
    assert proc.returncode == 0, proc.stderr[-3000:]
    written = json.load(open(out / "predictions.json"))
    assert [os.path.basename(r["image"]) for r in written] == ["a.png", "b.png"]
    blocks = proc.stdout.strip().split("\n\n")
    assert len(blocks) == 3 and blocks[2] == f"wrote {out / 'predictions.json'} and 2 PNG(s) in {out}"
    for entry, pairs, fallback, got, block in ((ENTRY_A, PAIRS_A, False, written[0], blocks[0]),
                                               (ENTRY_B, PAIRS_B, True, written[1], blocks[1])):
        expected, d = _reference(tiny, entry, pairs, fallback)
        assert got["fallback"] is fallback
        assert [(p["human"], p["object"]) for p in got["pairs"]] == [(h, _ref_of(entry, o)) for h, o in pairs]
        np.testing.assert_allclose([p["interactiveness"] for p in got["pairs"]], d, rtol=1e-3)
        scores = {(t["pair"], t["hoi"]): t["score"] for t in got["triplets"]}
        assert scores.keys() == expected.keys()
        keys = sorted(expected)
        # float32 through a random 50-layer network, jit vs eager, bucket padding vs none: ~1e-4;
        # a wrong pair, box scale, HOI range or formula moves the scores by far more
        np.testing.assert_allclose([scores[k] for k in keys], [expected[k] for k in keys], rtol=1e-3)
        assert [t["score"] for t in got["triplets"]] == sorted(scores.values(), reverse=True)
        assert all(t["verb"] == classes.HICO_HOIS[t["hoi"]][0] for t in got["triplets"])
        # printed: the five best, 'human #i  <verb> <object> #j  score'
        lines = block.splitlines()
        assert f"{len(pairs)} pairs" in lines[0] and f"top {min(5, len(expected))} of {len(expected)}" in lines[0]
        best = sorted(expected.items(), key=lambda kv: -kv[1])[:5]
        assert len(lines) == 1 + len(best)
        for line, t in zip(lines[1:], got["triplets"]):
            obj = (f"human #{t['object']['index']}" if t["object"]["list"] == "humans"
                   else f"{t['object_class']} #{t['object']['index']}")
            assert line.split() == [*f"human #{t['human']}".split(), t["verb"], *obj.split(), f"{t['score']:.4g}"]
        np.testing.assert_allclose([float(l.split()[-1]) for l in lines[1:]], [v for _, v in best], rtol=1e-3)
    for name, (h, w) in (("a.png", (120, 160)), ("b.png", (48, 64))):
        png = cv2.imread(str(out / name), cv2.IMREAD_COLOR)[..., ::-1]
        assert png.shape[0] >= h and png.shape[1] >= w and png.shape[0] * w == pytest.approx(png.shape[1] * h, rel=0.02)
        for rgb in (HUMAN_RGB, OBJECT_RGB):  # the boxes are drawn
            assert np.all(png == rgb, axis=-1).sum() > 50, (name, rgb)


@pytest.mark.xdist_group("predict")
def test_predict_takes_d_from_config_eval_d_workdir(tiny, tmp_path):
    """``config.eval.d_workdir`` (as in evaluate.py): HOI scores from the checkpoint, D's scores
    (interactiveness and NIS) from the other workdir's model."""
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from tin_jax.state import spec as model_spec, store
    from tin_jax.data import input_pipeline as ip
    from tin_jax.models.resnet import FrozenStat
    graphdef, p_state, stats, rest = nnx.split(tiny.model, nnx.Param, FrozenStat, ...)
    d_params = jax.tree_util.tree_map_with_path(  # the same network with another D
        lambda p, x: x + 0.3 * jnp.sign(x) if "binary" in jax.tree_util.keystr(p) else x,
        nnx.to_pure_dict(p_state))
    other = tmp_path / "other_d"
    mngr = store.manager(str(other))
    store.save(mngr, dict(params=d_params, stats=nnx.to_pure_dict(stats), step=jnp.asarray(1, jnp.int32)),
               model_spec.spec_of(tiny.config, ip.load_info(tiny.config.data.dir).metadata), tiny.config.seed)
    mngr.wait_until_finished()
    with open(other / "config.json", "w") as f:
        json.dump({"model": tiny.config.model.to_dict(), "seed": tiny.config.seed}, f)
    d_state = jax.tree.map(lambda x: x, p_state)
    nnx.replace_by_pure_dict(d_state, d_params)
    other_model = nnx.merge(graphdef, d_state, stats, rest)

    config = tiny.config.copy_and_resolve_references()
    config.eval.d_workdir = str(other)
    predict.predict(config, str(tiny.work), [str(tiny.root / "dets.json")], str(tmp_path / "out"))
    got = json.load(open(tmp_path / "out" / "predictions.json"))[0]
    assert os.path.basename(got["image"]) == "a.png"
    inputs = _pair_inputs(str(tiny.root), ENTRY_A, PAIRS_A)
    own_d = _sigmoid(tiny.model(*inputs, train=False)["binary"][0])
    other_d = _sigmoid(other_model(*inputs, train=False)["binary"][0])
    assert np.abs(own_d - other_d).max() > 1e-2  # the two Ds differ
    np.testing.assert_allclose([p["interactiveness"] for p in got["pairs"]], other_d, rtol=1e-3)
    logits = tiny.model(*inputs, train=False)
    s = _sigmoid(logits["sp"][0]) * (_sigmoid(logits["H"][0]) + _sigmoid(logits["O"][0]))
    dets = _detections(ENTRY_A)
    expected = _expected([dets[o][2] for _, o in PAIRS_A],
                         [(dets[h][1], dets[o][1]) for h, o in PAIRS_A], s, other_d, fallback=False)
    scores = {(t["pair"], t["hoi"]): t["score"] for t in got["triplets"]}
    assert scores.keys() == expected.keys()
    keys = sorted(expected)
    np.testing.assert_allclose([scores[k] for k in keys], [expected[k] for k in keys], rtol=1e-3)


def test_nis_and_lis_by_hand():
    """Three pairs: D says non-interactive for the person (its own thresholds 0.85 / 0.05) and
    the car, not for the cup; on a fallback image nothing is suppressed."""
    rng = np.random.default_rng(0)
    r = dict(object_class=np.array([1, 42, 3]), hoi_scores=rng.random((3, classes.NUM_HOIS)).astype(np.float32),
             human_score=np.array([0.95, 0.9, 0.85]), object_score=np.array([0.9, 0.5, 0.4]),
             binary=np.array([[0.04, 0.9], [0.5, 0.5], [0.05, 0.95]], np.float32),
             human_boxes=np.tile([0.0, 0, 10, 10], (3, 1)), object_boxes=np.tile([5.0, 5, 20, 20], (3, 1)))
    for fallback, lis, nis in ((False, True, True), (True, True, True), (False, False, True), (False, True, False)):
        pair, hoi, score = predict.hico_triplets(dict(r, is_fallback=fallback), lis=lis, nis=nis)
        expected = _expected(r["object_class"], zip(r["human_score"], r["object_score"]), r["hoi_scores"],
                             r["binary"].astype(np.float64), fallback=fallback, lis=lis, nis=nis)
        got = dict(zip(zip(pair.tolist(), hoi.tolist()), score.tolist()))
        assert got.keys() == expected.keys()
        np.testing.assert_allclose([got[k] for k in sorted(got)], [expected[k] for k in sorted(got)], rtol=1e-12)
        assert np.all(np.diff(score) <= 0)
        suppressed = nis and not fallback
        assert {p for p, k in got if classes.HICO_HOIS[k][0] != "no_interaction"} == ({1} if suppressed else {0, 1, 2})


def test_vcoco_models_give_the_29_scores_per_pair():
    det = predict.ImageDetections("x.png", b"", 10, 10, 1, np.array([[0.0, 0, 5, 5], [1.0, 1, 6, 6]]),
                                  np.array([0.9, 0.8]), np.array([1, 18]), [None, None])
    ho = np.random.default_rng(1).random((1, 29)).astype(np.float32)
    r = dict(human_index=np.array([0]), object_index=np.array([1]), is_fallback=False, object_class=np.array([18]),
             hoi_scores=ho, binary=np.array([[0.3, 0.7]]))
    report = predict.image_report(det, r, "vcoco", lis=True, nis=True)
    assert len(report["triplets"]) == 29
    best = int(np.argmax(ho[0]))
    assert report["triplets"][0]["verb"] == classes.VCOCO_CLASSES[best]
    assert report["triplets"][0]["score"] == pytest.approx(float(ho[0, best]))
    assert predict.format_report(det, report, 1).splitlines()[1].split() == [
        "human", "#0", classes.VCOCO_CLASSES[best], "horse", "#0", f"{ho[0, best]:.4g}"]


# -- bad input -----------------------------------------------------------------------------

@pytest.fixture()
def bad_dir(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), _gray_image(30, 40, 2))
    return tmp_path


GOOD = {"image": "a.png", "humans": [{"box": [1, 1, 20, 29], "score": 0.9}],
        "objects": [{"box": [10, 10, 39, 20], "class": "cup", "score": 0.8}]}


def _with(path, value):
    """GOOD with ``value`` at ``path`` (None: the key removed)."""
    entry = json.loads(json.dumps(GOOD))
    *head, last = path
    node = entry
    for k in head:
        node = node[k]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return entry


BAD = [
    (("humans",), None, "missing key 'humans'"),
    (("humans", 0), {"boxes": [1, 1, 2, 2], "score": 0.9}, "humans[0]: missing key 'box'; unknown key 'boxes'"),
    (("humans", 0, "box"), [20, 1, 10, 29], "humans[0].box: x2 < x1"),
    (("humans", 0, "box"), [1, 1, 20], "humans[0].box: should be [x1, y1, x2, y2]"),
    (("objects", 0, "box"), [10, 10, 50, 20], "objects[0].box: [10, 10, 50, 20] is outside the 40x30 image"),
    (("objects", 0, "box"), [-1, 10, 30, 20], "is outside the 40x30 image"),
    (("objects", 0, "class"), "cupp", "objects[0].class: unknown object class 'cupp'"),
    (("objects", 0, "class"), 81, "objects[0].class: integer class 81 needs --category_ids"),
    (("humans", 0, "pose"), [[1, 2, 0.5]] * 16, "humans[0].pose: should be 17 [x, y, confidence]"),
    (("humans", 0, "pose"), [1.0] * 50, "humans[0].pose: should be 17"),
    (("humans", 0, "score"), 1.5, "humans[0].score: should be a detection score in [0, 1]"),
    (("objects", 0, "score"), None, "objects[0]: missing key 'score'"),
    (("image",), "missing.png", "image file"),
    (("objects",), {"box": [1, 1, 2, 2]}, "'objects' should be a list"),
]


@pytest.mark.parametrize("path,value,message", BAD)
def test_bad_entries_name_file_and_entry(bad_dir, path, value, message):
    f = bad_dir / "dets.json"
    f.write_text(json.dumps([GOOD, _with(path, value)]))
    with pytest.raises(DataFormatError) as e:
        predict.load_detections(str(f))
    image = value if path == ("image",) else "a.png"
    assert str(e.value).startswith(f"{f}: entry 1 ({image}): ") and message in str(e.value), str(e.value)


def test_bad_files(bad_dir):
    (bad_dir / "broken.json").write_text('{"image": "a.png", "humans": [')
    with pytest.raises(DataFormatError, match=r"broken\.json: not valid JSON"):
        predict.load_detections(str(bad_dir / "broken.json"))
    with pytest.raises(DataFormatError, match=r"nope\.json: detections file not found"):
        predict.load_detections(str(bad_dir / "nope.json"))
    (bad_dir / "one.json").write_text(json.dumps(GOOD))
    dets = predict.load_detections(str(bad_dir / "one.json"))
    with pytest.raises(DataFormatError, match=r"other\.png: no entry of the detections files"):
        predict.select_images(dets, [str(bad_dir / "other.png")])
    assert predict.select_images(dets, [str(bad_dir / "a.png")]) == dets


def test_cli_bad_input_is_one_line_and_exit_2(bad_dir):
    (bad_dir / "broken.json").write_text('[{"image": "a.png", "humans": []}, ')
    (bad_dir / "pose.json").write_text(json.dumps([GOOD, _with(("humans", 0, "pose"), [[1, 2]] * 17)]))
    for name, message in (("broken.json", "not valid JSON"),
                          ("pose.json", "entry 1 (a.png): humans[0].pose: should be 17")):
        proc = _cli(f"--workdir={bad_dir / 'no_run'}", f"--detections={bad_dir / name}", f"--out_dir={bad_dir / 'o'}")
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {bad_dir / name}: ") and message in lines[0], lines
        assert not (bad_dir / "o").exists()


@pytest.mark.xdist_group("predict")
def test_no_checkpoint(tiny, bad_dir):
    (bad_dir / "one.json").write_text(json.dumps(GOOD))
    empty = bad_dir / "empty_workdir"
    with pytest.raises(FileNotFoundError, match=f"{empty}: no checkpoint"):
        predict.predict(tiny.config, str(empty), [str(bad_dir / "one.json")], str(bad_dir / "o"))


# -- integer class ids and COCO results files ----------------------------------------------

def _int_classes(entry, convention):
    """``entry`` with its object class names as integers of ``convention``."""
    out = json.loads(json.dumps(entry))
    for d in out["objects"]:
        c = classes.coco_id(d["class"])
        d["class"] = classes.CONTIGUOUS_TO_COCO_ID[c] if convention == "coco" else c
    return out


def _coco_files(root, entries):
    """COCO results detections, keypoint results and images list of ``entries``."""
    images = [{"id": 11 + k, "file_name": e["image"], "height": cv2.imread(str(root / e["image"])).shape[0],
               "width": cv2.imread(str(root / e["image"])).shape[1]} for k, e in enumerate(entries)]
    xywh = lambda b: [b[0], b[1], b[2] - b[0], b[3] - b[1]]
    dets, kps = [], []
    for im, e in zip(images, entries):
        for h in e["humans"]:
            dets.append({"image_id": im["id"], "category_id": 1, "bbox": xywh(h["box"]), "score": h["score"]})
            if h.get("pose"):
                kps.append({"image_id": im["id"], "category_id": 1, "bbox": xywh(h["box"]),
                            "keypoints": np.ravel(h["pose"]).tolist(), "score": 0.7})
        for o in e["objects"]:
            dets.append({"image_id": im["id"], "category_id": classes.CONTIGUOUS_TO_COCO_ID[classes.coco_id(o["class"])],
                         "bbox": xywh(o["box"]), "score": o["score"]})
    paths = {}
    for name, obj in (("coco_dets.json", dets), ("coco_kps.json", kps), ("images.json", {"images": images})):
        (root / name).write_text(json.dumps(obj))
        paths[name] = str(root / name)
    return paths


def _same_detections(a, b):
    assert [d.image for d in a] == [d.image for d in b]
    for x, y in zip(a, b):
        assert (x.num_humans, x.height, x.width) == (y.num_humans, y.height, y.width)
        np.testing.assert_array_equal(x.boxes, y.boxes)
        np.testing.assert_array_equal(x.scores, y.scores)
        np.testing.assert_array_equal(x.class_ids, y.class_ids)
        assert [None if p is None else p.tolist() for p in x.poses] == [None if p is None else p.tolist()
                                                                      for p in y.poses]


def test_integer_classes_need_a_convention(bad_dir):
    entry = dict(GOOD, objects=[{"box": [10, 10, 39, 20], "class": n, "score": 0.8}
                                for n in ("cup", "dining table", "toothbrush", "car")])
    (bad_dir / "names.json").write_text(json.dumps(entry))
    names = predict.load_detections(str(bad_dir / "names.json"))
    assert names[0].class_ids.tolist() == [1, 42, 61, 80, 3]
    for convention in ("coco", "contiguous"):
        (bad_dir / f"{convention}.json").write_text(json.dumps(_int_classes(entry, convention)))
        _same_detections(predict.load_detections(str(bad_dir / f"{convention}.json"), convention), names)
    with pytest.raises(DataFormatError, match=r"coco\.json \(a\.png\): objects\[0\]\.class: integer class 47 needs "
                                              r"--category_ids: 'coco' \(COCO's sparse ids 1..90.*'contiguous'"):
        predict.load_detections(str(bad_dir / "coco.json"))
    for bad, convention in ((12, "coco"), (81, "contiguous"), (0, "coco")):
        (bad_dir / "bad.json").write_text(json.dumps(_with(("objects", 0, "class"), bad)))
        with pytest.raises(DataFormatError, match=rf"bad\.json \(a\.png\): objects\[0\]\.class: {bad} is not one of"):
            predict.load_detections(str(bad_dir / "bad.json"), convention)


def test_coco_results_read_as_the_json_format(bad_dir):
    cv2.imwrite(str(bad_dir / "b.png"), _gray_image(48, 64, 1))
    entry = dict(ENTRY_B, humans=[{"box": [4, 4, 30, 44], "score": 0.5, "pose": POSE[:]}])
    (bad_dir / "tin.json").write_text(json.dumps([GOOD, entry]))
    files = _coco_files(bad_dir, [GOOD, entry])
    tin = predict.load_detections(str(bad_dir / "tin.json"))
    coco = predict.read_inputs([files["coco_dets.json"]], detections_format="coco",
                               images_json=files["images.json"], keypoints=files["coco_kps.json"])
    _same_detections(coco, tin)
    with pytest.raises(ValueError, match="needs --images_json"):
        predict.read_inputs([files["coco_dets.json"]], detections_format="coco")
    (bad_dir / "few.json").write_text(json.dumps({"images": [{"id": 11, "file_name": "a.png"}]}))
    with pytest.raises(DataFormatError, match=r"coco_dets\.json: image_id 12 is not in .*few\.json"):
        predict.read_inputs([files["coco_dets.json"]], detections_format="coco",
                            images_json=str(bad_dir / "few.json"))
    (bad_dir / "size.json").write_text(json.dumps({"images": [{"id": 11, "file_name": "a.png", "height": 31,
                                                                "width": 40}, {"id": 12, "file_name": "b.png"}]}))
    with pytest.raises(DataFormatError, match=r"image 11 \(a\.png\): .*gives 40x31, the image is 40x30"):
        predict.read_inputs([files["coco_dets.json"]], detections_format="coco",
                            images_json=str(bad_dir / "size.json"))


def test_cli_integer_class_without_convention(bad_dir):
    (bad_dir / "int.json").write_text(json.dumps(_with(("objects", 0, "class"), 47)))
    proc = _cli(f"--workdir={bad_dir / 'no_run'}", f"--detections={bad_dir / 'int.json'}",
                f"--out_dir={bad_dir / 'o'}")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad_dir / 'int.json'} (a.png): objects[0].class: "), lines
    assert "'coco'" in lines[0] and "'contiguous'" in lines[0]


@pytest.mark.xdist_group("predict")
def test_integer_classes_and_coco_files_give_the_same_predictions(tiny, tmp_path):
    """The model run on names, integer classes in both conventions and COCO results files."""
    def run(name, files, **formats):
        out = tmp_path / name
        predict.predict(tiny.config, str(tiny.work), files, str(out), **formats)
        return [{k: v for k, v in r.items() if k != "png"} for r in json.load(open(out / "predictions.json"))]

    names = run("names", [str(tiny.root / "dets.json")])
    assert names and names[0]["triplets"]
    for convention in ("coco", "contiguous"):
        path = tiny.root / f"dets_{convention}.json"
        path.write_text(json.dumps([_int_classes(e, convention) for e in (ENTRY_A, ENTRY_B)]))
        assert run(convention, [str(path)], category_ids=convention) == names
    files = _coco_files(tiny.root, [ENTRY_A, ENTRY_B])
    assert run("coco_results", [files["coco_dets.json"]], detections_format="coco",
               images_json=files["images.json"], keypoints=files["coco_kps.json"]) == names


def test_cli_coco_flags_reach_the_reader(bad_dir):
    files = _coco_files(bad_dir, [GOOD])
    (bad_dir / "kps.json").write_text(json.dumps([{"image_id": 11, "keypoints": [1.0] * 50, "score": 0.5}]))
    proc = _cli(f"--workdir={bad_dir / 'no_run'}", f"--detections={files['coco_dets.json']}",
                "--detections_format=coco", f"--images_json={files['images.json']}",
                f"--keypoints={bad_dir / 'kps.json'}", "--pose_iou=0.3", f"--out_dir={bad_dir / 'o'}")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == [f"error: {bad_dir / 'kps.json'}: entry 0 (image 11): keypoints should be 51 finite "
                     "numbers (17 x (x, y, v)), found " + json.dumps([1.0] * 50)[:57] + "..."], lines
    proc = _cli(f"--workdir={bad_dir / 'no_run'}", f"--detections={files['coco_dets.json']}",
                "--detections_format=coco", f"--out_dir={bad_dir / 'o'}")
    assert proc.returncode == 2 and "needs --images_json" in proc.stderr, proc.stderr
