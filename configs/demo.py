"""The README demo: TIN on the embedded synthetic HICO-DET, sized for 2 CPU cores.

Same network and losses as ``tin_hico.py`` with a narrower backbone (no pretrained
weights exist for it; frozen BN statistics are calibrated on the data), images capped
at 160 px, a constant learning rate and a few hundred steps.
"""

from configs import common


def get_config(arg=None):
    arg = common.parse_arg(arg, steps=250)
    c = common.make_runlocal(common.base_config())
    c.data.dir = "out/demo/hico"
    c.eval.anno_dir = "out/demo/raw/hico_20160224_det"
    c.total_steps = arg.steps
    c.log_every = 25
    c.checkpoint_every = 100
    return c
