"""TIN on HICO-DET, the repository's "interactiveness-optimized" model (the default):
joint HOI + interactiveness training, SGDR cosine restarts from lr 0.001, 2M steps
of one image. ``:runlocal`` gives a tiny CPU-sized version of the same config."""

from configs import common


def get_config(arg=None):
    arg = common.parse_arg(arg, runlocal=False, demo=False)
    c = common.base_config()
    common.apply_size(c, arg)
    return c
