"""The filter that keeps an aborted restore's orphaned TensorStore callbacks off stderr:
it drops exactly their tracebacks, however the writes are cut, and nothing else."""

from __future__ import annotations

import asyncio
import io
import logging
import random
import sys
import threading
import traceback

import pytest

from tin_jax.state import stderr_guard


def _closed_loop_traceback() -> str:
    loop = asyncio.new_event_loop()
    loop.close()
    try:
        loop.call_soon_threadsafe(print)
    except RuntimeError:
        return traceback.format_exc()
    raise AssertionError("a closed loop took a callback")


def _other_traceback() -> str:
    try:
        raise ValueError("a real error in a worker thread")
    except ValueError:
        return traceback.format_exc()


def _pieces(text: str, rng: random.Random) -> list[str]:
    """``text`` cut at random places, as the interpreter's traceback printer writes it."""
    cuts = sorted(rng.sample(range(1, len(text)), 12))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]


def _in_thread(fn) -> None:
    t = threading.Thread(target=fn)
    t.start()
    t.join()


@pytest.mark.parametrize("seed", range(5))
def test_only_closed_loop_tracebacks_of_other_threads_are_dropped(seed):
    rng = random.Random(seed)
    orphan, other = _closed_loop_traceback(), _other_traceback()
    assert orphan.rstrip().endswith("RuntimeError: Event loop is closed")
    out = io.StringIO()
    stream = stderr_guard.ClosedLoopTracebackFilter(out)
    a, b = _pieces(orphan, rng), _pieces(other, rng)
    barrier = threading.Barrier(2)

    def write(pieces):
        barrier.wait()
        for piece in pieces:
            stream.write(piece)

    threads = [threading.Thread(target=write, args=(p,)) for p in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out.getvalue() == other  # whole, whatever the interleaving
    stream.write(orphan)  # the main thread's writes all pass
    _in_thread(lambda: stream.write("a worker's log line\n"))
    _in_thread(lambda: [stream.write(p) for p in _pieces(orphan, rng)])
    assert out.getvalue() == other + orphan + "a worker's log line\n"


def test_the_guard_stays_after_a_failure_and_leaves_after_a_success():
    stderr = sys.stderr
    log = logging.getLogger("asyncio")
    unretrieved = logging.LogRecord("asyncio", logging.ERROR, __file__, 1,
                                    "Future exception was never retrieved\nfuture: ...", None, None)
    try:
        with stderr_guard.guard():
            assert isinstance(sys.stderr, stderr_guard.ClosedLoopTracebackFilter)
            assert not log.filter(unretrieved)
        assert sys.stderr is stderr and log.filter(unretrieved)
        with pytest.raises(ValueError):
            with stderr_guard.guard():
                raise ValueError("unreadable")
        assert isinstance(sys.stderr, stderr_guard.ClosedLoopTracebackFilter)
        assert not log.filter(unretrieved)
        assert log.filter(logging.LogRecord("asyncio", logging.ERROR, __file__, 1, "another", None, None))
    finally:
        sys.stderr = stderr
        for f in list(log.filters):
            log.removeFilter(f)
