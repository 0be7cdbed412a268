"""The TIN network: every variant runs forward and backward; padding and D semantics."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from tin_jax.models import losses
from tin_jax.models.resnet import FrozenStat
from tin_jax.models.tin import TIN, TINConfig, hoi_scores

VARIANTS = {
    "default_hico": dict(),
    "rc_d_no_interactiveness": dict(interactiveness=False),
    "d_without_pose_map": dict(pose_map=False),
    "vcoco": dict(dataset="vcoco", num_classes=29),
}


def _inputs(rng, B=2, P=6, H=80, W=112):
    image = rng.normal(size=(B, H, W, 3)).astype(np.float32) * 50
    hw = np.array([[H, W], [H - 17, W - 30]])[:B]
    for b in range(B):
        image[b, hw[b, 0]:] = 0
        image[b, :, hw[b, 1]:] = 0
    xy = rng.uniform(0, 40, size=(B, P, 2, 2))
    boxes = np.concatenate([xy[..., 0, :], xy[..., 0, :] + rng.uniform(8, 40, size=(B, P, 2))], -1)
    obj = np.concatenate([xy[..., 1, :], xy[..., 1, :] + rng.uniform(8, 40, size=(B, P, 2))], -1)
    patterns = (rng.integers(0, 21, size=(B, P, 64, 64, 3)) / 20).astype(np.float32)
    return [jnp.asarray(a) for a in (image, hw, boxes.astype(np.float32), obj.astype(np.float32), patterns)]


def _tiny(**kw):
    return TINConfig(width=8, fc_dim=64, **kw)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_forward_and_backward(name):
    cfg = _tiny(**VARIANTS[name])
    model = TIN(cfg, rngs=nnx.Rngs(0, dropout=1))
    image, hw, hb, ob, pat = _inputs(np.random.default_rng(0))
    B, P = hb.shape[:2]
    batch = dict(labels=jnp.zeros((B, P, cfg.num_classes)).at[:, :3, 1].set(1),
                 person_labels=jnp.zeros((B, P, cfg.num_classes)).at[:, :3, 2].set(1),
                 binary=jnp.zeros((B, P, 2)).at[:, :3, 0].set(1).at[:, 3:, 1].set(1),
                 pair_mask=jnp.ones((B, P)), num_pos=jnp.array([3, 3]))
    w = np.ones(cfg.num_classes, np.float32)

    def loss_fn(m):
        out = m(image, hw, hb, ob, pat, positive=jnp.arange(P)[None] < 3, train=True)
        if cfg.dataset == "hico":
            return losses.hico_loss(out, batch, w)[0]
        return losses.vcoco_loss(out, batch, w, w)[0]

    loss, grads = nnx.value_and_grad(loss_fn)(model)
    assert np.isfinite(float(loss))
    g = jax.tree.leaves(grads)
    assert g and all(np.isfinite(np.asarray(x)).all() for x in g)
    # gradients reach the classifier and the trainable backbone
    assert float(jnp.abs(grads["cls_score_sp"]["kernel"][...]).sum()) > 0
    assert float(jnp.abs(grads["backbone"]["block3"]["unit_1"]["conv2"]["conv"]["kernel"][...]).sum()) > 0
    out = model(image, hw, hb, ob, pat)
    assert out["H"].shape == (B, P, cfg.num_classes)
    assert ("binary" in out) == cfg.interactiveness


def _random_stats(model, seed):
    rng = np.random.default_rng(seed)
    graphdef, params, stats, rest = nnx.split(model, nnx.Param, FrozenStat, ...)
    stats = jax.tree.map(lambda v: jnp.asarray(rng.uniform(0.5, 1.5, v.shape), jnp.float32), stats)
    return nnx.merge(graphdef, params, stats, rest)


def test_padding_to_a_bucket_does_not_change_outputs():
    """Attention softmax and the context mean must ignore the padded feature positions."""
    model = _random_stats(TIN(_tiny(), rngs=nnx.Rngs(0, dropout=1)), 3)
    image, hw, hb, ob, pat = _inputs(np.random.default_rng(5), B=1)
    h, w = int(hw[0, 0]), int(hw[0, 1])
    alone = model(image[:, :h, :w], hw, hb, ob, pat)
    padded_image = jnp.zeros((1, h + 45, w + 70, 3)).at[:, :h, :w].set(image[:, :h, :w])
    padded = model(padded_image, hw, hb, ob, pat)
    for k in alone:
        scale = float(jnp.abs(alone[k]).max())
        np.testing.assert_allclose(padded[k], alone[k], rtol=0, atol=1e-5 * scale, err_msg=k)


def test_negative_copy_trick_only_changes_negatives_in_training():
    model = TIN(_tiny(), rngs=nnx.Rngs(0, dropout=1))
    image, hw, hb, ob, pat = _inputs(np.random.default_rng(2), B=1)
    P = hb.shape[1]
    positive = jnp.arange(P)[None] < 2
    plain = model(image, hw, hb, ob, pat)["binary"]
    trick = model(image, hw, hb, ob, pat, positive=positive)["binary"]
    np.testing.assert_allclose(trick[:, :2], plain[:, :2], rtol=1e-5)
    assert float(jnp.abs(trick[:, 2:] - plain[:, 2:]).max()) > 1e-6
    off = TIN(_tiny(d_negative_copy=False), rngs=nnx.Rngs(0, dropout=1))
    np.testing.assert_allclose(off(image, hw, hb, ob, pat, positive=positive)["binary"],
                               off(image, hw, hb, ob, pat)["binary"], rtol=1e-6)


def test_hoi_score_is_late_fusion():
    z = {k: jnp.asarray(np.random.default_rng(4).normal(size=(3, 600)), jnp.float32)
         for k in ("H", "O", "sp")}
    s = 1 / (1 + np.exp(-np.asarray(z["sp"])))
    expect = s * (1 / (1 + np.exp(-np.asarray(z["H"]))) + 1 / (1 + np.exp(-np.asarray(z["O"]))))
    np.testing.assert_allclose(hoi_scores(z), expect, rtol=1e-5)
