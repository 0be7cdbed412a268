"""Examples sampled in worker processes (``tin_jax.data.workers``): the batches of the
in-process tf.data pipeline bit for bit, and a worker's failure stops the stream with it."""

from __future__ import annotations

import dataclasses
import os
import signal

import numpy as np
import pytest

from tin_jax.data import input_pipeline as ip
from tin_jax.data import workers


def _take(it, n):
    return [next(it) for _ in range(n)]


@pytest.mark.parametrize("case", ["tables_and_parts", "resized_second_host"])
def test_worker_batches_equal_the_tf_data_batches(hico_dir, case):
    """Batches dealt round-robin to 3 processes, resumed at a step, with the human tables and part boxes (variable table sizes, 10 part boxes) or resized
    images on the second of two hosts: every array equal to ``train_dataset``'s."""
    cfg = ip.PipelineConfig(data_dir=hico_dir, seed=7, local_batch_size=2, shuffle_buffer=32)
    host = dict(start_step=3)
    if case == "tables_and_parts":
        cfg = dataclasses.replace(cfg, human_table_sizes=(18, 20), part_boxes=True)
    else:
        cfg = dataclasses.replace(cfg, max_long_side=200)
        host.update(process_index=1, process_count=2)
    want = _take(ip.train_dataset(cfg, **host)[0].as_numpy_iterator(), 7)
    it, facts = workers.train_batches(dataclasses.replace(cfg, workers=3), **host)
    try:
        got = _take(it, 7)
    finally:
        it.close()
    assert facts == ip.train_dataset(cfg, **host)[1]
    assert all(not p.is_alive() for p in it.processes)
    for a, b in zip(want, got):
        assert set(a) == set(b)
        for k in a:
            assert a[k].dtype == b[k].dtype, k
            np.testing.assert_array_equal(b[k], a[k], err_msg=k)


def test_a_worker_that_dies_stops_the_stream_with_its_exit_code(hico_dir):
    cfg = ip.PipelineConfig(data_dir=hico_dir, seed=1, local_batch_size=2, workers=2)
    it, _ = workers.train_batches(cfg)
    try:
        next(it)
        os.kill(it.processes[1].pid, signal.SIGKILL)  # wherever it is, halfway through a message too
        it.processes[1].join()
        with pytest.raises(workers.InputWorkerError, match="input worker 1 exited with code -9"):
            for _ in range(20):  # the examples it sent before dying come first
                next(it)
    finally:
        it.close()


def test_a_worker_that_fails_sends_its_error_and_the_stream_raises_it(hico_dir, tmp_path):
    """A shard that is not TFRecord data, read in a worker: its traceback comes back and the
    reader raises it, naming the worker."""
    import shutil
    bad = tmp_path / "data"
    shutil.copytree(hico_dir, bad)
    shard = ip.load_info(str(bad)).shards("train")[0]["file"]
    (bad / shard).write_bytes(b"not a TFRecord file")
    it, _ = workers.train_batches(ip.PipelineConfig(data_dir=str(bad), workers=2, shuffle=False))
    try:
        with pytest.raises(workers.InputWorkerError, match="(?s)input worker 0 failed:.*Traceback.*corrupted record"):
            next(it)
    finally:
        it.close()


def test_batches_larger_than_the_slot_cross_the_pipe_and_files_are_removed(hico_dir, monkeypatch):
    """The fallbacks: with slots too small for any batch, every batch is pickled through the
    pipe; with no memfd (as on macOS), the slots are temporary files, gone once mapped."""
    cfg = ip.PipelineConfig(data_dir=hico_dir, seed=3, local_batch_size=2)
    want = _take(ip.train_dataset(cfg)[0].as_numpy_iterator(), 4)
    monkeypatch.setattr(workers, "slot_bytes", lambda *_: 4096)
    monkeypatch.delattr(os, "memfd_create", raising=False)
    it, _ = workers.train_batches(dataclasses.replace(cfg, workers=2))
    try:
        got = _take(it, 4)
        assert all(temporary for _, _, temporary in it.files)
        assert not any(os.path.exists(path) for _, path, _ in it.files)
    finally:
        it.close()
    for a, b in zip(want, got):
        for k in a:
            np.testing.assert_array_equal(b[k], a[k], err_msg=k)


def test_a_worker_exits_when_the_reader_has_gone(hico_dir):
    """Killing the reading process must not leave workers behind: their pipes end."""
    import subprocess
    import sys
    import textwrap
    code = textwrap.dedent(f"""
        import os, sys
        from tin_jax.data import input_pipeline as ip, workers
        it, _ = workers.train_batches(ip.PipelineConfig(data_dir={hico_dir!r}, workers=2))
        next(it)
        print(" ".join(str(p.pid) for p in it.processes), flush=True)
        os.kill(os.getpid(), 9)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2, out.stderr
    import time
    deadline = time.time() + 60
    while time.time() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.2)
    assert not any(_alive(p) for p in pids)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
