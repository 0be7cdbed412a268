"""Several processes, one run: the ``jax.distributed`` start that train.py and evaluate.py share.

Explicit flags (``--coordinator_address`` / ``--num_processes`` / ``--process_id``) win;
without them a launch that says it started several processes (SLURM's ``srun``, Open MPI's
``mpirun``, a Cloud TPU pod's workers) starts ``jax.distributed`` with jax's own detection
of that cluster. Processes that do not join one run are refused by the workdir lock
(``tin_jax.training.workdir_lock``) rather than overwriting each other.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from absl import flags


def define_flags() -> None:
    flags.DEFINE_string("coordinator_address", None, "host:port of process 0 (multi-host; default: "
                        "detected from SLURM / Open MPI / TPU pod launches)")
    flags.DEFINE_integer("num_processes", None, "number of processes (multi-host)")
    flags.DEFINE_integer("process_id", None, "this process's index (multi-host)")


def launched_processes(environ: Mapping[str, str] = os.environ) -> tuple[int, str | None]:
    """(how many processes the launcher started, which launcher), (1, None) for a plain start."""
    if "SLURM_PROCID" in environ and "SLURM_STEP_ID" in environ:  # inside an srun step
        return int(environ.get("SLURM_NTASKS") or "1"), "SLURM"  # what jax's SLURM detection reads
    if "OMPI_COMM_WORLD_SIZE" in environ:
        return int(environ["OMPI_COMM_WORLD_SIZE"]), "Open MPI"
    hosts = environ.get("TPU_WORKER_HOSTNAMES", "")
    if hosts:
        return len([h for h in hosts.split(",") if h]), "Cloud TPU pod"
    return 1, None


def initialize(values=flags.FLAGS, environ: Mapping[str, str] = os.environ) -> None:
    """Starts ``jax.distributed`` when the flags or the launcher say there are several
    processes; call it before anything else touches jax."""
    if values.coordinator_address or values.num_processes:
        import jax  # pylint: disable=g-import-not-at-top
        jax.distributed.initialize(values.coordinator_address, values.num_processes, values.process_id)
        return
    count, launcher = launched_processes(environ)
    if count > 1:
        import jax  # pylint: disable=g-import-not-at-top
        jax.distributed.initialize()  # jax reads the coordinator and ranks from the launcher
        if jax.process_count() != count:
            raise RuntimeError(f"{launcher} started {count} processes but jax.distributed joined "
                               f"{jax.process_count()}: pass --coordinator_address, --num_processes and "
                               "--process_id")
