r"""Trains TIN.

    python train.py --config configs/tin_hico.py --workdir runs/hico --config.data.dir=tfrecords/hico
    python train.py --config configs/tin_hico.py:runlocal --workdir /tmp/t --config.total_steps=50

Initialisation order: the workdir's latest checkpoint, else ``config.resume``,
else ``config.init_from`` (a TF-slim or torchvision ImageNet ResNet-50, a TIN TF checkpoint
or an earlier workdir), else random. ``--config.total_steps=0`` saves the initial weights
as the workdir's step-0 checkpoint. SIGTERM (preemption) saves the step reached and exits
with status 143; the same command continues the run. Multi-host: pass
--coordinator_address/--num_processes/--process_id, or nothing under SLURM's srun, Open MPI
or a TPU pod (the launch is detected).
"""

from __future__ import annotations

import sys

from absl import app, flags
from ml_collections import config_flags

from tin_jax import cli, multihost

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "experiment config file", lock_config=True)
flags.DEFINE_string("workdir", None, "where checkpoints and metrics go")
multihost.define_flags()
flags.adopt_module_key_flags(multihost)  # listed by --help, not only --helpfull
flags.DEFINE_bool("progress", True, "show a progress bar")
flags.DEFINE_bool("verbose", False, "log at INFO level (checkpoint saves, metric lines)")
flags.mark_flags_as_required(["config", "workdir"])

# Stopped by SIGTERM (preemption) after saving: 128 + 15, as a shell reports a process the
# signal ended, so `train.py && evaluate.py` does not evaluate an unfinished run.
PREEMPTED_EXIT_CODE = 143


def main(argv):
    del argv
    multihost.initialize()
    import jax  # pylint: disable=g-import-not-at-top
    from absl import logging as absl_logging  # pylint: disable=g-import-not-at-top
    from tin_jax.training import trainer  # pylint: disable=g-import-not-at-top
    if not FLAGS.verbose:  # orbax and clu log every save at INFO; the progress bar says enough
        absl_logging.set_verbosity(absl_logging.WARNING)
    try:
        result = trainer.train(FLAGS.config, FLAGS.workdir, progress=FLAGS.progress)
    except trainer.TrainingError as e:  # the run cannot go on (non-finite loss, a bad init source)
        cli.fail(e, 3)
    except (FileNotFoundError, ValueError) as e:  # bad input: 2, as every command
        cli.fail(e, 2)
    if jax.process_index() != 0:
        return
    if result.stopped_by:
        print(f"{result.stopped_by}: stopped at step {result.step} of {FLAGS.config.total_steps}, "
              f"checkpoint saved in {FLAGS.workdir}; rerun the same command to continue", file=sys.stderr)
        sys.exit(PREEMPTED_EXIT_CODE)
    if result.metrics:
        losses = ", ".join(f"{k} {v:.4f}" for k, v in sorted(result.metrics.items()) if "loss" in k)
        print(f"trained to step {result.step}: {losses}; "
              f"{result.metrics['images_per_sec']:.1f} images/s; workdir {FLAGS.workdir}")
    elif FLAGS.config.total_steps == 0:
        print(f"total_steps=0: workdir {FLAGS.workdir} holds the starting weights as its step-0 "
              "checkpoint")

if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
