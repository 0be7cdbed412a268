"""Flax NNX models: ResNet-50 backbones (slim/TIN and torchvision layouts)."""

from tin_jax.models.resnet import (
    SLIM_BN_EPS,
    TORCH_BN_EPS,
    Bottleneck,
    ConvBN,
    FrozenBatchNorm,
    FrozenStat,
    Res5,
    SlimBlock,
    SlimResNet50,
    TorchBottleneck,
    TorchResNet50,
    frozen_param_filter,
)

__all__ = [
    "SLIM_BN_EPS", "TORCH_BN_EPS", "Bottleneck", "ConvBN", "FrozenBatchNorm", "FrozenStat",
    "Res5", "SlimBlock", "SlimResNet50", "TorchBottleneck", "TorchResNet50",
    "frozen_param_filter",
]
