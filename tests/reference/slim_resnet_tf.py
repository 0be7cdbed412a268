"""A direct TF transcription of TF-slim ``resnet_v1_50`` as tf-faster-rcnn / TIN build it.

Written with ``tf.nn`` ops and ``tf.compat.v1`` variables in the original graph's scopes
(tf_slim cannot build batch_norm on TF 2.x), so a saved checkpoint has exactly the variable
names of the original checkpoints. Shared by the ResNet and TIN import tests.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

v1 = tf.compat.v1
# TF 1.12 (the released models): slim's batch_norm passes epsilon 1e-5, but both paths end in
# nn.fused_batch_norm, which raises it to 1.001e-5: 4-D convs via the fused BatchNormalization
# layer, and 2-D FC outputs because contrib's batch_norm sends rank-2 inputs to
# _fused_batch_norm (reshaped to [N, 1, 1, C]). TF 2.x no longer clamps, so it is explicit here.
BN_EPS = 1.001e-5
BLOCKS = (("block1", 64, 3, 2), ("block2", 128, 4, 2), ("block3", 256, 6, 1))


class Init:
    """Random weights, biases and BN statistics from one numpy generator.

    Biases are non-zero so a swapped or missing bias shows. Some BN channels get a tiny
    moving variance (gamma scaled to match), as dead channels in trained nets have, which makes
    the outputs sensitive to eps 1e-5 vs 1.001e-5.
    """

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def _var(self, name, value):
        return v1.get_variable(name, initializer=np.asarray(value, np.float32))

    def weights(self, shape, gain=2.0):
        return self._var("weights", self.rng.normal(0, np.sqrt(gain / np.prod(shape[:-1])), shape))

    def biases(self, depth, std=0.3):
        return self._var("biases", self.rng.normal(0, std, depth))

    def batch_norm(self, depth, tiny_fraction=0.125, gamma_scale=1.0):
        var = self.rng.uniform(0.5, 2.0, depth)
        gamma = self.rng.uniform(0.5, 1.5, depth) * gamma_scale
        tiny = self.rng.random(depth) < tiny_fraction
        var[tiny] = 10.0 ** self.rng.uniform(-6.5, -5, tiny.sum())
        gamma[tiny] *= np.sqrt(var[tiny] + 1e-5)
        values = dict(gamma=gamma, beta=self.rng.normal(0, 0.2, depth),
                      moving_mean=self.rng.normal(0, 0.2, depth), moving_variance=var)
        with v1.variable_scope("BatchNorm"):
            return {n: self._var(n, v) for n, v in values.items()}


def conv_bn(init, x, scope, depth, k, stride, relu, same=True, gamma_scale=1.0):
    """slim conv2d (``same=False``: SAME padding) / conv2d_same (explicit pad when strided) + BN."""
    with v1.variable_scope(scope):
        w = init.weights([k, k, int(x.shape[-1]), depth])
        if stride > 1 and same:
            beg = (k - 1) // 2
            x = tf.pad(x, [[0, 0], [beg, k - 1 - beg], [beg, k - 1 - beg], [0, 0]])
            y = tf.nn.conv2d(x, w, [1, stride, stride, 1], "VALID")
        else:
            y = tf.nn.conv2d(x, w, [1, stride, stride, 1], "SAME")
        stats = init.batch_norm(depth, gamma_scale=gamma_scale)
        y = tf.nn.batch_normalization(y, stats["moving_mean"], stats["moving_variance"],
                                      stats["beta"], stats["gamma"], BN_EPS)
        return tf.nn.relu(y) if relu else y


def bottleneck(init, x, depth, base, stride, last_gamma_scale=0.25):
    """``last_gamma_scale``: small last gammas, as trained ResNets have, keep activations O(1)
    through the 22 units."""
    with v1.variable_scope("bottleneck_v1"):
        if int(x.shape[-1]) == depth:
            shortcut = x if stride == 1 else tf.nn.max_pool2d(x, 1, stride, "VALID")
        else:
            shortcut = conv_bn(init, x, "shortcut", depth, 1, stride, False, same=False)
        r = conv_bn(init, x, "conv1", base, 1, 1, True, same=False)
        r = conv_bn(init, r, "conv2", base, 3, stride, True)
        r = conv_bn(init, r, "conv3", depth, 1, 1, False, same=False, gamma_scale=last_gamma_scale)
        return tf.nn.relu(shortcut + r)


def block(init, x, scope, base, units, stride):
    with v1.variable_scope(scope):
        for i in range(units):
            with v1.variable_scope(f"unit_{i + 1}"):
                x = bottleneck(init, x, 4 * base, base, stride if i == units - 1 else 1)
    return x


def head(init, image):
    """conv1 .. block3 (stride 16, 1024 channels), inside the caller's ``resnet_v1_50`` scope."""
    net = conv_bn(init, image, "conv1", 64, 7, 2, True)
    net = tf.pad(net, [[0, 0], [1, 1], [1, 1], [0, 0]])
    net = tf.nn.max_pool2d(net, 3, 2, "VALID")
    for scope, base, units, stride in BLOCKS:
        net = block(init, net, scope, base, units, stride)
    return net
