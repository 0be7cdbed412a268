"""TIN's test-time post-processing, vectorised: pair selection, LIS, NIS and the per-HOI / per-role export.

Modules: :mod:`.pair_selection` (candidate pairs and the zero-pair fallback), :mod:`.lis` (the LIS sigmoid),
:mod:`.hico_scoring` (HICO-DET LIS + NIS + top-k), :mod:`.vcoco_scoring` (V-COCO priors, LIS, NIS, roles),
:mod:`.tin_outputs` (TIN's released test pickles as inputs of the two scorers).

``tests/test_postprocess.py`` checks each part against a loop-by-loop transcription of the original scripts,
``tests/reference/tin_postprocess_loops.py``. Needs only numpy and the evaluators' result types: no JAX,
TensorFlow, models or input pipeline.
"""

from tin_jax.inference.postprocess.hico_scoring import (
    HICO_TOP_K,
    NO_INTERACTION_HOI_MASK,
    HicoImagePairs,
    hico_detections,
    hico_non_interactive,
)
from tin_jax.inference.postprocess.lis import E, HICO_LIS, VCOCO_LIS, lis_weight
from tin_jax.inference.postprocess.pair_selection import select_pairs
from tin_jax.inference.postprocess.tin_outputs import (
    TinImageOutput,
    attach_d_scores,
    hico_pairs_from_tin,
    read_tin_test_pickle,
    read_vcoco_test_pickle,
    vcoco_pairs_from_tin,
)
from tin_jax.inference.postprocess.vcoco_scoring import VcocoHumanPairs, apply_vcoco_prior, vcoco_detections

__all__ = [
    "E", "HICO_LIS", "HICO_TOP_K", "HicoImagePairs", "NO_INTERACTION_HOI_MASK", "TinImageOutput", "VCOCO_LIS",
    "VcocoHumanPairs", "apply_vcoco_prior", "attach_d_scores", "hico_detections", "hico_non_interactive",
    "hico_pairs_from_tin", "lis_weight", "read_tin_test_pickle", "read_vcoco_test_pickle", "select_pairs",
    "vcoco_detections", "vcoco_pairs_from_tin",
]
