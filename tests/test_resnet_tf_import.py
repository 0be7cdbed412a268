"""SlimResNet50 + TF checkpoint import against a direct TF transcription of slim resnet_v1_50.

The reference is written with ``tf.nn`` ops and ``tf.compat.v1`` variables in the scopes of the
original graph (tf_slim cannot build batch_norm on TF 2.x), so the saved checkpoint has exactly
the variable names of tf-faster-rcnn / TIN checkpoints.
"""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import jax.numpy as jnp  # noqa: E402
from flax import nnx  # noqa: E402

from tin_jax.checkpoints import (  # noqa: E402
    CheckpointMismatchError,
    assign_from_mapping,
    load_slim_resnet,
    slim_variable_names,
)
from tin_jax.checkpoints.tf_import import TF_TRAINING_STATE  # noqa: E402
from tin_jax.models import ConvBN, Res5, SlimBlock, SlimResNet50, frozen_param_filter  # noqa: E402

from tests.reference.slim_resnet_tf import Init, block, head  # noqa: E402

v1 = tf.compat.v1
pytestmark = pytest.mark.xdist_group("resnet_tf_reference")  # one worker builds the TF reference


def _write_reference(path: str, image: np.ndarray, crops: np.ndarray, seed: int = 0):
    """Builds conv1..block3 and block4, saves the checkpoint, returns (head, block4(crops))."""
    init = Init(seed)
    with tf.Graph().as_default(), v1.Session() as sess:
        with v1.variable_scope("resnet_v1_50"):
            net = head(init, tf.constant(image))
            res5 = block(init, tf.constant(crops), "block4", 512, 3, 1)
        variables = v1.global_variables()
        sess.run(v1.variables_initializer(variables))
        v1.train.Saver(var_list={v.op.name: v for v in variables}).save(sess, path)
        return sess.run([net, res5])


def _close(actual, expected, rel=1e-4):
    """Max error relative to the output's scale; eps 1e-5 instead of 1.001e-5 gives ~3e-4 here."""
    err = np.abs(np.asarray(actual, np.float64) - expected).max() / np.abs(expected).max()
    assert err < rel, f"max error {err:.2e} of the output scale"


@pytest.fixture(scope="session")  # built once per worker; its tests share an xdist group
def reference(tmp_path_factory):
    rng = np.random.default_rng(1)
    # H odd, W even: with W=126 every strided conv sees an even width, where conv2d_same's
    # explicit padding differs from TF 'SAME'; H exercises the odd case.
    image = rng.normal(0, 50, (1, 97, 126, 3)).astype(np.float32)
    crops = rng.normal(0, 1, (2, 7, 7, 1024)).astype(np.float32)
    path = str(tmp_path_factory.mktemp("ckpt") / "resnet_v1_50.ckpt")
    head, res5 = _write_reference(path, image, crops)
    return dict(path=path, image=image, crops=crops, head=head, res5=res5)


def _abstract(fn):
    """Shapes only: loading fills every array, so skip the (slow) random init."""
    return nnx.eval_shape(fn)


def test_checkpoint_names_are_the_original_ones(reference):
    names = tf.train.load_checkpoint(reference["path"]).get_variable_to_shape_map()
    assert names["resnet_v1_50/conv1/weights"] == [7, 7, 3, 64]
    assert "resnet_v1_50/conv1/BatchNorm/moving_variance" in names
    assert "resnet_v1_50/block1/unit_1/bottleneck_v1/shortcut/weights" in names
    assert "resnet_v1_50/block1/unit_3/bottleneck_v1/shortcut/weights" not in names  # subsample
    assert names["resnet_v1_50/block4/unit_3/bottleneck_v1/conv3/BatchNorm/gamma"] == [2048]


def test_head_and_block4_match_tf(reference):
    model = _abstract(lambda: SlimResNet50(rngs=nnx.Rngs(0)))
    report = load_slim_resnet(reference["path"], model)
    assert len(report.loaded) == len(nnx.to_flat_state(nnx.state(model))) and not report.unused
    head = model.image_to_head(jnp.asarray(reference["image"]))
    assert head.shape == (1, 7, 8, 1024) and reference["head"].shape == head.shape
    _close(head, reference["head"])
    res5 = model.block4(jnp.asarray(reference["crops"]))
    assert res5.shape == (2, 7, 7, 2048)
    _close(res5, reference["res5"])


def test_block5_initialised_from_block4(reference):
    """TIN Restore_flag=5: object res5 (scope block5) from the checkpoint's block4."""
    trunk = _abstract(lambda: SlimResNet50(with_block4=False, rngs=nnx.Rngs(0)))
    res5_h = _abstract(lambda: Res5(scope="block4", rngs=nnx.Rngs(0)))
    res5_o = _abstract(lambda: Res5(scope="block5", rngs=nnx.Rngs(0)))
    report = load_slim_resnet(reference["path"], {"trunk": trunk, "res5_h": res5_h, "res5_o": res5_o},
                              block_map={"block5": ("block5", "block4")})
    assert report.loaded["res5_o/unit_1/conv1/conv/kernel"] == \
        "resnet_v1_50/block4/unit_1/bottleneck_v1/conv1/weights"
    crops = jnp.asarray(reference["crops"])
    _close(res5_o(crops), reference["res5"])
    np.testing.assert_array_equal(res5_o(crops), res5_h(crops))
    _close(trunk.image_to_head(jnp.asarray(reference["image"])), reference["head"])


def test_partial_load_needs_ignore_or_allow_unused(reference):
    res5 = _abstract(lambda: Res5(scope="block4", rngs=nnx.Rngs(0)))
    with pytest.raises(CheckpointMismatchError, match="resnet_v1_50/conv1/weights"):
        load_slim_resnet(reference["path"], res5)
    report = load_slim_resnet(reference["path"], res5,
                              ignore=[r"resnet_v1_50/(conv1|block[123])/.*", *TF_TRAINING_STATE])
    assert not report.unused and report.ignored
    report = load_slim_resnet(reference["path"], res5, allow_unused=True)
    assert "resnet_v1_50/conv1/weights" in report.unused


def test_bfloat16_compute_stays_close(reference):
    model = _abstract(lambda: SlimResNet50(dtype=jnp.bfloat16, rngs=nnx.Rngs(0)))
    load_slim_resnet(reference["path"], model)
    assert {v.get_value().dtype for _, v in nnx.to_flat_state(nnx.state(model))} == {np.dtype(np.float32)}
    res5 = model.block4(jnp.asarray(reference["crops"]))
    assert res5.dtype == jnp.bfloat16
    err = np.abs(np.asarray(res5, np.float32) - reference["res5"]).max()
    assert err < 0.05 * np.abs(reference["res5"]).max()


def test_mismatch_error_lists_missing_and_extra(tmp_path):
    """One error names the missing variable, the extra one and the shape mismatch."""
    small = SlimBlock(8, 4, 2, 2, scope="block4", rngs=nnx.Rngs(0))
    shapes = {p: v.get_value().shape for p, v in nnx.to_flat_state(nnx.state(small))}
    values = {f"resnet_v1_50/{n}": np.ones(shapes[p], np.float32)
              for p, n in slim_variable_names(small).items()}
    missing = "resnet_v1_50/block4/unit_2/bottleneck_v1/conv2/weights"
    bad_shape = "resnet_v1_50/block4/unit_1/bottleneck_v1/conv3/BatchNorm/gamma"
    del values[missing]
    values[bad_shape] = np.ones([3], np.float32)
    values["resnet_v1_50/block4/unit_3/bottleneck_v1/conv1/weights"] = np.ones([1, 1, 16, 4], np.float32)
    values["global_step"] = np.zeros([], np.float32)
    path = str(tmp_path / "bad.ckpt")
    with tf.Graph().as_default(), v1.Session() as sess:
        variables = {n: tf.Variable(v, name=n.replace("/", "_")) for n, v in values.items()}
        sess.run(v1.global_variables_initializer())
        v1.train.Saver(var_list=variables).save(sess, path)

    with pytest.raises(CheckpointMismatchError) as err:
        load_slim_resnet(path, small)
    msg = str(err.value)
    assert missing in msg and "not in checkpoint" in msg
    assert "resnet_v1_50/block4/unit_3/bottleneck_v1/conv1/weights" in msg
    assert "global_step" in msg
    assert bad_shape in msg and "model (16,), checkpoint (3,)" in msg
    assert len(err.value.unfilled) == 1 and len(err.value.unmatched) == 2
    assert len(err.value.shape_mismatch) == 1


def test_frozen_param_filter_matches_conv1_and_block1():
    model = _abstract(lambda: SlimResNet50(rngs=nnx.Rngs(0)))
    frozen = frozen_param_filter()
    params = [p for p, _ in nnx.to_flat_state(nnx.state(model, nnx.Param))]
    heads = {p[0] for p in params if frozen(p)}
    assert heads == {"conv1", "block1"}
    assert not frozen(("block2", "unit_1", "conv1", "conv", "kernel"))
    assert frozen(("backbone", "conv1", "conv", "kernel"))
    trainable = nnx.state(model, nnx.All(nnx.Param, nnx.Not(frozen)))
    assert {p[0] for p, _ in nnx.to_flat_state(trainable)} == {"block2", "block3", "block4"}
    assert not nnx.to_flat_state(nnx.state(model, nnx.All(nnx.Param, lambda p, v: "bn" in p)))


def test_assign_from_mapping_generic():
    """The core on a module: string or tuple paths, dtype cast, one error for all problems."""
    unit = ConvBN(4, 8, 3, rngs=nnx.Rngs(0))
    full = {"conv/kernel": np.full((3, 3, 4, 8), 0.5, np.float64), ("bn", "scale"): np.ones(8),
            "bn/bias": np.zeros(8), "bn/mean": np.zeros(8), "bn/var": np.ones(8)}
    state, report = assign_from_mapping(unit, full)
    assert unit.conv.kernel[...].dtype == jnp.float32 and float(unit.conv.kernel[...][0, 0, 0, 0]) == 0.5
    assert set(report.loaded) == {"conv/kernel", "bn/scale", "bn/bias", "bn/mean", "bn/var"}
    bad = {k: v for k, v in full.items() if k != "bn/var"}
    bad["bn/gamma"] = np.ones(8)
    with pytest.raises(CheckpointMismatchError) as err:
        assign_from_mapping(nnx.state(unit), bad)
    assert err.value.unfilled == ["bn/var"] and err.value.unmatched == ["bn/gamma"]
