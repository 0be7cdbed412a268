"""The multi-host flags that train.py and evaluate.py share (``jax.distributed`` over processes)."""

from __future__ import annotations

from absl import flags


def define_flags() -> None:
    flags.DEFINE_string("coordinator_address", None, "host:port of process 0 (multi-host)")
    flags.DEFINE_integer("num_processes", None, "number of processes (multi-host)")
    flags.DEFINE_integer("process_id", None, "this process's index (multi-host)")


def initialize(values=flags.FLAGS) -> None:
    """``jax.distributed.initialize`` when the flags ask for several processes; call it before
    anything else touches jax (on TPU and SLURM jax finds the values itself)."""
    if values.coordinator_address or values.num_processes:
        import jax  # pylint: disable=g-import-not-at-top
        jax.distributed.initialize(values.coordinator_address, values.num_processes, values.process_id)
