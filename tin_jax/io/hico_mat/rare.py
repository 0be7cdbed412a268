"""Training instances per HOI and the rare / non-rare split of eval_one.m."""

from __future__ import annotations

import numpy as np

from tin_jax.io.hico_mat.annotations import NUM_HOI, HicoBboxAnno

__all__ = ["RARE_THRESHOLD", "count_train_instances", "rare_hoi_mask"]

RARE_THRESHOLD = 10  # eval_one.m: rare iff fewer than 10 training instances


def count_train_instances(anno: HicoBboxAnno) -> np.ndarray:
    """(600,) int64 training instances per HOI, as eval_one.m computes ``num_inst``.

    For every non-invisible HOI annotation of ``bbox_train``, add its number of ``connection`` rows.
    """
    counts = np.zeros(NUM_HOI, dtype=np.int64)
    for img in anno.train:
        for hoi in img.hois:
            if not hoi.invis:
                counts[hoi.hoi_id] += len(hoi.connections)
    return counts


def rare_hoi_mask(anno: HicoBboxAnno) -> np.ndarray:
    """(600,) bool, True for the rare HOIs (fewer than 10 training instances; 138 on the real data)."""
    return count_train_instances(anno) < RARE_THRESHOLD
