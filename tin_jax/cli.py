"""What the command lines share: one ``error:`` line for bad input, and its exit."""

from __future__ import annotations

import os
import sys


def fail(error: BaseException | str, code: int) -> None:
    """Prints ``error: <message on one line>`` and exits with ``code``.

    Exits without the interpreter's teardown: after a failed checkpoint read, orbax's and
    TensorStore's background tasks would otherwise print tracebacks of their own at exit,
    burying the one line that says what is wrong.
    """
    print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # pylint: disable=protected-access
