"""The README demo: TIN (``tin_hico.py``, the joint HOI + interactiveness model) on the embedded
synthetic HICO-DET, sized for 2 CPU cores by ``common.make_demo`` (each choice explained
there), with the test split evaluated during training (``eval_every``) so that
``learning_curves.png`` shows the held-out mAP climbing.

``:steps=N`` changes the length of the run.
"""

from configs import common, tin_hico


def get_config(arg=None):
    c = tin_hico.get_config("demo")
    arg = common.parse_arg(arg, steps=c.total_steps)
    c.total_steps = c.optim.first_decay_steps = arg.steps
    c.eval_every = max(arg.steps // 4, 1)
    return c
