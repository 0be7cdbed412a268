"""Layer constructors with slim's defaults, shared by the TIN heads and the part branch."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

xavier = nnx.initializers.glorot_uniform()  # slim's default outside resnet_arg_scope
cls_init = nnx.initializers.normal(0.01)  # the classifiers' tf.random_normal_initializer(0, 0.01)


def dense(i, o, *, rngs, init=xavier, bias=True, dtype=None):
    return nnx.Linear(i, o, use_bias=bias, kernel_init=init, dtype=dtype, param_dtype=jnp.float32,
                      rngs=rngs)


def conv(i, o, k, *, rngs, padding="VALID", dtype=None):
    return nnx.Conv(i, o, (k, k), padding=padding, kernel_init=xavier, dtype=dtype,
                    param_dtype=jnp.float32, rngs=rngs)


def max_pool2(x):
    return nnx.max_pool(x, (2, 2), strides=(2, 2), padding="VALID")


class SpatialCNN(nnx.Module):
    """conv5x5 VALID -> max-pool 2 -> conv5x5 VALID -> max-pool 2 -> flatten (NHWC order)."""

    def __init__(self, in_ch, ch1, ch2, *, rngs, dtype=None):
        self.conv1 = conv(in_ch, ch1, 5, rngs=rngs, dtype=dtype)
        self.conv2 = conv(ch1, ch2, 5, rngs=rngs, dtype=dtype)
        self.features = 13 * 13 * ch2  # a 64x64 pattern: 60 -> 30 -> 26 -> 13

    def __call__(self, x):
        x = max_pool2(jax.nn.relu(self.conv1(x)))
        x = max_pool2(jax.nn.relu(self.conv2(x)))
        return x.reshape(x.shape[:-3] + (-1,))


def sp_cnn(spatial_width, *, rngs, dtype=None):
    """TIN's ``conv{1,2}_sp`` over the two box channels: (64, 32) at ``TINConfig.spatial_width``
    64, 5408 features."""
    return SpatialCNN(2, spatial_width, spatial_width // 2, rngs=rngs, dtype=dtype)


def pose_cnn(spatial_width, *, rngs, dtype=None):
    """D's CNN over the pose channel: half the sp CNN's channels, (32, 16) at 64, 2704 features."""
    return SpatialCNN(1, spatial_width // 2, spatial_width // 4, rngs=rngs, dtype=dtype)
