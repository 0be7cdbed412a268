"""Optimiser pieces against TensorFlow's own implementations of the original's choices."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest
import tensorflow as tf

from tests.tolerances import EPS32, FUNC_ULPS, Bounded, assert_within
from tin_jax.training import optim


@pytest.mark.parametrize("t_mul", [2.0, 1.0, 1.5])
def test_cosine_restarts_match_tensorflow(t_mul):
    sched = optim.cosine_decay_restarts(0.001, 80, t_mul)
    steps = [0, 1, 40, 79, 80, 81, 200, 239, 240, 241, 559, 560, 561, 1199, 1200, 2000]
    ours = np.array([float(sched(s)) for s in steps])
    ref = np.array([float(tf.compat.v1.train.cosine_decay_restarts(0.001, s, 80, t_mul=t_mul)())
                    for s in steps])  # float32: TF's schedule takes no float64 learning rate
    # Both evaluate lr/2 * (1 + cos(pi * f)) in float32; f = (step/80 - sum_r) / t_mul^i comes
    # from a division, a log, powers and a subtraction of terms up to step/80 + 1, so it is off
    # by up to ~(2 * FUNC_ULPS + 2) eps32 of those; cos adds FUNC_ULPS eps32 of lr/2, and the
    # final products 3 eps32 of the value. Each side can be that far from the exact value.
    arg_err = math.pi * (2 * FUNC_ULPS + 2) * EPS32 * (np.array(steps) / 80 + 1)
    tol = 2 * (0.001 / 2 * (arg_err + FUNC_ULPS * EPS32) + 3 * EPS32 * np.abs(ref))
    assert (np.abs(ours - ref) <= tol).all(), (ours, ref, tol)


def test_exponential_staircase_matches_tensorflow():
    cfg = ml_collections.ConfigDict(dict(schedule="exponential", lr=2e-6, decay_steps=20000,
                                         decay_rate=0.96))
    sched = optim.make_schedule(cfg)
    for s in [0, 19999, 20000, 45000, 100000]:
        ref = tf.compat.v1.train.exponential_decay(2e-6, s, 20000, 0.96, staircase=True)()
        # both float32 (TF's takes no float64 rate): lr and 0.96 rounded (eps32/2 each, the
        # latter k times in 0.96^k), pow (FUNC_ULPS eps32), the product (eps32), on each side
        k = s // 20000
        rel = 2 * (FUNC_ULPS + 1.5 + k / 2) * EPS32
        assert float(sched(s)) == pytest.approx(float(ref), rel=rel)
        assert float(sched(s)) == pytest.approx(2e-6 * 0.96 ** k, rel=rel / 2)  # float64, exact


def test_per_variable_clip_matches_tf_clip_by_norm():
    rng = np.random.default_rng(0)
    grads = {"a": rng.normal(size=(3, 4)).astype(np.float32) * 5, "b": np.full((2,), 0.1, np.float32)}
    out, _ = optim.clip_each_by_norm(1.0).update(jax.tree.map(jnp.asarray, grads), optax.EmptyState())
    for k in grads:
        ref = tf.clip_by_norm(grads[k].astype(np.float64), 1.0).numpy()  # TF in float64
        bound = _clipped(Bounded(grads[k]))
        np.testing.assert_allclose(bound.value, ref, rtol=1e-12)  # the bound's value is TF's rule
        assert_within(out[k], bound, err_msg=k)


def _clipped(g: Bounded) -> Bounded:
    """g * (1 / max(||g||, 1)), with the float32 error bound: the norm is a sum of squares
    (no cancellation), then sqrt, a division and a product."""
    norm = (g * g).sum().sqrt()
    if norm.value - norm.err <= 1:
        assert norm.value + norm.err < 1, "too close to the clipping threshold to bound"
        return g * 1.0
    return g * (1.0 / norm)


def test_momentum_sgd_matches_tf_momentum_optimizer():
    """A few steps of the whole chain vs TF1's MomentumOptimizer + per-variable clipping."""
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=(4, 3)).astype(np.float32)
    grads = [rng.normal(size=(4, 3)).astype(np.float32) * 3 for _ in range(4)]
    cfg = ml_collections.ConfigDict(dict(schedule="constant", lr=0.1, momentum=0.9, clip_norm=1.0,
                                         weight_decay=0.0, fixed_blocks=1, train_only="", freeze=""))
    params = {"head": {"w": jnp.asarray(w0)}, "backbone": {"block1": {"w": jnp.asarray(w0)}}}
    tx, _, mask = optim.make_optimizer(cfg, params)
    assert mask == {"head": {"w": True}, "backbone": {"block1": {"w": False}}}
    state = tx.init(params)
    for g in grads:
        upd, state = tx.update({"head": {"w": jnp.asarray(g)}, "backbone": {"block1": {"w": jnp.asarray(g)}}},
                               state, params)
        params = optax.apply_updates(params, upd)
    var = tf.Variable(w0.astype(np.float64))  # TF in float64: the reference
    opt = tf.compat.v1.train.MomentumOptimizer(0.1, 0.9)
    for g in grads:
        opt.apply_gradients([(tf.clip_by_norm(tf.constant(g.astype(np.float64)), 1.0), var)])
    # The same chain with float32's error bound: w - lr * acc cancels (|w| ~ 1, updates ~ 0.1),
    # so the bound follows |w| and |lr * acc|, not the result. Both sides use lr and momentum
    # rounded to float32 (TF casts its float32 constants to the variable's dtype).
    w, acc = Bounded(w0), Bounded(np.zeros_like(w0))
    for g in grads:
        acc = _clipped(Bounded(g)) + Bounded(np.float32(0.9)) * acc
        w = w + -Bounded(np.float32(0.1)) * acc
    np.testing.assert_allclose(w.value, var.numpy(), rtol=1e-12)  # the bound's value is TF's rule
    assert_within(params["head"]["w"], Bounded(var.numpy(), w.err))
    np.testing.assert_array_equal(params["backbone"]["block1"]["w"], w0)  # frozen: untouched


def test_frozen_predicate():
    cfg = ml_collections.ConfigDict(dict(fixed_blocks=1, train_only="", freeze="classification"))
    f = optim.frozen_predicate(cfg)
    assert f("backbone/conv1/conv/kernel") and f("backbone/block1/unit_1/conv1/conv/kernel")
    assert not f("backbone/block2/unit_1/conv1/conv/kernel") and not f("backbone/block4/unit_1/conv1/conv/kernel")
    assert not f("fc8_binary_1/kernel") and f("classification/x")
    d_only = optim.frozen_predicate(ml_collections.ConfigDict(dict(fixed_blocks=1, train_only="binary", freeze="")))
    assert not d_only("fc8_binary_1/kernel") and d_only("fc8_SH/fc/kernel")


def test_stop_frozen_gradients_keeps_trainable_gradients_and_prunes_the_frozen_backward():
    """A 3-layer chain x -> A -> B -> C with A frozen: B's and C's gradients are the plain
    ones (numpy chain rule), A's are zeros, and the compiled gradient program no longer
    contains A's weight gradient (fewer FLOPs in XLA's cost analysis)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 32)).astype(np.float32)
    params = {"A": rng.normal(size=(32, 32)).astype(np.float32) / 6,
              "B": rng.normal(size=(32, 32)).astype(np.float32) / 6,
              "C": rng.normal(size=(32, 1)).astype(np.float32) / 6}
    frozen = lambda path: path == "A"

    def loss(p):
        return jnp.sum(jnp.tanh(jnp.tanh(x @ p["A"]) @ p["B"]) @ p["C"])

    def loss_stopped(p):
        return loss(optim.stop_frozen_gradients(p, frozen))

    g = jax.grad(loss_stopped)(jax.tree.map(jnp.asarray, params))
    # float64 chain rule, with the error bound a float32 evaluation of it can have: the sums
    # over 32 and 64 terms cancel (g["C"] is a sum of 64 tanh values of either sign), so the
    # bound follows the terms' magnitudes, not the result's.
    a = (Bounded(x) @ params["A"]).tanh()
    b = (a @ params["B"]).tanh()
    assert_within(g["C"], b.sum(0)[:, None])
    assert_within(g["B"], a.T @ ((1 - b * b) * params["C"].T))
    np.testing.assert_array_equal(g["A"], np.zeros_like(params["A"]))
    cost = lambda f: jax.jit(jax.grad(f)).lower(params).compile().cost_analysis()["flops"]
    assert cost(loss_stopped) < cost(loss) - 2 * 64 * 32 * 32 * 0.9  # A's weight gradient is gone
