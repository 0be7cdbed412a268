"""RCD (TPAMI'21 "TIN++"), our reading: R (representation), C (the HOI classifier) and
the hierarchical interactiveness discriminator D trained jointly in ONE network on
HICO-DET. D is the part-level D of ``TIN_HICO_with_part.py``: the instance-level D
reads the attended body-part features, ten per-part Ds are max-reduced, and the loss
adds their CE and the instance/part consistency (MSE) to the HOI losses. NIS at test
uses this network's own instance-level D.

Unverified: the paper's RCD / RCD_1 / RCD_2 / RCD_3 rows are not defined in any code
we could read; only the part-level D (the D_3 model) and the CVPR TIN (R + C) are
released, evaluated together as RCD_3 (configs/rcd3.py). Everything else is TIN's
HICO-DET recipe (configs/tin_hico.py); the part network has no negative-copy trick.
"""

from configs import common

PART_TERMS = ("binary", "binary_part", "consistency")


def get_config(arg=None):
    arg = common.parse_arg(arg, runlocal=False)
    c = common.base_config()
    c.model.part_level = True
    c.model.d_negative_copy = False
    c.loss.terms = ("H", "O", "sp") + PART_TERMS
    if arg.runlocal:
        common.make_runlocal(c)
    return c
