"""V-COCO agent AP and role AP (scenarios 1 and 2) with the semantics of s-gupta/v-coco ``vsrl_eval.py``.

TIN scores V-COCO with ``lib/ult/vsrl_eval_output_txt.py``, a copy of ``vsrl_eval.VCOCOeval`` that only adds a
text dump and the "omitting point" average; the evaluation itself is unchanged. Each module states the part of
``vsrl_eval`` it reproduces:

- :mod:`.ground_truth`: GT persons, action labels and role objects (``_get_vcocodb``);
- :mod:`.detections`: the vsrl detection list (``_collect_detections_for_image``);
- :mod:`.matching`: IoU, per-image assignment and AP (``_do_agent_eval`` / ``_do_role_eval`` / ``voc_ap``);
- :mod:`.results`: agent / role AP tables, their means and the printed report;
- :mod:`.protocol`: :func:`evaluate_vcoco` (``_do_eval``);
- :mod:`.cli`: the command line.

Where the original crashes, this package picks a documented answer instead:

- a missing ``'<action>_<role>'`` key (``KeyError`` there) is "no detection", the same as a NaN score;
- an action with no positive GT person (``assert`` on NaN recall there) has AP NaN, which the means skip
  (so the agent mean counts it as 0);
- an action (role) with no kept detection (``np.amax`` of an empty array there) has AP 0;
- a detection on an image without any valid GT person (``argmax`` of an empty array there) is a FP;
- a role object that is not a valid annotation (an ``assert`` there) counts as "no role object".

Command line: ``python -m tin_jax.evaluation.vcoco --vcoco_root DIR --detections dets.pkl [--out_json F]``.
"""

from tin_jax.evaluation.vcoco.cli import main
from tin_jax.evaluation.vcoco.detections import (
    ROLE_SUFFIXES,
    VcocoDetection,
    detections_from_vsrl,
    detections_to_vsrl,
    read_vsrl_detections,
)
from tin_jax.evaluation.vcoco.ground_truth import (
    PERSON_CONTIGUOUS_ID,
    VcocoGroundTruth,
    VcocoImageGT,
    build_ground_truth,
    load_ground_truth,
)
from tin_jax.evaluation.vcoco.matching import SCENARIOS, box_overlaps, voc_ap
from tin_jax.evaluation.vcoco.protocol import evaluate_vcoco
from tin_jax.evaluation.vcoco.results import OMITTED_ROLE, AgentAP, RoleAP, VcocoEvalResult

__all__ = [
    "SCENARIOS",
    "AgentAP",
    "RoleAP",
    "VcocoDetection",
    "VcocoEvalResult",
    "VcocoGroundTruth",
    "VcocoImageGT",
    "box_overlaps",
    "build_ground_truth",
    "detections_from_vsrl",
    "detections_to_vsrl",
    "evaluate_vcoco",
    "load_ground_truth",
    "main",
    "read_vsrl_detections",
    "voc_ap",
    "OMITTED_ROLE",
    "PERSON_CONTIGUOUS_ID",
    "ROLE_SUFFIXES",
]
