"""Shared fixtures: one small synthetic dataset, generated and converted once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Subprocess tests (train.py runs) share compiled programs through JAX's persistent
# cache: the same tiny model is compiled once per session instead of once per run.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      os.path.join(tempfile.gettempdir(), "tin_jax_test_jax_cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
# The suite compiles many distinct small programs and runs each a few times: XLA's backend
# optimisation (LLVM's) costs more than it saves here (a part-level model's forward and
# backward compiles in 31 s instead of 46 s on a 2-core AMD EPYC VM). Numerics stay IEEE
# float32; the tests' tolerances do not assume any evaluation order.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()


# The network of every CPU-sized train / evaluate test: the ResNet at width 4 with one unit
# per block (its tracing and compiling, not its arithmetic, is what a test run pays for: a
# two-step train.py run took 25 s instead of 44 s with an empty compilation cache), 32-wide
# heads, the spatial and pose-map CNNs at an eighth of TIN's channels (at full size they
# cost most of a small step), images capped at 96 px. ResNet-50's own layout is tested
# against TF-slim and torchvision (test_resnet_*_import.py) and in TIN's (test_tin_tf_import.py).
TINY_MODEL = dict(width=4, resnet_units=(1, 1, 1, 1), fc_dim=32, spatial_width=8)
TINY_MAX_LONG_SIDE = 96
TINY_FLAGS = [*(f"--config.model.{k}={v}" for k, v in TINY_MODEL.items()),
              f"--config.data.max_long_side={TINY_MAX_LONG_SIDE}"]


def shrink(config):
    """``config`` (a train / evaluate ConfigDict) set to the network of ``TINY_FLAGS``."""
    config.model.update(TINY_MODEL)
    config.data.max_long_side = TINY_MAX_LONG_SIDE
    return config


def run_module(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    """Runs ``python -m <args>`` from the repo root, capturing output."""
    proc = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def raw_dir(tmp_path_factory) -> str:
    """A small synthetic Data/ folder in the original formats (HICO and V-COCO)."""
    out = str(tmp_path_factory.mktemp("raw"))
    run_module("data_prep.make_synthetic", "--out_dir", out, "--seed", "3",
               "--hico_train", "40", "--hico_test", "16", "--vcoco_train", "24", "--vcoco_test", "12")
    return out


def _convert(dataset: str, raw_dir: str, tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp(dataset))
    run_module("data_prep.convert", "--dataset", dataset, "--data_dir", raw_dir, "--out_dir", out,
               "--images_per_shard", "8", "--num_workers", "2", "--noprogress")
    return out


@pytest.fixture(scope="session")
def hico_dir(raw_dir, tmp_path_factory) -> str:
    return _convert("hico", raw_dir, tmp_path_factory)


@pytest.fixture(scope="session")
def vcoco_dir(raw_dir, tmp_path_factory) -> str:
    return _convert("vcoco", raw_dir, tmp_path_factory)


@pytest.fixture()
def raw_copy(raw_dir, tmp_path) -> str:
    """A private copy of the raw folder that a test may corrupt."""
    dst = str(tmp_path / "raw")
    shutil.copytree(raw_dir, dst)
    return dst


@pytest.fixture(scope="session")  # built once per worker; its tests share an xdist group
def reference_run(hico_dir, tmp_path_factory):
    """One uninterrupted 16-step train.py run, shared: resume reference, loss curve,
    evaluation, damaged checkpoints."""
    from tests import test_train as t  # pylint: disable=g-import-not-at-top
    ref = tmp_path_factory.mktemp("reference")
    t._run(t._cmd(hico_dir, ref, *t.REFERENCE_STEPS))
    return ref
