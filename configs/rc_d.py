"""RC_D (CVPR'19 Table): representation + HOI classifier, no interactiveness predictor
(iCAN with the pose-augmented spatial input), trained on HICO-DET; no NIS at test."""

from configs import common


def get_config(arg=None):
    arg = common.parse_arg(arg, runlocal=False, demo=False)
    c = common.base_config()
    c.model.interactiveness = False
    c.loss.terms = ("H", "O", "sp")
    c.eval.nis = False
    common.apply_size(c, arg)
    return c
