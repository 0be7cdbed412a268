"""Keeps TensorStore's orphaned read callbacks off the user's terminal.

When one read of an orbax restore fails, orbax closes the restore's event loop while the
other reads are still in flight. Each of those, on finishing, calls back into the closed
loop from a TensorStore thread, which prints ``RuntimeError: Event loop is closed`` with
its traceback to ``sys.stderr``; and asyncio logs the failed reads' futures, when they are
collected, as "exception was never retrieved". Noise, before and after the one line that
names the damaged checkpoint (or, when training falls back to an earlier step, during and
after the run). :func:`guard` filters exactly those out; everything else passes unchanged.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading

_HEADER = "Traceback (most recent call last):"
_ORPHAN_LAST_LINE = "RuntimeError: Event loop is closed"
_UNRETRIEVED = ("Future exception was never retrieved", "Task exception was never retrieved")


class ClosedLoopTracebackFilter:
    """A text stream writing to ``stream``, less the tracebacks that non-main threads write
    and that end in ``RuntimeError: Event loop is closed``. A traceback arrives in many
    writes; each thread's is held until its last line is known."""

    def __init__(self, stream):
        self.stream = stream
        self._held: dict[int, str] = {}
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        if threading.current_thread() is threading.main_thread():
            return self.stream.write(text)
        thread = threading.get_ident()
        with self._lock:
            held = self._held.pop(thread, "") + text
            if not (held.startswith(_HEADER) or _HEADER.startswith(held)):
                self.stream.write(held)  # not a traceback
                return len(text)
            last = held.rstrip("\n").rsplit("\n", 1)[-1]
            if not held.endswith("\n") or last.startswith((" ", _HEADER[:len(last)])):
                self._held[thread] = held  # the traceback goes on
                return len(text)
        if last != _ORPHAN_LAST_LINE:
            self.stream.write(held)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name):  # fileno, isatty, encoding, ...
        return getattr(self.stream, name)


def _not_unretrieved(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith(_UNRETRIEVED)


@contextlib.contextmanager
def guard():
    """Filters ``sys.stderr`` (see :class:`ClosedLoopTracebackFilter`) and asyncio's log
    records of unretrieved exceptions for the ``with`` block; when the block raises, the
    filters stay: the orphaned reads may finish, and be collected, at any later time."""
    if isinstance(sys.stderr, ClosedLoopTracebackFilter):
        yield
        return
    stderr, asyncio_log = sys.stderr, logging.getLogger("asyncio")
    sys.stderr = ClosedLoopTracebackFilter(stderr)
    asyncio_log.addFilter(_not_unretrieved)
    yield  # an exception raised in the block leaves here, the filters in place
    sys.stderr = stderr
    asyncio_log.removeFilter(_not_unretrieved)
