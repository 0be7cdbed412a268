"""Runs a trained TIN over candidate pairs (TIN's test scripts, batched, multi-host).

For each test image: candidate pairs from the detections (``postprocess.select_pairs``:
humans above ``human_thresh``, objects (humans included) above ``object_thresh``,
the top-4 x top-4 fallback for images with none), their interaction patterns from
the human's pose, then one forward pass for many pairs at once (the original ran
one pair per pass; the network treats pairs independently, so the scores are the
same). Images with more pairs than ``pairs_per_slot`` use several slots. With
``boxes_per_slot`` a slot carries its distinct human and object boxes (at most that many
each) and every pair's index into them: a test image pairs each human with each object,
so the res5 crops and attention contexts run once per box, not twice per pair.

Multi-host: every host builds the same list of slots from the records (detections
only, no image decoding), so every host knows the whole schedule. Global batch ``t``
holds slots ``[t*G, (t+1)*G)``; host ``h`` decodes and feeds positions
``[h*L, (h+1)*L)`` of it. All hosts run the same number of steps (the last batch is
padded with empty slots) and receive the whole batch's outputs (replicated), so
every host ends with every image's scores.

Output per image, as TIN's test pickle holds it: boxes, object class, detection
scores, and per pair what ``model_fn`` returns: e.g. the 600 (29) HOI scores
``sigmoid(sp) * (sigmoid(H) + sigmoid(O))``, D's ``(P_inter, P_noninter)``.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable, Sequence

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from tin_jax.inference import postprocess
from tin_jax.data import encoding, features, painting, parts, spatial
from tin_jax.schema import body
from tin_jax.data import input_pipeline as ip


@dataclasses.dataclass
class PairItem:
    """One image and the pairs to score on it (any source: test split, user input)."""
    encoded: bytes | Callable[[], bytes]  # the image file's bytes, or how to read them
    height: int
    width: int
    human_boxes: np.ndarray  # (N, 4) original image pixels
    object_boxes: np.ndarray  # (N, 4)
    poses: list  # N entries: (51,) AlphaPose keypoints or None
    meta: dict = dataclasses.field(default_factory=dict)  # copied into the result


def test_items(data_dir: str, human_thresh: float, object_thresh: float,
               fallback: str = "fixed") -> list[PairItem]:
    """The test split's candidate pairs, one item per image (``meta``: TIN's pickle fields)."""
    out = []
    images = SequentialImages(data_dir)  # read again when needed: the test set's bytes stay on disk
    for index, (rec, _, (h, w)) in enumerate(iterate_test_records(data_dir)):
        d = rec.det
        hi, oi, fb = postprocess.select_pairs(d.boxes, d.is_human, d.classes, d.scores,
                                              human_thresh, object_thresh, fallback=fallback)
        hi, oi = np.asarray(hi, np.int64), np.asarray(oi, np.int64)
        poses = [d.poses[i] if d.pose_valid[i] else None for i in hi]
        meta = dict(image_id=rec.image_id, filename=rec.filename, is_fallback=bool(fb),
                    human_index=hi, human_boxes=d.boxes[hi], object_boxes=d.boxes[oi],
                    object_class=d.classes[oi], human_score=d.scores[hi], object_score=d.scores[oi])
        out.append(PairItem(functools.partial(images.get, index), h, w, d.boxes[hi], d.boxes[oi],
                            poses, meta))
    return out


class SequentialImages:
    """The split's image bytes by record index, streamed: inference asks in increasing order."""

    def __init__(self, data_dir: str, split: str = "test"):
        self.files = [f"{data_dir}/{s['file']}" for s in ip.load_info(data_dir).shards(split)]
        self.it, self.next = None, 0

    def get(self, index: int) -> bytes:
        import tensorflow as tf  # pylint: disable=g-import-not-at-top
        if self.it is None or index < self.next:  # (re)start from the first record
            spec = {"image/encoded": tf.io.FixedLenFeature([], tf.string)}
            self.it = tf.data.TFRecordDataset(self.files).map(ip.graph_fn(
                lambda x: tf.io.parse_single_example(x, spec)["image/encoded"])).as_numpy_iterator()
            self.next = 0
        for _ in range(index - self.next):
            next(self.it)
        self.next = index + 1
        return next(self.it)


def iterate_test_records(data_dir: str):
    """(ImageRecord, encoded image, (height, width)) of the test split, sizes from the record."""
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    info = ip.load_info(data_dir)
    files = [f"{data_dir}/{s['file']}" for s in info.shards("test")]
    for raw in tf.data.TFRecordDataset(files).map(ip.graph_fn(features.parse_example)).as_numpy_iterator():
        yield (features.decode_numpy(raw), raw["image/encoded"],
               (int(raw["image/height"]), int(raw["image/width"])))


def _scale(height: int, width: int, max_long_side: int | None) -> float:
    if max_long_side and max(height, width) > max_long_side:
        return max_long_side / max(height, width)
    return 1.0


def _network_size(item: PairItem, max_long_side: int | None) -> tuple[int, int]:
    s = _scale(item.height, item.width, max_long_side)
    if s == 1.0:
        return item.height, item.width
    return max(1, round(item.height * s)), max(1, round(item.width * s))  # a sliver keeps one pixel


def _decode(item: PairItem, max_long_side: int | None) -> np.ndarray:
    """uint8 BGR as cv2.imread, resized as the training pipeline does (boxes scaled alike;
    the interaction patterns still come from the original boxes)."""
    import cv2  # pylint: disable=g-import-not-at-top
    encoded = item.encoded() if callable(item.encoded) else item.encoded
    image = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{item.meta.get('filename', 'image')}: cannot decode the image")
    if image.shape[:2] != (item.height, item.width):
        raise ValueError(f"{item.meta.get('filename', 'image')}: decoded size {image.shape[:2]} "
                         f"differs from the recorded {(item.height, item.width)}")
    h, w = _network_size(item, max_long_side)
    if (h, w) != image.shape[:2]:
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
    return image


def _slots(items: Sequence[PairItem], pairs_per_slot: int,
           boxes_per_slot: int = 0) -> list[tuple[int, np.ndarray]]:
    """(item, its pair indices) of every slot; an image without pairs gets none.

    Without ``boxes_per_slot``: consecutive runs of ``pairs_per_slot`` pairs. With it, a
    slot holds at most that many distinct human boxes and as many distinct object boxes:
    the objects are cut into blocks of ``boxes_per_slot`` (first appearance order), and
    each block's pairs are packed by human, so a humans x objects product fills slots
    (e.g. 64 pairs = 4 humans x 16 objects: 20 res5 crops instead of 128)."""
    out = []
    for i, item in enumerate(items):
        n = len(item.human_boxes)
        if not boxes_per_slot:
            out.extend((i, np.arange(lo, min(lo + pairs_per_slot, n)))
                       for lo in range(0, n, pairs_per_slot))
            continue
        h, o = encoding.distinct_rows(item.human_boxes)[1], encoding.distinct_rows(item.object_boxes)[1]
        for block in range(0, int(o.max()) + 1 if n else 0, boxes_per_slot):
            members = np.nonzero((o >= block) & (o < block + boxes_per_slot))[0]
            start, humans = 0, set()
            for j, pair in enumerate(members):
                if j - start == pairs_per_slot or (h[pair] not in humans and len(humans) == boxes_per_slot):
                    out.append((i, members[start:j]))
                    start, humans = j, set()
                humans.add(h[pair])
            out.append((i, members[start:]))
    return out


def run_items(model_fn: Callable[..., dict], items: Sequence[PairItem], *, mesh,
              pairs_per_slot: int = 32, boxes_per_slot: int = 0, slots_per_device: int = 1,
              buckets=encoding.DEFAULT_BUCKETS,
              max_long_side: int | None = None, progress: bool = False) -> list[dict[str, np.ndarray]]:
    """Per item, the concatenated per-pair outputs of ``model_fn`` (``progress``: a bar on
    stderr, process 0 only).

    ``model_fn(image, image_hw, human_boxes, object_boxes, patterns, part_boxes, human_index,
    object_index)`` returns a dict of (B, P, ...) arrays; the batch of slots is sharded over
    ``mesh``'s data axis. With ``boxes_per_slot`` the boxes come as each slot's distinct
    boxes (B, boxes_per_slot, 4) and the indices (B, P) map pairs to them (``TIN``'s
    ``human_index``); without, the boxes are per pair and the indices None.
    """
    data_sh, repl = NamedSharding(mesh, P("data")), NamedSharding(mesh, P())
    # every host gets every slot's outputs; the patterns travel as their integer geometry
    # (188 bytes a pair, not 49 KB of float32 pixels) and are painted on the device
    fn = jax.jit(functools.partial(_with_painted_patterns, model_fn), out_shardings=repl)
    local = slots_per_device * len(mesh.local_devices)
    glob = slots_per_device * mesh.size
    first = jax.process_index() * local
    slots = _slots(items, pairs_per_slot, boxes_per_slot)
    rows = boxes_per_slot or pairs_per_slot  # box rows per slot
    sizes = [_network_size(it, max_long_side) for it in items]
    outputs: list[dict[str, list]] = [{} for _ in items]
    cache: dict[int, np.ndarray] = {}
    for t in _steps(-(-len(slots) // glob), progress):
        batch = slots[t * glob:(t + 1) * glob]
        # the bucket is a function of the whole global batch, known on every host
        H, W = encoding.bucket_for(max(sizes[i][0] for i, _ in batch), max(sizes[i][1] for i, _ in batch),
                             [tuple(b) for b in buckets], 256)
        img = np.zeros((local, H, W, 3), np.uint8)
        hw = np.ones((local, 2), np.int32)
        hb = np.zeros((local, rows, 4), np.float32)
        ob = np.zeros_like(hb)
        hi_, oi_ = np.zeros((local, pairs_per_slot), np.int32), np.zeros((local, pairs_per_slot), np.int32)
        geometry = np.zeros((local, pairs_per_slot, spatial.GEOMETRY_LEN), np.int16)
        pb = np.zeros((local, pairs_per_slot, body.NUM_PARTS, 4), np.float32)
        for k, (i, idx) in enumerate(batch[first:first + local]):
            item = items[i]
            if i not in cache:
                cache.clear()  # slots of one image are consecutive
                cache[i] = _decode(item, max_long_side)
            image = cache[i]
            ih, iw = image.shape[:2]
            img[k, :ih, :iw] = image
            hw[k] = (ih, iw)
            scale = _scale(item.height, item.width, max_long_side)
            m = len(idx)
            human, obj = np.asarray(item.human_boxes)[idx], np.asarray(item.object_boxes)[idx]
            poses = [item.poses[j] for j in idx]
            if boxes_per_slot:
                for boxes, table, index in ((human, hb, hi_), (obj, ob, oi_)):
                    distinct, index[k, :m] = encoding.distinct_rows(boxes)
                    table[k, :len(distinct)] = distinct * scale
            else:
                hb[k, :m] = human * scale
                ob[k, :m] = obj * scale
            # in the boxes' own precision: the records' (and TIN's pickles') float32
            geometry[k, :m] = spatial.interaction_geometry(human, obj, poses)
            pb[k, :m] = scale * parts.part_boxes_of(human, poses)
        put = lambda x: jax.make_array_from_process_local_data(data_sh, x)
        image = encoding.normalize_image(put(img), put(hw), xp=jax.numpy)
        index = (put(hi_), put(oi_)) if boxes_per_slot else (None, None)
        got = jax.device_get(fn(image, put(hw), put(hb), put(ob), put(geometry), put(pb), *index))
        for k, (i, idx) in enumerate(batch):
            for name, value in got.items():
                outputs[i].setdefault(name, []).append((idx, value[k, :len(idx)]))
    return [_assemble(o, item) for o, item in zip(outputs, items)]


def _with_painted_patterns(model_fn, image, image_hw, human_boxes, object_boxes, geometry, *rest):
    return model_fn(image, image_hw, human_boxes, object_boxes,
                    painting.float_patterns(geometry, xp=jax.numpy), *rest)


def _steps(n: int, progress: bool):
    """range(n), with a progress bar on process 0 when asked."""
    if not progress or jax.process_index() != 0:
        return range(n)
    import sys  # pylint: disable=g-import-not-at-top
    from tqdm import tqdm  # pylint: disable=g-import-not-at-top
    return tqdm(range(n), desc="inference", unit="batch", file=sys.stderr, dynamic_ncols=True)


def _assemble(outputs: dict[str, list], item: PairItem) -> dict[str, np.ndarray]:
    """The item's meta plus every output in pair order (slots may hold any pair subset)."""
    out = dict(item.meta)
    n = len(item.human_boxes)
    for name, pieces in outputs.items():
        value = np.zeros((n,) + pieces[0][1].shape[1:], pieces[0][1].dtype)
        for idx, v in pieces:
            value[idx] = v
        out[name] = value
    return out


def run(model_fn, data_dir: str, *, mesh, human_thresh: float, object_thresh: float,
        pairs_per_slot: int = 32, boxes_per_slot: int = 0, slots_per_device: int = 1,
        buckets=encoding.DEFAULT_BUCKETS,
        max_long_side: int | None = None, fallback: str = "fixed",
        empty: dict[str, tuple] | None = None, progress: bool = False) -> list[dict]:
    """One dict per test image: ``test_items``' meta plus the per-pair model outputs
    (``empty`` gives the trailing shapes for images without pairs, e.g. ``{'binary': (2,)}``)."""
    items = test_items(data_dir, human_thresh, object_thresh, fallback)
    results = run_items(model_fn, items, mesh=mesh, pairs_per_slot=pairs_per_slot,
                        boxes_per_slot=boxes_per_slot, slots_per_device=slots_per_device,
                        buckets=buckets, max_long_side=max_long_side, progress=progress)
    for r in results:
        for name, shape in (empty or {}).items():
            r.setdefault(name, np.zeros((0,) + tuple(shape), np.float32))
    return results

