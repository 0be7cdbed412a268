"""train.py end to end on the tiny config: resume, devices, hosts, NaN, SIGTERM, overrides."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import ROOT, TINY_FLAGS
from tin_jax.training import train_step

# Tiny network, small images, at most 5 + 5 + 12 = 22 pairs per image: CPU-sized runs.
TINY = [*TINY_FLAGS, "--config.model.calibrate_bn_images=2", "--config.data.pos_augment=5",
        "--config.data.neg_select=12", "--noprogress"]


def _cmd(hico_dir, workdir, *overrides):
    return [sys.executable, "train.py", "--config", "configs/tin_hico.py:runlocal",
            "--workdir", str(workdir), f"--config.data.dir={hico_dir}", *TINY, *overrides]


def _env(devices=1, **extra):
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}"
    env = dict(os.environ, XLA_FLAGS=flags.strip(),
               JAX_PLATFORMS="cpu", **extra)
    return env


def _run(cmd, devices=1, timeout=600, check=True):
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(devices), capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def _final_params(workdir, step=None):
    """The latest (or given) checkpoint's state, restored onto this process's one CPU
    device (whatever topology saved it)."""
    import jax
    import orbax.checkpoint as ocp
    root = os.path.join(str(workdir), "checkpoints")
    step = step or max(int(n) for n in os.listdir(root) if n.isdigit())
    path = os.path.join(root, str(step), "state")
    ckpt = ocp.StandardCheckpointer()
    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    target = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device),
                          ckpt.metadata(path).item_metadata)
    return step, ckpt.restore(path, target)


def _leaves(tree):
    import jax
    return [np.asarray(x) for x in jax.tree.leaves(tree)]


def _metrics(workdir):
    return [json.loads(l) for l in open(os.path.join(str(workdir), "metrics.jsonl"))]


REFERENCE_STEPS = ["--config.total_steps=16", "--config.checkpoint_every=4", "--config.log_every=1",
                   "--config.keep_checkpoints=10"]


@pytest.mark.xdist_group("reference_run")
def test_kill_and_resume_is_bitwise_exact(hico_dir, reference_run, tmp_path):
    """Killed, then resumed with its batches built by input worker processes: the same
    parameters and losses as the uninterrupted in-process run, bit for bit."""
    steps = REFERENCE_STEPS
    ref = reference_run
    run = tmp_path / "killed"
    proc = subprocess.Popen(_cmd(hico_dir, run, *steps), cwd=ROOT, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    metrics = os.path.join(str(run), "metrics.jsonl")
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if os.path.exists(metrics) and sum(1 for _ in open(metrics)) >= 6:
            break
        time.sleep(0.1)
    assert proc.poll() is None, "finished before the kill"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    _run(_cmd(hico_dir, run, *steps, "--config.data.workers=2"))  # resumed with input workers
    (s1, a), (s2, b) = _final_params(ref), _final_params(run)
    assert s1 == s2 == 16
    for x, y in zip(_leaves(a), _leaves(b)):
        np.testing.assert_array_equal(x, y)
    assert [m["step"] for m in _metrics(run)] == list(range(1, 17))
    np.testing.assert_array_equal([m["loss"] for m in _metrics(run)], [m["loss"] for m in _metrics(ref)])


def test_eight_devices_match_one(hico_dir, tmp_path):
    """Same global batch of 8 images: sharded over 8 devices (with the momentum sharded too,
    ``optim.shard_state``) or on one. The state a run starts from does not depend on the
    topology: the calibrated BN statistics are bit-identical. The first step's loss then
    differs only by the batch reduction's order (float32; a gradient or loss scaled by the
    device count would be off by far more); later steps amplify that through the updates.
    (Replicated state over several hosts: the two-process test; sharded vs replicated
    updates exactly: the next test.)"""
    common = ["--config.total_steps=3", "--config.log_every=1", "--config.checkpoint_every=1"]
    one = tmp_path / "one"
    _run(_cmd(hico_dir, one, *common, "--config.data.batch_per_device=8"), devices=1)
    eight = tmp_path / "eight"
    proc = _run(_cmd(hico_dir, eight, *common, "--config.data.batch_per_device=1",
                     "--config.optim.shard_state=true"), devices=8)
    for step in (1, 3):  # frozen: equal at every step, as calibrated
        for x, y in zip(_leaves(_final_params(one, step)[1]["stats"]),
                        _leaves(_final_params(eight, step)[1]["stats"])):
            np.testing.assert_array_equal(x, y)
    losses_one, losses_eight = ([m["loss"] for m in _metrics(w)] for w in (one, eight))
    # one mean over ~10^5 float32 terms, summed in another order: a few ulps of the total
    np.testing.assert_allclose(losses_eight[0], losses_one[0], rtol=1e-5)
    np.testing.assert_allclose(losses_eight, losses_one, rtol=1e-3)
    for x, y in zip(_leaves(_params_at(one, 1)), _leaves(_params_at(eight, 1))):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5)
    per_device, total = map(float, re.search(r"optimizer state: ([\d.]+) MiB per device of ([\d.]+) MiB",
                                             proc.stderr).groups())
    assert per_device < total / 4, (per_device, total)


SHARDED_UPDATES = """
import jax, jax.numpy as jnp, numpy as np, optax
from jax.sharding import NamedSharding, PartitionSpec as P
from configs import common
from tin_jax.training import optim, train_step
from tin_jax.inference import scoring
from tin_jax.state import model as state_model, spec as model_spec, store
mesh = state_model.make_mesh()
assert mesh.size == 8
rng = np.random.default_rng(0)
params = {"backbone": {"block2": {"k": rng.normal(size=(3, 3, 16, 32))}},
          "fc8_binary_1": {"kernel": rng.normal(size=(40, 24)), "bias": rng.normal(size=(24,))},
          "odd": {"w": rng.normal(size=(5, 7))}}
params = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), params)
tx, _, _ = optim.make_optimizer(common.base_config().optim, params)
repl = NamedSharding(mesh, P())
abstract = jax.eval_shape(tx.init, params)
def run(opt_sh):
    step = jax.jit(lambda p, o, g: (lambda u, o2: (optax.apply_updates(p, u), o2))(*tx.update(g, o, p)),
                   in_shardings=(repl, opt_sh, repl), out_shardings=(repl, opt_sh))
    p, o = jax.device_put(params, repl), jax.jit(tx.init, out_shardings=opt_sh)(params)
    for k in range(4):
        g = jax.tree.map(lambda x: jnp.asarray(np.random.default_rng(k).normal(size=x.shape), jnp.float32), params)
        p, o = step(p, o, g)
    return p, o
p_rep, _ = run(jax.tree.map(lambda _: repl, abstract))
shard = train_step.optimizer_state_sharding(abstract, mesh)
p_sh, o_sh = run(shard)
# Both evaluate the same update; only the clip's norm (a sum of n squares) may be reduced in
# another order. Each within the float32 bound of the exact update: the clipped gradient off
# by n eps32 relative (half of the sum's 2 n eps32, the sqrt halving it) + 4 roundings, times
# lr and the momentum's magnitude (<= sum_k |g_k| / |g_k| per step), plus a rounding of p + u a step.
eps, lr, steps = float(np.finfo(np.float32).eps), common.base_config().optim.lr, 4
for a, b, p0 in zip(jax.tree.leaves(p_rep), jax.tree.leaves(p_sh), jax.tree.leaves(params)):
    gs = [np.asarray(np.random.default_rng(k).normal(size=p0.shape), np.float32).astype(np.float64)
          for k in range(steps)]
    assert all(np.linalg.norm(g) > 1 for g in gs)  # clipped every step
    mag = sum(np.abs(g) / np.linalg.norm(g) for g in gs)  # >= |momentum| at every step
    per_side = lr * steps * mag * (p0.size + 4) * eps + steps * eps * (np.abs(np.asarray(a)) + lr * mag)
    assert (np.abs(np.asarray(a) - np.asarray(b)) <= 2 * per_side).all(), np.abs(np.asarray(a) - np.asarray(b)).max()
specs = [s.spec for s in jax.tree.leaves(shard)]
assert sum(s != P() for s in specs) == 3, specs  # k (axis 3), kernel (axis 0), bias; not 5x7
shards = [x.addressable_shards[0].data.shape for x in jax.tree.leaves(o_sh)]
assert (3, 3, 16, 4) in shards and (5, 24) in shards and (3,) in shards and (5, 7) in shards, shards
print("ok")
"""


def test_sharded_optimizer_state_updates_like_replicated():
    proc = subprocess.run([sys.executable, "-c", SHARDED_UPDATES], cwd=ROOT, env=_env(8),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


def _params_at(workdir, step):
    return _final_params(workdir, step)[1]["params"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_match_one_process(hico_dir, tmp_path):
    """Two hosts with one device each (global batch 2) against one host with one device
    and a batch of 2: every host decodes its slice of the same global order."""
    common = ["--config.total_steps=3", "--config.log_every=1", "--config.checkpoint_every=3"]
    single = tmp_path / "single"
    _run(_cmd(hico_dir, single, *common, "--config.data.batch_per_device=2"), devices=1)
    multi = tmp_path / "multi"
    port = _free_port()
    procs = [subprocess.Popen(
        _cmd(hico_dir, multi, *common, f"--coordinator_address=127.0.0.1:{port}",
             "--num_processes=2", f"--process_id={i}"),
        cwd=ROOT, env=_env(1), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (o, e) in zip(procs, outs):
        assert p.returncode == 0, e[-3000:]
    np.testing.assert_allclose([m["loss"] for m in _metrics(multi)],
                               [m["loss"] for m in _metrics(single)], rtol=1e-3)
    for x, y in zip(_leaves(_final_params(single)[1]["params"]), _leaves(_final_params(multi)[1]["params"])):
        np.testing.assert_allclose(x, y, rtol=1e-3, atol=1e-5)


def test_nan_loss_stops_with_clear_message_and_keeps_last_good_checkpoint(hico_dir, tmp_path):
    work = tmp_path / "nan"
    # lr 0.01 for four steps, then 1e10: the loss overflows a few steps later.
    proc = _run(_cmd(hico_dir, work, "--config.total_steps=40", "--config.checkpoint_every=2",
                     "--config.log_every=1", "--config.optim.schedule=exponential",
                     "--config.optim.decay_steps=4", "--config.optim.decay_rate=1e12",
                     "--config.keep_checkpoints=100"), check=False)
    assert proc.returncode == 3, proc.stderr[-2000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("error: non-finite loss at step "), line
    bad = int(line.split("step ")[1].split(":")[0])
    step, state = _final_params(work)
    assert 4 <= step < bad
    assert all(np.isfinite(x).all() for x in _leaves(state["params"]))


def test_sigterm_from_outside_saves_and_says_where_it_stopped(hico_dir, tmp_path):
    """A real signal from another process at an unknown moment (tests/test_faults.py sends it
    at chosen steps and checks the resume)."""
    work = tmp_path / "term"
    proc = subprocess.Popen(_cmd(hico_dir, work, "--config.total_steps=1000", "--config.log_every=1",
                                 "--config.checkpoint_every=1000"),
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = os.path.join(str(work), "metrics.jsonl")
    deadline = time.time() + 300
    while time.time() < deadline and not (os.path.exists(metrics) and os.path.getsize(metrics)):
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, err[-2000:]
    step, _ = _final_params(work)
    assert 1 <= step < 1000
    assert f"SIGTERM: stopped at step {step} of 1000, checkpoint saved" in err, err[-2000:]
    config = json.load(open(os.path.join(str(work), "config.json")))
    assert config["total_steps"] == 1000 and config["model"]["width"] == 4  # overrides recorded


@pytest.mark.xdist_group("reference_run")
def test_loss_falls_then_evaluate_prints_the_table(raw_dir, hico_dir, reference_run, tmp_path):
    work = reference_run
    losses = [m["loss"] for m in _metrics(work)]
    assert len(losses) == 16 and np.mean(losses[-3:]) < 0.7 * np.mean(losses[:3]), losses
    anno = os.path.join(raw_dir, "hico_20160224_det")
    out = tmp_path / "eval"
    cmd = [sys.executable, "evaluate.py", "--config", "configs/tin_hico.py:runlocal",
           "--workdir", str(work), f"--config.data.dir={hico_dir}", f"--config.eval.anno_dir={anno}",
           *TINY_FLAGS, f"--out_dir={out}"]
    proc = _run(cmd)
    assert "HICO-DET official protocol" in proc.stdout and "Known Object" in proc.stdout
    result = json.load(open(os.path.join(str(out), "results.json")))
    assert result  # the official numbers, written
    assert len(os.listdir(os.path.join(str(out), "detections"))) == 80  # detections_01..80.mat
    from tin_jax.evaluation import hico_det
    gt = hico_det.load_ground_truth(anno)
    official = hico_det.read_official_detections(os.path.join(str(out), "detections"), gt)
    compact = hico_det.read_compact_detections(os.path.join(str(out), "detections.npz"), gt)
    assert [len(c) for c in compact.per_class] == [len(c) for c in official.per_class]
    for png in ("per_class_ap.png", "pr_curves.png", "detections.png"):
        assert os.path.getsize(os.path.join(str(out), png)) > 1000
    # a missing checkpoint is a one-line error, not a traceback
    bad = _run([*cmd[:5], str(tmp_path / "nothing"), *cmd[6:]], check=False)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith("error: ")


@pytest.mark.xdist_group("periodic_eval")
def test_periodic_evaluation_equals_evaluate_py_on_the_same_checkpoint(raw_dir, hico_dir, tmp_path):
    """config.eval_every evaluates the weights in memory; evaluate.py restores the checkpoint of the
    same step: the same numbers, in metrics.jsonl and the learning-curve figure."""
    anno = os.path.join(raw_dir, "hico_20160224_det")
    work = tmp_path / "run"
    _run(_cmd(hico_dir, work, "--config.total_steps=2", "--config.checkpoint_every=1", "--config.log_every=1",
              "--config.eval_every=1", f"--config.eval.anno_dir={anno}"))
    evals = [m for m in _metrics(work) if "eval/present/def/full" in m]
    assert [m["step"] for m in evals] == [1, 2]
    assert os.path.getsize(os.path.join(str(work), "learning_curves.png")) > 1000
    assert os.path.isfile(os.path.join(str(work), "eval_2", "results.md"))
    out = tmp_path / "eval1"
    _run([sys.executable, "evaluate.py", "--config", "configs/tin_hico.py:runlocal", "--workdir", str(work),
          f"--config.data.dir={hico_dir}", f"--config.eval.anno_dir={anno}", *TINY_FLAGS,
          "--config.eval.checkpoint_step=1", f"--out_dir={out}"])
    present = json.load(open(os.path.join(str(out), "results_present_classes.json")))
    official = json.load(open(os.path.join(str(out), "results.json")))
    logged = evals[0]
    for setting in ("def", "ko"):
        for split in ("full", "rare", "non_rare"):
            for name in ("model", "ceiling"):
                key = f"eval/{'present' if name == 'model' else 'ceiling'}/{setting}/{split}"
                assert logged[key] == pytest.approx(present[name][setting][split], rel=0, abs=0, nan_ok=True)
    assert logged["eval/official/def/full"] == official["settings"]["Default"]["map_full"]
    assert 0 <= logged["eval/binary_ap"] <= 1


def test_hosts_pad_their_batches_to_the_largest_shapes():
    """What each host does with the all-gathered shapes: zero padding to the largest bucket and
    table size, every other array and the real pixels / table rows unchanged."""
    rng = np.random.default_rng(0)
    batch = dict(image=rng.integers(1, 255, (2, 32, 48, 3), dtype=np.uint8),
                 image_hw=np.array([[30, 40], [32, 48]], np.int32),
                 human_table=rng.uniform(1, 9, (2, 5, 4)).astype(np.float32),
                 human_index=rng.integers(0, 5, (2, 7)).astype(np.int32))
    shapes = np.max([train_step.padded_shapes(batch), [48, 32, 8]], axis=0)
    np.testing.assert_array_equal(train_step.padded_shapes(batch), [32, 48, 5])
    out = train_step.pad_to_shapes(batch, shapes)
    assert out["image"].shape == (2, 48, 48, 3) and out["human_table"].shape == (2, 8, 4)
    np.testing.assert_array_equal(out["image"][:, :32, :48], batch["image"])
    assert not out["image"][:, 32:].any()
    np.testing.assert_array_equal(out["human_table"][:, :5], batch["human_table"])
    assert not out["human_table"][:, 5:].any()
    for k in ("image_hw", "human_index"):
        assert out[k] is batch[k]
    no_table = {k: v for k, v in batch.items() if k != "human_table"}
    assert train_step.padded_shapes(no_table)[2] == 0
    assert "human_table" not in train_step.pad_to_shapes(no_table, [32, 48, 0])
