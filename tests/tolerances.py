"""Tolerances derived from the float32 error a computation can have.

A float32 sum of n terms can be off from the exact sum by up to about n * eps32 * sum(|terms|)
(eps32 = 2**-23), whatever the summation order, blocking or FMA use: the bound is relative to
the magnitude of the *terms*, not of the result, so a sum with cancellation (a small result of
large terms) may carry a large relative error that is no bug. A fixed ``rtol`` on the result is
then too tight (it fails on another CPU's reduction order) or, elsewhere, too loose.

``Bounded`` carries a float64 reference value together with an elementwise bound on how far a
float32 evaluation of the same expression can be from it; each operation propagates its inputs'
bounds (first order plus the product term) and adds its own rounding. Build the reference from
the float32 inputs (exact in float64), then check with ``assert_within(got, ref)``:

    ref = (Bounded(x32) @ w32).tanh().sum(0)
    assert_within(jax_result, ref)

Comparing two float32 evaluations of one expression in different orders (sharded vs replicated,
fused vs not): each is within ``ref.err`` of the exact value, so ``assert_within(a, ref, c=2)``
for both, or ``|a - b| <= 2 * ref.err``.
"""

from __future__ import annotations

import numpy as np

EPS32 = float(np.finfo(np.float32).eps)  # 2**-23, one ulp at 1.0; a rounding is at most half
# Constant in front of n * eps32 for reductions. The classical bound is (n - 1) * eps32 / 2 for
# any summation order; 2 on top of n * eps32 covers partial sums combined at the end (blocked or
# vectorised reductions) and keeps the check far from a real bug's error.
C = 2.0
# Relative error of XLA's (and numpy's) float32 transcendental functions, in eps32. Measured on
# XLA's CPU backend over [-10, 10]: tanh (a rational approximation) 2.4, log1p 1.8, exp, log
# and the logistic 1.0.
FUNC_ULPS = 4.0


def _abs(x):
    return np.abs(np.asarray(x, np.float64))


def _count(shape, axis) -> int:
    if axis is None:
        return int(np.prod(shape))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    return int(np.prod([shape[a] for a in axes]))


def growth(n, model: str = "worst"):
    """The error growth factor of an n-term float32 sum, in units of eps32 * sum(|terms|) (n may
    be an array: one count per output element).

    ``worst``: C * n, a bound for every summation order. ``random``: C * sqrt(n), for long
    reductions where the worst case would hide real bugs: independent roundings of at most
    eps32/2 relative to partial sums <= sum(|terms|) have a standard deviation of at most
    eps32/2 * sqrt(n/3) * sum(|terms|), so this is ~7 standard deviations.
    """
    if model == "worst":
        return C * np.asarray(n, np.float64)
    if model == "random":
        return C * np.sqrt(np.asarray(n, np.float64))
    raise ValueError(model)


class Bounded:
    """A float64 value and an elementwise bound on a float32 evaluation's distance from it."""

    __array_ufunc__ = None  # numpy arrays and scalars on the left defer to our reflected operators

    def __init__(self, value, err=0.0):
        self.value = np.asarray(value, np.float64)
        self.err = np.broadcast_to(np.asarray(err, np.float64), self.value.shape).copy()

    @staticmethod
    def of(x) -> "Bounded":
        return x if isinstance(x, Bounded) else Bounded(x)

    @staticmethod
    def rounded(x) -> "Bounded":
        """A float64 value that the float32 computation holds rounded to float32."""
        x = np.asarray(x, np.float64)
        return Bounded(x, EPS32 / 2 * np.abs(x))

    @property
    def shape(self):
        return self.value.shape

    @property
    def T(self) -> "Bounded":
        return Bounded(self.value.T, self.err.T)

    def __getitem__(self, index) -> "Bounded":
        return Bounded(self.value[index], self.err[index])

    def reshape(self, *shape) -> "Bounded":
        return Bounded(self.value.reshape(*shape), self.err.reshape(*shape))

    # Reductions: n terms, each rounding relative to a partial sum <= sum(|terms|).
    def matmul(self, other, model: str = "worst") -> "Bounded":
        o = Bounded.of(other)
        n = self.shape[-1]
        mag = _abs(self.value) @ _abs(o.value)
        prop = self.err @ _abs(o.value) + _abs(self.value) @ o.err + self.err @ o.err
        return Bounded(self.value @ o.value, growth(n, model) * EPS32 * mag + prop)

    def __matmul__(self, other) -> "Bounded":
        return self.matmul(other)

    def __rmatmul__(self, other) -> "Bounded":
        return Bounded.of(other).matmul(self)

    def sum(self, axis=None, model: str = "worst") -> "Bounded":
        n = _count(self.shape, axis)
        return Bounded(self.value.sum(axis),
                       growth(n, model) * EPS32 * _abs(self.value).sum(axis) + self.err.sum(axis))

    def mean(self, axis=None, model: str = "worst") -> "Bounded":
        return self.sum(axis, model) / _count(self.shape, axis)

    # Elementwise operations: one rounding of the result (eps32 relative) plus propagation.
    def __add__(self, other) -> "Bounded":
        o = Bounded.of(other)
        v = self.value + o.value
        return Bounded(v, self.err + o.err + EPS32 * _abs(v))

    __radd__ = __add__

    def __neg__(self) -> "Bounded":
        return Bounded(-self.value, self.err)

    def __sub__(self, other) -> "Bounded":
        return self + (-Bounded.of(other))

    def __rsub__(self, other) -> "Bounded":
        return Bounded.of(other) - self

    def __mul__(self, other) -> "Bounded":
        o = Bounded.of(other)
        v = self.value * o.value
        return Bounded(v, self.err * _abs(o.value) + _abs(self.value) * o.err + self.err * o.err
                       + EPS32 * _abs(v))

    __rmul__ = __mul__

    def __truediv__(self, other) -> "Bounded":
        o = Bounded.of(other)
        lo = _abs(o.value) - o.err
        assert (lo > 0).all(), "the divisor's bound includes zero"
        v = self.value / o.value
        return Bounded(v, (self.err + _abs(v) * o.err) / lo + EPS32 * _abs(v))

    def __rtruediv__(self, other) -> "Bounded":
        return Bounded.of(other) / self

    def apply(self, f, max_slope, ulps: float = FUNC_ULPS) -> "Bounded":
        """f(x) for a function evaluated with relative error ``ulps`` eps32 whose slope is at
        most ``max_slope``: a number, or a function of (lower, upper) ends of x's interval."""
        v = f(self.value)
        if callable(max_slope):
            slope = max_slope(self.value - self.err, self.value + self.err)
        else:
            slope = max_slope
        return Bounded(v, slope * self.err + ulps * EPS32 * _abs(v))

    def tanh(self) -> "Bounded":
        def slope(lo, hi):  # 1 - tanh^2 is largest where |x| is smallest
            closest = np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(np.abs(lo), np.abs(hi)))
            return 1 - np.tanh(closest) ** 2
        return self.apply(np.tanh, slope)

    def sigmoid(self) -> "Bounded":
        return self.apply(lambda z: 1 / (1 + np.exp(-z)), 0.25)

    def relu(self) -> "Bounded":
        return self.apply(lambda z: np.maximum(z, 0), 1.0, ulps=0)

    def sqrt(self) -> "Bounded":
        def slope(lo, hi):
            assert (lo > 0).all(), "sqrt's argument bound includes zero"
            return 0.5 / np.sqrt(lo)
        return self.apply(np.sqrt, slope, ulps=1)  # IEEE sqrt: correctly rounded


def stack(items, axis=0) -> Bounded:
    items = [Bounded.of(x) for x in items]
    return Bounded(np.stack([x.value for x in items], axis), np.stack([x.err for x in items], axis))


def sigmoid_ce(labels, z: Bounded) -> Bounded:
    """``tf.nn.sigmoid_cross_entropy_with_logits`` = max(z, 0) - z*y + log1p(exp(-|z|)) for labels
    y in [0, 1]. Its slope in z, sigmoid(z) - y, is at most 1; the roundings are relative to the
    terms |z| (which cancel to a small loss where z and y agree), to the difference and the loss,
    and exp and log1p's errors are within 2 * FUNC_ULPS eps32 of the log1p term."""
    z = Bounded.of(z)
    y = np.asarray(labels, np.float64)
    soft = np.log1p(np.exp(-np.abs(z.value)))
    hard = np.maximum(z.value, 0) - z.value * y
    v = hard + soft
    return Bounded(v, z.err + EPS32 * (np.abs(z.value) + np.abs(hard) + np.abs(v) + 2 * FUNC_ULPS * soft))


def assert_within(got, ref: Bounded, c: float = 1.0, err_msg: str = "") -> None:
    """|got - ref.value| <= c * ref.err elementwise, with the worst offender in the message."""
    got = np.asarray(got, np.float64)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    diff = np.abs(got - ref.value)
    bound = c * ref.err
    bad = ~(diff <= bound)
    if bad.any():
        i = np.unravel_index(np.argmax(np.where(bad, diff - bound, -np.inf)), diff.shape)
        raise AssertionError(
            f"{err_msg}: {bad.sum()} of {diff.size} elements beyond the float32 error bound; worst "
            f"at {i}: got {got[i]!r}, float64 reference {ref.value[i]!r}, |diff| {diff[i]:.3g} > "
            f"bound {bound[i]:.3g} (max |diff| / bound {np.max(diff / np.maximum(bound, 1e-300)):.3g})")
