"""Checkpoints on disk (orbax): save, restore, and say which model they hold.

A checkpoint step holds three items: ``state`` (parameters, frozen statistics, optimizer
state, step), ``meta`` (step, seed, data position) and ``model`` (the :class:`ModelSpec`).
A step that cannot be read is named in one line; training falls back to the step before it
when that one reads (moving the bad one aside as ``<step>.unreadable``, never deleting it).
"""

from __future__ import annotations

import logging
import os

import jax
import orbax.checkpoint as ocp

from tin_jax.state import stderr_guard
from tin_jax.state.spec import ModelSpec, SpecMismatchError

UNREADABLE_SUFFIX = ".unreadable"


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or written (one line naming it)."""


def first_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text[:300] if text else type(e).__name__


def checkpoint_dir(workdir: str) -> str:
    return os.path.join(os.path.abspath(workdir), "checkpoints")


def step_dir(workdir: str, step: int) -> str:
    return os.path.join(checkpoint_dir(workdir), str(step))


def manager(workdir: str, keep: int | None = None, *, create: bool = True) -> ocp.CheckpointManager:
    """The workdir's checkpoint manager (``keep``: the newest steps kept; None keeps all)."""
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=create,
                                           enable_async_checkpointing=True)
    return ocp.CheckpointManager(checkpoint_dir(workdir), options=options)


def latest_step(workdir: str) -> int | None:
    """The newest checkpoint step in ``workdir``, None when it holds none (or does not exist)."""
    if not os.path.isdir(checkpoint_dir(workdir)):
        return None
    return ocp.CheckpointManager(checkpoint_dir(workdir)).latest_step()


def save(mngr: ocp.CheckpointManager, state: dict, spec: ModelSpec, seed: int) -> bool:
    """Saves ``state`` at its step, once: a step already saved (a preemption landing on a
    checkpoint step) is left as it is. Returns whether it wrote."""
    step = int(jax.device_get(state["step"]))
    if step in mngr.all_steps():
        return False
    meta = dict(step=step, seed=seed, data_position=step)
    mngr.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                            meta=ocp.args.JsonSave(meta),
                                            model=ocp.args.JsonSave(spec.to_json())), force=True)
    return True


def read_spec(workdir: str, step: int | None = None) -> ModelSpec | None:
    """The model spec saved with ``workdir``'s checkpoint ``step`` (latest when None); None for
    a checkpoint written before checkpoints carried one."""
    step = latest_step(workdir) if step is None else step
    where = step_dir(workdir, step)
    if not os.path.isdir(os.path.join(where, "model")):
        return None
    try:
        got = ocp.CheckpointManager(checkpoint_dir(workdir)).restore(
            step, args=ocp.args.Composite(model=ocp.args.JsonRestore()))
    except Exception as e:  # orbax / json raise several types for a damaged file
        raise CheckpointError(f"{where}/model: unreadable ({first_line(e)})") from None
    if not isinstance(got["model"], dict):
        raise CheckpointError(f"{where}/model: unreadable (empty)")
    return ModelSpec.from_json(got["model"], f"{where}/model")


def _restore_args(abstract_state: dict, partial: bool):
    if partial:
        return ocp.args.PyTreeRestore(
            abstract_state, restore_args=ocp.checkpoint_utils.construct_restore_args(abstract_state),
            partial_restore=True)
    return ocp.args.StandardRestore(abstract_state)


def restore(mngr: ocp.CheckpointManager, abstract_state: dict, step: int, *,
            partial: bool = False) -> dict:
    """The state saved at ``step`` (``partial``: only the keys of ``abstract_state``, e.g. the
    weights); a step that cannot be read raises :class:`CheckpointError` naming it."""
    where = os.path.join(str(mngr.directory), str(step))
    try:
        with stderr_guard.guard():
            got = mngr.restore(step, args=ocp.args.Composite(state=_restore_args(abstract_state, partial)))
    except SpecMismatchError:
        raise
    except Exception as e:  # tensorstore, orbax and json raise many types for a damaged step
        raise CheckpointError(f"{where}: unreadable checkpoint ({first_line(e)})") from None
    return got["state"]


def restore_weights(workdir: str, target: dict, step: int | None = None) -> dict:
    """``{params, stats}`` of ``workdir``'s checkpoint ``step`` (latest when None), without the
    optimizer state; ``target``: their ShapeDtypeStructs."""
    mngr = ocp.CheckpointManager(checkpoint_dir(workdir))
    step = mngr.latest_step() if step is None else step
    if step not in mngr.all_steps():
        have = ", ".join(map(str, mngr.all_steps())) or "none"
        raise CheckpointError(f"{checkpoint_dir(workdir)}: no checkpoint at step {step} (steps: {have})")
    try:
        return restore(mngr, target, step, partial=True)
    except CheckpointError as e:
        earlier = [s for s in mngr.all_steps() if s < step]
        hint = (f"; evaluate an earlier one with --config.eval.checkpoint_step={max(earlier)}"
                if earlier else "")
        raise CheckpointError(f"{e}{hint}") from None


def restore_latest_readable(mngr: ocp.CheckpointManager, abstract_state: dict) -> dict:
    """The newest state that reads. When the newest step is damaged but the one before it
    reads, the damaged one is moved aside (``<step>.unreadable``) and the run goes on from
    the earlier step, saying so; when neither reads the error names the newest."""
    steps = sorted(mngr.all_steps(), reverse=True)
    try:
        return restore(mngr, abstract_state, steps[0])
    except CheckpointError as newest:
        if len(steps) < 2:
            raise
        try:
            state = restore(mngr, abstract_state, steps[1])
        except CheckpointError:
            raise newest from None  # not damage of one step: a model or a workdir that differs
        bad = os.path.join(str(mngr.directory), str(steps[0]))
        if jax.process_index() == 0:
            os.replace(bad, bad + UNREADABLE_SUFFIX)
        _sync("tin_jax_unreadable_moved")
        mngr.reload()
        logging.warning("%s; moved it to %s and resumed from step %d", newest, bad + UNREADABLE_SUFFIX,
                        steps[1])
        return state


def _sync(name: str) -> None:
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
        multihost_utils.sync_global_devices(name)
