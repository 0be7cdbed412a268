"""Restricted loading of Python-2 pickles, and our Python-2 pickle writer."""

from __future__ import annotations

import os
import pickle
import pickletools

import numpy as np
import pytest

from data_prep.synthetic.py2pickle import dump_py2, dumps_py2
from tin_jax.io.errors import DataFormatError
from tin_jax.io.safe_pickle import load_pickle, loads_pickle

SAMPLE = {
    7: [[7, "Human", np.array([1.5, 2.0, 30.0, 40.0], np.float32), float("nan"), 1,
         np.float32(0.93), [0.25] * 51]],
    123456789: [[123456789, "Object", np.arange(4, dtype=np.float64), float("nan"), 44,
                 np.array(0.5, np.float32), None]],
    "tuple": (1, -2, 3.5, 2 ** 40, True, None),
    "arrays": [np.zeros((2, 3), np.int32), np.arange(300, dtype=np.uint8), np.float64(1e-3)],
}


def _equal(a, b):
    if isinstance(a, np.ndarray) or isinstance(a, np.generic):
        return type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape and (
            np.array_equal(a, b, equal_nan=True))
    if isinstance(a, float) and np.isnan(a):
        return isinstance(b, float) and np.isnan(b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_equal, a, b))
    return a == b and type(a) is type(b)


def test_round_trip_through_restricted_and_stdlib_loaders():
    data = dumps_py2(SAMPLE)
    assert _equal(loads_pickle(data), SAMPLE)
    assert _equal(pickle.loads(data, encoding="latin1"), SAMPLE)  # independent reference


def test_written_like_python2():
    data = dumps_py2(SAMPLE)
    ops = {op.name for op, _, _ in pickletools.genops(data)}
    assert data[:2] == b"\x80\x02"
    assert "SHORT_BINSTRING" in ops and "BINSTRING" in ops  # py2 str, never BINBYTES
    assert not ops & {"BINBYTES", "SHORT_BINBYTES", "BINUNICODE", "SHORT_BINUNICODE"}
    with pytest.raises(UnicodeDecodeError):  # Python 3's default ASCII decoding fails, as on the real files
        pickle.loads(data)


def test_refuses_code_execution(tmp_path):
    path = str(tmp_path / "evil.pkl")
    with open(path, "wb") as f:
        pickle.dump(os.system, f, protocol=2)
    with pytest.raises(DataFormatError, match=r"evil\.pkl: refuses to load global (posix|nt)\.system"):
        load_pickle(path)


@pytest.mark.parametrize("payload,match", [(b"\x80\x02]q\x00(K\x01", "not a valid pickle"),
                                           (b"hello", "not a valid pickle")])
def test_truncated_or_garbage(tmp_path, payload, match):
    path = str(tmp_path / "bad.pkl")
    open(path, "wb").write(payload)
    with pytest.raises(DataFormatError, match=rf"bad\.pkl: {match}"):
        load_pickle(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataFormatError, match=r"nope\.pkl: cannot read"):
        load_pickle(str(tmp_path / "nope.pkl"))


def test_atomic_dump(tmp_path):
    path = str(tmp_path / "x.pkl")
    dump_py2([1, 2], path)
    with pytest.raises(TypeError):
        dump_py2([object()], path)
    assert load_pickle(path) == [1, 2]  # the failed write left the old file intact
    assert os.listdir(tmp_path) == ["x.pkl"]
