"""The original's optimisation as optax transforms (and Adam, for short runs such as the demo).

- SGD with momentum 0.9 (TF ``MomentumOptimizer``: accumulate the raw gradient,
  scale by the learning rate afterwards: ``optax.sgd(lr, momentum=0.9)`` does the same);
- each variable's gradient clipped to norm 1 on its own (``tf.clip_by_norm`` per
  variable, not the global norm);
- no weight decay (the original attached l2 regularisers but never added them to
  the loss); ``weight_decay`` is there, default 0;
- frozen parameters (stem + block1, or everything but D) receive no update: a mask,
  not a hand-written selection; the train step also differentiates them as constants
  (``stop_frozen_gradients``), so their backward pass is never computed.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax


def cosine_decay_restarts(base_lr: float, first_decay_steps: int, t_mul: float = 2.0,
                          m_mul: float = 1.0, alpha: float = 0.0) -> optax.Schedule:
    """``tf.compat.v1.train.cosine_decay_restarts`` (SGDR), the HICO-DET schedule.

    With t_mul 2 and 80k first steps, restarts fall at 80k, 240k, 560k, 1.2M, 2.48M.
    """

    def schedule(step):
        completed = jnp.asarray(step, jnp.float32) / first_decay_steps
        if t_mul == 1.0:
            i_restart = jnp.floor(completed)
            completed = completed - i_restart
        else:
            i_restart = jnp.floor(jnp.log(1.0 - completed * (1.0 - t_mul)) / math.log(t_mul))
            sum_r = (1.0 - t_mul ** i_restart) / (1.0 - t_mul)
            completed = (completed - sum_r) / t_mul ** i_restart
        m_fac = m_mul ** i_restart
        cosine = 0.5 * m_fac * (1.0 + jnp.cos(math.pi * completed))
        return base_lr * ((1.0 - alpha) * cosine + alpha)

    return schedule


def make_schedule(cfg) -> optax.Schedule:
    """``cfg.schedule``: 'sgdr' (HICO), 'exponential' (V-COCO: lr * 0.96^(step // 20k)), 'constant'."""
    if cfg.schedule == "sgdr":
        return cosine_decay_restarts(cfg.lr, cfg.first_decay_steps, cfg.t_mul)
    if cfg.schedule == "exponential":
        return optax.exponential_decay(cfg.lr, cfg.decay_steps, cfg.decay_rate, staircase=True)
    if cfg.schedule == "constant":
        return optax.constant_schedule(cfg.lr)
    raise ValueError(f"unknown schedule {cfg.schedule!r}: use 'sgdr', 'exponential' or 'constant'")


def clip_each_by_norm(max_norm: float) -> optax.GradientTransformation:
    """``tf.clip_by_norm(g, max_norm)`` applied to every variable separately."""

    def clip(g, _):
        norm = jnp.sqrt(jnp.sum(jnp.square(g.astype(jnp.float32))))
        return (g * (max_norm / jnp.maximum(norm, max_norm))).astype(g.dtype)

    return optax.stateless_with_tree_map(clip)


def path_str(path) -> str:
    return "/".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path)


def trainable_mask(params, frozen: Callable[[str], bool]):
    """A pytree of bools: True where the parameter trains."""
    return jax.tree_util.tree_map_with_path(lambda p, _: not frozen(path_str(p)), params)


def stop_frozen_gradients(params, frozen: Callable[[str], bool]):
    """``params`` with the frozen leaves behind ``stop_gradient``: autodiff then computes neither
    their gradients (zeros come back) nor the backward of layers that feed only frozen ones
    (the stem and block1; in D-only training everything before D). The optimizer's mask
    alone would discard those gradients after XLA had computed them."""
    return jax.tree_util.tree_map_with_path(
        lambda p, x: jax.lax.stop_gradient(x) if frozen(path_str(p)) else x, params)


def frozen_predicate(cfg) -> Callable[[str], bool]:
    """Which parameters never train, from ``cfg.optim``.

    ``fixed_blocks``: the stem and the first N backbone blocks (the original: 1).
    ``train_only``: a regex; when set, only matching parameters train (TIN's
    ``TRAIN_MODULE_UPDATE=2`` = ``fc_binary|binary``: D-only training).
    ``freeze``: a regex of further parameters to freeze.
    """
    fixed = {f"block{i}" for i in range(1, cfg.fixed_blocks + 1)}
    only = re.compile(cfg.train_only) if cfg.train_only else None
    extra = re.compile(cfg.freeze) if cfg.freeze else None

    def frozen(path: str) -> bool:
        parts = path.split("/")
        if parts[0] == "backbone" and len(parts) > 1:
            if parts[1] == "conv1" or parts[1] in fixed:
                return True
        if only is not None and not only.search(path):
            return True
        return bool(extra is not None and extra.search(path))

    return frozen


def make_optimizer(cfg, params) -> tuple[optax.GradientTransformation, optax.Schedule, Any]:
    """Returns (transform, schedule, trainable mask) for a params pytree."""
    schedule = make_schedule(cfg)
    mask = trainable_mask(params, frozen_predicate(cfg))
    chain = [clip_each_by_norm(cfg.clip_norm)] if cfg.clip_norm else []
    if cfg.weight_decay:
        chain.append(optax.add_decayed_weights(cfg.weight_decay))
    name = cfg.get("name", "momentum")
    if name == "momentum":
        chain.append(optax.sgd(schedule, momentum=cfg.momentum))
    elif name == "adam":
        chain.append(optax.adam(schedule))
    else:
        raise ValueError(f"unknown optimizer {name!r}: use 'momentum' (the original's) or 'adam'")
    tx = optax.chain(optax.masked(optax.chain(*chain), mask),
                     optax.masked(optax.set_to_zero(), jax.tree.map(lambda m: not m, mask)))
    return tx, schedule, mask
