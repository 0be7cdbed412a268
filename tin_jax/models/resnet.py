"""ResNet-50 backbones in Flax NNX with frozen BatchNorm, in two weight layouts.

``SlimResNet50`` reproduces TF-slim ``resnet_v1_50`` as tf-faster-rcnn / TIN build it
(``lib/networks/TIN_HICO.py``), so the released TIN checkpoints and slim's ImageNet
``resnet_v1_50.ckpt`` load one to one:

- stem ``conv1``: ``conv2d_same`` 7x7/2 (explicit zero pad 3, 3 then VALID) + BN + ReLU, then
  ``tf.pad`` by 1 and a 3x3/2 VALID max-pool;
- ``block1`` (64, 3 units), ``block2`` (128, 4 units), ``block3`` (256, 6 units): slim puts a
  block's stride in its **last** unit, on the 3x3 conv; block1 and block2 have stride 2 and
  block3 stride 1, so ``image_to_head`` ends at stride 16 with 1024 channels;
- ``block4`` (512, 3 units, stride 1) is a :class:`Res5`. TIN applies it to 7x7 RoI crops
  (human stream); the object stream has its own copy, scope ``block5``, initialised from
  ``block4``.

slim's bottleneck v1 takes a 1x1 projection shortcut (conv + BN, no ReLU) only when the depth
changes; when the depth matches, the shortcut is ``subsample``: the input itself, or for
stride > 1 a 1x1 max-pool with that stride, i.e. ``x[:, ::s, ::s]``.

``TorchResNet50`` is torchvision's ``resnet50`` (v1.5: stride on ``conv2`` of the **first**
block of a stage, symmetric padding, max-pool 3x3/2 pad 1, BN eps 1e-5) with torchvision's
attribute names, so a PyTorch ``state_dict`` maps onto it key for key.

Inputs are NHWC float32 images, taken as is: the TIN pipeline feeds BGR minus the Caffe means
(what the slim/TIN weights expect); torchvision weights expect RGB scaled to [0, 1] and
normalised with the ImageNet mean/std. Converting is the caller's job.

Every BatchNorm is frozen (TIN sets ``is_training: False, trainable: False`` everywhere): its
four arrays are :class:`FrozenStat` variables, not ``nnx.Param``, so an optimizer built with
``wrt=nnx.Param`` never sees them. Parameters are float32; ``dtype`` sets the computation dtype
(e.g. ``jnp.bfloat16``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

SLIM_BN_EPS = 1.001e-5  # TF 1.12's fused batch norm raised slim's 1e-5 to this; TIN's weights expect it
TORCH_BN_EPS = 1e-5
# bottleneck units of block1 .. block4 in ResNet-50 (block4: TIN's res5)
RESNET50_UNITS = (3, 4, 6, 3)

# slim's variance_scaling_initializer() (He, fan-in, truncated normal); only matters when not loading weights.
he_init = nnx.initializers.variance_scaling(2.0, "fan_in", "truncated_normal")


class FrozenStat(nnx.Variable):
    """A BatchNorm array restored from a checkpoint and never trained.

    Not an ``nnx.Param``, so ``nnx.Optimizer(..., wrt=nnx.Param)`` and ``nnx.grad`` over params
    leave it alone; it is still part of ``nnx.state(model)`` and therefore of checkpoints.
    """


class FrozenBatchNorm(nnx.Module):
    """Inference-mode BatchNorm: ``y = (x - mean) / sqrt(var + eps) * scale + bias``.

    The affine is folded into one multiply-add computed in float32, then applied in ``dtype`` so
    bfloat16 activations do not lose the statistics' precision.
    """

    def __init__(self, num_features: int, *, eps: float = SLIM_BN_EPS, dtype: Any = None):
        self.num_features = num_features
        self.eps = eps
        self.dtype = dtype
        self.scale = FrozenStat(jnp.ones((num_features,), jnp.float32))
        self.bias = FrozenStat(jnp.zeros((num_features,), jnp.float32))
        self.mean = FrozenStat(jnp.zeros((num_features,), jnp.float32))
        self.var = FrozenStat(jnp.ones((num_features,), jnp.float32))

    def __call__(self, x: jax.Array) -> jax.Array:
        if getattr(self, "calibrate", False):
            # Data-dependent initialisation (see calibrate_batch_norm): this batch's
            # statistics become the frozen ones.
            axes = tuple(range(x.ndim - 1))
            xf = x.astype(jnp.promote_types(x.dtype, jnp.float32))  # float64 stays float64
            self.mean[...] = xf.mean(axes)
            self.var[...] = xf.var(axes)
        mul = self.scale[...] * jax.lax.rsqrt(self.var[...] + self.eps)
        add = self.bias[...] - self.mean[...] * mul
        dtype = self.dtype or x.dtype
        return x.astype(dtype) * mul.astype(dtype) + add.astype(dtype)


def _strided_hw(hw: jax.Array, stride: int) -> jax.Array:
    """Output size of a slim ``conv2d_same`` / padded max-pool with this stride: ceil(hw / s)."""
    return -(-hw // stride) if stride > 1 else hw


def mask_padding(x: jax.Array, valid_hw: jax.Array | None) -> jax.Array:
    """Zeroes ``x`` (B, H, W, C) outside each image's valid ``(h, w)``.

    A conv over a zero-padded batch sees the same zeros at the image border as the
    unpadded conv's own padding only if every intermediate map is zero there too.
    """
    if valid_hw is None:
        return x
    rows = jnp.arange(x.shape[1])[None, :] < valid_hw[:, 0:1]
    cols = jnp.arange(x.shape[2])[None, :] < valid_hw[:, 1:2]
    mask = rows[:, :, None, None] & cols[:, None, :, None]
    return jnp.where(mask, x, jnp.zeros((), x.dtype))


def same_padding(kernel_size: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """slim ``conv2d_same`` padding: ``(k-1)//2`` before, the rest after.

    For stride 1 this equals TF ``SAME``; for stride > 1 slim pads explicitly and runs VALID,
    which differs from TF ``SAME`` on even sizes. Torch's symmetric ``padding=k//2`` is the same
    for odd k.
    """
    beg = (kernel_size - 1) // 2
    end = kernel_size - 1 - beg
    return ((beg, end), (beg, end))


def _conv(in_features, out_features, kernel_size, stride, dtype, precision, rngs):
    return nnx.Conv(in_features, out_features, (kernel_size, kernel_size), strides=stride,
                    padding=same_padding(kernel_size), use_bias=False, dtype=dtype,
                    param_dtype=jnp.float32, precision=precision, kernel_init=he_init, rngs=rngs)


class ConvBN(nnx.Module):
    """slim ``conv2d`` inside ``resnet_arg_scope``: bias-free conv, frozen BN, optional ReLU."""

    def __init__(self, in_features: int, out_features: int, kernel_size: int, *, stride: int = 1,
                 relu: bool = True, eps: float = SLIM_BN_EPS, dtype: Any = None,
                 precision: Any = None, rngs: nnx.Rngs):
        self.relu = relu
        self.conv = _conv(in_features, out_features, kernel_size, stride, dtype, precision, rngs)
        self.bn = FrozenBatchNorm(out_features, eps=eps, dtype=dtype)

    def __call__(self, x: jax.Array) -> jax.Array:
        y = self.bn(self.conv(x))
        return jax.nn.relu(y) if self.relu else y


class Bottleneck(nnx.Module):
    """slim ``resnet_v1.bottleneck``: 1x1 -> 3x3 (carries the stride) -> 1x1, ReLU after the sum.

    Shortcut: a 1x1 conv + BN with the unit's stride if the depth changes, otherwise
    ``subsample`` (identity, or ``x[:, ::s, ::s]`` = slim's 1x1 max-pool for stride s > 1).
    """

    def __init__(self, in_features: int, depth: int, depth_bottleneck: int, stride: int = 1, *,
                 dtype: Any = None, precision: Any = None, rngs: nnx.Rngs):
        self.stride = stride
        kw = dict(dtype=dtype, precision=precision, rngs=rngs)
        self.shortcut = (None if in_features == depth else
                         ConvBN(in_features, depth, 1, stride=stride, relu=False, **kw))
        self.conv1 = ConvBN(in_features, depth_bottleneck, 1, **kw)
        self.conv2 = ConvBN(depth_bottleneck, depth_bottleneck, 3, stride=stride, **kw)
        self.conv3 = ConvBN(depth_bottleneck, depth, 1, relu=False, **kw)

    def __call__(self, x: jax.Array, valid_hw: jax.Array | None = None) -> jax.Array:
        """``valid_hw`` (B, 2): the unpadded size of ``x`` per image; see :func:`mask_padding`."""
        if self.shortcut is not None:
            shortcut = self.shortcut(x)
        else:
            shortcut = x[:, ::self.stride, ::self.stride, :] if self.stride > 1 else x
        hidden = mask_padding(self.conv1(x), valid_hw)
        residual = self.conv3(self.conv2(hidden))
        out = jax.nn.relu(shortcut.astype(residual.dtype) + residual)
        return mask_padding(out, None if valid_hw is None else _strided_hw(valid_hw, self.stride))


class SlimBlock(nnx.Module):
    """``resnet_v1_block(scope, base_depth, num_units, stride)``: units ``unit_1..unit_n``.

    Output depth is ``4 * base_depth``; only the last unit has ``stride``. ``scope`` is the
    block's variable scope in TF checkpoints (``block1`` ... ``block5``).
    """

    def __init__(self, in_features: int, base_depth: int, num_units: int, stride: int, *,
                 scope: str, dtype: Any = None, precision: Any = None, rngs: nnx.Rngs):
        self.scope = scope
        self.num_units = num_units
        self.out_features = 4 * base_depth
        for i in range(num_units):
            unit_stride = stride if i == num_units - 1 else 1
            unit = Bottleneck(in_features if i == 0 else self.out_features, self.out_features,
                              base_depth, unit_stride, dtype=dtype, precision=precision, rngs=rngs)
            setattr(self, f"unit_{i + 1}", unit)

    def units(self) -> list[Bottleneck]:
        return [getattr(self, f"unit_{i + 1}") for i in range(self.num_units)]

    def __call__(self, x: jax.Array, valid_hw: jax.Array | None = None) -> jax.Array:
        for unit in self.units():
            x = unit(x, valid_hw)
            if valid_hw is not None:
                valid_hw = _strided_hw(valid_hw, unit.stride)
        return x


class Res5(SlimBlock):
    """TIN's res5: a block4-shaped stack (512, 3 units, stride 1), 7x7x1024 -> 7x7x2048.

    ``scope='block4'`` for the human stream, ``'block5'`` for the object stream (TIN initialises
    block5 from block4 of an ImageNet checkpoint; see ``tin_jax.checkpoints.tf_import``).
    """

    def __init__(self, *, scope: str = "block4", in_features: int = 1024, base_depth: int = 512,
                 num_units: int = 3, dtype: Any = None, precision: Any = None, rngs: nnx.Rngs):
        super().__init__(in_features, base_depth, num_units, 1, scope=scope, dtype=dtype,
                         precision=precision, rngs=rngs)


class SlimResNet50(nnx.Module):
    """slim ``resnet_v1_50`` in tf-faster-rcnn / TIN layout (see module docstring).

    ``image_to_head(x)`` returns the stride-16, 1024-channel ``head``; ``block4`` (if
    ``with_block4``) is the human res5, applied by the caller to 7x7 RoI crops.
    """

    def __init__(self, *, with_block4: bool = True, width: int = 64,
                 units: tuple[int, int, int, int] = RESNET50_UNITS, dtype: Any = None,
                 precision: Any = None, rngs: nnx.Rngs):
        """``width`` is the stem's channel count (64 in ResNet-50); every stage scales with it.
        ``units``: the bottleneck units of block1 .. block4 (ResNet-50's ``RESNET50_UNITS``).
        Anything else is a smaller network for tests and CPU demos, with no pretrained
        weights: head channels are ``16 * width``, res5 outputs ``32 * width``."""
        self.dtype = dtype
        self.width = width
        kw = dict(dtype=dtype, precision=precision, rngs=rngs)
        w = width
        self.conv1 = ConvBN(3, w, 7, stride=2, **kw)
        self.block1 = SlimBlock(w, w, units[0], 2, scope="block1", **kw)
        self.block2 = SlimBlock(4 * w, 2 * w, units[1], 2, scope="block2", **kw)
        self.block3 = SlimBlock(8 * w, 4 * w, units[2], 1, scope="block3", **kw)
        self.block4 = (Res5(scope="block4", in_features=16 * w, base_depth=8 * w, num_units=units[3], **kw)
                       if with_block4 else None)

    def stem(self, x: jax.Array, valid_hw: jax.Array | None = None) -> jax.Array:
        """conv1 + ``tf.pad`` 1 (zeros) + 3x3/2 VALID max-pool (TIN ``build_base``)."""
        x = self.conv1(x.astype(self.dtype or x.dtype))
        if valid_hw is not None:
            valid_hw = _strided_hw(valid_hw, 2)
            x = mask_padding(x, valid_hw)
        x = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
        x = nnx.max_pool(x, (3, 3), strides=(2, 2), padding="VALID")
        return mask_padding(x, None if valid_hw is None else _strided_hw(valid_hw, 2))

    def image_to_head(self, x: jax.Array, image_hw: jax.Array | None = None) -> jax.Array:
        """[B, H, W, 3] -> head [B, ceil(H/16), ceil(W/16), 1024] (conv1 .. block3).

        With ``image_hw`` (B, 2), the unpadded size of each image in a zero-padded batch,
        every intermediate map is zeroed outside its image, so the head equals the head of
        the unpadded image exactly (on its ``ceil(h/16) x ceil(w/16)`` part) and is zero
        beyond: padding to a size bucket changes nothing.
        """
        hw = None if image_hw is None else _strided_hw(image_hw, 4)
        x = self.stem(x, image_hw)
        x = self.block1(x, hw)
        hw = None if hw is None else _strided_hw(hw, 2)
        x = self.block2(x, hw)
        hw = None if hw is None else _strided_hw(hw, 2)
        return self.block3(x, hw)

    def __call__(self, x: jax.Array) -> dict[str, jax.Array]:
        """All stage outputs; ``block4`` runs on the full head (as an ImageNet classifier would)."""
        out = {"stem": self.stem(x)}
        out["block1"] = self.block1(out["stem"])
        out["block2"] = self.block2(out["block1"])
        out["block3"] = out["head"] = self.block3(out["block2"])
        if self.block4 is not None:
            out["block4"] = self.block4(out["block3"])
        return out


def frozen_param_filter(fixed_blocks: int = 1, *, layout: str = "slim") -> Callable[[tuple, Any], bool]:
    """nnx filter for the backbone weights TIN never trains: the stem and the first blocks.

    TIN builds conv1 (always) and the first ``cfg.RESNET.FIXED_BLOCKS`` (= 1) blocks with
    ``trainable=False``; block2, block3 and res5 train. ``layout='slim'`` matches SlimResNet50
    paths (stem ``conv1`` not inside a ``unit_J``, ``block1..n``); ``layout='torch'`` matches
    TorchResNet50 paths (top ``conv1``/``bn1``, ``layer1..n``). Paths may sit at any depth,
    e.g. ``('backbone', 'block1', 'unit_2', 'conv2', 'conv', 'kernel')``. BN arrays are
    :class:`FrozenStat`, never ``nnx.Param``, and stay untrained regardless. Use as
    ``nnx.Optimizer(model, tx, wrt=nnx.All(nnx.Param, nnx.Not(frozen_param_filter())))``.
    """
    if not 0 <= fixed_blocks <= 4:
        raise ValueError(f"fixed_blocks must be in 0..4, got {fixed_blocks}")
    if layout not in ("slim", "torch"):
        raise ValueError(f"layout must be 'slim' or 'torch', got {layout!r}")
    block = "block" if layout == "slim" else "layer"
    frozen_blocks = {f"{block}{i}" for i in range(1, fixed_blocks + 1)}
    stem = {"conv1"} if layout == "slim" else {"conv1", "bn1"}
    # Inside a unit (slim 'unit_J', torch list index) conv1/bn1 belong to a bottleneck.
    in_unit = re.compile(r"unit_\d+|\d+")

    def is_frozen(path: tuple, _value: Any = None) -> bool:
        keys = [str(k) for k in path]
        for i, key in enumerate(keys):
            if key in frozen_blocks:
                return True
            if key in stem and (i == 0 or not in_unit.fullmatch(keys[i - 1])):
                return True
        return False

    return is_frozen


class TorchBottleneck(nnx.Module):
    """torchvision ``Bottleneck`` (v1.5): stride on ``conv2``; ``downsample`` = [conv 1x1, BN]."""

    def __init__(self, in_features: int, planes: int, stride: int = 1, *, dtype: Any = None,
                 precision: Any = None, rngs: nnx.Rngs):
        out = 4 * planes
        kw = dict(dtype=dtype, precision=precision, rngs=rngs)
        bn = dict(eps=TORCH_BN_EPS, dtype=dtype)
        self.conv1 = _conv(in_features, planes, 1, 1, **kw)
        self.bn1 = FrozenBatchNorm(planes, **bn)
        self.conv2 = _conv(planes, planes, 3, stride, **kw)
        self.bn2 = FrozenBatchNorm(planes, **bn)
        self.conv3 = _conv(planes, out, 1, 1, **kw)
        self.bn3 = FrozenBatchNorm(out, **bn)
        needs_projection = stride != 1 or in_features != out
        self.downsample = (nnx.List([_conv(in_features, out, 1, stride, **kw),
                                     FrozenBatchNorm(out, **bn)]) if needs_projection else None)

    def __call__(self, x: jax.Array) -> jax.Array:
        y = jax.nn.relu(self.bn1(self.conv1(x)))
        y = jax.nn.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        identity = x if self.downsample is None else self.downsample[1](self.downsample[0](x))
        return jax.nn.relu(y + identity.astype(y.dtype))


class TorchResNet50(nnx.Module):
    """torchvision ``resnet50`` with frozen BN; returns ``stem`` and ``layer1..layer4`` outputs.

    Strides 4/8/16/32 for layer1..4. ``num_classes`` adds torchvision's ``fc`` (after global
    mean pooling, output ``logits``); ``None`` drops it.
    """

    def __init__(self, *, num_classes: int | None = None, dtype: Any = None,
                 precision: Any = None, rngs: nnx.Rngs):
        self.dtype = dtype
        kw = dict(dtype=dtype, precision=precision, rngs=rngs)
        self.conv1 = _conv(3, 64, 7, 2, **kw)
        self.bn1 = FrozenBatchNorm(64, eps=TORCH_BN_EPS, dtype=dtype)
        in_features = 64
        for name, planes, blocks, stride in (("layer1", 64, 3, 1), ("layer2", 128, 4, 2),
                                             ("layer3", 256, 6, 2), ("layer4", 512, 3, 2)):
            layer = []
            for i in range(blocks):
                layer.append(TorchBottleneck(in_features, planes, stride if i == 0 else 1, **kw))
                in_features = 4 * planes
            setattr(self, name, nnx.List(layer))
        self.fc = (None if num_classes is None else
                   nnx.Linear(2048, num_classes, dtype=dtype, param_dtype=jnp.float32,
                              precision=precision, rngs=rngs))

    def stem(self, x: jax.Array) -> jax.Array:
        """conv1 + bn1 + ReLU + max-pool 3x3/2 with padding 1 (padded with -inf, as torch)."""
        x = jax.nn.relu(self.bn1(self.conv1(x.astype(self.dtype or x.dtype))))
        return nnx.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))

    def __call__(self, x: jax.Array) -> dict[str, jax.Array]:
        out = {"stem": self.stem(x)}
        y = out["stem"]
        for name in ("layer1", "layer2", "layer3", "layer4"):
            for block in getattr(self, name):
                y = block(y)
            out[name] = y
        if self.fc is not None:
            out["logits"] = self.fc(jnp.mean(y, axis=(1, 2)))
        return out


__all__ = [
    "SLIM_BN_EPS", "TORCH_BN_EPS", "FrozenStat", "FrozenBatchNorm", "ConvBN", "Bottleneck",
    "SlimBlock", "Res5", "SlimResNet50", "frozen_param_filter", "TorchBottleneck",
    "TorchResNet50", "same_padding",
]


def calibrate_batch_norm(model: nnx.Module, forward: Callable[[nnx.Module], Any]) -> None:
    """Sets every FrozenBatchNorm's mean/var to the statistics of one forward pass.

    For training from scratch only: TIN always starts from ImageNet / Faster R-CNN
    weights whose BN statistics are real. With frozen identity BN (mean 0, var 1) a
    randomly initialised 50-layer network's activations explode; one calibration
    pass, layer after layer in forward order, makes every normalisation real again.
    """
    bns = [m for _, m in nnx.iter_graph(model) if isinstance(m, FrozenBatchNorm)]
    for bn in bns:
        bn.calibrate = True
    try:
        forward(model)
    finally:
        for bn in bns:
            bn.calibrate = False
