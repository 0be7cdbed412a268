"""Interactiveness-only training (TRAIN_MODULE=3, TRAIN_MODULE_UPDATE=2): only D's
layers (``fc_binary`` / ``binary_classification`` in the original, ``*binary*`` and
``pose_map`` here) train, on the binary loss; the rest stays as initialised, e.g.
``--config.init_from=<a trained workdir>``."""

from configs import common


def get_config(arg=None):
    arg = common.parse_arg(arg, runlocal=False)
    c = common.base_config()
    c.loss.terms = ("binary",)
    c.optim.train_only = "binary|pose_map"
    if arg.runlocal:
        common.make_runlocal(c)
    return c
