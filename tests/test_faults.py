"""Faults a user meets, through the command lines: preemption at any step, damaged
checkpoints, the wrong dataset or config for a workdir. Each must end in one ``error:`` line
(or an honest message) and lose nothing; resumed runs must equal the uninterrupted one."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT, TINY_FLAGS, shrink
from tests.test_train import REFERENCE_STEPS, _cmd, _env, _final_params, _leaves, _metrics, _run

PREEMPTED = 143  # train.py's exit status after saving on SIGTERM
CHECKPOINT_EVERY = 4  # REFERENCE_STEPS
# SIGTERM raised from inside the loop right after the step's dispatch: deterministic, and
# delivered exactly as a scheduler's signal is (to the Python handler, between bytecodes).
TERM_AT_STEP = """
import os, runpy, signal, sys
from tin_jax.training import metric_log
at = int(os.environ["TERM_AT_STEP"])
add = metric_log.MetricLog.add
def add_then_term(self, step, metrics):
    add(self, step, metrics)
    if step + 1 == at:
        os.kill(os.getpid(), signal.SIGTERM)
metric_log.MetricLog.add = add_then_term
sys.argv = ["train.py", *sys.argv[1:]]
runpy.run_path("train.py", run_name="__main__")
"""
# one step drawn at random (reproducibly) off the checkpoint grid, and one on it
RANDOM_STEP = random.Random(13).choice([s for s in range(2, 16) if s % CHECKPOINT_EVERY])


def _error_line(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return lines[-1]


def _assert_same_params(a_dir, b_dir):
    (s1, a), (s2, b) = _final_params(a_dir), _final_params(b_dir)
    assert s1 == s2
    for x, y in zip(_leaves(a), _leaves(b)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.xdist_group("reference_run")
@pytest.mark.parametrize("at", [RANDOM_STEP, 3 * CHECKPOINT_EVERY], ids=["random_step", "checkpoint_step"])
def test_sigterm_saves_the_step_reached_once_and_the_rerun_continues_exactly(hico_dir, reference_run,
                                                                            tmp_path, at):
    run = tmp_path / "preempted"
    cmd = _cmd(hico_dir, run, *REFERENCE_STEPS)
    proc = subprocess.run([sys.executable, "-c", TERM_AT_STEP, *cmd[2:]], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env=_env(TERM_AT_STEP=str(at)))
    assert proc.returncode == PREEMPTED, proc.stderr[-3000:]
    assert f"SIGTERM: stopped at step {at} of 16, checkpoint saved" in proc.stderr, proc.stderr[-2000:]
    assert "trained to step" not in proc.stdout + proc.stderr
    step, _ = _final_params(run)
    assert step == at  # the true step, saved once (on the grid: the periodic save, not a second one)
    assert max(m["step"] for m in _metrics(run)) <= at  # no step logged that the checkpoint lacks
    _run(cmd)  # the same command continues
    _assert_same_params(reference_run, run)
    ref, got = _metrics(reference_run), _metrics(run)
    assert [m["step"] for m in got] == list(range(1, 17))
    np.testing.assert_array_equal([m["loss"] for m in got], [m["loss"] for m in ref])


def _damage(workdir, step: int, how: str) -> None:
    """Damages checkpoint ``step``: its array data cut short, or its metadata emptied."""
    root = os.path.join(str(workdir), "checkpoints", str(step))
    if how == "truncated_array_files":
        # Every data file, cut to nothing (what a crash before the data reached the disk
        # leaves): which file holds the weights depends on how orbax batched the writes, and
        # evaluation reads the weights alone, so cutting one file may spare them.
        files = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(root, "state"))
                 for f in fs if os.sep + "d" + os.sep in os.path.join(d, f)]
        assert files, root
        for path in files:
            with open(path, "r+b") as f:
                f.truncate(0)
    else:  # emptied metadata
        open(os.path.join(root, "state", "_METADATA"), "w").close()


@pytest.mark.xdist_group("reference_run")
@pytest.mark.parametrize("how", ["truncated_array_files", "emptied_metadata"])
def test_a_damaged_newest_checkpoint_is_named_and_training_falls_back_to_the_one_before(
        hico_dir, raw_dir, reference_run, tmp_path, how):
    run = tmp_path / "damaged"
    shutil.copytree(reference_run, run)
    _damage(run, 16, how)
    evaluate = [sys.executable, "evaluate.py", "--config", "configs/tin_hico.py:runlocal", "--workdir", str(run),
                f"--config.data.dir={hico_dir}", f"--config.eval.anno_dir={raw_dir}/hico_20160224_det",
                *[a for a in _cmd(hico_dir, run)[7:] if a.startswith("--config.")]]
    proc = _run(evaluate, check=False)
    assert proc.returncode == 2, proc.stderr[-3000:]
    line = _error_line(proc)
    assert line.startswith(f"error: {run}/checkpoints/16: unreadable checkpoint"), line
    assert line.endswith("evaluate an earlier one with --config.eval.checkpoint_step=12"), line
    if how != "truncated_array_files":
        return  # the same path in training as the truncated files (one restore error), once is enough
    # training moves the damaged step aside (never deletes it), resumes from step 12 and ends
    # where the uninterrupted run ended
    proc = _run(_cmd(hico_dir, run, *REFERENCE_STEPS))
    assert "moved it to" in proc.stderr and "resumed from step 12" in proc.stderr, proc.stderr[-3000:]
    # the aborted restore's reads, finishing or collected later, print nothing of their own
    assert "Traceback" not in proc.stderr and "never retrieved" not in proc.stderr, proc.stderr[-3000:]
    assert os.path.isdir(os.path.join(str(run), "checkpoints", "16.unreadable"))
    assert all(os.path.isdir(os.path.join(str(run), "checkpoints", str(s))) for s in (4, 8, 12, 16))
    _assert_same_params(reference_run, run)


@pytest.mark.xdist_group("reference_run")
def test_an_emptied_model_spec_and_a_lone_damaged_checkpoint_are_one_line(hico_dir, reference_run, tmp_path):
    run = tmp_path / "spec"
    shutil.copytree(reference_run, run)
    for s in (4, 8, 12):
        shutil.rmtree(os.path.join(str(run), "checkpoints", str(s)))
    spec = os.path.join(str(run), "checkpoints", "16", "model", "metadata")
    open(spec, "w").close()
    proc = _run(_cmd(hico_dir, run, "--config.total_steps=20"), check=False)
    assert proc.returncode == 2
    assert _error_line(proc).startswith(f"error: {run}/checkpoints/16/model: unreadable"), proc.stderr[-2000:]
    shutil.copy(os.path.join(str(reference_run), "checkpoints", "16", "model", "metadata"), spec)
    _damage(run, 16, "truncated_array_files")  # nothing earlier to fall back to: said, nothing moved
    proc = _run(_cmd(hico_dir, run, "--config.total_steps=20"), check=False)
    assert proc.returncode == 2
    assert _error_line(proc).startswith(f"error: {run}/checkpoints/16: unreadable checkpoint"), proc.stderr[-2000:]
    assert os.path.isdir(os.path.join(str(run), "checkpoints", "16"))


@pytest.mark.xdist_group("reference_run")
def test_the_wrong_dataset_or_config_for_a_workdir_is_one_line(hico_dir, vcoco_dir, raw_dir, reference_run):
    # a V-COCO data dir with the HICO-DET config: the config's dataset says so, before anything
    proc = _run(_cmd(vcoco_dir, reference_run, "--config.total_steps=20"), check=False)
    assert proc.returncode == 2
    line = _error_line(proc)
    assert line == (f"error: {vcoco_dir}: a vcoco dataset, but the config is for hico (config.dataset): use a "
                    "vcoco config (e.g. configs/tin_vcoco.py) or the hico data"), line
    # a V-COCO config and data for a HICO-DET workdir: its checkpoint's model says so
    vcoco_cmd = [a if a != "configs/tin_hico.py:runlocal" else "configs/tin_vcoco.py:runlocal"
                 for a in _cmd(vcoco_dir, reference_run, "--config.total_steps=20")]
    proc = _run(vcoco_cmd, check=False)
    assert proc.returncode == 2
    line = _error_line(proc)
    assert line == (f"error: {vcoco_dir}: a vcoco dataset (29 classes), but the model in {reference_run} "
                    "was trained on hico (600 classes): give the matching --config.data.dir (and config)"), line
    evaluate = [sys.executable, "evaluate.py", "--config", "configs/tin_hico.py:runlocal",
                "--workdir", str(reference_run), f"--config.eval.anno_dir={raw_dir}/hico_20160224_det",
                *TINY_FLAGS]
    proc = _run(evaluate + [f"--config.data.dir={vcoco_dir}"], check=False)
    assert proc.returncode == 2 and "a vcoco dataset, but the config is for hico" in _error_line(proc)
    proc = _run([a if a != "configs/tin_hico.py:runlocal" else "configs/tin_vcoco.py:runlocal" for a in evaluate]
                + [f"--config.data.dir={vcoco_dir}", f"--config.eval.vcoco_root={raw_dir}/v-coco"], check=False)
    assert proc.returncode == 2
    assert "a vcoco dataset (29 classes), but the model in" in _error_line(proc), proc.stderr[-2000:]
    # a --config that describes another network: the differing fields, in one line
    # (a tuple flag given twice is concatenated by ml_collections: the tiny one is left out)
    proc = _run([*(a for a in evaluate if not a.startswith("--config.model.resnet_units=")),
                 "--config.model.width=8", "--config.model.resnet_units=(1, 2, 1, 1)",
                 f"--config.data.dir={hico_dir}"], check=False)
    assert proc.returncode == 2
    line = _error_line(proc)
    assert line.startswith(f"error: {reference_run}: --config describes another model than the checkpoint's: "
                           "model.width 8 (--config) vs 4 (checkpoint); model.resnet_units (1, 2, 1, 1) "
                           "(--config) vs (1, 1, 1, 1) (checkpoint)"), line
    assert "fc_dim" not in line  # only what differs
    # the checkpoint is untouched by the refusals
    assert _final_params(reference_run)[0] == 16


@pytest.mark.xdist_group("reference_run")
def test_a_checkpoint_without_its_model_spec_still_loads_from_config_and_data_dir(hico_dir, reference_run,
                                                                                 tmp_path):
    """Workdirs written before checkpoints carried their spec: rebuilt from --config and the
    converted dataset, same weights; without the dataset, one line saying what to give."""
    import jax
    from jax.sharding import NamedSharding, PartitionSpec as P

    from configs import tin_hico
    from tin_jax.inference import scoring
    from tin_jax.state import model as state_model

    old = tmp_path / "old"
    shutil.copytree(reference_run, old)
    shutil.rmtree(os.path.join(str(old), "checkpoints", "16", "model"))
    config = tin_hico.get_config("runlocal")
    config.data.dir = hico_dir
    shrink(config)
    repl = NamedSharding(state_model.make_mesh(), P())
    new_spec = scoring.load_model(config, str(reference_run), repl)
    legacy = scoring.load_model(config, str(old), repl)
    assert legacy.spec == new_spec.spec and legacy.step == new_spec.step == 16
    for x, y in zip(jax.tree.leaves((legacy.params, legacy.stats)), jax.tree.leaves((new_spec.params, new_spec.stats))):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    config.data.dir = ""
    with pytest.raises(FileNotFoundError, match="does not say its model: give the converted dataset with "
                                                "--config.data.dir"):
        scoring.load_model(config, str(old), repl)
    assert scoring.load_model(config, str(reference_run), repl).step == 16  # the spec suffices


def test_a_second_uncoordinated_run_on_a_workdir_is_refused_and_a_dead_ones_lock_taken_over(hico_dir, tmp_path):
    import signal
    import time
    work = tmp_path / "shared"
    first = subprocess.Popen(_cmd(hico_dir, work, "--config.total_steps=1000", "--config.log_every=1",
                                  "--config.checkpoint_every=1000"),
                             cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        metrics = os.path.join(str(work), "metrics.jsonl")
        deadline = time.time() + 300
        while time.time() < deadline and not (os.path.exists(metrics) and os.path.getsize(metrics)):
            time.sleep(0.2)
        assert first.poll() is None, "the first run ended early"
        proc = _run(_cmd(hico_dir, work, "--config.total_steps=2"), check=False)
        assert proc.returncode == 2
        line = _error_line(proc)
        assert line.startswith(f"error: {work}: another train.py writes this workdir (pid {first.pid} on "), line
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    proc = _run(_cmd(hico_dir, work, "--config.total_steps=2", "--config.checkpoint_every=2"))
    assert "taking over the lock (its process" in proc.stderr and "has ended)" in proc.stderr, proc.stderr[-2000:]
    assert not os.path.exists(os.path.join(str(work), "train.lock"))  # released at the end
