"""The training loop: data-parallel over every device of every host, exact resume.

- One ``jax.jit`` step (``tin_jax.training.train_step``) over a 1-D device mesh (axis ``data``): the batch is sharded
  on its leading axis, parameters and optimizer state are replicated, XLA inserts
  the gradient all-reduce. Each host feeds its slice of the global batch
  (``jax.make_array_from_process_local_data``).
- State = trainable-and-frozen parameters, frozen BN statistics, optimizer state,
  step. Dropout keys are ``fold_in(seed, step)`` and the input stream is a pure
  function of (seed, step), so a run restarted from a checkpoint reproduces the
  uninterrupted run exactly.
- Checkpoints (``tin_jax.state.store``): asynchronous periodic saves, keep-last-K, a final
  save, and one save on SIGTERM at the step reached (the run then stops; rerunning the
  same command continues). Each checkpoint carries its model spec: resuming with a
  config or dataset that describes another model is one line naming the difference.
  A damaged newest checkpoint is moved aside and the run resumes from the one before.
  A non-finite loss stops the run with the step and the loss term; no state after it
  is saved.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import signal
import sys
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from flax import nnx
from jax.experimental import multihost_utils
from jax.sharding import NamedSharding, PartitionSpec as P

from tin_jax import cli
from tin_jax.checkpoints import init_from
from tin_jax.data import input_pipeline as ip, workers
from tin_jax.models.resnet import FrozenStat, calibrate_batch_norm
from tin_jax.state import model as state_model, spec as model_spec, store
from tin_jax.training import optim, train_step, workdir_lock
from tin_jax.training.metric_log import MetricLog, TrainingError


def calibrated_stats(parts: state_model.ModelParts, params: dict, stats: dict, pcfg: ip.PipelineConfig,
                     num_images: int) -> dict:
    """Frozen-BN statistics measured on the first ``num_images`` of the global stream.

    Only for runs from scratch (see ``resnet.calibrate_batch_norm``). Every host measures
    the same images, in float64 and rounded to float32 at the end: XLA compiles float32
    convolutions differently for another device count (the statistics of 1 and 8 CPU
    devices differed by up to 3e-3 relative), so a float32 pass would make the state a run
    starts from depend on the topology; float64's differences vanish in the rounding.
    """
    ds, _ = ip.train_dataset(dataclasses.replace(pcfg, local_batch_size=num_images))
    batch = next(ds.as_numpy_iterator())
    host = jax.device_get((params, stats, parts.rest))
    wide = lambda tree: jax.tree.map(
        lambda x: jnp.asarray(x, jnp.float64) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree)

    @jax.jit  # one program (compiled once, cached); op by op it took 7-15 s at test size
    def measure(p, s, batch):
        model = dataclasses.replace(parts, rest=host[2]).merge(p, s)
        image, patterns = wide(train_step.device_batch(batch))
        calibrate_batch_norm(model, lambda m: m(image, batch["image_hw"], batch["human_boxes"],
                                                batch["object_boxes"], patterns))
        return nnx.to_pure_dict(nnx.split(model, nnx.Param, FrozenStat, ...)[2])

    with jax.enable_x64(True):
        measured = measure(*wide(host[:2]), batch)
        return jax.tree.map(lambda x: np.asarray(x, np.float32), measured)


def _log_optimizer_memory(opt) -> None:
    total = sum(x.nbytes for x in jax.tree.leaves(opt))
    device = jax.local_devices()[0]
    here = sum(s.data.nbytes for x in jax.tree.leaves(opt) for s in x.addressable_shards
               if s.device == device)
    logging.warning("optimizer state: %.1f MiB per device of %.1f MiB", here / 2**20, total / 2**20)


# -- checkpoints -----------------------------------------------------------------------------

def checkpoint_manager(workdir: str, config) -> ocp.CheckpointManager:
    return store.manager(workdir, config.keep_checkpoints)


def check_same_model(source: str, spec: model_spec.ModelSpec, config, metadata: dict) -> None:
    """Raises SpecMismatchError when the checkpoint in ``source`` holds another model than
    ``config`` builds on ``config.data.dir`` (checkpoints written before they carried
    their model spec are taken as they are)."""
    saved = store.read_spec(source)
    if saved is None:
        return
    model_spec.check_dataset(saved, metadata, config.data.dir, source)
    model_spec.check_config(config, saved, source)


def periodic_evaluation(config, workdir: str, info: ip.DatasetInfo, parts, mesh, log: "MetricLog"):
    """``fn(step, state)``: the test split's official evaluation of the current weights (every
    ``config.eval_every`` steps and at the end), written to ``eval_<step>/``, TensorBoard and
    ``metrics.jsonl``, then ``learning_curves.png`` redrawn. The ground truth is read once, here,
    so a bad annotation path fails before the first step."""
    from tin_jax.inference import evaluator  # pylint: disable=g-import-not-at-top
    from tin_jax.evaluation import learning_curves  # pylint: disable=g-import-not-at-top
    gt = evaluator.load_test_ground_truth(config, info.metadata["dataset"])

    def fn(step: int, state: dict) -> None:
        t0 = time.perf_counter()
        out_dir = os.path.join(workdir, f"eval_{step}")
        got = evaluator.evaluate_state(config, info, gt, parts, state["params"], state["stats"], mesh, out_dir)
        log.write_eval(step, got.scalars)
        if jax.process_index() == 0:
            learning_curves.plot_learning_curves(log.path, os.path.join(workdir, "learning_curves.png"))
        said = [f"{label} {100 * got.scalars[k]:.2f}" for k, label in HEADLINE_EVAL if k in got.scalars]
        logging.warning("evaluation at step %d (%.0f s): %s", step, time.perf_counter() - t0, ", ".join(said))
    return fn


# Logged at each periodic evaluation (all of them go to metrics.jsonl and TensorBoard).
HEADLINE_EVAL = (("eval/present/def/full", "Default mAP over the classes with test GT"),
                 ("eval/ceiling/def/full", "its ceiling"), ("eval/binary_ap", "D's interactiveness AP"),
                 ("eval/role_ap_s1", "role AP (scenario 1)"), ("eval/agent_ap", "agent AP"))


def _write_run_info(workdir: str, config, params) -> None:
    if jax.process_index() != 0:
        return
    with open(os.path.join(workdir, "config.json"), "w") as f:
        f.write(config.to_json_best_effort(indent=1))
    try:
        from clu import parameter_overview  # pylint: disable=g-import-not-at-top
        with open(os.path.join(workdir, "parameters.txt"), "w") as f:
            f.write(parameter_overview.get_parameter_overview(params, include_stats=False))
    except Exception as e:  # the overview is a convenience, never a reason to stop
        logging.warning("no parameter overview: %s", e)


# -- the loop --------------------------------------------------------------------------------

def pipeline_config(config, data_dir: str) -> ip.PipelineConfig:
    """The training stream of ``data_dir`` for this host (its devices' share of a step)."""
    return ip.PipelineConfig(
        data_dir=data_dir, local_batch_size=config.data.batch_per_device * jax.local_device_count(),
        seed=config.seed, shuffle=config.data.shuffle, shuffle_buffer=config.data.shuffle_buffer,
        image_buckets=tuple(tuple(b) for b in config.data.image_buckets),
        max_long_side=config.data.max_long_side or None,
        sampling=train_step.sampling_config(config, ip.load_info(data_dir).metadata["dataset"]),
        part_boxes=bool(config.model.part_level),
        human_table_sizes=tuple(config.data.human_table_sizes) or None,
        workers=config.data.get("workers", 0))


def compile_limit(config) -> int:
    """Compilations of the train step beyond which shapes churn (a TrainingError): the
    configured limit, else twice the shapes the buckets allow."""
    if config.compile_limit:
        return config.compile_limit
    tables = len(config.data.human_table_sizes) + 1  # + the pair-slot fallback
    return 2 * len(config.data.image_buckets) * tables


@dataclasses.dataclass(frozen=True)
class TransferMix:
    """Which steps train D on other datasets (the T of RP_T C_D), as a pure function of
    the step, so every stream's position on resume follows from the step alone.

    Step ``s`` is a source step when ``s % every == every - 1``; source steps take
    ``dirs`` in turn. Without ``dirs`` every step is a target step.
    """
    dirs: tuple[str, ...] = ()
    every: int = 2

    @classmethod
    def from_config(cls, config) -> "TransferMix":
        t = config.get("transfer")
        if t is not None and t.get("enabled") and not t.data_dirs:
            raise ValueError("config.transfer.data_dirs is not set: a transfer config trains D on "
                                "other converted datasets too; give --config.transfer.data_dirs="
                                "\"('<converted dataset>',)\"")
        if t is None or not t.data_dirs:
            return cls()
        if t.every < 2:
            raise ValueError(f"config.transfer.every={t.every}: must be >= 2 (every k-th step "
                                "is a transfer step)")
        return cls(tuple(t.data_dirs), int(t.every))

    def _sources_before(self, step: int) -> int:
        return step // self.every if self.dirs else 0

    def source_of(self, step: int) -> int | None:
        """Index into ``dirs`` of a source step, None for a target step."""
        if not self.dirs or step % self.every != self.every - 1:
            return None
        return (step // self.every) % len(self.dirs)

    def target_steps_before(self, step: int) -> int:
        return step - self._sources_before(step)

    def source_steps_before(self, step: int, i: int) -> int:
        n = self._sources_before(step)  # source steps j < n; dir i takes j % len == i
        return (n - i + len(self.dirs) - 1) // len(self.dirs)


@dataclasses.dataclass
class TrainResult:
    """How a run ended: the step its workdir's newest checkpoint holds, the last logged
    metrics, and the signal that stopped it early (None when it ran to the end)."""
    step: int
    metrics: dict
    stopped_by: str | None = None


@dataclasses.dataclass
class _Run:
    """What the loop needs, built once: the mesh's shardings, the model, the optimizer."""
    mesh: jax.sharding.Mesh
    info: ip.DatasetInfo
    spec: model_spec.ModelSpec
    parts: state_model.ModelParts
    tx: object
    schedule: object
    state_sh: dict

    @property
    def repl(self):
        return NamedSharding(self.mesh, P())

    @property
    def data_sh(self):
        return NamedSharding(self.mesh, P("data"))


def _build(config) -> tuple[_Run, dict]:
    """The run's model and optimizer on the mesh, and its freshly initialised state."""
    mesh = state_model.make_mesh()
    repl = NamedSharding(mesh, P())
    info = ip.load_info(config.data.dir)
    cli.check_dataset_kind(config, info.metadata, config.data.dir)
    spec = model_spec.spec_of(config, info.metadata)
    parts, params, stats = state_model.build(spec.model, config.seed, repl)
    tx, schedule, _ = optim.make_optimizer(config.optim, params)
    opt_abstract = jax.eval_shape(tx.init, params)
    opt_sh = (train_step.optimizer_state_sharding(opt_abstract, mesh) if config.optim.get("shard_state")
              else jax.tree.map(lambda _: repl, opt_abstract))
    state = dict(params=params, stats=stats, opt=jax.jit(tx.init, out_shardings=opt_sh)(params),
                 step=jax.device_put(jnp.zeros((), jnp.int32), repl))
    state_sh = dict(params=jax.tree.map(lambda _: repl, params), stats=jax.tree.map(lambda _: repl, stats),
                    opt=opt_sh, step=repl)
    _log_optimizer_memory(state["opt"])
    return _Run(mesh, info, spec, parts, tx, schedule, state_sh), state


def _initial_state(config, workdir: str, run: _Run, mngr, state: dict, pcfg: ip.PipelineConfig) -> dict:
    """The workdir's newest readable checkpoint, else ``config.resume``, else
    ``config.init_from``'s weights, else calibrated BN statistics (from scratch)."""
    abstract = jax.tree.map(lambda x, sh: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sh), state,
                            run.state_sh)
    if mngr.latest_step() is not None:
        check_same_model(workdir, run.spec, config, run.info.metadata)
        state = store.restore_latest_readable(mngr, abstract)
        logging.warning("resumed from %s at step %d", workdir, int(state["step"]))
    elif config.resume:
        check_same_model(config.resume, run.spec, config, run.info.metadata)
        other = checkpoint_manager(config.resume, config)
        state = store.restore(other, abstract, other.latest_step())
        logging.warning("resumed from %s at step %d", config.resume, int(state["step"]))
    elif config.init_from:
        weights = state_model.abstract(dict(params=state["params"], stats=state["stats"]), run.repl)
        p, s = init_from.load_initial_weights(config, run.parts, state["params"], state["stats"], weights)
        state = dict(state, params=jax.device_put(p, run.repl), stats=jax.device_put(s, run.repl))
        logging.warning("initialised from %s", config.init_from)
    elif config.model.calibrate_bn_images:
        s = calibrated_stats(run.parts, state["params"], state["stats"], pcfg,
                             config.model.calibrate_bn_images)
        state = dict(state, stats=jax.device_put(s, run.repl))
        logging.warning("from scratch: BN statistics calibrated on %d images",
                        config.model.calibrate_bn_images)
    return state


def _step_functions(config, run: _Run) -> tuple:
    """The jitted target step and transfer (source) step."""
    weights = train_step.loss_weights(run.info.metadata, config)
    dataset = run.info.metadata["dataset"]
    jit = functools.partial(jax.jit, in_shardings=(run.state_sh, run.data_sh),
                            out_shardings=(run.state_sh, run.repl), donate_argnums=0)
    step_fn = jit(train_step.make_train_step(run.parts, run.tx, run.schedule, weights, config, dataset))
    # Transfer: every ``mix.every``-th step trains D on another dataset's images instead.
    source_fn = jit(train_step.make_train_step(run.parts, run.tx, run.schedule, weights, config, dataset,
                                               source=True))
    return step_fn, source_fn


class _Preemption:
    """Records SIGTERM while installed; the loop saves and stops at the next step boundary."""

    def __enter__(self):
        self.signal = None
        self.previous = signal.signal(signal.SIGTERM, self._record)
        return self

    def _record(self, signum, _):
        self.signal = signal.Signals(signum).name

    def __exit__(self, *exc):
        signal.signal(signal.SIGTERM, self.previous)


def train(config: ml_collections.ConfigDict, workdir: str, *, progress: bool = True) -> TrainResult:
    """Trains (or resumes) in ``workdir``, its only writer (``workdir_lock``)."""
    cli.require(config, ("data.dir",) + (cli.evaluation_fields(config) if config.get("eval_every") else ()))
    os.makedirs(workdir, exist_ok=True)
    with workdir_lock.WorkdirLock(workdir) if jax.process_index() == 0 else contextlib.nullcontext():
        return _train(config, workdir, progress)


def _train(config: ml_collections.ConfigDict, workdir: str, progress: bool) -> TrainResult:
    run, state = _build(config)
    pcfg = pipeline_config(config, config.data.dir)
    mngr = checkpoint_manager(workdir, config)
    state = _initial_state(config, workdir, run, mngr, state, pcfg)
    start = int(jax.device_get(state["step"]))
    if start >= config.total_steps and mngr.latest_step() is None:  # nothing to train: keep the start
        store.save(mngr, state, run.spec, config.seed)
        mngr.wait_until_finished()
    _write_run_info(workdir, config, state["params"])

    mix = TransferMix.from_config(config)
    host = dict(process_index=jax.process_index(), process_count=jax.process_count())
    it, facts = workers.train_batches(pcfg, start_step=mix.target_steps_before(start), **host)
    source_its = [workers.train_batches(pipeline_config(config, d), start_step=mix.source_steps_before(start, i),
                                        **host)[0]
                  for i, d in enumerate(mix.dirs)]
    from clu import metric_writers  # pylint: disable=g-import-not-at-top
    writer = metric_writers.create_default_writer(workdir, just_logging=jax.process_index() > 0,
                                                  asynchronous=True)
    log = MetricLog(workdir, start, writer)
    loop = _Loop(config, run, mngr, log, _step_functions(config, run), facts["global_batch_size"],
                 periodic_evaluation(config, workdir, run.info, run.parts, run.mesh, log)
                 if config.get("eval_every") else None)
    bar = _progress_bar(config, start) if progress else None
    try:
        with _Preemption() as preemption:
            state, step = loop.run(state, start, it, source_its, mix, preemption, bar)
    finally:
        for stream in [it, *source_its]:  # input worker processes end here
            getattr(stream, "close", lambda: None)()
        if bar is not None:
            bar.close()
        mngr.wait_until_finished()
        writer.flush()
    return TrainResult(step, loop.last or {}, preemption.signal)


def _progress_bar(config, start: int):
    if jax.process_index() != 0:
        return None
    from tqdm import tqdm  # pylint: disable=g-import-not-at-top
    return tqdm(total=config.total_steps, initial=start, unit="step", file=sys.stderr, dynamic_ncols=True)


class _Loop:
    """The steps from ``start`` to ``config.total_steps``: logging, checkpoints, periodic
    evaluation, and the stop on SIGTERM."""

    def __init__(self, config, run: _Run, mngr, log: MetricLog, step_fns: tuple, images_per_step: int,
                 evals):
        self.config, self.run_, self.mngr, self.log = config, run, mngr, log
        self.step_fn, self.source_fn = step_fns
        self.images_per_step, self.evals = images_per_step, evals
        self.last = None

    def _save(self, state: dict) -> None:
        self.log.flush(self.images_per_step)  # never checkpoint a non-finite state
        store.save(self.mngr, state, self.run_.spec, self.config.seed)

    def _one_step(self, state: dict, step: int, it, source_its, mix: TransferMix) -> dict:
        src = mix.source_of(step)
        fn, keys = ((self.step_fn, train_step.BATCH_KEYS) if src is None
                    else (self.source_fn, train_step.SOURCE_KEYS))
        local_batch = next(it if src is None else source_its[src])
        if jax.process_count() > 1:  # each host padded to its own bucket: take the largest
            shapes = multihost_utils.process_allgather(train_step.padded_shapes(local_batch))
            local_batch = train_step.pad_to_shapes(local_batch, np.max(shapes, axis=0))
        batch = {k: jax.make_array_from_process_local_data(self.run_.data_sh, local_batch[k])
                 for k in keys if k not in train_step.OPTIONAL_KEYS or k in local_batch}
        state, metrics = fn(state, batch)
        self.log.add(step, metrics)
        if fn._cache_size() > compile_limit(self.config):  # pylint: disable=protected-access
            raise TrainingError(f"{fn._cache_size()} compilations of the train step: shapes are "  # pylint: disable=protected-access
                                "not bucketed (config.data.image_buckets, human_table_sizes)")
        return state

    def _after_step(self, state: dict, done: int, bar) -> None:
        c = self.config
        if done % c.log_every == 0 or done == c.total_steps:
            self.last = self.log.flush(self.images_per_step)
            if bar is not None:
                bar.set_postfix(loss=f"{self.last.get('loss', float('nan')):.4f}", lr=f"{self.last['lr']:.2e}",
                                compiles=self.step_fn._cache_size())  # pylint: disable=protected-access
        if done % c.checkpoint_every == 0 or done == c.total_steps:
            self._save(state)
        if self.evals is not None and (done % c.eval_every == 0 or done == c.total_steps):
            self.log.flush(self.images_per_step)
            self.evals(done, state)

    def run(self, state: dict, start: int, it, source_its, mix: TransferMix, preemption, bar):
        """Returns the final state and the step it holds."""
        step = start
        for step in range(start, self.config.total_steps):
            if preemption.signal is not None:
                self._save(state)
                logging.warning("%s: saved step %d, stopping", preemption.signal, step)
                return state, step
            state = self._one_step(state, step, it, source_its, mix)
            self._after_step(state, step + 1, bar)
            if bar is not None:
                bar.update(1)
        return state, max(start, self.config.total_steps)
