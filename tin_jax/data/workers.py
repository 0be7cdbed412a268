"""Training examples sampled in worker processes: the batches of ``train_dataset``.

The sampling (jitter, interaction patterns, part boxes) is numpy under Python's GIL inside a
``tf.numpy_function``, so tf.data's threads cannot spread it over cores: one process samples
at most a few hundred examples per second (``benchmarks/pipeline.py``), less than one GPU
consumes. Processes can use more cores; on 2 cores they are slower than sampling in
process (``benchmarks/pipeline.py``: the examples cross pipes pickled). Here this host's
chunks, still serialized records, are read in order by the training process and dealt round-robin to ``workers`` processes (element j to worker j mod W); each
decodes and samples its share with the pipeline's own functions and sends the examples back;
the training process takes them in the same round-robin order and batches them as
``train_dataset`` does (zero padding to the batch's largest image and table, then to the
bucket and table size). The batches are those of ``train_dataset``, bit for bit (tested).

A worker that fails stops the run with its error; a worker that dies, with its exit code.
"""

from __future__ import annotations

import traceback
from typing import Iterator

import numpy as np

from tin_jax.data import encoding
from tin_jax.data import input_pipeline as ip

IN_FLIGHT = 4  # chunks handed to a worker ahead of the one awaited
EXIT_WAIT_S = 5.0  # how long a reader waits for a worker whose pipe ended to report its exit


class InputWorkerError(RuntimeError):
    """A sampling worker failed or exited."""


def train_batches(cfg: ip.PipelineConfig, *, start_step: int = 0, process_index: int = 0,
                  process_count: int = 1) -> tuple[Iterator[dict], dict]:
    """(numpy batches, facts) of :func:`input_pipeline.train_dataset`; sampled in
    ``cfg.workers`` processes when it is above 1. Close the iterator (``.close()``) to stop
    the workers early; they are daemons, so they also end with this process."""
    host = dict(start_step=start_step, process_index=process_index, process_count=process_count)
    if cfg.workers <= 1:
        ds, facts = ip.train_dataset(cfg, **host)
        return ds.as_numpy_iterator(), facts
    cfg, chunks, facts = ip.chunk_elements(cfg, **host)
    return _Pool(cfg, chunks, facts["num_labels"]), facts


def batch_examples(examples: list[dict], cfg: ip.PipelineConfig) -> dict:
    """Stacks examples as ``padded_batch`` + the bucket padding of ``train_dataset`` do: the
    image zero-padded to the batch's largest, then to its bucket; the human table to the
    batch's largest, then to its table size; everything else has one shape already."""
    out = {}
    for key in examples[0]:
        arrays = [np.asarray(e[key]) for e in examples]
        if key in ("image", "human_table"):
            most = np.max([a.shape for a in arrays], axis=0)
            if key == "image":
                most[:2] = encoding.bucket_for(int(most[0]), int(most[1]),
                                               [tuple(b) for b in cfg.image_buckets],
                                               cfg.bucket_fallback_multiple)
            else:
                most[0] = encoding.table_rows(int(most[0]), cfg.human_table_sizes or (),
                                              cfg.sampling.max_pairs)
            arrays = [np.pad(a, [(0, m - s) for s, m in zip(a.shape, most)]) for a in arrays]
        out[key] = np.stack(arrays)
    return out


def _work(cfg: ip.PipelineConfig, num_labels: int, inbox, outbox) -> None:
    """A worker: chunk elements from ``inbox`` (None ends) -> examples to the pipe ``outbox``."""
    try:
        import tensorflow as tf  # pylint: disable=g-import-not-at-top

        def chunks():
            yield from iter(inbox.get, None)

        spec = {"record": tf.TensorSpec([], tf.string), "chunk": tf.TensorSpec([], tf.int64),
                "epoch": tf.TensorSpec([], tf.int64)}
        ds = ip.sample_chunks(tf.data.Dataset.from_generator(chunks, output_signature=spec), cfg,
                              num_labels)
        for example in ds.as_numpy_iterator():
            outbox.send(example)
    except BrokenPipeError:  # the reading process has gone: nobody to tell
        pass
    except BaseException:  # pylint: disable=broad-except
        outbox.send(("error", traceback.format_exc()))


def _receive(box, proc, w: int):
    """The next example from worker ``w``'s pipe. The pipe's write end lives in the worker
    only, so a worker that dies, even halfway through a message, ends it (EOFError)."""
    try:
        item = box.recv()
    except (EOFError, OSError):  # OSError: "got end of file during message"
        proc.join(timeout=EXIT_WAIT_S)
        raise InputWorkerError(f"input worker {w} exited with code {proc.exitcode} "
                               "before sending its next example") from None
    if isinstance(item, tuple) and item[:1] == ("error",):
        raise InputWorkerError(f"input worker {w} failed:\n{item[1]}")
    return item


class _Pool:
    """The batches of one host's chunk stream, sampled by ``cfg.workers`` processes."""

    def __init__(self, cfg: ip.PipelineConfig, chunks, num_labels: int):
        # imported here: multiprocessing's exit hooks would otherwise run in every process
        # that imports the trainer (evaluate.py's included), not only in those with workers
        import multiprocessing as mp  # pylint: disable=g-import-not-at-top

        ctx = mp.get_context("spawn")  # TensorFlow's threads do not survive a fork
        self.cfg, self.n = cfg, cfg.workers
        self.inboxes = [ctx.Queue() for _ in range(self.n)]
        pipes = [ctx.Pipe(duplex=False) for _ in range(self.n)]
        self.outboxes = [read for read, _ in pipes]
        self.processes = [ctx.Process(target=_work, args=(cfg, num_labels, self.inboxes[w], pipes[w][1]),
                                      daemon=True, name=f"tin-jax input worker {w}") for w in range(self.n)]
        for p, (_, write) in zip(self.processes, pipes):
            p.start()
            write.close()  # the worker holds the only write end: its exit ends the pipe
        self.source = chunks.as_numpy_iterator()  # endless
        self.sent = self.received = 0

    def __iter__(self):
        return self

    def _send(self) -> None:
        self.inboxes[self.sent % self.n].put(next(self.source))
        self.sent += 1

    def __next__(self) -> dict:
        batch = []
        for _ in range(self.cfg.local_batch_size):
            while self.sent < self.received + 1 + self.n * IN_FLIGHT:  # every worker IN_FLIGHT ahead
                self._send()
            w = self.received % self.n
            batch.append(_receive(self.outboxes[w], self.processes[w], w))
            self.received += 1
        return batch_examples(batch, self.cfg)

    def close(self) -> None:
        for box in self.inboxes:
            box.put(None)
            box.cancel_join_thread()  # a dead worker's inbox may never drain: do not wait on it
        for box in self.outboxes:  # a worker blocked sending sees a broken pipe
            box.close()
        for p in self.processes:
            p.join(timeout=2)
            if p.is_alive():
                p.terminate()
                p.join()
