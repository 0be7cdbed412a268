"""RP_T2 C_D (CVPR'19, transfer mode): the interactiveness predictor D learns from BOTH
HICO-DET and V-COCO, the HOI classifier C from the target dataset only; NIS at test.

Steps alternate (``config.transfer.every``): target steps train everything on the
target's HOI + interactiveness losses, transfer steps train R + D on the other
dataset's interactiveness labels, C held. ``:target=vcoco`` swaps the roles.

Our reading: the paper's exact T1/T2 data recipes are not in the released code
(see README, "Transfer variants"); T2 = D on both datasets, T1 = D on the other only.

    python train.py --config configs/rp_t2_c_d.py --workdir runs/rpt2 \\
        --config.data.dir=tfrecords/hico --config.transfer.data_dirs="('tfrecords/vcoco',)"
"""

from configs import common


def get_config(arg=None):
    return common.transfer_config(arg, d_on_target=True, nis=True)
