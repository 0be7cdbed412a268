"""Multi-process starts without flags: a launcher's environment is enough (SLURM simulated on
127.0.0.1 with two CPU processes), and a plain start stays single-process."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import types

from tests.conftest import ROOT
from tin_jax import multihost

JOIN = """
import types, jax
from tin_jax import multihost
multihost.initialize(types.SimpleNamespace(coordinator_address=None, num_processes=None, process_id=None))
print(jax.process_count(), jax.process_index(), flush=True)
"""


def test_launchers_are_recognised():
    assert multihost.launched_processes({}) == (1, None)
    assert multihost.launched_processes({"SLURM_JOB_ID": "7"}) == (1, None)  # a batch script, no srun step
    srun = {"SLURM_JOB_ID": "7", "SLURM_STEP_ID": "0", "SLURM_PROCID": "1", "SLURM_NTASKS": "4"}
    assert multihost.launched_processes(srun) == (4, "SLURM")
    assert multihost.launched_processes({"OMPI_COMM_WORLD_SIZE": "8"}) == (8, "Open MPI")
    assert multihost.launched_processes({"TPU_WORKER_HOSTNAMES": "t0,t1,t2,t3"}) == (4, "Cloud TPU pod")


def test_a_plain_start_does_not_start_jax_distributed():
    flags = types.SimpleNamespace(coordinator_address=None, num_processes=None, process_id=None)
    multihost.initialize(flags, environ={})  # returns without touching jax.distributed


def test_srun_environment_joins_one_run_without_flags():
    job = str(random.randrange(10_000, 99_999))
    procs = []
    for i in range(2):
        env = dict(os.environ, JAX_PLATFORMS="cpu", SLURM_JOB_ID=job, SLURM_STEP_ID="0", SLURM_PROCID=str(i),
                   SLURM_LOCALID=str(i), SLURM_NTASKS="2", SLURM_STEP_NODELIST="localhost",
                   SLURM_STEP_NUM_NODES="1")
        procs.append(subprocess.Popen([sys.executable, "-c", JOIN], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    assert sorted(o.strip() for o, _ in outs) == ["2 0", "2 1"]
