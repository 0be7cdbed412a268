"""TIN's losses against a TensorFlow transcription of the original ``add_loss``."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

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
    ref = [_tf_hico_loss(*(logits[k][b, :n] for k in ("H", "O", "sp", "binary")),
                         batch["labels"][b, :n].astype(np.float32),
                         batch["binary"][b, :n].astype(np.float32), num_pos[b], w, bw)
           for b, n in enumerate(n_rows)]
    for k in parts:
        np.testing.assert_allclose(parts[k], np.mean([r[k] for r in ref]), rtol=1e-5)
    np.testing.assert_allclose(total, sum(np.mean([r[k] for r in ref]) for k in parts), rtol=1e-5)
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
    ref = []
    for b, n in enumerate(n_rows):
        lab = batch["labels"][b, :n].astype(np.float32)
        sp_lab = lab.copy()
        sp_lab[num_pos[b]:] = 0  # negatives: all-zero 29-d labels
        ref.append(_tf_vcoco_loss(*(logits[k][b, :n] for k in ("H", "O", "sp", "binary")),
                                  batch["person_labels"][b, :n].astype(np.float32), lab, sp_lab,
                                  batch["binary"][b, :n].astype(np.float32), num_pos[b], hw, how, bw))
    batch["labels"][0, num_pos[0]:] = 0
    batch["labels"][1, num_pos[1]:] = 0
    total, parts = losses.vcoco_loss(logits, batch, how, hw)
    for k in parts:
        np.testing.assert_allclose(parts[k], np.mean([r[k] for r in ref]), rtol=1e-5, err_msg=k)
    expect = 2 * parts["H"] + parts["HO"] + parts["sp"] + parts["binary"]
    np.testing.assert_allclose(total, expect, rtol=1e-6)


def test_class_weights_follow_log_ratio():
    w = losses.class_weights([1, 2, 4, 0], total=16.0)
    np.testing.assert_allclose(w, np.log([16, 8, 4, 16]), rtol=1e-6)
    # consecutive ln2 steps, as in the original's hard-coded vector
    assert w[0] - w[1] == pytest.approx(np.log(2), rel=1e-6)
