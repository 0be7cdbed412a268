"""Defaults shared by every experiment config (the original TIN settings).

A config file defines ``get_config(arg=None)`` and returns an ml_collections
ConfigDict; ``arg`` takes comma-separated options, e.g.
``--config configs/tin_hico.py:runlocal``.
"""

from __future__ import annotations

import ml_collections


def parse_arg(arg: str | None, **defaults) -> ml_collections.ConfigDict:
    """``'runlocal,steps=10'`` -> ConfigDict(runlocal=True, steps=10) over ``defaults``."""
    out = ml_collections.ConfigDict(defaults)
    for item in filter(None, (arg or "").split(",")):
        key, _, value = item.partition("=")
        if not value:
            out[key] = True
        else:
            kind = type(defaults.get(key, ""))
            out[key] = kind(value) if kind is not bool else value.lower() in ("1", "true", "yes")
    return out


def base_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.seed = 0
    c.dataset = "hico"  # what the config is for; a converted dataset of another kind is an error

    c.data = ml_collections.ConfigDict()
    c.data.dir = ""  # converted TFRecords (python -m data_prep.convert): required
    c.data.batch_per_device = 1  # images per device per step; the original: 1 on 1 GPU
    c.data.shuffle = True
    c.data.shuffle_buffer = 512
    c.data.max_long_side = 0  # 0 = original resolution
    c.data.pos_augment = 15  # jittered positives per chunk (TIN's Pos_augment)
    c.data.neg_select = 60  # negatives per image at most (TIN's Neg_select)
    # D's label for GT pairs annotated only "no_interaction" (HICO-DET): 'non_interactive' (fixed
    # here) or 'interactive' (the original's, a known problem of its ult.py)
    c.data.no_interaction_binary = "non_interactive"
    c.data.image_buckets = ((320, 480), (480, 320), (480, 480), (480, 640), (640, 480), (640, 640),
                            (800, 800), (1024, 1024))
    # The human res5 runs once per distinct human box of a step: a step's 20 positives are
    # mostly distinct jittered copies, its negatives share the image's few detected humans.
    # The table is padded to the smallest of these sizes that holds the batch's boxes (else to
    # the pair slots), one compilation each; () = the res5 on every pair slot. Same losses
    # and gradients either way (tests/test_distinct_boxes.py).
    c.data.human_table_sizes = (24, 32, 48, 64)
    # Processes building this host's training batches (decode, jitter, interaction patterns):
    # the sampling holds Python's GIL, so it scales over cores in processes only. 0 = in the
    # training process. About one per core the host can spare for input (benchmarks/pipeline.py).
    c.data.workers = 0

    c.model = ml_collections.ConfigDict()
    c.model.interactiveness = True
    c.model.pose_map = True
    c.model.d_negative_copy = True  # the original's D trick for negatives (train only)
    c.model.part_level = False  # TPAMI's part-level interactiveness (configs/rcd.py, rcd3.py)
    c.model.hoi_classifier = True  # False: a D-only network (TPAMI's TIN_HICO_with_part)
    c.model.width = 64  # ResNet-50; smaller = CPU demo / tests, no pretrained weights
    c.model.resnet_units = (3, 4, 6, 3)  # block1..3 and res5: ResNet-50's; fewer = tests only
    c.model.fc_dim = 1024
    # The spatial CNN's first-conv channels (TIN: 64; the pose-map CNN has half): smaller = tests
    c.model.spatial_width = 64
    c.model.dtype = "float32"  # computation dtype ('bfloat16' on GPU/TPU)
    # From scratch only (no init_from / checkpoint): measure the frozen BN statistics
    # on this many training images first; 0 leaves identity BN (diverges at ResNet depth).
    c.model.calibrate_bn_images = 4

    c.loss = ml_collections.ConfigDict()
    c.loss.terms = ("H", "O", "sp", "binary")  # TRAIN_MODULE 1; ("H","O","sp") = 2; ("binary",) = 3
    c.loss.class_weight_total = 0.0  # N of w_i = ln(N / n_i); 0 = the total count

    c.optim = ml_collections.ConfigDict()
    c.optim.name = "momentum"  # the original's momentum SGD; 'adam' for short CPU runs (make_demo)
    c.optim.schedule = "sgdr"
    c.optim.lr = 0.001  # cfg.TRAIN.LEARNING_RATE * 10, as the HICO solver uses
    c.optim.first_decay_steps = 80_000
    c.optim.t_mul = 2.0
    c.optim.decay_steps = 20_000
    c.optim.decay_rate = 0.96
    c.optim.momentum = 0.9
    c.optim.clip_norm = 1.0  # per variable
    c.optim.weight_decay = 0.0  # never applied by the original
    c.optim.fixed_blocks = 1  # stem + block1 frozen
    c.optim.train_only = ""  # regex: only these train (e.g. 'binary' = D-only, TRAIN_MODULE_UPDATE 2)
    c.optim.freeze = ""  # regex of further frozen parameters
    c.optim.shard_state = False  # shard the momentum over the devices (ZeRO-1) instead of replicating it

    # Transfer (the T of RC_T / RP_T C_D): every ``every``-th step trains D alone on the
    # images of another converted dataset; interactiveness labels mean the same in every
    # HOI dataset, HOI classes do not. ``hold``: parameters such a step leaves untouched
    # (the HOI classifier, which D's loss does not reach), momentum included.
    c.transfer = ml_collections.ConfigDict()
    c.transfer.enabled = False  # a transfer config: data_dirs must name other converted datasets
    c.transfer.data_dirs = ()
    c.transfer.every = 2
    c.transfer.hold = r"^(fc8_S|fc9_S|fc7_SHsp|Concat_SHsp|cls_score_(H|O|sp))"

    c.total_steps = 2_000_000
    c.log_every = 100
    c.checkpoint_every = 10_000
    # Evaluate on the test split every this many steps (and at the end): eval_<step>/, TensorBoard,
    # metrics.jsonl, learning_curves.png. 0 = never (evaluate.py afterwards).
    c.eval_every = 0
    c.keep_checkpoints = 3  # keep-last-K
    # TF checkpoint (ImageNet resnet_v1_50, released TIN), torchvision ResNet-50 (.pth/.pt/
    # .safetensors) or one of our workdirs (tin_jax/checkpoints/init_from.py); evaluate.py takes
    # a TIN checkpoint or a workdir from it when --workdir holds no checkpoint
    c.init_from = ""
    c.init_kind = "auto"  # 'auto' | 'workdir' | 'tf_tin' | 'tf_resnet' | 'torch_resnet'
    c.resume = ""  # a workdir to continue from when --workdir holds no checkpoint
    # more compilations than this indicate shape churn: error. 0 = twice what the buckets
    # allow (image buckets x human table sizes)
    c.compile_limit = 0

    c.eval = ml_collections.ConfigDict()
    c.eval.anno_dir = ""  # anno_bbox.mat + anno.mat (the official GT): required to evaluate HICO-DET
    # 'mat': anno_bbox.mat + anno.mat; 'json': instances_{test,train}2015.json in anno_dir (the
    # layout UPT / PViC / GEN-VLKT read), with anno.mat too when present (the exact Known Object)
    c.eval.anno_format = "mat"
    c.eval.human_thresh = 0.8  # Test_TIN_HICO.py defaults (V-COCO: 0.6 / 0.4)
    c.eval.object_thresh = 0.3
    c.eval.fallback = "fixed"  # top-4 x top-4 pairs for images with none; 'original' keeps its -1 bug
    c.eval.lis = True  # low-grade instance suppression on the detection scores
    c.eval.nis = True  # non-interaction suppression with D's scores
    c.eval.top_k = 19_999  # per HOI, as the original export
    c.eval.pairs_per_slot = 64  # pairs per forward-pass slot (one image each)
    c.eval.boxes_per_slot = 16  # distinct human / object boxes per slot (0 = per-pair boxes)
    c.eval.checkpoint_step = 0  # 0 = latest
    c.eval.d_workdir = ""  # NIS with D from this other workdir's model (e.g. configs/rcd3.py)
    # V-COCO (Vcoco_lis_nis.py): the v-coco checkout with data/vcoco/vcoco_test.json etc.,
    # prior_flag 3 = apply_prior + prior_mask (the mask pickle is optional: '' skips it)
    c.eval.vcoco_root = ""  # required to evaluate V-COCO
    c.eval.vcoco_prior_flag = 3
    c.eval.vcoco_prior_mask = ""
    return c


def vcoco_config() -> ml_collections.ConfigDict:
    """The V-COCO settings over the base (config_vcoco.py, Test_TIN_VCOCO.py)."""
    c = base_config()
    c.dataset = "vcoco"
    c.optim.schedule = "exponential"
    c.optim.lr = 2e-6
    c.optim.decay_steps = 20_000
    c.optim.decay_rate = 0.96
    c.total_steps = 20_000
    c.checkpoint_every = 10_000
    c.loss.terms = ("H", "O", "sp", "binary")
    c.eval.human_thresh = 0.6
    c.eval.object_thresh = 0.4
    c.eval.fallback = "none"  # the V-COCO test script has no fallback: a human without objects is skipped
    return c


def use_demo_data(c: ml_collections.ConfigDict, out: str = "out/demo") -> ml_collections.ConfigDict:
    """The paths ``make demo`` writes (the embedded synthetic data, converted): the defaults of
    the ``:runlocal`` and ``:demo`` sizes only; the full configs name no data."""
    other = "vcoco" if c.dataset == "hico" else "hico"
    c.data.dir = f"{out}/{c.dataset}"
    c.eval.anno_dir = f"{out}/raw/hico_20160224_det"
    c.eval.vcoco_root = f"{out}/raw/v-coco"
    if c.transfer.get("enabled"):
        c.transfer.data_dirs = (f"{out}/{other}",)
    return c


def make_runlocal(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The same experiment shrunk to run in minutes on a laptop CPU (tests, demo)."""
    use_demo_data(c)
    c.model.width = 8
    c.model.fc_dim = 128
    c.data.max_long_side = 160
    c.data.image_buckets = ((160, 160),)
    c.data.shuffle_buffer = 64
    c.optim.schedule = "constant"
    c.optim.lr = 0.01
    c.total_steps = 20
    c.log_every = 5
    c.checkpoint_every = 10
    return c


def make_demo(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The README demo's size: the same network and losses trained in minutes on 2 CPU cores,
    from scratch, on the embedded synthetic data. Each departure from the original, and why
    (the measurements are in the README's demo section):

    - a narrow ResNet-50 (width 8: every channel count / 8) and 128-wide heads. No pretrained
      weights exist for it, so its frozen BN statistics are calibrated on a few images;
    - images at their original resolution, as TIN trains (the synthetic ones are at most
      480 px): at width 8 the backbone is a small part of a step, while a 160 px cap shrinks
      cups and phones below one cell of the stride-16 feature map;
    - fewer pairs per step (3 jittered positives per chunk instead of 15, at most 16 negatives
      instead of 60): a step's cost is mostly the interaction-pattern CNNs, per pair, so this
      sees ~3x more images in the same time;
    - Adam instead of momentum SGD, with TIN's cosine decay over the run: the HOI losses are
      means over 600 classes, so each class's gradient is ~1/100 of D's; momentum SGD at the
      original's lr needs its ~10^6 steps for the HOI heads to move, and at an lr that moves
      them in 10^3 steps it breaks D (or diverges). Adam scales each parameter's step itself;
    - D reads every pair's real object features in training (``d_negative_copy`` off): with the
      original's copy D learns to tell training positives from negatives by where the copied
      feature came from, a shortcut that does not exist at test time.
    """
    use_demo_data(c)
    c.model.width = 8
    c.model.fc_dim = 128
    c.model.d_negative_copy = False
    c.data.max_long_side = 0
    c.data.image_buckets = ((320, 480), (480, 320))
    c.data.shuffle_buffer = 256
    c.data.pos_augment = 3
    c.data.neg_select = 16
    c.optim.name = "adam"
    c.optim.lr = 0.001
    c.optim.schedule = "sgdr"
    c.total_steps = 600
    c.optim.first_decay_steps = c.total_steps  # one cosine over the run
    c.log_every = 50
    c.checkpoint_every = 150
    return c


def apply_size(c: ml_collections.ConfigDict, arg: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """A config's ``:runlocal`` (tests) or ``:demo`` (the README demo's size) option."""
    if arg.get("runlocal"):
        make_runlocal(c)
    if arg.get("demo"):
        make_demo(c)
    return c


def transfer_config(arg, *, d_on_target: bool, nis: bool) -> ml_collections.ConfigDict:
    """The transfer variants: the target dataset's HOI classifier, D also (or only) trained
    on the other dataset. ``arg``: ``target=hico|vcoco``, ``runlocal``."""
    arg = parse_arg(arg, target="hico", runlocal=False)
    if arg.target not in ("hico", "vcoco"):
        raise ValueError(f"target must be 'hico' or 'vcoco', got {arg.target!r}")
    c = base_config() if arg.target == "hico" else vcoco_config()
    c.transfer.enabled = True  # config.transfer.data_dirs must name the other datasets
    if not d_on_target:
        c.loss.terms = tuple(t for t in c.loss.terms if t != "binary")
    c.eval.nis = nis
    if arg.runlocal:
        make_runlocal(c)
    return c
