"""``python -m tin_jax.nis``: the command line of :mod:`tin_jax.inference.nis`."""

from tin_jax.inference import nis

if __name__ == "__main__":
    nis.run_main()
