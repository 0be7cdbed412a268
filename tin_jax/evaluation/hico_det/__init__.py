"""HICO-DET evaluation: the official ho-rcnn protocol, vectorised, with identical results.

Official code (vendored verbatim by TIN): ywchao/ho-rcnn ``evaluation/eval_one.m`` +
``VOCevaldet_bboxpair.m``, fed by TIN's ``HICO-DET_Benchmark/Generate_detection.m``. This package reproduces it
exactly (``tests/test_hico_eval.py`` checks it against a loop-by-loop transcription and, when Octave is installed,
against the MATLAB files themselves). Each module states the part of the protocol it implements:

- :mod:`.ground_truth`: GT pairs, rare classes, the Known Object image mask (``anno.mat``, ``anno_bbox.mat``);
- :mod:`.detections`: detection containers in eval_one.m's cell order;
- :mod:`.detection_files`: the official ``detections_XX.mat`` files, TIN's lists, our compact ``.npz``;
- :mod:`.mat5`: the MAT5 writer behind :func:`write_official_detections`;
- :mod:`.matlab_arithmetic`: MATLAB ``round``, ``a:d:b`` and ``mean``;
- :mod:`.matching`: overlap, matching and 11-point AP of one class (VOCevaldet_bboxpair.m);
- :mod:`.results`: per-setting results, Full / Rare / Non-Rare means, tables, JSON, CSV;
- :mod:`.protocol`: :func:`evaluate` / :func:`evaluate_setting` (Default and Known Object);
- :mod:`.cli`: the command line.

Usage::

    gt = load_ground_truth("Data/hico_20160224_det")          # anno_bbox.mat + anno.mat
    dets = read_official_detections("dets/", gt)              # or read_tin_detections(...), or
    # HicoDetections.from_arrays(hoi, image, hbox, obox, score, num_images=gt.num_images, round_boxes=True)
    result = evaluate(gt, dets)                               # Default + Known Object
    print(result.format_table())                              # also "markdown", "matlab"; to_json(), write_csv()

Command line: ``python -m tin_jax.evaluation.hico_det --anno_dir DIR --detections DIR [--format tin]
[--out_json F] [--out_csv F]``.
"""

from tin_jax.evaluation.hico_det.cli import main
from tin_jax.evaluation.hico_det.detection_files import (
    COMPACT_KEYS,
    MAX_DETECTIONS_PER_HOI,
    detection_filename,
    read_compact_detections,
    read_official_detection_file,
    read_official_detections,
    read_tin_detections,
    write_compact_detections,
    write_official_detections,
)
from tin_jax.evaluation.hico_det.detections import ClassDetections, DetectionFileError, HicoDetections
from tin_jax.evaluation.hico_det.ground_truth import (
    COCO_OBJECT_NAMES,
    NUM_OBJECTS,
    HicoGroundTruth,
    ground_truth_from_annotations,
    image_ids_of,
    load_ground_truth,
)
from tin_jax.evaluation.hico_det.json_ground_truth import ground_truth_from_json, load_json_ground_truth
from tin_jax.evaluation.hico_det.matching import (
    MIN_OVERLAP,
    average_precision_11,
    best_gt_pair,
    evaluate_class,
    match_detections,
    pair_overlap,
    rank_and_match,
)
from tin_jax.evaluation.hico_det.matlab_arithmetic import (
    MATLAB_THRESHOLDS,
    OCTAVE_THRESHOLDS,
    matlab_colon,
    matlab_round,
)
from tin_jax.evaluation.hico_det.protocol import evaluate, evaluate_setting
from tin_jax.evaluation.hico_det.results import SETTING_NAMES, SETTINGS, HicoDetResult, SettingResult

__all__ = [
    "ClassDetections", "DetectionFileError", "HicoDetResult", "HicoDetections", "HicoGroundTruth",
    "MATLAB_THRESHOLDS", "MIN_OVERLAP", "OCTAVE_THRESHOLDS", "SettingResult", "average_precision_11",
    "detection_filename", "evaluate", "evaluate_class", "evaluate_setting", "ground_truth_from_annotations",
    "image_ids_of", "load_ground_truth", "main", "match_detections", "matlab_colon", "matlab_round",
    "pair_overlap", "rank_and_match", "read_official_detection_file", "read_official_detections",
    "read_tin_detections", "write_official_detections", "COMPACT_KEYS", "read_compact_detections",
    "write_compact_detections", "COCO_OBJECT_NAMES", "MAX_DETECTIONS_PER_HOI", "NUM_OBJECTS", "SETTINGS",
    "SETTING_NAMES", "best_gt_pair", "ground_truth_from_json", "load_json_ground_truth",
]
