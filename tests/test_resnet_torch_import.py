"""TorchResNet50 + state-dict import against a torchvision-compatible ResNet-50 in torch.nn.

torchvision itself is not installed (its PyPI wheels do not work beside this torch), so the
reference below re-declares torchvision's modules with the same names: its ``state_dict`` keys
are exactly torchvision's (``layer1.0.downsample.0.weight``, ``bn1.running_var``, ``fc.bias``).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import jax.numpy as jnp  # noqa: E402
from flax import nnx  # noqa: E402
from torch import nn  # noqa: E402

from tin_jax.checkpoints import CheckpointMismatchError, load_torch_resnet  # noqa: E402
from tin_jax.models import TorchResNet50, frozen_param_filter  # noqa: E402


class Bottleneck(nn.Module):
    """torchvision.models.resnet.Bottleneck (v1.5: stride on conv2)."""

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class ResNet50(nn.Module):
    """torchvision.models.resnet50 layout; forward returns every stage output."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.inplanes = 64
        self.layer1 = self._make_layer(64, 3, 1)
        self.layer2 = self._make_layer(128, 4, 2)
        self.layer3 = self._make_layer(256, 6, 2)
        self.layer4 = self._make_layer(512, 3, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(2048, num_classes)

    def _make_layer(self, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride=stride, bias=False),
                                       nn.BatchNorm2d(planes * 4))
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * 4
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        out = {"stem": self.maxpool(self.relu(self.bn1(self.conv1(x))))}
        y = out["stem"]
        for name in ("layer1", "layer2", "layer3", "layer4"):
            y = out[name] = getattr(self, name)(y)
        out["logits"] = self.fc(torch.flatten(self.avgpool(y), 1))
        return out


def _randomise_bn(net: nn.Module, gen: torch.Generator):
    """Non-trivial frozen statistics: random affine, means and variances."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.normal_(0, 0.2, generator=gen)
                m.running_mean.normal_(0, 0.2, generator=gen)
                m.running_var.uniform_(0.5, 2.0, generator=gen)
                m.num_batches_tracked.fill_(n)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    torch.manual_seed(0)
    net = ResNet50(num_classes=1000)
    _randomise_bn(net, torch.Generator().manual_seed(1))
    net.eval()
    image = np.random.default_rng(2).normal(0, 1, (2, 70, 90, 3)).astype(np.float32)  # NHWC
    with torch.no_grad():
        out = net(torch.from_numpy(image).permute(0, 3, 1, 2))
    out = {k: (v.permute(0, 2, 3, 1) if v.ndim == 4 else v).numpy() for k, v in out.items()}
    path = str(tmp_path_factory.mktemp("torch") / "resnet50.pth")
    torch.save(net.state_dict(), path)
    return dict(path=path, image=image, out=out, state_dict=net.state_dict())


def _close(actual, expected, rel=1e-4):
    err = np.abs(np.asarray(actual, np.float64) - expected).max() / np.abs(expected).max()
    assert err < rel, f"max error {err:.2e} of the output scale"


def test_stage_outputs_match_torch(reference):
    model = nnx.eval_shape(lambda: TorchResNet50(num_classes=1000, rngs=nnx.Rngs(0)))
    report = load_torch_resnet(reference["path"], model)
    assert report.loaded["layer1/0/downsample/0/kernel"] == "layer1.0.downsample.0.weight"
    assert all("num_batches_tracked" in k for k in report.ignored) and not report.unused
    out = model(jnp.asarray(reference["image"]))
    for name in ("stem", "layer1", "layer2", "layer3", "layer4", "logits"):
        assert out[name].shape == reference["out"][name].shape, name
        _close(out[name], reference["out"][name])


def test_backbone_only_skips_fc_and_accepts_a_prefix(reference):
    """Without num_classes fc.* is skipped; a wrapped dict (DETR-style prefix) loads too."""
    state_dict = {f"backbone.{k}": v for k, v in reference["state_dict"].items()}
    model = nnx.eval_shape(lambda: TorchResNet50(rngs=nnx.Rngs(0)))
    report = load_torch_resnet(state_dict, model, prefix="backbone.")
    assert {"backbone.fc.weight", "backbone.fc.bias"} <= set(report.ignored)
    out = model(jnp.asarray(reference["image"]))
    assert "logits" not in out
    _close(out["layer4"], reference["out"]["layer4"])
    with pytest.raises(ValueError, match="load_fc=True"):
        load_torch_resnet(state_dict, model, prefix="backbone.", load_fc=True)


def test_mismatch_error_lists_missing_and_extra(reference):
    state_dict = dict(reference["state_dict"])
    del state_dict["layer2.0.downsample.1.running_var"]
    state_dict["layer5.0.conv1.weight"] = torch.zeros(1)
    state_dict["layer1.0.conv2.weight"] = torch.zeros(64, 64, 1, 1)
    model = nnx.eval_shape(lambda: TorchResNet50(num_classes=1000, rngs=nnx.Rngs(0)))
    with pytest.raises(CheckpointMismatchError) as err:
        load_torch_resnet(state_dict, model)
    msg = str(err.value)
    assert "layer2/0/downsample/1/var <- layer2.0.downsample.1.running_var (not in checkpoint)" in msg
    assert "layer5.0.conv1.weight" in msg
    assert "layer1/0/conv2/kernel <- layer1.0.conv2.weight: model (3, 3, 64, 64), " \
           "checkpoint (1, 1, 64, 64)" in msg
    assert "num_batches_tracked" not in msg
    extra = dict(reference["state_dict"], **{"layer5.0.conv1.weight": torch.zeros(1)})
    report = load_torch_resnet(extra, model, ignore=[r"layer5\..*"])
    assert "layer5.0.conv1.weight" in report.ignored


def test_safetensors(reference, tmp_path):
    safetensors = pytest.importorskip("safetensors.numpy")
    path = str(tmp_path / "resnet50.safetensors")
    safetensors.save_file({k: v.numpy() for k, v in reference["state_dict"].items()}, path)
    model = nnx.eval_shape(lambda: TorchResNet50(num_classes=1000, rngs=nnx.Rngs(0)))
    load_torch_resnet(path, model)
    _close(model(jnp.asarray(reference["image"]))["logits"], reference["out"]["logits"])


def test_frozen_filter_torch_layout():
    frozen = frozen_param_filter(layout="torch")
    assert frozen(("conv1", "kernel")) and frozen(("layer1", 2, "conv3", "kernel"))
    assert not frozen(("layer2", 0, "conv1", "kernel"))
    assert not frozen(("layer3", 0, "downsample", 0, "kernel"))


def test_train_init_from_a_torchvision_checkpoint(reference, tmp_path):
    """train.py's ``config.init_from=<resnet50.pth>`` (kind from the extension): torchvision's
    layers fill TIN's slim backbone and both res5 streams (``layer4`` -> ``block4`` and
    ``block5``), ``conv1`` reads TIN's input (BGR minus the Caffe means) as torchvision's stem
    reads normalised RGB, the heads keep their initialisation; a file that does not fit is
    one line naming it."""
    import jax
    from jax.sharding import NamedSharding, PartitionSpec as P

    from configs import tin_hico
    from tin_jax.state import model as state_model
    from tin_jax.checkpoints import init_from
    from tin_jax.schema.image import PIXEL_MEANS_BGR
    from tin_jax.models.tin import TINConfig

    config = tin_hico.get_config()
    config.init_from = reference["path"]
    assert init_from.resolve_kind(reference["path"]) == "torch_resnet"
    parts, params, stats = state_model.build(TINConfig(), 0, NamedSharding(state_model.make_mesh(), P()))
    p, s = init_from.load_initial_weights(config, parts, params, stats)

    sd = {k: v.numpy() for k, v in reference["state_dict"].items()}
    hwio = lambda w: w.transpose(2, 3, 1, 0)  # noqa: E731
    eq = np.testing.assert_array_equal
    eq(p["backbone"]["block3"]["unit_2"]["conv2"]["conv"]["kernel"], hwio(sd["layer3.1.conv2.weight"]))
    eq(p["backbone"]["block2"]["unit_1"]["shortcut"]["conv"]["kernel"],
       hwio(sd["layer2.0.downsample.0.weight"]))
    eq(s["backbone"]["block2"]["unit_1"]["shortcut"]["bn"]["mean"], sd["layer2.0.downsample.1.running_mean"])
    for res5 in (p["backbone"]["block4"], p["block5"]):
        eq(res5["unit_3"]["conv3"]["conv"]["kernel"], hwio(sd["layer4.2.conv3.weight"]))
    eq(s["block5"]["unit_1"]["conv1"]["bn"]["scale"], sd["layer4.0.bn1.weight"])
    for head in ("cls_score_H", "fc8_binary_1", "head_phi", "Att_O"):
        for a, b in zip(jax.tree.leaves(p[head]), jax.tree.leaves(params[head])):
            eq(a, b)

    # The stem on TIN's encoding of the picture torchvision saw (away from the zero border,
    # where TIN pads BGR - means and torchvision pads the normalised input).
    model = parts.merge(*jax.tree.map(jnp.asarray, (p, s)))
    rgb = (reference["image"] * np.array([0.229, 0.224, 0.225]) + np.array([0.485, 0.456, 0.406])) * 255
    bgr = (rgb[..., ::-1] - np.array(PIXEL_MEANS_BGR)).astype(np.float32)
    _close(model.backbone.stem(jnp.asarray(bgr))[:, 2:-1, 2:-1], reference["out"]["stem"][:, 2:-1, 2:-1])

    bad = str(tmp_path / "no_layer4.pt")
    torch.save({k: v for k, v in reference["state_dict"].items() if not k.startswith("layer4.2.")}, bad)
    config.init_from = bad
    with pytest.raises(init_from.InitFromError) as err:
        init_from.load_initial_weights(config, parts, params, stats)
    assert "\n" not in str(err.value) and str(err.value).startswith(f"{bad}: a torch_resnet checkpoint")
    assert "parameter(s) not in it" in str(err.value)
