"""TIN + ``load_tin_checkpoint`` against a direct TF transcription of the original HICO graph.

The reference follows ``lib/networks/TIN_HICO.py`` in test mode (dropout off, one image, N
pairs) with ``tf.nn`` ops and ``tf.compat.v1`` variables created in the original scopes
(tf_slim cannot build batch_norm on TF 2.x), so the saved checkpoint has the variable names of
the released ``HOI_iter_*.ckpt`` files. Full width (ResNet-50, fc 1024): real names and
shapes, on a tiny image and three pairs to stay fast on CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import jax.numpy as jnp  # noqa: E402
from flax import nnx  # noqa: E402

from tin_jax.checkpoints import CheckpointMismatchError  # noqa: E402
from tin_jax.checkpoints.tin_import import (  # noqa: E402
    TIN_TRAINING_STATE,
    load_tin_checkpoint,
    tin_variable_names,
)
from tin_jax.models.resnet import FrozenStat  # noqa: E402
from tin_jax.models.tin import TIN, TINConfig  # noqa: E402

from tests.conftest import ROOT, run_module  # noqa: E402
from tests.reference.slim_resnet_tf import BN_EPS as HEAD_BN_EPS  # noqa: E402
from tests.reference.slim_resnet_tf import Init, block, head as slim_head  # noqa: E402

v1 = tf.compat.v1
pytestmark = pytest.mark.xdist_group("tin_tf_reference")  # one worker builds the TF reference
STRIDE = 16


# -- the rest of TIN_HICO.py ---------------------------------------------------------------

def _slim_conv(init, x, scope, depth, k, padding="VALID"):
    """slim.conv2d outside resnet_arg_scope: weights + biases, ReLU."""
    with v1.variable_scope(scope):
        w = init.weights([k, k, int(x.shape[-1]), depth], gain=1.0)
        y = tf.nn.conv2d(x, w, [1, 1, 1, 1], padding) + init.biases(depth)
        return tf.nn.relu(y)


def _slim_fc(init, x, scope, depth, relu=True, gain=1.0):
    """slim.fully_connected outside resnet_arg_scope (the classifiers: activation_fn=None)."""
    with v1.variable_scope(scope):
        y = tf.matmul(x, init.weights([int(x.shape[-1]), depth], gain)) + init.biases(depth)
        return tf.nn.relu(y) if relu else y


def _fc_bn(init, x, scope, depth):
    """slim.fully_connected inside resnet_arg_scope: no bias, frozen BN (gamma too), ReLU."""
    with v1.variable_scope(scope):
        y = tf.matmul(x, init.weights([int(x.shape[-1]), depth]))
        stats = init.batch_norm(depth, tiny_fraction=0.5)
        y = tf.nn.batch_normalization(y, stats["moving_mean"], stats["moving_variance"],
                                      stats["beta"], stats["gamma"], HEAD_BN_EPS)
        return tf.nn.relu(y)


def _pattern_cnn(init, x, names, depths):
    """conv 5x5 VALID + ReLU, max-pool 2 (slim default stride 2, VALID), twice, flatten."""
    for name, depth in zip(names, depths):
        x = _slim_conv(init, x, name, depth, 5)
        x = tf.nn.max_pool2d(x, 2, 2, "VALID")
    return tf.reshape(x, [tf.shape(x)[0], -1])


def _crop_pool(head, rois):
    """crop_pool_layer: boxes over (feature size - 1) * 16, 7x7 crop_and_resize."""
    shape = tf.shape(head)
    height = (tf.cast(shape[1], tf.float32) - 1.0) * np.float32(STRIDE)
    width = (tf.cast(shape[2], tf.float32) - 1.0) * np.float32(STRIDE)
    boxes = tf.stack([rois[:, 2] / height, rois[:, 1] / width,
                      rois[:, 4] / height, rois[:, 3] / width], axis=1)
    return tf.image.crop_and_resize(head, boxes, tf.cast(rois[:, 0], tf.int32), [7, 7])


def _attention(init, head_phi, head_g, fc7, scope):
    """attention_pool_layer + attention_norm: mean over channels, softmax over positions."""
    with v1.variable_scope(scope):
        e = _slim_fc(init, fc7, "fc1_b", 512, gain=8.0)  # attention logits spread ~1: not uniform
    att = tf.reduce_mean(head_phi * e[:, None, None, :], axis=3, keepdims=True)
    att = tf.transpose(att, [0, 3, 1, 2])
    att_shape = tf.shape(att)
    att = tf.reshape(tf.nn.softmax(tf.reshape(att, [att_shape[0], att_shape[1], -1])), att_shape)
    return head_g * tf.transpose(att, [0, 2, 3, 1])


def _bottleneck_head(init, x, reuse):
    """TIN.bottleneck: variable_scope('bottleneck') around conv2d(scope='bottleneck'), shared."""
    with v1.variable_scope("bottleneck", reuse=reuse), v1.variable_scope("bottleneck"):
        if reuse:
            w, b = v1.get_variable("weights"), v1.get_variable("biases")
        else:
            w, b = init.weights([1, 1, int(x.shape[-1]), 1024], gain=1.0), init.biases(1024)
        return tf.nn.relu(tf.nn.conv2d(x, w, [1, 1, 1, 1], "VALID") + b)


def _tin_hico(init, image, rois_h, rois_o, spatial, h_num):
    """build_network(is_training=False) for one image; returns the logits of every head."""
    with v1.variable_scope("resnet_v1_50"):  # image_to_head
        head = slim_head(init, image)
    with v1.variable_scope("resnet_v1_50"):  # sp_to_head
        sp = _pattern_cnn(init, spatial[..., 0:2], ("conv1_sp", "conv2_sp"), (64, 32))
    pool5_h = _crop_pool(head, rois_h)
    pool5_o = _crop_pool(head, rois_o[:h_num])
    with v1.variable_scope("resnet_v1_50"):  # res5
        fc7_h = tf.reduce_mean(block(init, pool5_h, "block4", 512, 3, 1), axis=[1, 2])
        fc7_o = tf.reduce_mean(block(init, pool5_o, "block5", 512, 3, 1), axis=[1, 2])
    head_phi = _slim_conv(init, head, "head_phi", 512, 1)
    head_g = _slim_conv(init, head, "head_g", 512, 1)
    pool5_sh = _bottleneck_head(init, _attention(init, head_phi, head_g, fc7_h, "Att_H"), False)
    pool5_so = _bottleneck_head(init, _attention(init, head_phi, head_g, fc7_o, "Att_O"), True)

    # head_to_tail: resnet_arg_scope only, no variable scope
    fc7_sh = tf.reduce_mean(pool5_sh, axis=[1, 2])
    fc7_so = tf.reduce_mean(pool5_so, axis=[1, 2])
    fc9_sh = _fc_bn(init, _fc_bn(init, tf.concat([fc7_h, fc7_sh], 1), "fc8_SH", 1024),
                    "fc9_SH", 1024)
    fc9_so = _fc_bn(init, _fc_bn(init, tf.concat([fc7_o, fc7_so], 1), "fc8_SO", 1024),
                    "fc9_SO", 1024)
    fc7_shsp = _fc_bn(init, _fc_bn(init, tf.concat([fc7_h, sp], 1), "Concat_SHsp", 1024),
                      "fc7_SHsp", 1024)

    with v1.variable_scope("fc_binary"):  # binary_discriminator
        pose = _pattern_cnn(init, spatial[..., 2:], ("conv1_pose_map", "conv2_pose_map"), (32, 16))
        fc8_b1 = _slim_fc(init, tf.concat([fc7_h, fc7_sh, sp, pose], 1), "fc8_binary_1", 1024)
        fc8_b2 = _slim_fc(init, tf.concat([fc7_o, fc7_so], 1), "fc8_binary_2", 1024)
        # H_num = N: every row its own object branch; and H_num - 1, as a row of a training
        # batch that is a negative (its object branch is a copy of its branch 1).
        fc8_b2_neg = tf.concat([fc8_b2[:h_num - 1], fc8_b1[h_num - 1:]], 0)
        fc9_b = _slim_fc(init, tf.concat([fc8_b1, fc8_b2], 1), "fc9_binary", 1024)
    with v1.variable_scope("fc_binary", reuse=True), v1.variable_scope("fc9_binary"):
        w, b = v1.get_variable("weights"), v1.get_variable("biases")
        fc9_b_neg = tf.nn.relu(tf.matmul(tf.concat([fc8_b1, fc8_b2_neg], 1), w) + b)

    out = {}
    with v1.variable_scope("classification"):  # region_classification
        for name, x in (("H", fc9_sh), ("O", fc9_so), ("sp", fc7_shsp)):
            out[name] = _slim_fc(init, x, f"cls_score_{name}", 600, relu=False)
    with v1.variable_scope("binary_classification"):
        out["binary"] = _slim_fc(init, fc9_b, "cls_score_binary", 2, relu=False)
    with v1.variable_scope("binary_classification", reuse=True), \
            v1.variable_scope("cls_score_binary"):
        w, b = v1.get_variable("weights"), v1.get_variable("biases")
        out["binary_neg"] = tf.matmul(fc9_b_neg, w) + b
    return out


def _inputs(rng):
    """One odd-sized image (head 5x6), three pairs; one box reaches past (Wf-1)*16 = 80 px.

    The image has unit scale so that every activation of the random net is O(1): biases and
    the attention path then visibly move the logits.
    """
    image = rng.normal(0, 1, (1, 67, 83, 3)).astype(np.float32)
    human = np.array([[2, 3, 40, 60], [30.5, 10.25, 82, 66], [10, 20, 50, 45]], np.float32)
    obj = np.array([[35, 5, 70, 30], [0, 0, 20, 25.5], [44, 33, 81.5, 64]], np.float32)
    patterns = rng.random((3, 64, 64, 3)).astype(np.float32)
    return image, human, obj, patterns


@pytest.fixture(scope="session")  # built once per worker; its tests share an xdist group
def reference(tmp_path_factory):
    image, human, obj, patterns = _inputs(np.random.default_rng(1))
    rois = lambda b: np.concatenate([np.zeros((len(b), 1), np.float32), b], 1)  # noqa: E731
    path = str(tmp_path_factory.mktemp("ckpt") / "HOI_iter_10.ckpt")
    with tf.Graph().as_default(), v1.Session() as sess:
        out = _tin_hico(Init(0), tf.constant(image), tf.constant(rois(human)),
                        tf.constant(rois(obj)), tf.constant(patterns), len(human))
        variables = v1.global_variables()
        # What a training snapshot holds besides the weights: Momentum slots, global step
        # (the solvers' unnamed tf.Variable).
        extra = {"head_phi/weights/Momentum": tf.Variable(tf.zeros([1, 1, 1024, 512])),
                 "Variable": tf.Variable(1700000, dtype=tf.int64, trainable=False)}
        sess.run(v1.global_variables_initializer())
        v1.train.Saver(var_list={**{v.op.name: v for v in variables}, **extra}).save(sess, path)
        logits = sess.run(out)
    return dict(path=path, image=image, human=human, obj=obj, patterns=patterns,
                names={v.op.name for v in variables}, logits=logits)


def _abstract(**kw):
    """Shapes only: loading fills every array, so skip the (slow) random init."""
    return nnx.eval_shape(lambda: TIN(TINConfig(**kw), rngs=nnx.Rngs(0)))


def _close(actual, expected, rel=2e-5):
    """Max error relative to the output's scale. float32 noise is ~1e-6 here; eps 1e-5
    instead of 1.001e-5 in the head FCs' BN gives ~5e-4, a zeroed bias 1e-5 to 1e-1."""
    err = np.abs(np.asarray(actual, np.float64) - expected).max() / np.abs(expected).max()
    assert err < rel, f"max error {err:.2e} of the output scale"


def test_checkpoint_names_are_the_original_ones(reference):
    names = tf.train.load_checkpoint(reference["path"]).get_variable_to_shape_map()
    expected = {
        "resnet_v1_50/conv1_sp/weights": [5, 5, 2, 64],
        "resnet_v1_50/conv2_sp/biases": [32],
        "resnet_v1_50/block5/unit_3/bottleneck_v1/conv3/BatchNorm/gamma": [2048],
        "head_phi/weights": [1, 1, 1024, 512],
        "Att_O/fc1_b/weights": [2048, 512],
        "bottleneck/bottleneck/weights": [1, 1, 512, 1024],
        "fc8_SH/weights": [3072, 1024],
        "fc8_SH/BatchNorm/gamma": [1024],
        "Concat_SHsp/BatchNorm/moving_variance": [1024],
        "fc_binary/conv1_pose_map/weights": [5, 5, 1, 32],
        "fc_binary/fc8_binary_1/weights": [11184, 1024],
        "classification/cls_score_sp/biases": [600],
        "binary_classification/cls_score_binary/weights": [1024, 2],
        "head_phi/weights/Momentum": [1, 1, 1024, 512],
        "Variable": [],
    }
    assert {n: names.get(n) for n in expected} == expected
    assert "fc8_SH/biases" not in names  # FCs in resnet_arg_scope have BN instead


def test_name_table_covers_the_checkpoint(reference):
    model = _abstract(width=64, fc_dim=1024)
    names = tin_variable_names(model)
    assert set(names.values()) == reference["names"]
    assert names[("bottleneck", "kernel")] == "bottleneck/bottleneck/weights"
    assert names[("fc9_SO", "BatchNorm", "var")] == "fc9_SO/BatchNorm/moving_variance"
    assert names[("sp", "conv1", "bias")] == "resnet_v1_50/conv1_sp/biases"


@pytest.mark.parametrize("kw, num_binary", [
    (dict(dataset="vcoco", num_classes=29), 12),  # same names as HICO, other shapes
    (dict(interactiveness=False), 0),  # RC_D: no discriminator
    (dict(pose_map=False), 8),  # D without fc_binary/conv{1,2}_pose_map
], ids=["vcoco", "rc_d", "no_pose_map"])
def test_name_table_other_layouts(kw, num_binary):
    model = _abstract(width=8, fc_dim=32, **kw)
    names = tin_variable_names(model)
    assert len(names) == len(nnx.to_flat_state(nnx.state(model, (nnx.Param, FrozenStat))))
    binary = {n for n in names.values() if n.startswith(("fc_binary/", "binary_classification/"))}
    assert len(binary) == num_binary


def test_logits_match_tf(reference):
    model = _abstract(width=64, fc_dim=1024)
    report = load_tin_checkpoint(reference["path"], model)
    assert len(report.loaded) == len(reference["names"]) and not report.unused
    assert set(report.ignored) == {"head_phi/weights/Momentum", "Variable"}
    image = jnp.asarray(reference["image"])
    args = (image, jnp.array([image.shape[1:3]]), jnp.asarray(reference["human"])[None],
            jnp.asarray(reference["obj"])[None], jnp.asarray(reference["patterns"])[None])
    out = model(*args)
    want = reference["logits"]
    for key in ("H", "O", "sp", "binary"):
        assert out[key].shape == (1,) + want[key].shape
        _close(out[key][0], want[key])
    # The discriminator's training-time trick: the last pair as a negative.
    neg = model(*args, positive=jnp.array([[True, True, False]]))["binary"][0]
    np.testing.assert_array_equal(neg[:2], out["binary"][0, :2])
    _close(neg, want["binary_neg"])


def test_mismatch_error_lists_missing_and_extra(tmp_path):
    """One error names the missing variable and the extra one; training state is ignored."""
    model = _abstract(width=8, fc_dim=32)
    shapes = {p: v.get_value().shape for p, v in nnx.to_flat_state(nnx.state(model))}
    values = {n: np.ones(shapes[p], np.float32) for p, n in tin_variable_names(model).items()}
    missing, extra = "fc_binary/fc9_binary/biases", "classification/cls_score_X/weights"
    del values[missing]
    values[extra] = np.ones([32, 600], np.float32)
    values["fc8_SH/weights/Momentum"] = np.ones(shapes[("fc8_SH", "fc", "kernel")], np.float32)
    values["Variable"] = np.zeros([], np.int64)
    path = str(tmp_path / "bad.ckpt")
    with tf.Graph().as_default(), v1.Session() as sess:
        variables = {n: tf.Variable(v, name=f"v{i}") for i, (n, v) in enumerate(values.items())}
        sess.run(v1.global_variables_initializer())
        v1.train.Saver(var_list=variables).save(sess, path)

    with pytest.raises(CheckpointMismatchError) as err:
        load_tin_checkpoint(path, model)
    msg = str(err.value)
    assert f"fc9_binary/bias <- {missing} (not in checkpoint)" in msg and extra in msg
    assert err.value.unmatched == [extra] and len(err.value.unfilled) == 1
    assert "Momentum" not in msg and "Variable" not in msg

    # Without the default ignore list the training state is unmatched too.
    with pytest.raises(CheckpointMismatchError) as err:
        load_tin_checkpoint(path, model, ignore=())
    assert set(err.value.unmatched) == {extra, "fc8_SH/weights/Momentum", "Variable"}

    report = load_tin_checkpoint(path, _abstract(width=8, fc_dim=32, interactiveness=False),
                                 ignore=(*TIN_TRAINING_STATE, r"classification/cls_score_X/.*",
                                         r"(fc_binary|binary_classification)/.*"))
    assert "fc_binary/fc8_binary_1/weights" in report.ignored and not report.unused


def test_train_init_from_a_tin_checkpoint_gives_the_tf_logits(reference):
    """train.py's ``config.init_from``: the kind is detected ('tf_tin'), every weight is loaded,
    and the resulting model reproduces the TF transcription's logits."""
    import jax
    from jax.sharding import NamedSharding, PartitionSpec as P
    from configs import tin_hico
    from tin_jax.state import model as state_model
    from tin_jax.checkpoints import init_from
    config = tin_hico.get_config()
    config.init_from = reference["path"]
    assert init_from.resolve_kind(reference["path"]) == "tf_tin"
    mesh = state_model.make_mesh()
    parts, params, stats = state_model.build(TINConfig(), 0, NamedSharding(mesh, P()))
    p, s = init_from.load_initial_weights(config, parts, params, stats)
    model = parts.merge(*jax.tree.map(jnp.asarray, (p, s)))
    image = jnp.asarray(reference["image"])
    out = model(image, jnp.array([image.shape[1:3]]), jnp.asarray(reference["human"])[None],
                jnp.asarray(reference["obj"])[None], jnp.asarray(reference["patterns"])[None])
    for key in ("H", "O", "sp", "binary"):
        _close(out[key][0], reference["logits"][key])


# -- evaluate.py on imported weights -------------------------------------------------------

@pytest.fixture(scope="session")
def tiny_hico(tmp_path_factory):
    """(raw, converted) synthetic HICO-DET of 2 train and 3 test images: the full-width
    model's forward pass costs ~1 s per image on CPU."""
    raw = str(tmp_path_factory.mktemp("tiny_raw"))
    run_module("data_prep.make_synthetic", "--out_dir", raw, "--seed", "3", "--dataset", "hico",
               "--hico_train", "2", "--hico_test", "3")
    out = str(tmp_path_factory.mktemp("tiny_hico"))
    run_module("data_prep.convert", "--dataset", "hico", "--data_dir", raw, "--out_dir", out,
               "--num_workers", "1", "--noprogress")
    return raw, out


def _eval_config(tiny_hico, **model):
    """tin_hico at the reference's full width, on small images and slots (fast on CPU)."""
    from configs import tin_hico
    raw, data_dir = tiny_hico
    config = tin_hico.get_config()
    config.data.dir = data_dir
    config.eval.anno_dir = os.path.join(raw, "hico_20160224_det")
    config.data.max_long_side = 64
    config.data.image_buckets = ((64, 64),)
    config.eval.pairs_per_slot, config.eval.boxes_per_slot = 16, 4
    config.model.update(model)
    return config


def test_evaluate_takes_a_tin_checkpoint_directly(reference, tiny_hico, tmp_path):
    """evaluate with an empty workdir and ``config.init_from=<TIN TF checkpoint>`` writes the
    detections of the imported model: the same as evaluating the step-0 checkpoint that
    ``train.py --config.total_steps=0`` writes from that checkpoint."""
    from tin_jax.inference import evaluator
    from tin_jax.training import trainer
    config = _eval_config(tiny_hico)
    config.init_from = reference["path"]
    released = tmp_path / "released"  # holds nothing
    text = evaluator.evaluate(config, str(released))
    assert text.startswith(f"evaluated imported weights: {reference['path']}"), text[:300]
    imported = released / "eval_imported"

    config.total_steps = 0  # train.py with nothing to train: the imported weights, saved
    work = tmp_path / "step0"
    trainer.train(config, str(work), progress=False)
    assert sorted(os.listdir(work / "checkpoints")) == ["0"]
    text = evaluator.evaluate(config, str(work))  # a checkpoint in the workdir comes first
    assert not text.startswith("evaluated imported"), text[:300]

    with np.load(imported / "detections.npz") as a, np.load(work / "eval_0" / "detections.npz") as b:
        assert set(a.files) == set(b.files) and len(a["scores"]) > 0
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert json.load(open(imported / "results.json")) == json.load(open(work / "eval_0" / "results.json"))


def test_evaluate_and_train_reject_a_source_that_does_not_fit(reference, tiny_hico, tmp_path):
    """One line naming the file: a TIN checkpoint of another layout, a backbone-only source for
    evaluation (both: InitFromError, on the command line ``error: ...``, exit 2)."""
    from tin_jax.inference import evaluator
    from tin_jax.training import trainer
    from tin_jax.checkpoints.init_from import InitFromError
    tiny = _eval_config(tiny_hico, width=4, fc_dim=32)
    tiny.init_from = reference["path"]
    with pytest.raises(InitFromError) as err:
        evaluator.evaluate(tiny, str(tmp_path / "a"))
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{reference['path']}: a tf_tin checkpoint that does "
                                                "not match this config's model (hico, 600 classes, width 4")
    assert "shape mismatch" in msg
    tiny.total_steps = 0
    with pytest.raises(InitFromError, match="does not match this config's model"):
        trainer.train(tiny, str(tmp_path / "b"), progress=False)

    full = _eval_config(tiny_hico)
    full.init_from, full.init_kind = reference["path"], "tf_resnet"
    with pytest.raises(InitFromError, match="a tf_resnet checkpoint holds a backbone, no HOI heads"):
        evaluator.evaluate(full, str(tmp_path / "c"))

    proc = subprocess.run(
        [sys.executable, "evaluate.py", "--config", "configs/tin_hico.py", "--workdir",
         str(tmp_path / "d"), f"--config.data.dir={tiny_hico[1]}", f"--config.eval.anno_dir={tiny.eval.anno_dir}",
         "--config.model.width=4", "--config.model.fc_dim=32", f"--config.init_from={reference['path']}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3"))
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 2 and last.startswith(f"error: {reference['path']}: a tf_tin checkpoint"), \
        proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
