"""Training batches built in worker processes: the batches of ``train_dataset``, on more cores.

The sampling (jitter, interaction patterns, part boxes) is numpy under Python's GIL inside a
``tf.numpy_function``, so tf.data's threads cannot spread it over cores: one process builds
a few hundred examples per second (``benchmarks/pipeline.py``), less than one GPU consumes.
Here ``workers`` processes build this host's batches, worker ``w`` the batches
``w, w + W, w + 2W, ...``, each with ``train_dataset`` itself (its ``batch_slice``), so every
batch is ``train_dataset``'s by construction (and tested bit for bit). Each worker reads the
host's records (cheap: no decoding) and decodes and samples only its own batches.

A batch crosses to the training process through a slot of shared memory, one per worker:
the worker writes it there and sends its layout (names, dtypes, shapes, offsets) over a
pipe; the training process copies it out and hands the slot back. The memory is an
anonymous ``memfd`` on Linux (no ``/dev/shm`` size limit, nothing left behind if a process
is killed), elsewhere a temporary file removed once the worker has mapped it. A batch larger
than the slot (an image above every bucket) is sent through the pipe instead.

A worker that fails stops the run with its traceback; a worker that dies, with its exit code;
a worker whose training process has gone sees its pipes end and exits.
"""

from __future__ import annotations

import dataclasses
import mmap
import os
import tempfile
import traceback
from typing import Iterator

import numpy as np

from tin_jax.data import input_pipeline as ip

EXIT_WAIT_S = 5.0  # how long a reader waits for a worker whose pipe ended to report its exit
ALIGN = 64  # bytes: each array of a slot starts on a cache line


class InputWorkerError(RuntimeError):
    """A batch-building worker failed or exited."""


def train_batches(cfg: ip.PipelineConfig, *, start_step: int = 0, process_index: int = 0,
                  process_count: int = 1) -> tuple[Iterator[dict], dict]:
    """(numpy batches, facts) of :func:`input_pipeline.train_dataset`; built in
    ``cfg.workers`` processes when it is above 1. Close the iterator (``.close()``) to stop
    the workers early; they are daemons, so they also end with this process."""
    host = dict(start_step=start_step, process_index=process_index, process_count=process_count)
    if cfg.workers <= 1:
        ds, facts = ip.train_dataset(cfg, **host)
        return ds.as_numpy_iterator(), facts
    resolved, _, facts = ip.chunk_elements(cfg, **host)  # checks the data and host here, not in a worker
    return _Pool(cfg, host, slot_bytes(resolved, facts["num_labels"])), facts


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def slot_bytes(cfg: ip.PipelineConfig, num_labels: int) -> int:
    """Bytes of the largest batch whose image fits the largest bucket (every array aligned)."""
    h, w = max((tuple(b) for b in cfg.image_buckets), key=lambda b: b[0] * b[1])
    specs = [(k, dt.as_numpy_dtype, s) for k, dt, s in ip.sampled_specs(cfg, num_labels)]
    specs += [("image", np.uint8, [h, w, 3]), ("image_hw", np.int32, [2]), ("scale", np.float32, []),
              ("image_id", np.int64, []), ("chunk", np.int64, []), ("epoch", np.int64, [])]
    rows = cfg.sampling.max_pairs  # a human table's rows are at most one per pair
    return sum(_aligned(cfg.local_batch_size * np.dtype(dt).itemsize *
                        int(np.prod([rows if d is None else d for d in shape])))
               for _, dt, shape in specs)


def layout(batch: dict) -> tuple[list[tuple[str, str, tuple, int]], int]:
    """([(key, dtype, shape, offset)], bytes) of ``batch`` packed into a slot."""
    out, offset = [], 0
    for key, a in batch.items():
        out.append((key, a.dtype.str, a.shape, offset))
        offset += _aligned(a.nbytes)
    return out, offset


def _view(buffer, key_dtype_shape_offset) -> np.ndarray:
    _, dtype, shape, offset = key_dtype_shape_offset
    return np.ndarray(shape, np.dtype(dtype), buffer=buffer, offset=offset)


def _shared_file(nbytes: int) -> tuple[int, str, bool]:
    """(fd, a path another process opens it by, whether that path must be removed)."""
    if hasattr(os, "memfd_create") and os.path.isdir(f"/proc/{os.getpid()}/fd"):
        fd = os.memfd_create("tin-jax-input", os.MFD_CLOEXEC)
        path, temporary = f"/proc/{os.getpid()}/fd/{fd}", False
    else:
        fd, path = tempfile.mkstemp(prefix="tin-jax-input-")
        temporary = True
    os.ftruncate(fd, nbytes)
    return fd, path, temporary


def _work(cfg: ip.PipelineConfig, host: dict, w: int, n: int, path: str, nbytes: int,
          outbox, credits) -> None:
    """Worker ``w`` of ``n``: its batches -> the slot (layout to ``outbox``), each after the
    reader handed the slot back on ``credits``; too large ones pickled to ``outbox``."""
    try:
        with open(path, "r+b") as f:
            slot = mmap.mmap(f.fileno(), nbytes)
        outbox.send(("ready",))
        import tensorflow as tf  # pylint: disable=g-import-not-at-top

        cfg = dataclasses.replace(cfg, threads=cfg.threads or 1)  # a core each, by default
        tf.config.threading.set_inter_op_parallelism_threads(cfg.threads)
        tf.config.threading.set_intra_op_parallelism_threads(cfg.threads)
        ds, _ = ip.train_dataset(cfg, **host, batch_slice=(w, n))
        free = True
        for batch in ds.as_numpy_iterator():
            arrays, size = layout(batch)
            if size > nbytes:
                outbox.send(("batch", batch))
                continue
            if not free:
                credits.recv()  # EOFError once the reader has gone
            for entry in arrays:
                np.copyto(_view(slot, entry), batch[entry[0]])
            outbox.send(("slot", arrays))
            free = False
    except (BrokenPipeError, EOFError):  # the reading process has gone: nobody to tell
        pass
    except BaseException:  # pylint: disable=broad-except
        try:
            outbox.send(("error", traceback.format_exc()))
        except (BrokenPipeError, OSError):
            pass


def _receive(box, proc, w: int):
    """Worker ``w``'s next message. The pipe's write end lives in the worker only, so a
    worker that dies, even halfway through a message, ends it (EOFError)."""
    try:
        item = box.recv()
    except (EOFError, OSError):  # OSError: "got end of file during message"
        proc.join(timeout=EXIT_WAIT_S)
        raise InputWorkerError(f"input worker {w} exited with code {proc.exitcode} "
                               "before sending its next batch") from None
    if item[0] == "error":
        raise InputWorkerError(f"input worker {w} failed:\n{item[1]}")
    return item


class _Pool:
    """One host's batches, built by ``cfg.workers`` processes, taken from them in turn."""

    def __init__(self, cfg: ip.PipelineConfig, host: dict, nbytes: int):
        # imported here: multiprocessing's exit hooks would otherwise run in every process
        # that imports the trainer (evaluate.py's included), not only in those with workers
        import multiprocessing as mp  # pylint: disable=g-import-not-at-top

        ctx = mp.get_context("spawn")  # TensorFlow's threads do not survive a fork
        self.n, self.step = cfg.workers, 0
        self.files = [_shared_file(nbytes) for _ in range(self.n)]
        self.slots = [mmap.mmap(fd, nbytes) for fd, _, _ in self.files]
        self.outboxes, self.credits, self.processes = [], [], []
        for w, (_, path, _) in enumerate(self.files):
            out_read, out_write = ctx.Pipe(duplex=False)
            credit_read, credit_write = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_work, args=(cfg, host, w, self.n, path, nbytes, out_write, credit_read),
                            daemon=True, name=f"tin-jax input worker {w}")
            p.start()
            out_write.close()  # the worker holds the only write end: its exit ends the pipe
            credit_read.close()  # and the only read end of its credits: this process's exit ends them
            self.outboxes.append(out_read)
            self.credits.append(credit_write)
            self.processes.append(p)

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        w = self.step % self.n
        item = _receive(self.outboxes[w], self.processes[w], w)
        if item[0] == "ready":  # the worker has mapped its slot: a temporary file can go
            self._remove_file(w)
            item = _receive(self.outboxes[w], self.processes[w], w)
        if item[0] == "slot":
            batch = {entry[0]: _view(self.slots[w], entry).copy() for entry in item[1]}
            try:
                self.credits[w].send(None)
            except BrokenPipeError:  # the worker has gone; its next receive says how
                pass
        else:
            batch = item[1]
        self.step += 1
        return batch

    def _remove_file(self, w: int) -> None:
        _, path, temporary = self.files[w]
        if temporary and os.path.exists(path):
            os.unlink(path)

    def close(self) -> None:
        for box in self.outboxes + self.credits:  # a worker blocked on either sees it end
            box.close()
        for p in self.processes:
            p.join(timeout=2)
            if p.is_alive():
                p.terminate()
                p.join()
        for w, (fd, _, _) in enumerate(self.files):
            self._remove_file(w)
            self.slots[w].close()
            os.close(fd)
        self.files, self.slots = [], []
