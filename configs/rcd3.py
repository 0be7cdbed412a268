"""RCD_3 (TPAMI'21 "TIN++", the released recipe, HICO-DET 20.93 mAP), our reading:
the CVPR TIN (R + C: configs/tin_hico.py, the 1.7M-step model) gives the HOI scores,
and a SEPARATELY trained D-only part-level network (``TIN_HICO_with_part.py``, this
config) gives the interactiveness for NIS. The repository's eval/eval_HICO_DET.py
combines exactly those two pickles (HICO-DET_1700000_TIN_HICO.pkl and
HICO-DET_50000_TIN_10w_with_part.pkl).

This config trains the D network (Train_TIN_binary.py): no HOI classifier; loss =
CE(instance D) + CE(max over the 10 per-part Ds) + MSE between the two weighted
logits; 100k steps, cosine restarts from lr 0.001, images resized to a long side of
512 (Image_Resize). Evaluating RCD_3 needs HOI scores from a separate TIN workdir and
D from this one (an evaluate.py option for a separate D workdir); evaluated alone,
this model scores every HOI 0 and only its D (binary AP) is meaningful.

Differences we know of: the original's D trained on "Train_GT_10w", ~100k images
pooled from HAKE's sources (HICO-DET, V-COCO, HCVRD, OpenImages, PIC, ...); train on
such a converted set with --config.data.dir (or add sets with config.transfer, whose
steps train the instance-level D term only). Its first cosine cycle was two epochs of
that set (--config.optim.first_decay_steps); it tested at full resolution
(--config.data.max_long_side=0 at evaluation); its TPAMI eval used per-HOI tuned
detection / NIS thresholds (params_det.pkl, params_nis.pkl) instead of TIN's NIS.
"RCD_3 = R + C + D_3, D_3 = this D" is our reading: the paper's D_1 / D_2 / D_3 are
not defined in the released code.
"""

from configs import common, rcd


def get_config(arg=None):
    arg = common.parse_arg(arg, runlocal=False)
    c = common.base_config()
    c.model.part_level = True
    c.model.hoi_classifier = False
    c.model.d_negative_copy = False
    c.loss.terms = rcd.PART_TERMS
    c.data.max_long_side = 512
    c.total_steps = 100_000
    if arg.runlocal:
        common.make_runlocal(c)
    return c
