"""The benchmarks are not run in CI (minutes each); this checks that what they feed the code
they time still fits it, by tracing their steps abstractly (no compilation)."""

from __future__ import annotations

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # plain `pytest` leaves out the root: benchmarks/, configs/
    sys.path.insert(0, ROOT)

from benchmarks import model as bench_model  # noqa: E402
from benchmarks import step_cost  # noqa: E402
from configs import common  # noqa: E402
from tin_jax.training import optim, train_step  # noqa: E402
from tin_jax.models import losses  # noqa: E402


def test_benchmark_batches_trace_through_the_baseline_train_step():
    batch = jax.tree.map(jnp.asarray, bench_model.synthetic_batch(0, 1, (64, 96), step_cost.PAIRS,
                                                                  step_cost.NUM_POS))
    assert set(train_step.BATCH_KEYS) - set(train_step.OPTIONAL_KEYS) <= set(batch)
    table = bench_model.with_human_table(jax.tree.map(np.asarray, batch), 22, 24)
    np.testing.assert_array_equal(np.take_along_axis(table["human_table"], table["human_index"][..., None],
                                                     axis=1), table["human_boxes"])
    assert len(np.unique(table["human_boxes"][0], axis=0)) == 22
    assert set(train_step.BATCH_KEYS) <= set(table)
    config = common.base_config()
    losses_seen = []
    # "reformulated" is TIN on per-pair boxes, traced by every training test
    for cls, batch in ((step_cost.DirectTIN, batch), (step_cost.TIN, step_cost.step_batch("distinct", table))):
        parts, params, stats = bench_model.make_model(bench_model.DEMO, calibrate=False, model_cls=cls)
        tx, schedule, _ = optim.make_optimizer(config.optim, params)
        state = dict(params=params, stats=stats, opt=tx.init(params), step=jnp.zeros((), jnp.int32))
        weights = {"hoi": losses.class_weights(np.full(bench_model.NUM_CLASSES, 100))}
        step = train_step.make_train_step(parts, tx, schedule, weights, config, "hico")
        new_state, metrics = jax.eval_shape(step, state, batch)
        assert jax.tree.map(lambda x: x.shape, new_state["params"]) == jax.tree.map(jnp.shape, params)
        losses_seen.append(metrics["loss"].shape)
    assert losses_seen == [(), ()]


def test_the_step_and_its_benchmarks_import_without_tensorflow():
    """A GPU machine may have JAX but no TensorFlow (too large to carry there): the train step
    and the benchmarks that time it must not need it (the input pipeline and the loop do)."""
    code = ("import sys\n"
            "for m in ('tensorflow', 'tensorflow_datasets', 'clu'): sys.modules[m] = None\n"
            "import benchmarks.step_cost, benchmarks.train, benchmarks.model, tin_jax.training.train_step\n"
            "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]
