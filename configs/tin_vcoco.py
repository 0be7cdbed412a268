"""TIN on V-COCO: 29 classes, ``2*H + HO + sp + D``, lr 2e-6 x 0.96^(step // 20k) for
20k steps, fine-tuned from a pretrained model (the original started from an iCAN
V-COCO checkpoint; from scratch it reaches far less, TIN issues #23/#66)."""

from configs import common


def get_config(arg=None):
    arg = common.parse_arg(arg, runlocal=False)
    c = common.vcoco_config()
    if arg.runlocal:
        common.make_runlocal(c)
    return c
