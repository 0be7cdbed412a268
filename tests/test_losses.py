"""TIN's losses against a TensorFlow transcription of the original ``add_loss``."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tests.tolerances import EPS32, Bounded, assert_within, sigmoid_ce, stack
from tin_jax.models import losses


def _tf_hico_loss(zH, zO, zsp, zb, labels, binary, h_num, w, bw):
    """TIN_HICO.add_loss for ONE image (rows beyond the real pairs already cut)."""
    ce = tf.nn.sigmoid_cross_entropy_with_logits
    b = tf.reduce_mean(ce(labels=binary, logits=zb * bw))
    H = tf.reduce_mean(ce(labels=labels[:h_num], logits=(zH * w)[:h_num]))
    O = tf.reduce_mean(ce(labels=labels[:h_num], logits=(zO * w)[:h_num]))
    sp = tf.reduce_mean(ce(labels=labels, logits=zsp * w))
    return {"H": H.numpy(), "O": O.numpy(), "sp": sp.numpy(), "binary": b.numpy()}


def _tf_vcoco_loss(zH, zO, zsp, zb, label_H, label_HO, label_sp, binary, h_num, hw, how, bw):
    """TIN_VCOCO.add_loss for one image (masks as the original builds them)."""
    ce = tf.nn.sigmoid_cross_entropy_with_logits
    mask = np.ones(29, np.float32)
    mask[[3, 17, 22, 27]] = 0
    H = tf.reduce_mean(ce(labels=label_H[:h_num], logits=(zH * hw)[:h_num]))
    HO = tf.reduce_mean(ce(labels=label_HO[:h_num], logits=(zO * how)[:h_num]) * mask)
    sp = tf.reduce_mean(ce(labels=label_sp, logits=zsp) * mask)
    b = tf.reduce_mean(ce(labels=binary, logits=zb * bw))
    return {"H": H.numpy(), "HO": HO.numpy(), "sp": sp.numpy(), "binary": b.numpy()}


def _f64(*arrays):
    return [np.asarray(a, np.float64) for a in arrays]


# Float32 error bounds of the same per-image terms (float64 values). Each HOI term is a mean of
# rows x classes (up to 48000) cross-entropies: the worst case n * eps32 (~1e-2) would hide real
# bugs, so those long means take the "random" model (C * sqrt(n) eps32, see tolerances.growth);
# D's term has at most 160 and keeps the worst case.
def _bounded_hico_loss(zH, zO, zsp, zb, labels, binary, h_num, w, bw):
    return {"H": sigmoid_ce(labels[:h_num], Bounded(zH[:h_num]) * w).mean(model="random"),
            "O": sigmoid_ce(labels[:h_num], Bounded(zO[:h_num]) * w).mean(model="random"),
            "sp": sigmoid_ce(labels, Bounded(zsp) * w).mean(model="random"),
            "binary": sigmoid_ce(binary, Bounded(zb) * bw).mean()}


def _bounded_vcoco_loss(zH, zO, zsp, zb, label_H, label_HO, label_sp, binary, h_num, hw, how, bw):
    mask = np.ones(29)
    mask[[3, 17, 22, 27]] = 0
    return {"H": sigmoid_ce(label_H[:h_num], Bounded(zH[:h_num]) * hw).mean(model="random"),
            "HO": (sigmoid_ce(label_HO[:h_num], Bounded(zO[:h_num]) * how) * mask).mean(model="random"),
            "sp": (sigmoid_ce(label_sp, Bounded(zsp)) * mask).mean(model="random"),
            "binary": sigmoid_ce(binary, Bounded(zb) * bw).mean()}


def _batch_mean(ref64, bounds, k):
    """The batch's mean of term k: TF's float64 value, with the float32 bound of our evaluation."""
    b = stack([r[k] for r in bounds]).mean()
    value = np.mean([r[k] for r in ref64])
    np.testing.assert_allclose(b.value, value, rtol=1e-12, err_msg=k)  # the bound's value is TF's
    return Bounded(value, b.err)


def _batch(rng, n_rows, num_pos, P, C):
    B = len(n_rows)
    logits = {k: rng.normal(size=(B, P, C)).astype(np.float32) * 3 for k in ("H", "O", "sp")}
    logits["binary"] = rng.normal(size=(B, P, 2)).astype(np.float32) * 3
    labels = (rng.random((B, P, C)) < 0.1).astype(np.uint8)
    person = (rng.random((B, P, C)) < 0.2).astype(np.uint8)
    mask = (np.arange(P)[None] < np.array(n_rows)[:, None]).astype(np.float32)
    binary = np.zeros((B, P, 2), np.uint8)
    for b in range(B):
        binary[b, :num_pos[b], 0] = 1
        binary[b, num_pos[b]:n_rows[b], 1] = 1
    # garbage in padded rows must not matter
    for k in logits:
        logits[k][mask == 0] = 1e3
    return logits, dict(labels=labels, person_labels=person, binary=binary, pair_mask=mask,
                        num_pos=np.array(num_pos))


def test_hico_loss_matches_original():
    rng = np.random.default_rng(0)
    n_rows, num_pos, P, C = [20, 7, 80], [16, 7, 20], 80, 600
    logits, batch = _batch(rng, n_rows, num_pos, P, C)
    w = losses.class_weights(rng.integers(0, 500, C))
    bw = np.array(losses.BINARY_WEIGHT_HICO, np.float32)
    total, parts = losses.hico_loss(logits, batch, w)
    args = [(*_f64(*(logits[k][b, :n] for k in ("H", "O", "sp", "binary")),
                   batch["labels"][b, :n], batch["binary"][b, :n]), num_pos[b], *_f64(w, bw))
            for b, n in enumerate(n_rows)]
    ref = [_tf_hico_loss(*a) for a in args]  # TF in float64
    bounds = [_bounded_hico_loss(*a) for a in args]
    want = {k: _batch_mean(ref, bounds, k) for k in parts}
    for k in parts:
        assert_within(parts[k], want[k], err_msg=k)
    assert_within(total, sum(want.values()))
    # TRAIN_MODULE=2 (HOI only) and 3 (D only)
    np.testing.assert_allclose(losses.hico_loss(logits, batch, w, terms=("binary",))[0],
                               parts["binary"], rtol=1e-6)


def test_vcoco_loss_matches_original():
    rng = np.random.default_rng(1)
    n_rows, num_pos, P, C = [30, 16], [16, 16], 80, 29
    logits, batch = _batch(rng, n_rows, num_pos, P, C)
    batch["labels"][:, :, [3, 17, 22, 27]] = 0
    how = losses.class_weights(rng.integers(1, 100, C))
    how[[3, 17, 22, 27]] = 0
    hw = losses.class_weights(rng.integers(1, 100, C))
    bw = np.array(losses.BINARY_WEIGHT_VCOCO, np.float32)
    total, parts = losses.vcoco_loss(logits, batch, how, hw)
    ref, bounds = [], []
    for b, n in enumerate(n_rows):
        lab = batch["labels"][b, :n].astype(np.float32)
        sp_lab = lab.copy()
        sp_lab[num_pos[b]:] = 0  # negatives: all-zero 29-d labels
        args = (*_f64(*(logits[k][b, :n] for k in ("H", "O", "sp", "binary")),
                      batch["person_labels"][b, :n], lab, sp_lab, batch["binary"][b, :n]),
                num_pos[b], *_f64(hw, how, bw))
        ref.append(_tf_vcoco_loss(*args))  # TF in float64
        bounds.append(_bounded_vcoco_loss(*args))
    batch["labels"][0, num_pos[0]:] = 0
    batch["labels"][1, num_pos[1]:] = 0
    total, parts = losses.vcoco_loss(logits, batch, how, hw)
    for k in parts:
        assert_within(parts[k], _batch_mean(ref, bounds, k), err_msg=k)
    # the same float32 sum of four positive terms: within 4 roundings of the result
    expect = 2 * parts["H"] + parts["HO"] + parts["sp"] + parts["binary"]
    np.testing.assert_allclose(total, expect, rtol=1e-6)


def test_class_weights_follow_log_ratio():
    w = losses.class_weights([1, 2, 4, 0], total=16.0)
    np.testing.assert_allclose(w, np.log([16, 8, 4, 16]), rtol=1e-6)
    # consecutive ln2 steps, as in the original's hard-coded vector
    # each rounded to float32 (eps32/2 of its magnitude); their difference is exact (Sterbenz)
    assert w[0] - w[1] == pytest.approx(np.log(2), abs=EPS32 / 2 * (abs(w[0]) + abs(w[1])))
