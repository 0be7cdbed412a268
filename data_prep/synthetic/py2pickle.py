"""Write pickles byte-for-byte the way Python 2 / numpy 1.x wrote them.

The released TIN / iCAN pickles were written by Python 2.7 with protocol 2.
There a ``str`` is a byte string (opcodes ``SHORT_BINSTRING``/``BINSTRING``),
and numpy stores an array's raw buffer as such a ``str``. Python 3's pickler
cannot produce those opcodes (it writes ``bytes`` through ``_codecs.encode``),
so the synthetic dataset is written by this small emitter instead. Loading its
output therefore needs ``encoding='latin1'`` exactly like the real files do.

Supported values: None, bool, int, float, str (ASCII, written as a Py2 str),
list, tuple, dict, numpy arrays and numpy scalars.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
from typing import Any, BinaryIO

import numpy as np

PROTO, STOP, MARK = b"\x80", b".", b"("
NONE, NEWTRUE, NEWFALSE = b"N", b"\x88", b"\x89"
BININT, BININT1, BININT2, LONG1 = b"J", b"K", b"M", b"\x8a"
BINFLOAT = b"G"
SHORT_BINSTRING, BINSTRING = b"U", b"T"
EMPTY_LIST, APPENDS, EMPTY_DICT, SETITEMS = b"]", b"e", b"}", b"u"
EMPTY_TUPLE, TUPLE, TUPLE1, TUPLE2, TUPLE3 = b")", b"t", b"\x85", b"\x86", b"\x87"
GLOBAL, REDUCE, BUILD = b"c", b"R", b"b"


class _Py2Writer:

    def __init__(self, out: BinaryIO):
        self.out = out

    def dump(self, obj: Any) -> None:
        self.out.write(PROTO + b"\x02")
        self.save(obj)
        self.out.write(STOP)

    # -- scalars ---------------------------------------------------------------
    def save(self, obj: Any) -> None:
        w = self.out.write
        if obj is None:
            w(NONE)
        elif obj is True or obj is False:
            w(NEWTRUE if obj else NEWFALSE)
        elif isinstance(obj, np.ndarray):
            self.save_ndarray(obj)
        elif isinstance(obj, np.generic):
            self.save_npscalar(obj)
        elif isinstance(obj, int):
            self.save_int(obj)
        elif isinstance(obj, float):
            w(BINFLOAT + struct.pack(">d", obj))
        elif isinstance(obj, (str, bytes)):
            self.save_py2str(obj.encode("ascii") if isinstance(obj, str) else obj)
        elif isinstance(obj, list):
            w(EMPTY_LIST)
            if obj:
                w(MARK)
                for x in obj:
                    self.save(x)
                w(APPENDS)
        elif isinstance(obj, tuple):
            self.save_tuple(obj)
        elif isinstance(obj, dict):
            w(EMPTY_DICT)
            if obj:
                w(MARK)
                for k, v in obj.items():
                    self.save(k)
                    self.save(v)
                w(SETITEMS)
        else:
            raise TypeError(f"py2pickle cannot write {type(obj).__name__}")

    def save_int(self, v: int) -> None:
        w = self.out.write
        if 0 <= v < 256:
            w(BININT1 + bytes([v]))
        elif 0 <= v < 65536:
            w(BININT2 + struct.pack("<H", v))
        elif -(2**31) <= v < 2**31:
            w(BININT + struct.pack("<i", v))
        else:  # Python 2 long
            n = (v.bit_length() + 8) // 8
            w(LONG1 + bytes([n]) + v.to_bytes(n, "little", signed=True))

    def save_py2str(self, b: bytes) -> None:
        if len(b) < 256:
            self.out.write(SHORT_BINSTRING + bytes([len(b)]) + b)
        else:
            self.out.write(BINSTRING + struct.pack("<i", len(b)) + b)

    def save_tuple(self, t: tuple) -> None:
        w = self.out.write
        if not t:
            w(EMPTY_TUPLE)
            return
        if len(t) <= 3:
            for x in t:
                self.save(x)
            w((TUPLE1, TUPLE2, TUPLE3)[len(t) - 1])
            return
        w(MARK)
        for x in t:
            self.save(x)
        w(TUPLE)

    # -- numpy, as numpy 1.x under Python 2 reduced them ------------------------
    def save_global(self, module: str, name: str) -> None:
        self.out.write(GLOBAL + module.encode() + b"\n" + name.encode() + b"\n")

    def save_dtype(self, dt: np.dtype) -> None:
        if dt.fields is not None or dt.subdtype is not None:
            raise TypeError("py2pickle writes only simple numeric dtypes")
        self.save_global("numpy", "dtype")
        self.save_tuple((dt.str[1:], 0, 1))
        self.out.write(REDUCE)
        order = "|" if dt.itemsize == 1 else "<"
        self.save_tuple((3, order, None, None, None, -1, -1, 0))
        self.out.write(BUILD)

    def save_ndarray(self, a: np.ndarray) -> None:
        w = self.out.write
        a = np.array(a, order="C", copy=True)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        self.save_global("numpy.core.multiarray", "_reconstruct")
        self.save_global("numpy", "ndarray")
        self.save_tuple((0,))
        self.save_py2str(b"b")
        w(TUPLE3 + REDUCE)
        # state = (version, shape, dtype, is_fortran, raw bytes as a py2 str)
        w(MARK)
        self.save_int(1)
        self.save_tuple(tuple(int(s) for s in a.shape))
        self.save_dtype(a.dtype)
        w(NEWFALSE)
        self.save_py2str(a.tobytes())
        w(TUPLE + BUILD)

    def save_npscalar(self, x: np.generic) -> None:
        self.save_global("numpy.core.multiarray", "scalar")
        self.save_dtype(x.dtype)
        self.save_py2str(np.asarray(x).astype(x.dtype.newbyteorder("<")).tobytes())
        self.out.write(TUPLE2 + REDUCE)


def dumps_py2(obj: Any) -> bytes:
    buf = io.BytesIO()
    _Py2Writer(buf).dump(obj)
    return buf.getvalue()


def dump_py2(obj: Any, path: str | os.PathLike) -> None:
    """Writes ``obj`` to ``path`` atomically (temp file + rename)."""
    path = os.fspath(path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            _Py2Writer(f).dump(obj)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


__all__ = ["dump_py2", "dumps_py2"]
