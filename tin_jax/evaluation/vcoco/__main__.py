"""``python -m tin_jax.evaluation.vcoco``: see :mod:`tin_jax.evaluation.vcoco.cli`."""

import sys

from tin_jax.evaluation.vcoco.cli import main

if __name__ == "__main__":
    sys.exit(main())
