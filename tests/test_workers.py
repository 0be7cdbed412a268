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
    """Round-robin over 3 processes, batches of 2 (so batches straddle workers), resumed at a
    step, with the human tables and part boxes (variable table sizes, 10 part boxes) or resized
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


def test_a_worker_that_fails_sends_its_error_and_the_stream_raises_it(hico_dir):
    """Run in this process: a record that is not a tf.Example reaches the worker; its
    traceback comes back and the reader raises it, naming the worker."""
    import multiprocessing as mp
    import queue
    import threading

    cfg, _, facts = ip.chunk_elements(ip.PipelineConfig(data_dir=hico_dir))
    inbox = queue.Queue()
    for item in (dict(record=b"not a tf.Example", chunk=0, epoch=0), None):
        inbox.put(item)
    read, write = mp.Pipe(duplex=False)
    worker = threading.Thread(target=workers._work, args=(cfg, facts["num_labels"], inbox, write))
    worker.start()
    with pytest.raises(workers.InputWorkerError, match="(?s)input worker 0 failed:.*Traceback"):
        workers._receive(read, worker, 0)
    worker.join()


def test_batch_examples_pads_like_padded_batch_and_the_buckets():
    cfg = ip.PipelineConfig(data_dir="", image_buckets=((40, 60), (64, 64)), human_table_sizes=(4, 8))
    a = dict(image=np.ones((30, 50, 3), np.uint8), human_table=np.ones((3, 4), np.float32),
             num_pos=np.int32(2))
    b = dict(image=np.full((36, 20, 3), 2, np.uint8), human_table=np.ones((5, 4), np.float32),
             num_pos=np.int32(4))
    out = workers.batch_examples([a, b], cfg)
    assert out["image"].shape == (2, 40, 60, 3) and out["human_table"].shape == (2, 8, 4)
    np.testing.assert_array_equal(out["image"][0, :30, :50], a["image"])
    assert not out["image"][0, 30:].any() and not out["image"][1, :, 20:].any()
    assert out["human_table"][0, 3:].sum() == 0 and out["human_table"][1, :5].all()
    np.testing.assert_array_equal(out["num_pos"], [2, 4])
