"""The TIN network: every variant runs forward and backward; padding and D semantics."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from tests.tolerances import Bounded, assert_within
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
    return TINConfig(width=8, resnet_units=(1, 1, 1, 1), fc_dim=64, spatial_width=8, **kw)


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
    sig = lambda k: Bounded(np.asarray(z[k])).sigmoid()  # float64, with float32's error bound
    expect = sig("sp") * (sig("H") + sig("O"))
    assert_within(hoi_scores(z), expect)


def _direct_context_numpy(att, head_g, kernel, bias, valid):
    """The original's order (iCAN ``bottleneck``): per pair, relu(conv1x1(head_g * att)),
    then the mean over the valid positions. float64 numpy."""
    att, head_g, kernel, bias = (np.asarray(a, np.float64) for a in (att, head_g, kernel, bias))
    B, P = att.shape[:2]
    out = np.zeros((B, P, kernel.shape[1]))
    for b in range(B):
        for p in range(P):
            x = np.maximum((head_g[b] * att[b, p][..., None]) @ kernel + bias, 0)
            out[b, p] = x[np.asarray(valid[b])].mean(axis=0)
    return out


def _context_inputs(seed, B=2, P=5, h=6, w=7, c=12, d=16):
    rng = np.random.default_rng(seed)
    valid = np.zeros((B, h, w), bool)
    valid[0] = True
    valid[1, :4, :5] = True
    logits = np.where(valid[:, None], rng.normal(size=(B, P, h, w)), -np.inf)
    att = np.exp(logits - logits.max(axis=(2, 3), keepdims=True))
    att = (att / att.sum(axis=(2, 3), keepdims=True)).astype(np.float32)
    head_g = np.maximum(rng.normal(size=(B, h, w, c)), 0).astype(np.float32)
    kernel = rng.normal(size=(c, d)).astype(np.float32)
    bias = (rng.normal(size=(d,)) * 0.05).astype(np.float32)  # some units stay negative
    return att, head_g, kernel, bias, valid


def test_attended_mean_is_the_originals_bottleneck_context():
    from tin_jax.models.tin import attended_mean
    att, head_g, kernel, bias, valid = _context_inputs(0)
    got = attended_mean(jnp.asarray(att), jnp.einsum("bhwc,cd->bhwd", head_g, kernel),
                        jnp.asarray(bias), jnp.asarray(valid))
    want = _direct_context_numpy(att, head_g, kernel, bias, valid)
    assert (want == 0).any() and (want > 0).any()  # the ReLU is active both ways
    # The factored form's float32 error bound: W g sums 12 products of either sign, a * Wg + b
    # cancels where the bias offsets it, then a mean over <= 42 positions.
    head_w = Bounded(head_g) @ kernel
    x = (head_w[:, None] * att[..., None] + bias).relu() * valid[:, None, :, :, None]
    bound = x.sum(axis=(2, 3)) / valid.sum(axis=(1, 2)).astype(np.float64)[:, None, None]
    np.testing.assert_allclose(bound.value, want, rtol=1e-12, atol=1e-15)  # the original's order
    assert_within(np.asarray(got), Bounded(want, bound.err))


def test_attended_mean_gradients_equal_the_direct_forms():
    """Gradients w.r.t. the attention, head_g, the kernel and the bias through the factored
    form equal those of the original's order (written directly in jnp here)."""
    from tin_jax.models.tin import attended_mean
    att, head_g, kernel, bias, valid = (jnp.asarray(a) for a in _context_inputs(1))
    r = jnp.asarray(np.random.default_rng(2).normal(size=(2, 5, 16)), jnp.float32)

    def direct(att, head_g, kernel, bias):
        x = jax.nn.relu(jnp.einsum("bphwc,cd->bphwd", head_g[:, None] * att[..., None], kernel) + bias)
        m = valid[:, None, :, :, None]
        return ((x * m).sum(axis=(2, 3)) / m.sum(axis=(2, 3)) * r).sum()

    def factored(att, head_g, kernel, bias):
        return (attended_mean(att, jnp.einsum("bhwc,cd->bhwd", head_g, kernel), bias, valid) * r).sum()

    g_direct = jax.grad(direct, argnums=(0, 1, 2, 3))(att, head_g, kernel, bias)
    g_factored = jax.grad(factored, argnums=(0, 1, 2, 3))(att, head_g, kernel, bias)
    for name, a, b in zip(("att", "head_g", "kernel", "bias"), g_factored, g_direct):
        scale = float(jnp.abs(b).max())
        assert scale > 0, name
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5 * scale, err_msg=name)


@pytest.mark.parametrize("name", ["default_hico", "vcoco", "part_level", "no_negative_copy"])
def test_object_stream_on_positive_rows_only_changes_nothing_that_is_read(name):
    """``positive_rows``: the training losses and every gradient equal the all-rows model's
    (dropout off, so both passes are deterministic); the object logits of the positives are
    the same. With the part level or without the negative copy the bound is not used."""
    kw = dict(VARIANTS.get(name, {}), dropout_fc=0.0, dropout_attention=0.0, dropout_binary=0.0)
    kw.update({"part_level": dict(part_level=True), "no_negative_copy": dict(d_negative_copy=False)}
              .get(name, {}))
    cfg = _tiny(**kw)
    model = _random_stats(TIN(cfg, rngs=nnx.Rngs(0, dropout=1)), 7)
    image, hw, hb, ob, pat = _inputs(np.random.default_rng(3), P=8)
    B, P = hb.shape[:2]
    num_pos = jnp.array([3, 2])
    positive = jnp.arange(P)[None] < num_pos[:, None]
    rng = np.random.default_rng(4)
    labels = jnp.asarray(rng.random((B, P, cfg.num_classes)) < 0.2, jnp.float32)
    batch = dict(labels=labels, person_labels=labels[..., ::-1],
                 binary=jnp.stack([positive, ~positive], -1).astype(jnp.float32),
                 pair_mask=jnp.ones((B, P)).at[1, -1].set(0), num_pos=num_pos)
    w = jnp.asarray(rng.uniform(0.5, 2, cfg.num_classes), jnp.float32)

    def loss_fn(m, rows):
        out = m(image, hw, hb, ob, pat, positive=positive, positive_rows=rows, train=True)
        loss = (losses.hico_loss(out, batch, w) if cfg.dataset == "hico"
                else losses.vcoco_loss(out, batch, w, w))[0]
        return loss, out

    (loss_all, out_all), g_all = nnx.value_and_grad(loss_fn, has_aux=True)(model, None)
    (loss_cut, out_cut), g_cut = nnx.value_and_grad(loss_fn, has_aux=True)(model, 4)
    # Two float32 evaluations of the read rows, whose matmuls may be blocked differently (4 object
    # rows vs 8): as in the other network comparisons here, each head's logits within 1e-5 (~84
    # eps32) of its largest magnitude, the proxy of its terms' (a logit near 0 is a cancellation
    # of terms that large); the loss, a mean of cross-entropies of slope <= 1 that grow like |z|,
    # to the same relative level.
    np.testing.assert_allclose(float(loss_cut), float(loss_all), rtol=1e-5)
    for k in out_all:
        rows = slice(0, 3) if k == "O" else slice(None)  # the object stream: positives only
        scale = float(jnp.abs(out_all[k][:, rows]).max())
        np.testing.assert_allclose(out_cut[k][:, rows], out_all[k][:, rows], rtol=0, atol=1e-5 * scale,
                                   err_msg=k)
    cut_used = not (cfg.part_level or not cfg.d_negative_copy)
    assert bool(jnp.all(out_cut["O"][:, 4:] == out_all["O"][:, 4:])) != cut_used
    flat_all = jax.tree_util.tree_leaves_with_path(nnx.to_pure_dict(g_all))
    flat_cut = dict(jax.tree_util.tree_leaves_with_path(nnx.to_pure_dict(g_cut)))
    for path, a in flat_all:
        b = flat_cut[path]
        scale = float(jnp.abs(a).max())
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), atol=1e-5 * scale + 1e-9,
                                   err_msg=jax.tree_util.keystr(path))


def test_bfloat16_training_call_stays_close_to_float32():
    """``dtype=bfloat16`` through the training call (attended context, object rows cut):
    finite gradients, logits within bf16 rounding of the float32 model's."""
    kw = dict(dropout_fc=0.0, dropout_attention=0.0, dropout_binary=0.0)
    models = [_random_stats(TIN(_tiny(dtype=dt, **kw), rngs=nnx.Rngs(0, dropout=1)), 7)
              for dt in (None, jnp.bfloat16)]
    image, hw, hb, ob, pat = _inputs(np.random.default_rng(3), P=8)
    positive = jnp.arange(8)[None] < jnp.array([[3], [2]])
    batch = dict(labels=jnp.zeros((2, 8, 600)).at[:, :3, 1].set(1), binary=jnp.stack(
        [positive, ~positive], -1).astype(jnp.float32), pair_mask=jnp.ones((2, 8)),
        num_pos=jnp.array([3, 2]))

    @nnx.jit  # one program each (op-by-op dispatch compiles every bf16 op apart: slow)
    def logits_and_grads(m):
        def loss(m):
            out = m(image, hw, hb, ob, pat, positive=positive, positive_rows=4, train=True)
            return losses.hico_loss(out, batch, np.ones(600, np.float32))[0], out
        return nnx.grad(loss, has_aux=True)(m)

    (_, out32), (grads, out16) = logits_and_grads(models[0]), logits_and_grads(models[1])
    for k in out32:  # logits within a few bf16 roundings (2^-8) of their scale
        assert out16[k].dtype == jnp.float32
        scale = float(jnp.abs(out32[k]).max())
        np.testing.assert_allclose(out16[k], out32[k], atol=0.03 * scale, err_msg=k)
    assert all(np.isfinite(np.asarray(g, np.float32)).all() for g in jax.tree.leaves(grads))


@pytest.mark.parametrize("name", ["default_hico", "vcoco", "part_level"])
def test_distinct_box_tables_give_the_per_pair_outputs(name):
    """Inference with each slot's distinct boxes + per-pair indices equals the per-pair call."""
    kw = dict(VARIANTS.get(name, {}), **({"part_level": True} if name == "part_level" else {}))
    model = _random_stats(TIN(_tiny(**kw), rngs=nnx.Rngs(0, dropout=1)), 5)
    image, hw, hb, ob, pat = _inputs(np.random.default_rng(6), P=4)
    rng = np.random.default_rng(7)
    human_index = jnp.asarray(rng.integers(0, 4, size=(2, 9)), jnp.int32)  # 9 pairs over 4 + 4 boxes
    object_index = jnp.asarray(rng.integers(0, 4, size=(2, 9)), jnp.int32)
    patterns = jnp.asarray((rng.integers(0, 21, size=(2, 9, 64, 64, 3)) / 20).astype(np.float32))
    take = lambda x, i: jnp.take_along_axis(x, i[..., None], axis=1)
    per_pair = model(image, hw, take(hb, human_index), take(ob, object_index), patterns)
    tables = model(image, hw, hb, ob, patterns, human_index=human_index, object_index=object_index)
    assert per_pair.keys() == tables.keys()
    for k in per_pair:
        scale = float(jnp.abs(per_pair[k]).max())
        np.testing.assert_allclose(tables[k], per_pair[k], rtol=0, atol=1e-5 * scale, err_msg=k)
    with pytest.raises(ValueError, match="together"):
        model(image, hw, hb, ob, patterns, human_index=human_index)


@pytest.mark.parametrize("name", ["default_hico", "vcoco", "part_level", "no_negative_copy"])
def test_training_over_distinct_human_boxes_equals_the_per_pair_step(name):
    """Training with a table of distinct human boxes + each pair's row (the pipeline's
    ``human_table`` / ``human_index``): the human res5 runs once per table row, yet the
    logits, the loss and every gradient equal the per-pair call's, with dropout on and the
    same seed (the attention, whose dropout is per pair, stays per pair). The table has a
    padding row no pair reads, as the pipeline's table sizes do."""
    kw = dict(VARIANTS.get(name, {}))
    kw.update({"part_level": dict(part_level=True), "no_negative_copy": dict(d_negative_copy=False)}
              .get(name, {}))
    cfg = _tiny(**kw)
    model = _random_stats(TIN(cfg, rngs=nnx.Rngs(0, dropout=1)), 9)
    image, hw, table, ob, pat = _inputs(np.random.default_rng(8), P=8)
    table = table.at[:, 5:].set(0)  # rows 5..7: the padding of a table size 8
    rng = np.random.default_rng(10)
    human_index = jnp.asarray(rng.integers(0, 5, size=(2, 8)), jnp.int32)  # 8 pairs over 5 humans
    B, P = human_index.shape
    num_pos = jnp.array([3, 2])
    positive = jnp.arange(P)[None] < num_pos[:, None]
    labels = jnp.asarray(rng.random((B, P, cfg.num_classes)) < 0.2, jnp.float32)
    batch = dict(labels=labels, person_labels=labels[..., ::-1],
                 binary=jnp.stack([positive, ~positive], -1).astype(jnp.float32),
                 pair_mask=jnp.ones((B, P)).at[1, -1].set(0), num_pos=num_pos)
    w = jnp.asarray(rng.uniform(0.5, 2, cfg.num_classes), jnp.float32)
    per_pair_boxes = jnp.take_along_axis(table, human_index[..., None], axis=1)

    def loss_fn(m, boxes, index):
        nnx.reseed(m, dropout=jax.random.key(11))  # the same dropout masks in both calls
        out = m(image, hw, boxes, ob, pat, human_index=index, positive=positive, positive_rows=4,
                train=True)
        loss = (losses.hico_loss(out, batch, w) if cfg.dataset == "hico"
                else losses.vcoco_loss(out, batch, w, w))[0]
        return loss, out

    grad = nnx.value_and_grad(loss_fn, has_aux=True)
    (loss_pair, out_pair), g_pair = grad(model, per_pair_boxes, None)
    (loss_table, out_table), g_table = grad(model, table, human_index)
    # The same float32 terms, with the human res5 blocked over 8 rows instead of 8 pairs and
    # each table row's gradient a sum over the pairs that read it (the per-pair form sums the
    # same terms in the parameter gradient): tolerances as in the object-stream comparison.
    np.testing.assert_allclose(float(loss_table), float(loss_pair), rtol=1e-5)
    for k in out_pair:
        scale = float(jnp.abs(out_pair[k]).max())
        np.testing.assert_allclose(out_table[k], out_pair[k], rtol=0, atol=1e-5 * scale, err_msg=k)
    flat_pair = jax.tree_util.tree_leaves_with_path(nnx.to_pure_dict(g_pair))
    flat_table = dict(jax.tree_util.tree_leaves_with_path(nnx.to_pure_dict(g_table)))
    for path, a in flat_pair:
        scale = float(jnp.abs(a).max())
        np.testing.assert_allclose(np.asarray(flat_table[path]), np.asarray(a), atol=1e-5 * scale + 1e-9,
                                   err_msg=jax.tree_util.keystr(path))
    # a wrong row for one pair shows: the comparison can fail
    (loss_wrong, _), _ = grad(model, table, human_index.at[0, 0].set((human_index[0, 0] + 1) % 5))
    assert abs(float(loss_wrong) - float(loss_pair)) > 1e-4 * abs(float(loss_pair))
    with pytest.raises(ValueError, match="human_index only"):
        model(image, hw, table, ob, pat, human_index=human_index, object_index=human_index, train=True)
