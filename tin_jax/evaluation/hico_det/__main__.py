"""``python -m tin_jax.evaluation.hico_det``: see :mod:`tin_jax.evaluation.hico_det.cli`."""

import sys

from tin_jax.evaluation.hico_det.cli import main

if __name__ == "__main__":
    sys.exit(main())
