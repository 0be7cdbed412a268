"""TIN on V-COCO: 29 classes, ``2*H + HO + sp + D``, lr 2e-6 x 0.96^(step // 20k) for
20k steps, fine-tuned from a pretrained model (the original started from an iCAN
V-COCO checkpoint; from scratch it reaches far less, TIN issues #23/#66)."""

from configs import common


def get_config(arg=None):
    arg = common.parse_arg(arg, runlocal=False)
    c = common.base_config()
    c.data.dir = "out/demo/vcoco"
    c.optim.schedule = "exponential"
    c.optim.lr = 2e-6
    c.optim.decay_steps = 20_000
    c.optim.decay_rate = 0.96
    c.total_steps = 20_000
    c.checkpoint_every = 10_000
    c.loss.terms = ("H", "O", "sp", "binary")
    c.eval.human_thresh = 0.6
    c.eval.object_thresh = 0.4
    c.eval.fallback = "none"  # the V-COCO test script has no fallback: a human without objects is skipped
    if arg.runlocal:
        common.make_runlocal(c)
    return c
