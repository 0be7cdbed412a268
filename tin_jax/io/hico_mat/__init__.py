"""Read and write HICO-DET's ``anno_bbox.mat`` and ``anno.mat`` in their original MATLAB layout.

The same functions read the real files (``hico_20160224_det/anno_bbox.mat`` and ``anno.mat``) and write the
embedded synthetic dataset, so the synthetic files are exactly what the official MATLAB/Octave evaluation
(ywchao/ho-rcnn ``evaluation/eval_one.m``, vendored by TIN) and TIN's ``HICO_Benchmark_Binary.py`` index.

Layout (confirmed from eval_one.m, TIN HICO_Benchmark_Binary.py and public scipy loaders of the real file)
------------------------------------------------------------------------------------------------------
``anno_bbox.mat``:

- ``list_action``: 600x1 struct array with fields, in this order, ``nname`` (object, e.g. ``'airplane'``),
    ``vname`` (``'board'``), ``vname_ing`` (``'boarding'``), ``syn``, ``def``, ``synset`` (a WordNet struct; ``[]``
    for the no_interaction HOIs), ``add_def``. Only the first three are interpreted here; the others are carried
    through unchanged (converted to plain Python values, see
    :func:`~tin_jax.io.hico_mat.matlab_values.matlab_to_python`).
- ``bbox_train`` / ``bbox_test``: 1xN struct arrays with fields ``filename`` (char), ``size`` (1x1 struct
    ``width``, ``height``, ``depth``) and ``hoi``: a 1xK struct array with fields
    ``id`` (1-based HOI index into list_action), ``bboxhuman`` and ``bboxobject`` (1xn struct arrays whose fields
    are **x1, x2, y1, y2 in that order**; ``[]`` when there is no box, as for invisible HOIs), ``connection``
    (Kx2 double, 1-based indices ``[human, object]`` into bboxhuman/bboxobject; ``[]`` when empty) and ``invis``
    (0/1). Every numeric value is a MATLAB double. Boxes are 1-based inclusive MATLAB pixel coordinates (the
    evaluation adds 1 to the 0-based detections before comparing).

``anno.mat``: ``list_action`` (as above), ``list_train`` / ``list_test`` (Nx1 cell arrays of file names),
``anno_train`` (600 x Ntrain double) and ``anno_test`` (600 x Ntest) with image-level labels 1 (positive),
0 (ambiguous), -1 (negative) and NaN (not annotated). The Known-Object setting of eval_one.m keeps an image for
HOI class i iff ``any(anno_test(nid, img) == 1)`` over the HOIs ``nid`` with the same object (``nname``): only
exact 1 counts.

Python side
-----------
HOI ids are 0-based (``HicoHoiAnno.hoi_id = id - 1``) and connections are 0-based indices; boxes are
``[x1, y1, x2, y2]`` float64 **in the file's 1-based coordinates** (no shift is applied, so ``x1 - 1`` gives
the 0-based pixel). Readers call ``scipy.io.loadmat(squeeze_me=False)`` and normalise every one-element case
(one image, one HOI, one box, one connection row, ``[]`` for none) to the shapes above.

Every problem with an input file raises :class:`AnnotationError` whose message starts with the file and the
record, e.g. ``anno_bbox.mat: bbox_train[17] (HICO_train2015_00000018.jpg) hoi[2]: connection row 0: human
index 3 out of range for 2 human boxes`` (record indices are 0-based Python positions; values quoted from the
file keep the file's 1-based convention).

Modules: ``annotations`` (dataclasses, field layout), ``read_anno_bbox`` / ``read_anno`` (readers),
``write_mat`` (writers), ``list_action`` (the HOI list of both files), ``mat_fields`` (typed loadmat access),
``matlab_values`` (generic MATLAB <-> Python values), ``checks`` (validation), ``rare`` (rare HOIs),
``common`` (error type, atomic writes, equality; shared with :mod:`tin_jax.io.vcoco_json`).
"""

from tin_jax.io.hico_mat.annotations import HicoAction, HicoBboxAnno, HicoHoiAnno, HicoImageAnno, HicoImageLabels
from tin_jax.io.hico_mat.checks import check_consistency
from tin_jax.io.hico_mat.common import AnnotationError, atomic_write
from tin_jax.io.hico_mat.rare import RARE_THRESHOLD, count_train_instances, rare_hoi_mask
from tin_jax.io.hico_mat.read_anno import read_anno_mat
from tin_jax.io.hico_mat.read_anno_bbox import read_anno_bbox_mat
from tin_jax.io.hico_mat.write_mat import write_anno_bbox_mat, write_anno_mat

__all__ = [
        "AnnotationError", "HicoAction", "HicoBboxAnno", "HicoHoiAnno", "HicoImageAnno", "HicoImageLabels",
        "RARE_THRESHOLD", "atomic_write", "check_consistency", "count_train_instances", "rare_hoi_mask",
        "read_anno_bbox_mat", "read_anno_mat", "write_anno_bbox_mat", "write_anno_mat",
]
