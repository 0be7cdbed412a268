"""RP_D C_D, the paper's headline HICO-DET model, trained in the README's two phases:

    phase=pretrain  HOI losses only (TRAIN_MODULE=2): the representation and classifier
    phase=joint     initialised from the pretrain workdir, HOI + interactiveness losses
                    (TRAIN_MODULE=1), D starting fresh, NIS at test

    python train.py --config configs/rp_d_c_d.py:phase=pretrain --workdir runs/rpdcd_pre
    python train.py --config configs/rp_d_c_d.py:phase=joint --workdir runs/rpdcd \
        --config.init_from=runs/rpdcd_pre
"""

from configs import common


def get_config(arg=None):
    arg = common.parse_arg(arg, phase="joint", runlocal=False, demo=False)
    c = common.base_config()
    if arg.phase == "pretrain":
        c.loss.terms = ("H", "O", "sp")
        c.eval.nis = False
    elif arg.phase != "joint":
        raise ValueError(f"phase must be 'pretrain' or 'joint', got {arg.phase!r}")
    common.apply_size(c, arg)
    return c
