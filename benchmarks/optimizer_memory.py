"""Optimizer-state memory per device: replicated (the default) against ``optim.shard_state``.

    python benchmarks/optimizer_memory.py [--devices 8] [--width 64]

The full TIN (ResNet-50, HICO-DET heads) and its optimizer (``optim.make_optimizer`` with
base_config's settings: momentum SGD, stem + block1 frozen by mask) are initialised on
meshes of 1, 2, 4, ... devices (virtual CPU devices, ``--xla_force_host_platform_device_count``),
once replicated and once sharded with ``train_step.optimizer_state_sharding``. The figures are
the bytes of the arrays actually allocated on the first device (its addressable shards).
"""

from __future__ import annotations

import argparse
import os
import sys


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--devices", type=int, default=8, help="largest mesh (virtual CPU devices)")
    p.add_argument("--width", type=int, default=64, help="backbone width (64 = ResNet-50)")
    args = p.parse_args()
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={args.devices}"
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    import jax  # pylint: disable=g-import-not-at-top
    import numpy as np  # pylint: disable=g-import-not-at-top
    from jax.sharding import AxisType, NamedSharding, PartitionSpec as P  # pylint: disable=g-import-not-at-top
    from configs import common  # pylint: disable=g-import-not-at-top
    from tin_jax.training import optim, train_step  # pylint: disable=g-import-not-at-top
    from tin_jax.state import model as state_model
    from tin_jax.models.tin import TINConfig  # pylint: disable=g-import-not-at-top

    config = common.base_config()
    cfg = TINConfig(width=args.width)
    one = jax.make_mesh((1,), ("data",), axis_types=(AxisType.Auto,), devices=jax.devices()[:1])
    _, params, _ = state_model.build(cfg, 0, NamedSharding(one, P()))
    tx, _, _ = optim.make_optimizer(config.optim, params)
    abstract = jax.eval_shape(tx.init, params)
    num_params = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(params))

    def first_device_bytes(tree) -> int:
        device = jax.devices()[0]
        return sum(s.data.nbytes for x in jax.tree.leaves(tree) for s in x.addressable_shards
                   if s.device == device)

    print(f"TIN (width {args.width}, {num_params / 1e6:.1f}M parameters), optimizer "
          f"{config.optim.schedule} momentum {config.optim.momentum}, frozen stem + block{config.optim.fixed_blocks}; "
          f"{jax.devices()[0].platform} devices")
    print(f"{'devices':>7} {'replicated MiB':>15} {'sharded MiB':>12} {'saving':>8} {'sharded leaves':>15}")
    n = 1
    while n <= args.devices:
        mesh = jax.make_mesh((n,), ("data",), axis_types=(AxisType.Auto,), devices=jax.devices()[:n])
        repl = NamedSharding(mesh, P())
        local = jax.device_put(params, repl)
        replicated = jax.jit(tx.init, out_shardings=jax.tree.map(lambda _: repl, abstract))(local)
        shardings = train_step.optimizer_state_sharding(abstract, mesh)
        sharded = jax.jit(tx.init, out_shardings=shardings)(local)
        a, b = first_device_bytes(replicated), first_device_bytes(sharded)
        split = sum(s.spec != P() for s in jax.tree.leaves(shardings))
        print(f"{n:>7} {a / 2**20:>15.1f} {b / 2**20:>12.1f} {a / b:>7.2f}x "
              f"{split:>7}/{len(jax.tree.leaves(shardings))}")
        del replicated, sharded, local
        n *= 2
    print("MiB: bytes of the optimizer state allocated on device 0; saving: replicated / sharded.")


if __name__ == "__main__":
    main()
