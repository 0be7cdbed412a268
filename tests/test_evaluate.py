"""evaluate.py beyond the single-host HICO-DET path: V-COCO end to end, and inference
sharded over devices and over hosts (jax.distributed on 127.0.0.1) giving the same files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT, TINY_FLAGS, shrink
from tests.test_train import TINY, _env, _free_port, _run
from tin_jax.evaluation import hico_det

def _train(config, data_dir, workdir, steps=2):
    _run([sys.executable, "train.py", "--config", f"configs/{config}.py:runlocal", "--workdir",
          str(workdir), f"--config.data.dir={data_dir}", *TINY, f"--config.total_steps={steps}",
          f"--config.checkpoint_every={steps}"])


def _evaluate_cmd(config, data_dir, workdir, out, *extra):
    return [sys.executable, "evaluate.py", "--config", f"configs/{config}.py:runlocal", "--workdir",
            str(workdir), f"--config.data.dir={data_dir}", *TINY_FLAGS, f"--out_dir={out}", *extra]


@pytest.fixture(scope="session")  # built once per worker; its tests share an xdist group
def hico_checkpoint(hico_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("hico_ckpt")
    _train("tin_hico", hico_dir, work)
    return work


@pytest.mark.xdist_group("evaluate_hosts")
def test_sharded_and_multihost_inference_write_the_same_results(raw_dir, hico_dir, hico_checkpoint,
                                                                tmp_path):
    anno = f"--config.eval.anno_dir={os.path.join(raw_dir, 'hico_20160224_det')}"
    one = tmp_path / "one"
    _run(_evaluate_cmd("tin_hico", hico_dir, hico_checkpoint, one, anno))
    eight = tmp_path / "eight"
    _run(_evaluate_cmd("tin_hico", hico_dir, hico_checkpoint, eight, anno), devices=8)
    two = tmp_path / "two"
    port = _free_port()
    procs = [subprocess.Popen(
        _evaluate_cmd("tin_hico", hico_dir, hico_checkpoint, two, anno,
                      f"--coordinator_address=127.0.0.1:{port}", "--num_processes=2", f"--process_id={i}"),
        cwd=ROOT, env=_env(1), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    assert "Known Object" in outs[0][0] and "Known Object" not in outs[1][0]  # process 0 prints
    gt = hico_det.load_ground_truth(os.path.join(raw_dir, "hico_20160224_det"))
    ref = hico_det.read_official_detections(one / "detections", gt)
    assert ref.num_detections.sum() > 0
    for other in (eight, two):
        # the same detections; scores equal up to float reduction order across partitionings
        got = hico_det.read_official_detections(other / "detections", gt)
        for c, (x, y) in enumerate(zip(ref.per_class, got.per_class)):
            kx, ky = _canonical(x), _canonical(y)
            np.testing.assert_array_equal(kx[0], ky[0], err_msg=f"{other} class {c}")
            np.testing.assert_allclose(kx[1], ky[1], rtol=1e-5, atol=1e-9, err_msg=f"{other} class {c}")
        a, b = json.load(open(one / "results.json")), json.load(open(other / "results.json"))
        assert _numbers(a) == pytest.approx(_numbers(b), abs=1e-9)


def _canonical(dets):
    """(image + boxes rows, scores) in a fixed row order."""
    keys = np.column_stack([dets.image, dets.boxes.reshape(len(dets.image), 8)])
    order = np.lexsort(keys.T[::-1])
    return keys[order], np.asarray(dets.scores)[order]


def _numbers(tree):
    if isinstance(tree, dict):
        return [x for k in sorted(tree) for x in _numbers(tree[k])]
    if isinstance(tree, list):
        return [x for v in tree for x in _numbers(v)]
    return [tree] if isinstance(tree, (int, float)) and tree is not None else []


@pytest.fixture(scope="session")  # built once per worker; its tests share an xdist group
def vcoco_checkpoint(vcoco_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("vcoco_ckpt")
    _train("tin_vcoco", vcoco_dir, work, steps=4)
    return work


@pytest.mark.xdist_group("evaluate_vcoco")
def test_vcoco_evaluate_end_to_end(raw_dir, vcoco_dir, vcoco_checkpoint, tmp_path):
    from tin_jax.evaluation import vcoco
    out = tmp_path / "eval"
    root = f"--config.eval.vcoco_root={os.path.join(raw_dir, 'v-coco')}"
    proc = _run(_evaluate_cmd("tin_vcoco", vcoco_dir, vcoco_checkpoint, out, root))
    assert "V-COCO role mAP" in proc.stdout and "Scenario 2" in proc.stdout, proc.stdout
    result = json.load(open(out / "results.json"))
    assert result
    # the written detection list is vsrl_eval's input: scoring it again gives the printed table
    dets = vcoco.read_vsrl_detections(str(out / "detections_vsrl.pkl"))
    assert dets
    again = vcoco.evaluate_vcoco(vcoco.load_ground_truth(os.path.join(raw_dir, "v-coco")), dets)
    assert again.format_table() in proc.stdout
    # a HICO-DET config on V-COCO data still routes to the V-COCO protocol; a wrong root is one line
    bad = _run(_evaluate_cmd("tin_vcoco", vcoco_dir, vcoco_checkpoint, tmp_path / "bad",
                             f"--config.eval.vcoco_root={tmp_path / 'nowhere'}"), check=False)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith("error: ")


@pytest.mark.xdist_group("evaluate_vcoco")
def test_human_score_does_not_depend_on_the_object(vcoco_dir, vcoco_checkpoint):
    """V-COCO's agent score for object-less actions is sigmoid(H) of a human-only pass in the
    original; evaluate.py takes it from any pair of that human. Same value, checked here
    against passes with different objects and with the human itself as the object."""
    from jax.sharding import NamedSharding, PartitionSpec as P
    from configs import tin_vcoco
    from tin_jax.inference import runner
    from tin_jax.inference import scoring
    from tin_jax.state import model as state_model
    config = tin_vcoco.get_config("runlocal")
    config.data.dir = vcoco_dir
    shrink(config)
    mesh = state_model.make_mesh()
    _, parts, params, stats, _ = scoring.load_model(config, str(vcoco_checkpoint), NamedSharding(mesh, P()))
    items = runner.test_items(vcoco_dir, 0.0, 0.0, "none")
    item = next(it for it in items if len(set(it.meta["human_index"].tolist())) < len(it.human_boxes))
    h = item.meta["human_index"][0]
    rows = np.flatnonzero(item.meta["human_index"] == h)
    solo = runner.PairItem(item.encoded, item.height, item.width, item.human_boxes[rows[:1]],
                              item.human_boxes[rows[:1]], item.poses[:1])
    got = runner.run_items(scoring.predict_fn(parts, params, stats), [item, solo], mesh=mesh,
                              max_long_side=96, buckets=((96, 96),))
    pair_h = got[0]["human_scores"][rows]
    assert len(pair_h) >= 2
    np.testing.assert_allclose(pair_h, np.broadcast_to(got[1]["human_scores"][0], pair_h.shape), rtol=1e-5)
    # and the pair scores do depend on the object (the check above is not vacuous)
    assert not np.allclose(got[0]["hoi_scores"][rows[0]], got[0]["hoi_scores"][rows[1]])


def _eval_config(config_name, data_dir, arg="runlocal"):
    import importlib
    config = importlib.import_module(f"configs.{config_name}").get_config(arg)
    config.data.dir = data_dir
    shrink(config)
    return config


@pytest.mark.xdist_group("evaluate_hosts")
def test_nis_can_take_d_from_a_separate_model(hico_dir, hico_checkpoint, tmp_path):
    """config.eval.d_workdir: HOI scores from one model, D's from another (as the released
    numbers and TPAMI's RCD_3 were made)."""
    import jax
    import jax.numpy as jnp
    from jax.sharding import NamedSharding, PartitionSpec as P
    from tin_jax.inference import runner
    from tin_jax.inference import scoring
    from tin_jax.state import model as state_model, spec as model_spec, store
    from tin_jax.data import input_pipeline as ip
    config = _eval_config("tin_hico", hico_dir)
    mesh = state_model.make_mesh()
    repl = NamedSharding(mesh, P())
    _, parts, params, stats, _ = scoring.load_model(config, str(hico_checkpoint), repl)
    # the other model: the same network with another D (its binary layers moved)
    other = tmp_path / "other_d"
    d_params = jax.tree_util.tree_map_with_path(
        lambda p, x: x + 0.3 * jnp.sign(x) if "binary" in jax.tree_util.keystr(p) else x, params)
    mngr = store.manager(str(other))
    store.save(mngr, dict(params=d_params, stats=stats, step=jnp.asarray(1, jnp.int32)), model_spec.spec_of(config, ip.load_info(config.data.dir).metadata), config.seed)
    mngr.wait_until_finished()
    shutil.copy(hico_checkpoint / "config.json", other / "config.json")

    items = [it for it in runner.test_items(hico_dir, 0.8, 0.3)[:6] if len(it.human_boxes)]
    score = lambda fn: runner.run_items(fn, items, mesh=mesh, max_long_side=96, buckets=((160, 160),))
    main_fn = scoring.predict_fn(parts, params, stats)
    config.eval.d_workdir = str(other)
    main, d_only, mixed = (score(main_fn), score(scoring.predict_fn(parts, d_params, stats)),
                           score(scoring.scoring_fn(config, parts, params, stats, mesh)))
    assert sum(len(r["binary"]) for r in mixed) > 0
    for a, b, m in zip(main, d_only, mixed):
        np.testing.assert_allclose(m["hoi_scores"], a["hoi_scores"], rtol=1e-6)
        np.testing.assert_allclose(m["binary"], b["binary"], rtol=1e-6)
    assert not any(np.allclose(a["binary"], b["binary"]) for a, b in zip(main, d_only))
    # a model without D gets NIS from the separate one
    rc_d = _eval_config("rc_d", hico_dir)
    rc_d.eval.nis = True
    assert not scoring.uses_nis(rc_d, model_spec.spec_of(rc_d, {"num_labels": 600, "dataset": "hico"}))
    rc_d.eval.d_workdir = str(other)
    assert scoring.uses_nis(rc_d, model_spec.spec_of(rc_d, {"num_labels": 600, "dataset": "hico"}))


def test_slots_cover_every_pair_once_within_the_box_caps():
    from tin_jax.inference import runner
    rng = np.random.default_rng(0)
    items = []
    for _ in range(30):  # humans x objects products, with repeats and a few odd pairs
        nh, no = rng.integers(1, 9), rng.integers(1, 40)
        humans, objects = rng.uniform(0, 100, (nh, 4)), rng.uniform(0, 100, (no, 4))
        hi, oi = np.meshgrid(np.arange(nh), np.arange(no), indexing="ij")
        keep = rng.random(hi.size) < 0.9
        items.append(runner.PairItem(b"", 1, 1, humans[hi.ravel()[keep]], objects[oi.ravel()[keep]],
                                        [None] * int(keep.sum())))
    items.append(runner.PairItem(b"", 1, 1, np.zeros((0, 4)), np.zeros((0, 4)), []))
    for pairs, boxes in ((64, 16), (32, 4), (5, 0)):
        slots = runner._slots(items, pairs, boxes)  # pylint: disable=protected-access
        for i, item in enumerate(items):
            got = np.sort(np.concatenate([idx for j, idx in slots if j == i] or [np.zeros(0, int)]))
            np.testing.assert_array_equal(got, np.arange(len(item.human_boxes)))
        for i, idx in slots:
            assert 0 < len(idx) <= pairs
            if boxes:
                for b in (items[i].human_boxes[idx], items[i].object_boxes[idx]):
                    assert len(np.unique(b, axis=0)) <= boxes


def test_evaluate_reads_the_hicodet_json_annotations_as_the_mat_route(raw_dir, tmp_path):
    """`config.eval.anno_format=json`: instances_{test,train}2015.json written from the same
    anno_bbox.mat give evaluate.py the same ground truth (every field the protocols read) and
    the same pairs for D's AP; the protocol on equal ground truth is tests/test_hicodet_json.py's."""
    import dataclasses
    from data_prep.synthetic.hicodet_json_files import write_hicodet_json_files
    from configs import tin_hico
    from tin_jax.inference import evaluator
    mat_dir = os.path.join(raw_dir, "hico_20160224_det")
    json_dir = tmp_path / "json_anno"
    json_dir.mkdir()
    write_hicodet_json_files(os.path.join(mat_dir, "anno_bbox.mat"), str(json_dir))
    shutil.copy(os.path.join(mat_dir, "anno.mat"), json_dir / "anno.mat")
    assert not (json_dir / "anno_bbox.mat").exists()
    config = tin_hico.get_config()
    config.eval.anno_dir = mat_dir
    want_gt, want_pairs = evaluator.load_test_ground_truth(config, "hico"), evaluator.interactiveness_gt_pairs(config)
    config.eval.anno_dir, config.eval.anno_format = str(json_dir), "json"
    got_gt, got_pairs = evaluator.load_test_ground_truth(config, "hico"), evaluator.interactiveness_gt_pairs(config)
    for f in dataclasses.fields(want_gt):
        a, b = getattr(want_gt, f.name), getattr(got_gt, f.name)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=f.name)
        elif f.name != "name":
            assert a == b, f.name
    assert want_pairs.keys() == got_pairs.keys()
    for k in want_pairs:
        for x, y in zip(dataclasses.astuple(want_pairs[k]), dataclasses.astuple(got_pairs[k])):
            np.testing.assert_array_equal(x, y)
    config.eval.anno_format = "xml"
    with pytest.raises(ValueError, match="anno_format='xml'"):
        evaluator.load_test_ground_truth(config, "hico")
