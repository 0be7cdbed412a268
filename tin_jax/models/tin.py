"""TIN in Flax NNX: ResNet-50 + RoI crops, the iCAN human / object / spatial-pose streams,
the interactiveness discriminator D ("P" in the papers) and the HOI classifier ("C");
optionally TPAMI's part-level interactiveness (``tin_jax.models.parts``).

Shapes are fixed for jit: a batch is B images, each with P pair slots (``pair_mask``
marks real pairs); the first ``num_pos`` pairs of an image are positives (training).
Everything the original computes for a subset of rows (the object stream only for
positives, attention only for positives on V-COCO) is computed for all rows here and
masked in the loss, which gives the same values for the rows that matter; the one
exception is the object stream in training (``positive_rows``), the largest saving.
The attended context is computed in a cheaper but exactly equivalent order
(``attended_mean``).

Layer names follow the original graph (``lib/networks/TIN_HICO.py``, ``TIN_VCOCO.py``),
so released checkpoints map one to one (``tin_jax.checkpoints``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from tin_jax.models.layers import cls_init, conv, dense, pose_cnn, sp_cnn
from tin_jax.models.parts import NUM_PARTS, PART_FEATURES, PartLevel
from tin_jax.models.resnet import (RESNET50_UNITS, SLIM_BN_EPS, FrozenBatchNorm, Res5, SlimResNet50, he_init,
                                   mask_padding)
from tin_jax.ops import roi

# The head FCs' slim BN: TF 1.12 sends rank-2 inputs through fused_batch_norm too, which
# raises eps 1e-5 to 1.001e-5 (checked against a TF transcription, tests/test_tin_tf_import.py).
FC_BN_EPS = SLIM_BN_EPS


@dataclasses.dataclass(frozen=True)
class TINConfig:
    """What distinguishes the published variants (see ``configs/``)."""

    num_classes: int = 600  # 600 HICO-DET HOIs or 29 V-COCO classes
    dataset: str = "hico"  # 'hico' | 'vcoco': the discriminator's branch layout differs
    interactiveness: bool = True  # build D (the P of RP_D C_D); False = RC_D (iCAN + pose input)
    pose_map: bool = True  # D reads the 64x64 pose channel through its own CNN
    d_negative_copy: bool = True  # original: D's object branch for negatives = their branch-1 feature
    # TPAMI (HICO only): D also reads the 10 body parts, plus a per-part D max-reduced over parts
    part_level: bool = False
    hoi_classifier: bool = True  # False: a D-only network (TPAMI's TIN_HICO_with_part)
    fc_dim: int = 1024
    width: int = 64  # backbone stem width; 64 = ResNet-50 (anything else: tests / CPU demo)
    # bottleneck units of block1, block2, block3 and of each res5 (ResNet-50's; fewer: tests)
    resnet_units: tuple[int, int, int, int] = RESNET50_UNITS
    # channels of the spatial CNN's first conv; its second has half, D's pose-map CNN half of
    # each: 64 = TIN's (64, 32) and (32, 16). On a CPU these convolutions over 64x64 patterns
    # dominate a small-width step; tests shrink them too.
    spatial_width: int = 64
    dropout_fc: float = 0.5  # keep 0.5 in head_to_tail
    dropout_attention: float = 0.2  # keep 0.8 in Att_H / Att_O
    dropout_binary: float = 0.2  # keep 0.8 (cfg.TRAIN_DROP_OUT_BINARY)
    roi_method: str = "gather"
    dtype: Any = None  # computation dtype; parameters stay float32


class FCBN(nnx.Module):
    """``slim.fully_connected`` inside ``resnet_arg_scope``: no bias, frozen BN, ReLU."""

    def __init__(self, i, o, *, rngs, dtype=None):
        self.fc = dense(i, o, rngs=rngs, init=he_init, bias=False, dtype=dtype)
        self.BatchNorm = FrozenBatchNorm(o, eps=FC_BN_EPS, dtype=dtype)

    def __call__(self, x):
        return jax.nn.relu(self.BatchNorm(self.fc(x)))


class Attention(nnx.Module):
    """iCAN instance-centric attention (``Att_H`` / ``Att_O``): FC512 + dropout, then the mean
    over channels of ``head_phi * e`` as logits, softmax over all valid positions."""

    def __init__(self, in_dim, dim, *, rngs, dropout, dtype=None):
        self.fc1_b = dense(in_dim, dim, rngs=rngs, dtype=dtype)
        self.dropout = nnx.Dropout(dropout, rngs=rngs)

    def __call__(self, instance, head_phi, valid):
        e = self.dropout(jax.nn.relu(self.fc1_b(instance)))  # (B, P, 512)
        logits = jnp.einsum("bhwc,bpc->bphw", head_phi, e) / head_phi.shape[-1]
        logits = jnp.where(valid[:, None], logits.astype(jnp.float32), -jnp.inf)
        b, p, h, w = logits.shape
        att = jax.nn.softmax(logits.reshape(b, p, h * w), axis=-1).reshape(b, p, h, w)
        return att  # float32, zero on padded positions


class TIN(nnx.Module):
    """The whole network; ``__call__`` returns the logits of every head."""

    def __init__(self, cfg: TINConfig, *, rngs: nnx.Rngs):
        if cfg.part_level and (cfg.dataset != "hico" or not cfg.interactiveness):
            raise ValueError("part_level needs the HICO-DET layout with interactiveness")
        if not (cfg.hoi_classifier or cfg.interactiveness):
            raise ValueError("a TIN without HOI classifier needs interactiveness")
        self.cfg = cfg
        dt = cfg.dtype
        fc = cfg.fc_dim
        head_c, res5_c, att_c = 16 * cfg.width, 32 * cfg.width, 8 * cfg.width  # 1024, 2048, 512
        units = tuple(cfg.resnet_units)
        self.backbone = SlimResNet50(with_block4=True, width=cfg.width, units=units, dtype=dt, rngs=rngs)
        self.block5 = Res5(scope="block5", in_features=head_c, base_depth=8 * cfg.width, num_units=units[3],
                           dtype=dt, rngs=rngs)  # object res5; backbone.block4 is the human res5
        sw = cfg.spatial_width
        self.sp = sp_cnn(sw, rngs=rngs, dtype=dt)  # resnet_v1_50/conv{1,2}_sp
        sp_dim = self.sp.features  # 5408
        self.head_phi = conv(head_c, att_c, 1, rngs=rngs, dtype=dt)
        self.head_g = conv(head_c, att_c, 1, rngs=rngs, dtype=dt)
        self.Att_H = Attention(res5_c, att_c, rngs=rngs, dropout=cfg.dropout_attention, dtype=dt)
        self.Att_O = Attention(res5_c, att_c, rngs=rngs, dropout=cfg.dropout_attention, dtype=dt)
        self.bottleneck = conv(att_c, head_c, 1, rngs=rngs, dtype=dt)  # shared by H and O
        if cfg.hoi_classifier:
            self.fc8_SH = FCBN(res5_c + head_c, fc, rngs=rngs, dtype=dt)
            self.fc9_SH = FCBN(fc, fc, rngs=rngs, dtype=dt)
            self.fc8_SO = FCBN(res5_c + head_c, fc, rngs=rngs, dtype=dt)
            self.fc9_SO = FCBN(fc, fc, rngs=rngs, dtype=dt)
            self.Concat_SHsp = FCBN(res5_c + sp_dim, fc, rngs=rngs, dtype=dt)
            self.fc7_SHsp = FCBN(fc, fc, rngs=rngs, dtype=dt)
            self.cls_score_H = dense(fc, cfg.num_classes, rngs=rngs, init=cls_init, dtype=dt)
            self.cls_score_O = dense(fc, cfg.num_classes, rngs=rngs, init=cls_init, dtype=dt)
            self.cls_score_sp = dense(fc, cfg.num_classes, rngs=rngs, init=cls_init, dtype=dt)
            self.dropout_fc = nnx.Dropout(cfg.dropout_fc, rngs=rngs)
        if cfg.part_level:
            self.parts = PartLevel(head_c, res5_c, fc, sp_dim, sw, rngs=rngs,
                                   dropout_att=cfg.dropout_fc, dropout_binary=cfg.dropout_binary,
                                   dtype=dt)
        if cfg.interactiveness:
            self.pose_map = pose_cnn(sw, rngs=rngs, dtype=dt) if cfg.pose_map else None
            pose_dim = self.pose_map.features if cfg.pose_map else 0  # 2704
            part_dim = PART_FEATURES if cfg.part_level else 0
            if cfg.dataset == "hico":  # [fc7_H, fc7_SH, (part_att,) sp, pose] and [fc7_O, fc7_SO]
                b1, b2 = res5_c + head_c + part_dim + sp_dim + pose_dim, res5_c + head_c
            else:  # V-COCO: [fc7_H, sp, pose] and [fc7_O, fc7_SH, fc7_SO]
                b1, b2 = res5_c + sp_dim + pose_dim, res5_c + 2 * head_c
            self.fc8_binary_1 = dense(b1, fc, rngs=rngs, dtype=dt)
            self.fc8_binary_2 = dense(b2, fc, rngs=rngs, dtype=dt)
            self.fc9_binary = dense(2 * fc, fc, rngs=rngs, dtype=dt)
            self.cls_score_binary = dense(fc, 2, rngs=rngs, init=cls_init, dtype=dt)
            self.dropout_binary = nnx.Dropout(cfg.dropout_binary, rngs=rngs)

    # -- pieces ---------------------------------------------------------------------------
    def _res5(self, block, head, boxes, feature_hw):
        b, p = boxes.shape[:2]
        crops = roi.tin_roi_pool(head, jax.lax.stop_gradient(boxes), method=self.cfg.roi_method,
                                 feature_hw=feature_hw)  # (B, P, 7, 7, 1024)
        out = block(crops.reshape((b * p,) + crops.shape[2:]))
        return out.mean(axis=(1, 2)).reshape(b, p, -1)  # fc7: (B, P, 2048)

    def _object_rows(self, positive, positive_rows):
        """How many leading pair slots need object features (see ``positive_rows``); None = all."""
        cfg = self.cfg
        if positive is None or not cfg.d_negative_copy or cfg.part_level:
            return None
        return positive_rows

    def _context_map(self, head_g):
        """What ``_context`` reads per image: ``W head_g``, the bottleneck kernel applied once."""
        kernel = self.bottleneck.kernel[...][0, 0].astype(head_g.dtype)  # (512, 1024)
        return jnp.einsum("bhwc,cd->bhwd", head_g, kernel)

    def _context(self, attention, instance, head_phi, context_map, valid):
        """fc7_SH / fc7_SO: ``mean_valid(relu(bottleneck(head_g * att)))``, computed as
        ``attended_mean(att, W head_g, bias)`` (see there)."""
        att = attention(instance, head_phi, valid)  # (B, P, h, w)
        bias = self.bottleneck.bias[...].astype(context_map.dtype)
        return attended_mean(att, context_map, bias, valid)

    def __call__(self, image, image_hw, human_boxes, object_boxes, patterns, *,
                 part_boxes=None, positive=None, positive_rows: int | None = None,
                 human_index=None, object_index=None, train: bool = False) -> dict[str, jax.Array]:
        """Logits of every head: ``H``, ``O``, ``sp`` (with the HOI classifier), ``binary``
        (with D) and ``binary_part`` (part level: the per-part D logits' max over parts).

        Args:
          image: (B, H, W, 3) float, BGR minus means, zero outside ``image_hw``.
          image_hw: (B, 2) int, the unpadded image sizes.
          human_boxes, object_boxes: (B, P, 4) image pixels ``[x1, y1, x2, y2]`` (see
            ``human_index`` for the distinct-box form).
          patterns: (B, P, 64, 64, 3) float interaction patterns.
          part_boxes: (B, P, 10, 4) the humans' body-part boxes (``tin_jax.data.parts``),
            read by the part level only. None = every part is the whole human box (the
            original's rule for a human without pose).
          positive: (B, P) bool, rows that are positives (D's negative-copy trick in
            training). None (test time) = every row uses its own object branch.
          positive_rows: a bound the caller guarantees: ``positive`` is False beyond the
            first ``positive_rows`` pair slots (the pipeline puts at most pos_augment +
            chunk_size positives first). With ``positive``, D's negative-copy trick and no
            part level, nothing reads a negative's object features (the O / HO losses take
            positives, D copies branch 1), so the object stream (res5 + attention) runs on
            those rows only, as the original crops objects of positives only; the other
            rows' object features are zeros. None = every row.
          human_index, object_index: (B, P) int, distinct boxes: then ``human_boxes``
            (B, U, 4) (and ``object_boxes`` (B, V, 4)) hold each slot's distinct boxes, and
            pair p reads rows ``human_index[:, p]`` (and ``object_index[:, p]``). The res5
            features depend on one box alone, so they are computed once per distinct box;
            at inference so are the attended contexts (a test image pairs every human with
            every object). In training the contexts stay per pair: their attention has
            dropout, drawn per pair, so the step is the per-pair one exactly (same values,
            same dropout masks, same gradients). Patterns, part boxes and the heads stay
            per pair. Inference takes both or neither; training takes ``human_index``
            only (the object stream already runs on the positive rows alone).
          train: dropout on.
        """
        cfg = self.cfg
        self.set_attributes(deterministic=not train, raise_if_not_found=False)
        feature_hw = -(-image_hw // 16)
        head = self.backbone.image_to_head(image, image_hw)  # (B, h, w, 1024)
        if train and object_index is not None:
            raise ValueError("object_index is for inference; training takes human_index only")
        if not train and (human_index is None) != (object_index is None):
            raise ValueError("at inference human_index and object_index go together")
        object_rows = self._object_rows(positive, positive_rows)
        fc7_H, fc7_SH, fc7_O, fc7_SO, human_boxes = self._instance_features(
            head, feature_hw, human_boxes, object_boxes[:, :object_rows], human_index, object_index,
            patterns.shape[1], train)
        sp = self.sp(patterns[..., 0:2].astype(cfg.dtype or jnp.float32))  # (B, P, sp_dim)

        out = {}
        if cfg.hoi_classifier:
            drop = lambda x: self.dropout_fc(x)
            h = drop(self.fc9_SH(drop(self.fc8_SH(jnp.concatenate([fc7_H, fc7_SH], -1)))))
            o = drop(self.fc9_SO(drop(self.fc8_SO(jnp.concatenate([fc7_O, fc7_SO], -1)))))
            s = drop(self.fc7_SHsp(drop(self.Concat_SHsp(jnp.concatenate([fc7_H, sp], -1)))))
            out = {"H": self.cls_score_H(h), "O": self.cls_score_O(o), "sp": self.cls_score_sp(s)}
        pose_pattern = patterns[..., 2:3].astype(cfg.dtype or jnp.float32)
        part_att = []
        if cfg.part_level:
            if part_boxes is None:
                part_boxes = jnp.repeat(human_boxes[:, :, None], NUM_PARTS, axis=2)
            att, out["binary_part"] = self.parts(head, part_boxes, feature_hw, fc7_H, fc7_SH, fc7_O,
                                                 fc7_SO, sp, pose_pattern, method=cfg.roi_method)
            part_att = [att]
        if cfg.interactiveness:
            out["binary"] = self._discriminator(fc7_H, fc7_O, fc7_SH, fc7_SO, part_att, sp,
                                                pose_pattern, positive)
        return jax.tree.map(lambda x: x.astype(jnp.float32), out)

    def _instance_features(self, head, feature_hw, human_boxes, object_boxes, human_index,
                           object_index, pairs, train):
        """(fc7_H, fc7_SH, fc7_O, fc7_SO, per-pair human boxes), each (B, pairs, .) float32:
        res5 per box row, the attended contexts per row at inference (per pair in training,
        their dropout being per pair), the rows taken per pair (see ``__call__``)."""
        valid = mask_padding(jnp.ones(head.shape[:3] + (1,), bool), feature_hw)[..., 0]
        fc7_H = self._res5(self.backbone.block4, head, human_boxes, feature_hw)
        fc7_O = self._res5(self.block5, head, object_boxes, feature_hw)
        take = lambda x, i: jnp.take_along_axis(x, i[..., None], axis=1)
        if train and human_index is not None:  # distinct boxes -> pairs before the attention
            fc7_H, human_boxes = take(fc7_H, human_index), take(human_boxes, human_index)
        head_phi = jax.nn.relu(self.head_phi(head))
        context_map = self._context_map(jax.nn.relu(self.head_g(head)))
        fc7_SH = self._context(self.Att_H, fc7_H, head_phi, context_map, valid)
        fc7_SO = self._context(self.Att_O, fc7_O, head_phi, context_map, valid)
        f32 = lambda x: x.astype(jnp.float32)
        if human_index is not None and not train:  # distinct boxes -> pairs
            fc7_H, fc7_SH = f32(take(fc7_H, human_index)), take(fc7_SH, human_index)
            fc7_O, fc7_SO = f32(take(fc7_O, object_index)), take(fc7_SO, object_index)
            return fc7_H, fc7_SH, fc7_O, fc7_SO, take(human_boxes, human_index)
        pad = lambda x: jnp.pad(f32(x), ((0, 0), (0, pairs - x.shape[1]), (0, 0)))  # object rows
        return f32(fc7_H), fc7_SH, pad(fc7_O), pad(fc7_SO), human_boxes

    def _discriminator(self, fc7_H, fc7_O, fc7_SH, fc7_SO, part_att, sp, pose_pattern, positive):
        cfg = self.cfg
        pose = [self.pose_map(pose_pattern)] if cfg.pose_map else []
        if cfg.dataset == "hico":
            b1 = jnp.concatenate([fc7_H, fc7_SH] + part_att + [sp] + pose, -1)
            b2 = jnp.concatenate([fc7_O, fc7_SO], -1)
        else:
            b1 = jnp.concatenate([fc7_H, sp] + pose, -1)
            b2 = jnp.concatenate([fc7_O, fc7_SH, fc7_SO], -1)
        drop = lambda x: self.dropout_binary(x)
        f1 = drop(jax.nn.relu(self.fc8_binary_1(b1)))
        f2 = drop(jax.nn.relu(self.fc8_binary_2(b2)))
        if cfg.d_negative_copy and positive is not None:
            # The original never crops objects of negatives for D: their "object" feature
            # is a copy of their own branch-1 feature (train only; at test the real one).
            f2 = jnp.where(positive[..., None], f2, f1)
        f = drop(jax.nn.relu(self.fc9_binary(jnp.concatenate([f1, f2], -1))))
        return self.cls_score_binary(f)


@jax.checkpoint
def attended_mean(att: jax.Array, head_w: jax.Array, bias: jax.Array, valid: jax.Array) -> jax.Array:
    """iCAN's attended context ``mean_valid(relu(conv1x1(head_g * att)))`` per pair, exactly.

    The original multiplies ``head_g`` by each pair's attention, then runs the 1x1 conv
    (512 -> 1024) over every position, per pair: P * h * w * 512 * 1024 multiply-adds, as
    much as the whole backbone at 80 pairs. The attention is one scalar per position, so
    ``W (a g) + b = a (W g) + b``: ``W g`` (``head_w``) is computed once per image and
    each pair only scales it. ``jax.checkpoint`` keeps the (B, P, h, w, 1024) values out of
    the saved residuals (the backward recomputes them elementwise).

    Args:
      att: (B, P, h, w) float32 attention, zero on padded positions.
      head_w: (B, h, w, C) ``W head_g``; bias: (C,).
      valid: (B, h, w) bool, the unpadded positions.
    Returns:
      (B, P, C) float32.
    """
    x = jax.nn.relu(head_w[:, None] * att[..., None].astype(head_w.dtype) + bias)
    x = jnp.where(valid[:, None, :, :, None], x, 0)
    count = valid.sum(axis=(1, 2)).astype(jnp.float32)[:, None, None]
    return x.sum(axis=(2, 3), dtype=jnp.float32) / count


def hoi_scores(logits: dict[str, jax.Array]) -> jax.Array:
    """TIN's test-time HOI score ``sigmoid(sp) * (sigmoid(H) + sigmoid(O))`` (unweighted logits)."""
    sig = jax.nn.sigmoid
    return sig(logits["sp"]) * (sig(logits["H"]) + sig(logits["O"]))
