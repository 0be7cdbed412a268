"""RP_T1 C_D (CVPR'19, transfer mode), our reading: D learns interactiveness ONLY from
the other dataset (V-COCO for a HICO-DET target), R is shared, C learns the target's
HOIs; NIS at test with that transferred D. Target steps: H, O, sp losses; transfer
steps: D's loss on the other dataset, C held. ``:target=vcoco`` swaps the roles.
See configs/rp_t2_c_d.py and the README ("Transfer variants")."""

from configs import common


def get_config(arg=None):
    return common.transfer_config(arg, d_on_target=False, nis=True)
