"""MATLAB arithmetic that the published HICO-DET numbers depend on: ``round``, ``a:d:b`` and ``mean``."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MATLAB_THRESHOLDS", "OCTAVE_THRESHOLDS", "matlab_colon", "matlab_mean", "matlab_round"]


def matlab_round(x: np.ndarray) -> np.ndarray:
    """MATLAB ``round``: nearest integer, halves away from zero (numpy rounds halves to even).

    ``x - trunc(x)`` is exact in binary floating point, so 0.49999999999999994 stays 0 (``floor(x + 0.5)``
    would give 1).
    """
    x = np.asarray(x, dtype=np.float64)
    whole = np.trunc(x)
    return whole + np.where(np.abs(x - whole) >= 0.5, np.sign(x), 0.0)


def matlab_colon(a: float, d: float, b: float) -> np.ndarray:
    """MATLAB's ``a:d:b`` for doubles, following MathWorks' documented algorithm (``colonop.m``).

    Why: the 11-point AP loops over ``t = 0:0.1:1`` and compares ``rec >= t`` exactly. MATLAB does not compute
    ``a + k*d`` for every k: the lower half is ``a + k*d`` and the upper half ``b - (n-k)*d`` (the vector is
    symmetric about its midpoint, which for even n is ``(a+b)/2``). For ``0:0.1:1`` that gives ``3*0.1 =
    0.30000000000000004`` (not 0.3) but ``1 - 4*0.1 = 0.6`` and ``1 - 3*0.1 = 0.7`` exactly, where Octave and
    numpy (``k*0.1`` throughout) give 0.6000000000000001 and 0.7000000000000001.
    """
    eps = np.finfo(np.float64).eps
    tol = 2.0 * eps * max(abs(a), abs(b))
    if not (math.isfinite(a) and math.isfinite(d) and math.isfinite(b)):
        raise ValueError("matlab_colon: non-finite argument")
    if d == 0 or (a < b and d < 0) or (b < a and d > 0):
        return np.zeros(0)
    sig = math.copysign(1.0, d)
    if a == math.floor(a) and d == 1:
        n = int(math.floor(b) - a)
    elif a == math.floor(a) and d == math.floor(d):
        q = math.floor(a / d)
        n = int(math.floor((b - (a - q * d)) / d) - q)
    else:
        ratio = (b - a) / d
        n = int(math.copysign(math.floor(abs(ratio) + 0.5), ratio))  # MATLAB round
        if sig * (a + n * d - b) > tol:
            n -= 1
    c = a + n * d
    if sig * (c - b) > -tol:
        c = b
    v = np.zeros(n + 1)
    for k in range(n // 2 + 1):
        v[k] = a + k * d
        v[n - k] = c - k * d
    if n % 2 == 0:
        v[n // 2] = (a + c) / 2
    return v


# The t values of ``for t = 0:0.1:1`` in VOCevaldet_bboxpair.m under MATLAB (the published numbers).
MATLAB_THRESHOLDS = matlab_colon(0.0, 0.1, 1.0)
MATLAB_THRESHOLDS.setflags(write=False)
# The same loop under GNU Octave (base + k*increment); use it to compare with Octave runs bit for bit.
OCTAVE_THRESHOLDS = np.arange(11) * 0.1
OCTAVE_THRESHOLDS.setflags(write=False)


def matlab_mean(values: np.ndarray) -> float:
    """``mean`` of a vector: left-to-right sum over the count; NaN for an empty vector, as MATLAB."""
    if len(values) == 0:
        return float("nan")
    total = 0.0
    for v in values.tolist():
        total += v
    return total / len(values)
