"""Load the original TIN / iCAN pickles without letting them run code.

The released files are Python 2 pickles (protocol 2) of lists, dicts, numbers,
strings, ``None`` and numpy arrays / scalars. ``pickle.load`` would import and
call *any* global a file names, so a downloaded pickle could execute arbitrary
code. :class:`RestrictedUnpickler` resolves only the handful of globals those
files need and refuses everything else with an error naming the file.

Python 2 ``str`` objects (numpy's raw array bytes among them) are decoded with
``encoding='latin1'``, which maps every byte 1:1 and is what numpy expects when
it rebuilds arrays pickled under Python 2.
"""

from __future__ import annotations

import builtins
import io
import os
import pickle
from typing import Any

import numpy as np

from tin_jax.io.errors import DataFormatError

# numpy moved its internals from ``numpy.core`` to ``numpy._core`` in 2.0; old
# pickles name the former. Map every spelling to the real object.
_NUMPY_MULTIARRAY = np.ndarray.__module__  # 'numpy'
try:  # numpy >= 2
    from numpy._core import multiarray as _multiarray  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _multiarray  # type: ignore[no-redef]

_ALLOWED: dict[tuple[str, str], Any] = {}
for _mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_mod, "_reconstruct")] = _multiarray._reconstruct
    _ALLOWED[(_mod, "scalar")] = _multiarray.scalar
_ALLOWED[("numpy", "ndarray")] = np.ndarray
_ALLOWED[("numpy", "dtype")] = np.dtype
# Harmless builtins that protocol-2 pickles use for containers and codecs.
for _name in ("set", "frozenset", "list", "dict", "tuple", "complex"):
    _ALLOWED[("__builtin__", _name)] = getattr(builtins, _name)
    _ALLOWED[("builtins", _name)] = getattr(builtins, _name)
_ALLOWED[("_codecs", "encode")] = __import__("codecs").encode

ALLOWED_GLOBALS = tuple(sorted(f"{m}.{n}" for m, n in _ALLOWED))


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that only resolves :data:`ALLOWED_GLOBALS`."""

    def __init__(self, file, *, source: str = "<pickle>"):
        super().__init__(file, encoding="latin1")
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise DataFormatError(
                    f"{self._source}: refuses to load global {module}.{name!s}; only plain "
                    "lists/dicts/numbers/strings and numpy arrays are allowed in TIN pickles"
            ) from None


def load_pickle(path: str | os.PathLike) -> Any:
    """Loads a TIN/iCAN pickle with :class:`RestrictedUnpickler`.

    Raises:
        DataFormatError: naming ``path`` if it is missing, truncated, not a pickle,
            or references a global that is not allowed.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise DataFormatError(f"{path}: cannot read ({e.strerror or e})") from None
    return loads_pickle(data, source=path)


def loads_pickle(data: bytes, *, source: str = "<pickle>") -> Any:
    """Like :func:`load_pickle` for bytes already in memory."""
    try:
        return RestrictedUnpickler(io.BytesIO(data), source=source).load()
    except DataFormatError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError,
                    AttributeError, IndexError, KeyError, UnicodeDecodeError) as e:
        raise DataFormatError(
                f"{source}: not a valid pickle ({type(e).__name__}: {e})") from None
