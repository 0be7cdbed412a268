"""RC_T (CVPR'19, transfer mode), our reading: trained as RP_T2 C_D (D learns from both
datasets and shapes the shared representation R), but D is not used at test: no NIS.
It isolates what transferred interactiveness does through R alone, as RC_D does for the
default mode. See configs/rp_t2_c_d.py and the README ("Transfer variants")."""

from configs import common


def get_config(arg=None):
    return common.transfer_config(arg, d_on_target=True, nis=False)
