"""TPAMI's part-level interactiveness: part boxes, the RCD / RCD3 networks, their loss
(against a TensorFlow transcription of ``TIN_HICO_with_part.add_loss``), the data path."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow as tf
from flax import nnx

from tests.conftest import ROOT
from tests.reference import hake_part_boxes as hake
from tests.tolerances import EPS32, Bounded, assert_within, sigmoid_ce, stack
from tin_jax.data import input_pipeline as ip
from tin_jax.data import jitter, parts
from tin_jax.models import losses
from tin_jax.models.tin import TIN, TINConfig

HUMAN = np.array([30.0, 0.0, 70.0, 140.0])


def _standing_pose(score=1.0):
    """COCO keypoints of an upright person: eyes at y=8, shoulders 30, hips 70, ankles 130."""
    xy = {0: (50, 10), 1: (52, 8), 2: (48, 8), 3: (55, 9), 4: (45, 9), 5: (60, 30), 6: (40, 30),
          7: (63, 45), 8: (37, 45), 9: (65, 60), 10: (35, 60), 11: (55, 70), 12: (45, 70),
          13: (55, 100), 14: (45, 100), 15: (55, 130), 16: (45, 130)}
    pose = np.zeros((17, 3))
    for k, (x, y) in xy.items():
        pose[k] = (x, y, score)
    return pose


def _boxes(pose, valid=True):
    return parts.part_boxes(HUMAN[None], pose.reshape(1, 51), np.array([valid]))[0]


def _square(cx, cy, half):
    return [cx - half, cy - half, cx + half, cy + half]


# part_boxes works in float32 on coordinates up to 140 here: joints are midpoints and weighted
# means (<= 2 eps32 of the coordinates' magnitude), the body scale a hypot of their differences
# (<= 2 more), half sizes up to 0.6 of it, then centre +- half (1 more): every output is within
# ~6 eps32 * 140 of the exact value, whatever its own size (x1 = 35 - 30.4 cancels).
HAND_ATOL = 8 * EPS32 * 140


def _near(got, want):
    np.testing.assert_allclose(got, want, rtol=0, atol=HAND_ATOL)


def test_part_boxes_hand_cases():
    pose = _standing_pose()
    body = 70 - (0.75 * 30 + 0.25 * 8)  # pelvis (hip midpoint) to upper neck
    b = _boxes(pose)
    _near(b[5], _square(50, 8, body * 1.2 / 2))  # Head: eye midpoint
    _near(b[0], _square(45, 130, body * 1.2 / 2))  # RAnk
    _near(b[4], _square(50, 70, body * 1.2 / 2))  # Hip
    _near(b[6], _square(35, 60, body * 0.9 / 2))  # RHand
    _near(b[8], _square(60, 30, body / 2))  # LSho
    # no pose, or an unreliable joint: the whole human box
    np.testing.assert_array_equal(_boxes(pose, valid=False), np.tile(HUMAN, (10, 1)))
    low = pose.copy()
    low[9, 2] = 0.1  # left wrist
    np.testing.assert_array_equal(_boxes(low)[9], HUMAN)
    np.testing.assert_array_equal(_boxes(low)[:9], b[:9])
    # no body scale (hips unreliable): limbs size their parts, the pelvis is the human box
    hips = pose.copy()
    hips[[11, 12], 2] = 0.1
    h = _boxes(hips)
    np.testing.assert_array_equal(h[4], HUMAN)
    _near(h[5], _square(50, 8, 22))  # thorax-head distance
    _near(h[6], _square(35, 60, np.hypot(5, 30)))  # wrist-shoulder
    _near(h[0], _square(45, 130, 60))  # ankle-hip, leg mean 0.7


def test_part_boxes_match_hake_rule():
    rng = np.random.default_rng(0)
    n = 300
    poses = rng.uniform(0, 200, (n, 17, 3))
    poses[..., 2] = rng.choice([0.0, 0.1, 0.19, 0.2, 0.25, 0.6, 1.0], size=(n, 17))
    human = np.concatenate([rng.uniform(0, 50, (n, 2)), rng.uniform(100, 200, (n, 2))], 1)
    got = parts.part_boxes(human, poses.reshape(n, 51), np.ones(n, bool))
    for i in range(n):
        ref = hake.output_part_box(hake.map_17_to_16(poses[i].astype(np.float32)), human[i])
        np.testing.assert_allclose(got[i], ref[:, 1:], rtol=1e-5, atol=1e-3, err_msg=str(i))


def test_clip_and_jitter():
    box = np.array([[-5.0, 10.0, 30.0, 500.0], [700.0, 5.0, 720.0, 9.0]])
    np.testing.assert_array_equal(parts.clip_to_image(box, (480, 640)),
                                  [[0, 10, 30, 479], [639, 5, 639, 9]])
    part = np.tile([[10.0, 20.0, 60.0, 90.0]], (10, 1))
    out = parts.augment_part_boxes(part, (480, 640), 6, 9, np.random.default_rng(1))
    assert out.shape == (9, 10, 4)
    np.testing.assert_array_equal(out[0], part)
    assert (jitter.box_iou_plus1(out, part[None]) > 0.7).all()
    assert len({tuple(b) for b in out[:, 0]}) > 1  # real copies, not the box repeated


def _inputs(rng, B=1, P=5, H=64, W=96):
    image = rng.normal(size=(B, H, W, 3)).astype(np.float32) * 50
    hw = np.array([[H, W]] * B)
    xy = rng.uniform(0, 40, size=(B, P, 2, 2))
    hb = np.concatenate([xy[..., 0, :], xy[..., 0, :] + rng.uniform(8, 40, (B, P, 2))], -1)
    ob = np.concatenate([xy[..., 1, :], xy[..., 1, :] + rng.uniform(8, 40, (B, P, 2))], -1)
    centre = rng.uniform(0, 60, (B, P, 10, 2))
    pb = np.concatenate([centre, centre + rng.uniform(4, 20, (B, P, 10, 2))], -1)
    pat = (rng.integers(0, 21, size=(B, P, 64, 64, 3)) / 20).astype(np.float32)
    return [jnp.asarray(a, jnp.float32) for a in (image, hw, hb, ob, pat, pb)]


def _config(name):
    from configs import rcd, rcd3
    c = {"rcd": rcd, "rcd3": rcd3}[name].get_config()
    m = c.model
    cfg = TINConfig(part_level=m.part_level, hoi_classifier=m.hoi_classifier,
                    d_negative_copy=m.d_negative_copy, width=4, resnet_units=(1, 1, 1, 1), fc_dim=16,
                    spatial_width=8)
    return cfg, tuple(c.loss.terms)


def _abs_sum(tree):
    return sum(float(jnp.abs(x).sum()) for x in jax.tree.leaves(tree))


@pytest.mark.parametrize("name", ["rcd", "rcd3"])
def test_variant_forward_and_backward(name):
    cfg, terms = _config(name)
    model = TIN(cfg, rngs=nnx.Rngs(0, dropout=1))
    image, hw, hb, ob, pat, pb = _inputs(np.random.default_rng(0))
    P = hb.shape[1]
    batch = dict(labels=jnp.zeros((1, P, 600)).at[:, :3, 1].set(1),
                 binary=jnp.zeros((1, P, 2)).at[:, :3, 0].set(1).at[:, 3:, 1].set(1),
                 pair_mask=jnp.ones((1, P)), num_pos=jnp.array([3]))

    def loss_fn(m):
        out = m(image, hw, hb, ob, pat, part_boxes=pb, positive=jnp.arange(P)[None] < 3, train=True)
        return losses.hico_loss(out, batch, np.ones(600, np.float32), terms=terms)

    # jitted: one program each (op-by-op dispatch compiles every op apart: several times slower)
    (loss, terms_out), grads = nnx.jit(nnx.value_and_grad(loss_fn, has_aux=True))(model)
    assert np.isfinite(float(loss)) and {"binary", "binary_part", "consistency"} <= set(terms_out)
    assert ("sp" in terms_out) == (name == "rcd")
    assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(grads))
    g = grads["parts"]
    for layer in ("dim_red_head", "fully_connected", "fully_connected_2", "binary_cls_all"):
        assert _abs_sum(g[layer]) > 0, layer
    assert _abs_sum(grads["backbone"]["block3"]) > 0
    forward = nnx.jit(lambda m, pb: m(image, hw, hb, ob, pat, part_boxes=pb))
    out = forward(model, pb)
    assert out["binary_part"].shape == out["binary"].shape == (1, P, 2)
    # without part boxes every part is the human box
    np.testing.assert_allclose(
        nnx.jit(lambda m: m(image, hw, hb, ob, pat))(model)["binary_part"],
        forward(model, jnp.repeat(hb[:, :, None], 10, axis=2))["binary_part"], rtol=1e-6)


def test_padded_pairs_do_not_change_real_pairs():
    """Whatever the pad rows hold (the pipeline pads with zeros), the real rows' outputs
    stay the same (same shapes as above: nothing new to compile)."""
    cfg, _ = _config("rcd")
    model = TIN(cfg, rngs=nnx.Rngs(0, dropout=1))
    image, hw, hb, ob, pat, pb = _inputs(np.random.default_rng(3))
    _, _, hb2, ob2, pat2, pb2 = _inputs(np.random.default_rng(4))
    pad = lambda a, b: a.at[:, 3:].set(b[:, 3:])
    real = model(image, hw, hb, ob, pat, part_boxes=pb)
    padded = model(image, hw, pad(hb, hb2), pad(ob, ob2), pad(pat, pat2), part_boxes=pad(pb, pb2))
    for k in real:
        np.testing.assert_allclose(padded[k][:, :3], real[k][:, :3], rtol=1e-5, atol=1e-6, err_msg=k)
        assert float(jnp.abs(padded[k][:, 3:] - real[k][:, 3:]).max()) > 0, k


def _tf_part_loss(zb, zb_all, label, bw):
    """TIN_HICO_with_part.add_loss for ONE image (rows beyond the real pairs cut)."""
    ce = tf.nn.sigmoid_cross_entropy_with_logits
    w, w_all = zb * bw, zb_all * bw
    b = tf.reduce_mean(ce(labels=label, logits=w))
    b_all = tf.reduce_mean(ce(labels=label, logits=w_all))
    mse = tf.compat.v1.losses.mean_squared_error(w, w_all)
    return {"binary": b.numpy(), "binary_part": b_all.numpy(), "consistency": mse.numpy()}


def _bounded_part_loss(zb, zb_all, label, bw):
    """The float32 error bound of the same terms for one image (at most 160 terms: worst case)."""
    w, w_all = Bounded(zb) * bw, Bounded(zb_all) * bw
    d = w - w_all
    return {"binary": sigmoid_ce(label, w).mean(), "binary_part": sigmoid_ce(label, w_all).mean(),
            "consistency": (d * d).mean()}


def test_part_loss_matches_original():
    rng = np.random.default_rng(0)
    n_rows, num_pos, P = [20, 7, 80], [16, 7, 20], 80
    mask = (np.arange(P)[None] < np.array(n_rows)[:, None]).astype(np.float32)
    logits = {k: rng.normal(size=(3, P, 2)).astype(np.float32) * 3 for k in ("binary", "binary_part")}
    binary = np.zeros((3, P, 2), np.uint8)
    for b in range(3):
        binary[b, :num_pos[b], 0] = 1
        binary[b, num_pos[b]:n_rows[b], 1] = 1
        for k in logits:
            logits[k][b, n_rows[b]:] = 1e3  # garbage in padded rows must not matter
    batch = dict(labels=np.zeros((3, P, 600), np.uint8), binary=binary, pair_mask=mask,
                 num_pos=np.array(num_pos))
    bw = np.array(losses.BINARY_WEIGHT_HICO, np.float32)
    terms = ("binary", "binary_part", "consistency")
    total, got = losses.hico_loss(logits, batch, np.ones(600, np.float32), terms=terms)
    args = [[np.asarray(a, np.float64) for a in (logits["binary"][b, :n], logits["binary_part"][b, :n],
                                                 binary[b, :n], bw)] for b, n in enumerate(n_rows)]
    ref = [_tf_part_loss(*a) for a in args]  # TF in float64
    bounds = [_bounded_part_loss(*a) for a in args]
    assert set(got) == set(terms)  # no HOI heads, no HOI terms
    want = {}
    for k in terms:
        want[k] = stack([r[k] for r in bounds]).mean()
        tf_value = np.mean([r[k] for r in ref])
        if k == "consistency":  # tf.compat.v1.losses casts to float32: a float32 evaluation too
            assert_within(tf_value, want[k], err_msg=k)
        else:
            np.testing.assert_allclose(want[k].value, tf_value, rtol=1e-12, err_msg=k)  # TF's value
        assert_within(got[k], want[k], err_msg=k)
    assert_within(total, sum(want.values()))


def test_training_batch_carries_part_boxes(hico_dir):
    cfg = ip.PipelineConfig(data_dir=hico_dir, seed=5, shuffle=False, part_boxes=True)
    records = {r.image_id: r for r, _ in ip.iterate_records(hico_dir, "train")}
    ds, facts = ip.train_dataset(cfg)
    small, _ = ip.train_dataset(dataclasses.replace(cfg, max_long_side=96))
    for b, s in zip(ds.take(3).as_numpy_iterator(), small.take(3).as_numpy_iterator()):
        n, num_pos = int(b["pair_mask"][0].sum()), int(b["num_pos"][0])
        pb = b["part_boxes"][0]
        assert pb.shape == (facts["max_pairs"], 10, 4) and not pb[n:].any()
        rec = records[int(b["image_id"][0])]
        hw = tuple(b["image_hw"][0])
        first = int(b["chunk"][0]) * 5  # the chunk's first GT pair, row 0 un-jittered
        gt = parts.clip_to_image(parts.part_boxes(rec.gt.human_boxes[first:first + 1],
                                                  rec.gt.poses[first:first + 1],
                                                  rec.gt.pose_valid[first:first + 1])[0], hw)
        np.testing.assert_array_equal(pb[0], gt)
        neg = parts.clip_to_image(parts.part_boxes(rec.neg.human_boxes, rec.neg.poses,
                                                   rec.neg.pose_valid), hw)
        for row in pb[num_pos:n]:
            assert any(np.array_equal(row, x) for x in neg)
        np.testing.assert_allclose(s["part_boxes"], b["part_boxes"] * s["scale"][0], rtol=1e-6)


def test_train_rcd3_runlocal_two_steps(hico_dir, tmp_path):
    from tests.test_train import TINY, _env
    cmd = [sys.executable, "train.py", "--config", "configs/rcd3.py:runlocal", "--workdir",
           str(tmp_path), f"--config.data.dir={hico_dir}", *TINY, "--config.total_steps=2",
           "--config.log_every=1", "--config.checkpoint_every=2"]
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    last = [json.loads(l) for l in open(os.path.join(tmp_path, "metrics.jsonl"))][-1]
    assert last["step"] == 2 and np.isfinite(last["loss"])
    assert {"loss_binary", "loss_binary_part", "loss_consistency"} <= set(last)
    assert "loss_sp" not in last


def test_inference_feeds_part_boxes(hico_dir):
    """The test-time packing gives the model each pair's human part boxes (from the
    detection's pose, unclipped as the original's), scaled like the other boxes."""
    from tin_jax.inference import runner
    from tin_jax.state import model as state_model
    item = next(it for it in runner.test_items(hico_dir, 0.0, 0.0) if len(it.human_boxes))
    n = len(item.human_boxes)
    no_pose = runner.PairItem(item.encoded, item.height, item.width, item.human_boxes,
                                 item.object_boxes, [None] * n)
    echo = lambda image, hw, hb, ob, pat, pb, hi, oi: dict(hb=hb if hi is None else jnp.take_along_axis(
        hb, hi[..., None], axis=1), pb=pb)
    scale = min(1.0, 96 / max(item.height, item.width))
    assert any(p is not None for p in item.poses)
    for boxes_per_slot in (0, 2):  # per-pair boxes, and tables of distinct boxes
        got = runner.run_items(echo, [item, no_pose], mesh=state_model.make_mesh(), max_long_side=96,
                                  buckets=((96, 96),), boxes_per_slot=boxes_per_slot)
        np.testing.assert_allclose(got[0]["hb"], item.human_boxes * scale, rtol=1e-6)
        np.testing.assert_allclose(got[0]["pb"], parts.part_boxes_of(item.human_boxes, item.poses) * scale,
                                   rtol=1e-6)
        np.testing.assert_allclose(got[1]["pb"], np.repeat(got[1]["hb"][:, None], 10, axis=1), rtol=1e-6)
