"""Transfer training (RC_T, RP_T1 C_D, RP_T2 C_D): D also learns on another dataset's images."""

from __future__ import annotations

import json
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.test_train import TINY, _final_params, _leaves, _metrics, _run
from tin_jax.training import optim, train_step, trainer


@pytest.mark.parametrize("every,dirs", [(2, 1), (3, 1), (2, 2), (5, 3)])
def test_stream_positions_follow_from_the_step(every, dirs):
    """Resuming at any step positions every stream where an uninterrupted run has it."""
    mix = trainer.TransferMix(tuple(f"d{i}" for i in range(dirs)), every)
    consumed = {"target": 0, **{i: 0 for i in range(dirs)}}
    for step in range(60):
        assert mix.target_steps_before(step) == consumed["target"]
        for i in range(dirs):
            assert mix.source_steps_before(step, i) == consumed[i]
        src = mix.source_of(step)
        consumed["target" if src is None else src] += 1
    assert consumed["target"] == 60 - 60 // every  # one step in ``every`` is a transfer step
    assert trainer.TransferMix().source_of(7) is None and trainer.TransferMix().target_steps_before(7) == 7


def test_hold_keeps_parameters_and_their_momentum():
    from configs import common
    c = common.base_config()
    params = {"backbone": {"block3": {"k": jnp.ones(3)}}, "cls_score_H": {"kernel": jnp.ones(2)},
              "fc8_SH": {"fc": {"kernel": jnp.ones(2)}}, "fc8_binary_1": {"kernel": jnp.ones(2)}}
    tx, _, _ = optim.make_optimizer(c.optim, params)
    old = tx.init(params)
    grads = jax.tree.map(jnp.ones_like, params)
    upd, new = tx.update(grads, old, params)
    moved = jax.tree.map(lambda p, u: p + u, params, upd)
    held_p = train_step.hold_matching(c.transfer.hold, moved, params)
    held_o = train_step.hold_matching(c.transfer.hold, new, old)
    np.testing.assert_array_equal(held_p["cls_score_H"]["kernel"], params["cls_score_H"]["kernel"])
    np.testing.assert_array_equal(held_p["fc8_SH"]["fc"]["kernel"], params["fc8_SH"]["fc"]["kernel"])
    assert not np.array_equal(held_p["fc8_binary_1"]["kernel"], params["fc8_binary_1"]["kernel"])
    assert not np.array_equal(held_p["backbone"]["block3"]["k"], params["backbone"]["block3"]["k"])
    trace_old = old[0].inner_state[1][0].trace
    trace_new = held_o[0].inner_state[1][0].trace
    np.testing.assert_array_equal(trace_new["cls_score_H"]["kernel"], trace_old["cls_score_H"]["kernel"])
    assert not np.array_equal(trace_new["fc8_binary_1"]["kernel"], trace_old["fc8_binary_1"]["kernel"])


def _transfer_cmd(hico_dir, vcoco_dir, workdir, config, *overrides):
    import sys
    return [sys.executable, "train.py", "--config", f"configs/{config}.py:runlocal",
            "--workdir", str(workdir), f"--config.data.dir={hico_dir}",
            f"--config.transfer.data_dirs=('{vcoco_dir}',)", *TINY, *overrides]


def _flat(tree, prefix=""):
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}/"))
        else:
            out[prefix + k] = np.asarray(v)
    return out


@pytest.mark.xdist_group("transfer")
def test_transfer_run_holds_the_classifier_and_resumes_exactly(hico_dir, vcoco_dir, tmp_path):
    ref = tmp_path / "ref"
    steps = ["--config.checkpoint_every=1", "--config.keep_checkpoints=10", "--config.log_every=1"]
    _run(_transfer_cmd(hico_dir, vcoco_dir, ref, "rp_t2_c_d", "--config.total_steps=4", *steps))
    metrics = [json.loads(l) for l in open(os.path.join(str(ref), "metrics.jsonl"))]
    # steps 1 and 3 (0-based) are transfer steps: only D's loss, on V-COCO images
    assert ["source_loss_binary" in m for m in metrics] == [False, True, False, True]
    assert all("loss_H" in m for m in metrics[::2]) and all("loss_H" not in m for m in metrics[1::2])
    assert all(np.isfinite(m.get("loss", m.get("source_loss"))) for m in metrics)

    _, after_target = _final_params(ref, 1)
    _, after_transfer = _final_params(ref, 2)
    a, b = _flat(after_target["params"]), _flat(after_transfer["params"])
    held = [k for k in a if k.startswith(("cls_score_H", "cls_score_sp", "fc8_SH", "fc7_SHsp"))]
    assert held and all(np.array_equal(a[k], b[k]) for k in held)
    for moved in ("fc8_binary_1/kernel", "cls_score_binary/kernel", 
                  "backbone/block3/unit_1/conv1/conv/kernel"):
        key = next(k for k in a if k.endswith(moved))
        assert not np.array_equal(a[key], b[key]), key

    # killed after 2 steps (one of each kind: the run's state as its step-2 checkpoint left it)
    # and resumed: the same parameters bitwise
    res = tmp_path / "resumed"
    shutil.copytree(ref, res)
    for late in ("3", "4"):
        shutil.rmtree(res / "checkpoints" / late)
    _run(_transfer_cmd(hico_dir, vcoco_dir, res, "rp_t2_c_d", "--config.total_steps=4", *steps))
    assert [m["step"] for m in _metrics(res)] == [1, 2, 3, 4]
    for x, y in zip(_leaves(_final_params(ref, 4)[1]), _leaves(_final_params(res, 4)[1])):
        np.testing.assert_array_equal(x, y)


def test_variant_configs_mean_what_they_say():
    from configs import rc_t, rp_t1_c_d, rp_t2_c_d
    t1, t2, rct = rp_t1_c_d.get_config(), rp_t2_c_d.get_config(), rc_t.get_config()
    assert "binary" not in t1.loss.terms and "binary" in t2.loss.terms  # T1: D on the other dataset only
    assert t1.eval.nis and t2.eval.nis and not rct.eval.nis
    # transfer configs: the other datasets must be named (the full configs name no data)
    assert all(c.transfer.enabled and not c.transfer.data_dirs for c in (t1, t2, rct))
    v = rp_t2_c_d.get_config("target=vcoco")
    assert v.dataset == "vcoco" and not v.data.dir and v.optim.schedule == "exponential"
    v = rp_t2_c_d.get_config("target=vcoco,runlocal")  # the demo's data
    assert v.data.dir.endswith("vcoco") and v.transfer.data_dirs[0].endswith("hico")
    with pytest.raises(ValueError):
        rp_t2_c_d.get_config("target=pic")


@pytest.mark.parametrize("part_level", [False, True])
def test_transfer_loss_is_d_terms_of_the_full_loss(part_level):
    """A transfer step's loss = the D terms of the HICO loss (which tests/test_losses.py and
    tests/test_parts.py check against TF transcriptions of the original), no HOI labels needed."""
    from tin_jax.models import losses
    rng = np.random.default_rng(0)
    b, p, c = 2, 7, 600
    logits = {k: jnp.asarray(rng.normal(size=(b, p, c)), jnp.float32) for k in ("H", "O", "sp")}
    logits["binary"] = jnp.asarray(rng.normal(size=(b, p, 2)), jnp.float32)
    if part_level:
        logits["binary_part"] = jnp.asarray(rng.normal(size=(b, p, 2)), jnp.float32)
    batch = dict(labels=jnp.asarray(rng.random((b, p, c)) < 0.01, jnp.uint8),
                 binary=jnp.asarray(np.eye(2)[rng.integers(0, 2, (b, p))], jnp.uint8),
                 pair_mask=jnp.asarray([[1] * 7, [1] * 4 + [0] * 3], jnp.float32),
                 num_pos=jnp.asarray([3, 2]))
    _, full = losses.hico_loss(logits, batch, np.ones(c, np.float32))
    source_batch = {k: v for k, v in batch.items() if k != "labels"}
    total, terms = losses.binary_loss(logits, source_batch, losses.BINARY_WEIGHT_HICO)
    d_terms = ("binary", "binary_part", "consistency") if part_level else ("binary",)
    assert set(terms) == set(d_terms)
    for t in d_terms:
        np.testing.assert_allclose(terms[t], full[t], rtol=1e-6)
    np.testing.assert_allclose(total, sum(full[t] for t in d_terms), rtol=1e-6)
