"""TPAMI's part-level interactiveness (``lib/networks/TIN_HICO_with_part.py``, TIN-PAMI).

The backbone head is compressed to 64 channels (``Compress/dim_red_head``) and the 10
body-part boxes are cropped from it (7x7x64 each). Two things come out per pair:

* ``part_att`` (640): each part's averaged feature times its attention, a sigmoid
  from ``vec_classification`` over all 10 crops; the instance-level D reads it in
  its first branch (``TIN._discriminator``);
* part-level interactiveness: one D per part (``binary_cls_all/score_k``), with that
  part's averaged feature (64) in place of ``part_att``, whose logits are max-reduced
  over the 10 parts.

Layer names follow the original graph; ``binary_cls_all[k]`` holds ``score_k/fc_0/*``
and ``score_k/cls_P/cls_score_binary``, the attention FCs are slim's unnamed
``fully_connected{,_1,_2}``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from tin_jax.schema.body import NUM_PARTS
from tin_jax.models.layers import cls_init, conv, dense, pose_cnn
from tin_jax.ops import roi

PART_CHANNELS = 64
CROP = 7
PART_FEATURES = NUM_PARTS * PART_CHANNELS  # part_att: 640


class PartDiscriminator(nnx.Module):
    """One part's D (``binary_discriminator`` + ``binary_classification``): branch 1 =
    [fc7_H, fc7_SH, part feature, sp, pose], branch 2 = [fc7_O, fc7_SO], own pose CNN.
    ``b1``: branch 1's width without the pose features (this D's pose CNN adds them)."""

    def __init__(self, b1, b2, fc, spatial_width, *, rngs, dropout, dtype=None):
        self.pose_map = pose_cnn(spatial_width, rngs=rngs, dtype=dtype)
        self.fc8_binary_1 = dense(b1 + self.pose_map.features, fc, rngs=rngs, dtype=dtype)
        self.fc8_binary_2 = dense(b2, fc, rngs=rngs, dtype=dtype)
        self.fc9_binary = dense(2 * fc, fc, rngs=rngs, dtype=dtype)
        self.cls_score_binary = dense(fc, 2, rngs=rngs, init=cls_init, dtype=dtype)
        self.dropout = nnx.Dropout(dropout, rngs=rngs)

    def __call__(self, branch1: list, branch2, pose_pattern):
        drop = lambda x: self.dropout(jax.nn.relu(x))
        f1 = drop(self.fc8_binary_1(jnp.concatenate(branch1 + [self.pose_map(pose_pattern)], -1)))
        f2 = drop(self.fc8_binary_2(branch2))
        return self.cls_score_binary(drop(self.fc9_binary(jnp.concatenate([f1, f2], -1))))


class PartLevel(nnx.Module):
    """The part branch: ``Compress``, ``vec_classification`` and ``binary_cls_all``."""

    def __init__(self, head_c, res5_c, fc, sp_dim, spatial_width, *, rngs, dropout_att,
                 dropout_binary, dtype=None):
        """``sp_dim``: the sp CNN's feature count; ``spatial_width``: ``TINConfig.spatial_width``
        (the size of each part D's pose-map CNN)."""
        self.dim_red_head = conv(head_c, PART_CHANNELS, 1, rngs=rngs, dtype=dtype)
        flat = CROP * CROP * PART_FEATURES
        # vec_classification: FC-drop-FC-drop-Linear10, all tf.random_normal_initializer(0, 0.01)
        self.fully_connected = dense(flat, fc, rngs=rngs, init=cls_init, dtype=dtype)
        self.fully_connected_1 = dense(fc, fc, rngs=rngs, init=cls_init, dtype=dtype)
        self.fully_connected_2 = dense(fc, NUM_PARTS, rngs=rngs, init=cls_init, dtype=dtype)
        self.dropout_att = nnx.Dropout(dropout_att, rngs=rngs)
        b1 = res5_c + head_c + PART_CHANNELS + sp_dim  # + each part D's pose features
        b2 = res5_c + head_c
        self.binary_cls_all = nnx.List([
            PartDiscriminator(b1, b2, fc, spatial_width, rngs=rngs, dropout=dropout_binary,
                              dtype=dtype)
            for _ in range(NUM_PARTS)])

    def __call__(self, head, part_boxes, feature_hw, fc7_H, fc7_SH, fc7_O, fc7_SO, sp,
                 pose_pattern, method="gather"):
        """Returns ``part_att`` (B, P, 640) and the part-level D logits (B, P, 2), float32."""
        b, p = part_boxes.shape[:2]
        head = jax.nn.relu(self.dim_red_head(head))  # (B, h, w, 64)
        crops = roi.tin_roi_pool(head, part_boxes.reshape(b, p * NUM_PARTS, 4), crop=CROP,
                                 method=method, feature_hw=feature_hw)
        crops = crops.reshape(b, p, NUM_PARTS, CROP, CROP, PART_CHANNELS)
        # The original concatenates the 10 crops on channels, then flattens NHWC.
        flat = crops.transpose(0, 1, 3, 4, 2, 5).reshape(b, p, -1)
        drop = lambda x: self.dropout_att(jax.nn.relu(x))
        att = self.fully_connected_2(drop(self.fully_connected_1(drop(self.fully_connected(flat)))))
        att = jax.nn.sigmoid(att.astype(jnp.float32))  # (B, P, 10)
        feats = crops.mean(axis=(3, 4)).astype(jnp.float32)  # (B, P, 10, 64)
        part_att = (feats * att[..., None]).reshape(b, p, PART_FEATURES)
        branch2 = jnp.concatenate([fc7_O, fc7_SO], -1)
        logits = jnp.stack([d([fc7_H, fc7_SH, feats[:, :, k], sp], branch2, pose_pattern)
                            for k, d in enumerate(self.binary_cls_all)], axis=2)
        return part_att, logits.astype(jnp.float32).max(axis=2)
