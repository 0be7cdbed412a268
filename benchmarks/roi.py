"""RoI pooling speed: the gather and einsum formulations of ``tin_roi_pool`` (jit).

    python benchmarks/roi.py [--boxes 64] [--repeats 15]

Realistic TIN size: a 600 x 900 image at stride 16 gives (1, 38, 57, 1024) res4 features, and
64 boxes (humans + objects of one step) are cropped to 7 x 7.  Forward alone, and forward +
backward (gradient w.r.t. the features for a fixed cotangent, as in training).  Each row is the
median over repeats of the mean time of a few calls; ratios are against the gather baseline.
``tf.image.crop_and_resize`` (what the original TIN calls) is timed for reference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _median_ms(fn, repeats: int, calls: int) -> float:
    """Median over ``repeats`` of the mean wall time of ``calls`` calls (after a warm-up)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t0) / calls)
    return 1e3 * statistics.median(times)


def _boxes(rng, n, img_h, img_w):
    import numpy as np
    x = np.sort(rng.uniform(0, img_w - 1, (n, 2)), axis=1)
    y = np.sort(rng.uniform(0, img_h - 1, (n, 2)), axis=1)
    return np.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], axis=1).astype(np.float32)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--boxes", type=int, default=64)
    p.add_argument("--crop", type=int, default=7)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--calls", type=int, default=5)
    args = p.parse_args()

    import jax
    import jax.numpy as jnp
    import numpy as np

    from tin_jax.ops import roi

    rng = np.random.default_rng(0)
    feats = jnp.asarray(rng.normal(size=(1, 38, 57, 1024)).astype(np.float32))
    boxes = jnp.asarray(_boxes(rng, args.boxes, 600, 900)[None])
    cot = jnp.asarray(rng.normal(size=(1, args.boxes, args.crop, args.crop, 1024)).astype(np.float32))

    def jax_row(method):
        pool = lambda f, b: roi.tin_roi_pool(f, b, crop=args.crop, method=method)
        fwd = jax.jit(pool)
        bwd = jax.jit(jax.grad(lambda f, b: jnp.vdot(pool(f, b), cot)))
        return (method, lambda: fwd(feats, boxes).block_until_ready(),
                lambda: bwd(feats, boxes).block_until_ready())

    rows = [jax_row(method) for method in roi.METHODS]
    try:
        import tensorflow as tf
    except ImportError:  # the JAX rows stand on their own
        tf = None
    if tf is not None:
        f_tf, c_tf = tf.constant(np.asarray(feats)), tf.constant(np.asarray(cot[0]))
        b = np.asarray(boxes[0])
        norm = np.stack([b[:, 1] / 592, b[:, 0] / 896, b[:, 3] / 592, b[:, 2] / 896], axis=1)
        b_tf, i_tf = tf.constant(norm.astype(np.float32)), tf.zeros([args.boxes], tf.int32)
        size = [args.crop, args.crop]

        @tf.function
        def tf_fwd():
            return tf.image.crop_and_resize(f_tf, b_tf, i_tf, size)

        @tf.function
        def tf_bwd():
            with tf.GradientTape() as tape:
                tape.watch(f_tf)
                out = tf.image.crop_and_resize(f_tf, b_tf, i_tf, size)
            return tape.gradient(out, f_tf, output_gradients=c_tf)

        rows.append(("tf.image.crop_and_resize", lambda: tf_fwd().numpy(), lambda: tf_bwd().numpy()))

    print(f"tin_roi_pool: features (1, 38, 57, 1024), {args.boxes} boxes, {args.crop}x{args.crop}; "
          f"{jax.devices()[0].device_kind} ({jax.default_backend()}), {os.cpu_count()} cores")
    print(f"{'method':<26} {'fwd ms':>9} {'vs gather':>10} {'fwd+bwd ms':>11} {'vs gather':>10}")
    base = None
    for name, run_fwd, run_bwd in rows:
        t = (_median_ms(run_fwd, args.repeats, args.calls), _median_ms(run_bwd, args.repeats, args.calls))
        base = base or t
        print(f"{name:<26} {t[0]:>9.2f} {t[0] / base[0]:>9.2f}x {t[1]:>11.2f} {t[1] / base[1]:>9.2f}x")


if __name__ == "__main__":
    main()
