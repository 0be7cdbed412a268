"""Low-grade Instance Suppression (LIS): the sigmoid weight TIN puts on detection scores.

``LIS(x) = a / (1 + e^(b - c x)) + d`` with the original's constant ``e`` (:data:`E`) and the
(a, b, c, d) of each benchmark: :data:`HICO_LIS`, :data:`VCOCO_LIS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["E", "HICO_LIS", "VCOCO_LIS", "lis_weight"]

E = 2.718281828459  # getSigmoid's e, not math.e
HICO_LIS = (6.0, 10.0, 1.4, 0.0)  # (a, b, c, d): Generate_HICO_detection_nis.py getSigmoid(10, 1.4, 0, x)
VCOCO_LIS = (6.0, 6.0, 7.0, 0.0)  # Vcoco_lis_nis.py sigmoid_coeff


def lis_weight(x: Any, params: Sequence[float] = HICO_LIS) -> np.ndarray:
    """Low-grade Instance Suppression ``a / (1 + e^(b - c x)) + d`` in float64, element by element.

    Python floats and libm ``pow``, as the original's scalar code computes it: numpy's vectorised power may
    differ in the last bit, and that would reorder ties downstream. Few distinct scores, so it stays cheap.
    """
    a, b, c, d = (float(v) for v in params)
    x = np.asarray(x, dtype=np.float64)
    values, inverse = np.unique(x.reshape(-1), return_inverse=True)
    out = np.array([a / (1 + E ** (b - c * v)) + d for v in values.tolist()], dtype=np.float64)
    return out[inverse].reshape(x.shape)
