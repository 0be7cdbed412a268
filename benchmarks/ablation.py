"""The CVPR paper's ablation on the synthetic benchmark: what interactiveness and NIS buy.

    python benchmarks/ablation.py [--seeds 0,1,2] [--steps 300] [--out out/ablation] [--data out/demo]

Variants, each at the demo's size (``configs/common.make_demo``: the same network width, images,
pairs per step, learning rate and number of training images for every variant):

- ``RC_D``: representation + HOI classifier, no interactiveness predictor (``configs/rc_d.py``);
  no NIS at test.
- ``RP_D C_D``: the classifier first (HOI losses only, half the steps), then jointly with a fresh
  D (the other half): ``configs/rp_d_c_d.py:phase=pretrain`` then ``phase=joint`` from it.
- ``TIN (joint)``: the repository's "interactiveness-optimized" default, HOI + D losses from the
  start (``configs/tin_hico.py``), all the steps.

Every variant trains the same number of steps (``--steps``; RP_D C_D: both phases together),
each phase with one cosine over its steps. Then, on the same
checkpoints, the test-time switches: NIS on/off (the variants with D) and LIS on/off. One forward
pass per checkpoint; the switches only change the post-processing. Reported per row: mean and
standard deviation over the seeds of the Default mAP over the HOI classes with test ground truth
(Full / Rare / Non-Rare), D's interactiveness AP (candidate pairs, the master protocol with every
HOI of an image searched), and what NIS does to the candidate pairs: how many it removes, how
many of those were truly non-interactive, how many truly interactive pairs it loses.

Training runs are resumable: a finished workdir is reused. Writes ``ablation.md``,
``ablation.json`` and ``ablation.png`` in ``--out`` and prints the table.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name -> list of (config file with its arg, fraction of the steps); phases run in order, each
# later phase initialised from the previous one's workdir.
VARIANTS = {
    "RC_D": [("configs/rc_d.py:demo", 1.0)],
    "RP_D C_D": [("configs/rp_d_c_d.py:phase=pretrain,demo", 0.5), ("configs/rp_d_c_d.py:phase=joint,demo", 0.5)],
    "TIN (joint)": [("configs/tin_hico.py:demo", 1.0)],
}
SWITCHES = (("LIS + NIS", True, True), ("LIS only", True, False), ("NIS only", False, True), ("neither", False, False))


def _run(*args: str) -> None:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def ensure_data(data: str) -> tuple[str, str]:
    """(converted HICO dir, annotation dir) of the demo's synthetic data, made if missing."""
    raw, hico = os.path.join(data, "raw"), os.path.join(data, "hico")
    if not os.path.exists(os.path.join(hico, "manifest.json")):
        _run("-m", "data_prep.make_synthetic", "--out_dir", raw, "--seed", "0", "--dataset", "hico")
        _run("-m", "data_prep.convert", "--dataset", "hico", "--data_dir", raw, "--out_dir", hico,
             "--images_per_shard", "32", "--no_progress", "--overwrite")
    return hico, os.path.join(raw, "hico_20160224_det")


def _config(spec: str, **overrides):
    path, _, arg = spec.partition(":")
    module = importlib.import_module("configs." + os.path.splitext(os.path.basename(path))[0])
    c = module.get_config(arg or None)
    for key, value in overrides.items():
        node = c
        *parents, leaf = key.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    return c


def train_variant(name: str, seed: int, out: str, hico: str, anno: str, total: int) -> tuple[str, str, float]:
    """Trains every phase of ``name`` for ``total`` steps in all (skipping finished phases);
    returns (last phase's config spec, its workdir, training seconds)."""
    previous, spent = "", 0.0
    for k, (spec, fraction) in enumerate(VARIANTS[name]):
        workdir = os.path.join(out, f"{name.replace(' ', '_').replace('(', '').replace(')', '')}_s{seed}_p{k}")
        steps = int(round(total * fraction))
        done = os.path.join(workdir, "checkpoints", str(steps))
        if not os.path.isdir(done):
            t0 = time.perf_counter()
            args = ["train.py", "--config", spec, "--workdir", workdir, "--progress=false",
                    f"--config.seed={seed}", f"--config.total_steps={steps}", f"--config.optim.first_decay_steps={steps}",
                    f"--config.data.dir={hico}",
                    f"--config.eval.anno_dir={anno}", "--config.eval_every=0"]
            if previous:
                args.append(f"--config.init_from={previous}")
            _run(*args)
            spent += time.perf_counter() - t0
        previous = workdir
    return VARIANTS[name][-1][0], previous, spent


def nis_counts(per_image: list[dict], gt_pairs: dict) -> dict[str, int]:
    """Candidate pairs NIS removes, and how many of those are truly (non-)interactive: a pair is
    interactive when it matches (IoU > 0.5 for both boxes) a GT pair of an interactive HOI."""
    from tin_jax.inference import postprocess  # pylint: disable=g-import-not-at-top
    from tin_jax.evaluation import binary  # pylint: disable=g-import-not-at-top
    out = dict(pairs=0, interactive=0, removed=0, removed_non_interactive=0, removed_interactive=0)
    for r in per_image:
        pairs = binary.PairScores(r["human_boxes"], r["object_boxes"], r["binary"])
        truly = binary.master_interactiveness_labels(pairs, gt_pairs[binary.hico_image_id(r["filename"])],
                                                     first_hoi_only=False, include_no_interaction=False)
        removed = postprocess.hico_non_interactive(r["binary"], r["object_class"])
        if r["is_fallback"]:
            removed = np.zeros_like(removed)
        out["pairs"] += len(truly)
        out["interactive"] += int(truly.sum())
        out["removed"] += int(removed.sum())
        out["removed_non_interactive"] += int((removed & ~truly).sum())
        out["removed_interactive"] += int((removed & truly).sum())
    return out


def evaluate_variant(spec: str, workdir: str, seed: int, hico: str, anno: str) -> list[dict]:
    """One forward pass over the test split, then every test-time switch."""
    from jax.sharding import NamedSharding, PartitionSpec as P  # pylint: disable=g-import-not-at-top
    from tin_jax.data import input_pipeline as ip  # pylint: disable=g-import-not-at-top
    from tin_jax.inference import evaluator  # pylint: disable=g-import-not-at-top
    from tin_jax.inference import scoring
    from tin_jax.state import model as state_model, spec as model_spec
    from tin_jax.evaluation import binary  # pylint: disable=g-import-not-at-top
    config = _config(spec, **{"seed": seed, "data.dir": hico, "eval.anno_dir": anno})
    mesh = state_model.make_mesh()
    info = ip.load_info(config.data.dir)
    _, parts, params, stats, _ = scoring.load_model(config, workdir, NamedSharding(mesh, P()))
    per_image = evaluator.run_inference(config, parts, params, stats, mesh, info.num_labels)
    gt = evaluator.load_test_ground_truth(config, "hico")
    has_d = model_spec.model_config(config, info.metadata).interactiveness
    counts = nis_counts(per_image, binary.read_gt_pairs(os.path.join(anno, "anno_bbox.mat"))) if has_d else None
    rows = []
    for label, lis, nis in SWITCHES:
        if nis and not has_d:
            continue
        config.eval.lis, config.eval.nis = lis, nis
        scalars = evaluator.report(config, info, gt, per_image, None).scalars
        rows.append(dict(switch=label, lis=lis, nis=nis, seed=seed, **scalars,
                         **({f"nis/{k}": v for k, v in counts.items()} if nis and counts else {})))
    return rows


def _mean_std(values: list[float]) -> tuple[float, float]:
    values = [v for v in values if v is not None and np.isfinite(v)]
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _cell(values: list[float]) -> str:
    m, s = _mean_std([100 * v for v in values])
    return "-" if np.isnan(m) else f"{m:.1f} ± {s:.1f}"


def summarise(rows: list[dict], seeds: list[int]) -> tuple[str, list[dict]]:
    """The Markdown table (mean ± std over seeds) and its rows as data."""
    table = ["| variant | test time | Default mAP Full | Rare | Non-Rare | ceiling (Full) | D's AP "
             "| NIS removes (of them truly non-interactive) | interactive pairs NIS loses |",
             "|---|---|---|---|---|---|---|---|---|"]
    data = []
    for variant in VARIANTS:
        for label, _, _ in SWITCHES:
            sel = [r for r in rows if r["variant"] == variant and r["switch"] == label]
            if not sel:
                continue
            get = lambda k: [r.get(k, float("nan")) for r in sel]  # noqa: E731
            nis = ""
            lost = ""
            if "nis/removed" in sel[0]:
                removed, good = get("nis/removed"), get("nis/removed_non_interactive")
                nis = (f"{statistics.fmean(removed):.0f} of {sel[0]['nis/pairs']:.0f} "
                       f"({100 * sum(good) / max(sum(removed), 1):.0f}%)")
                lost = (f"{statistics.fmean(get('nis/removed_interactive')):.1f} of "
                        f"{sel[0]['nis/interactive']:.0f}")
            table.append(f"| {variant} | {label} | {_cell(get('eval/present/def/full'))} | "
                         f"{_cell(get('eval/present/def/rare'))} | {_cell(get('eval/present/def/non_rare'))} | "
                         f"{_cell(get('eval/ceiling/def/full'))} | {_cell(get('eval/binary_ap'))} | "
                         f"{nis or '-'} | {lost or '-'} |")
            m, s = _mean_std(get("eval/present/def/full"))
            data.append(dict(variant=variant, switch=label, mean=m, std=s, seeds=len(sel)))
    table.append("")
    table.append(f"Mean ± standard deviation over {len(seeds)} seeds ({', '.join(map(str, seeds))}) of "
                 "the model's initialisation and data order; mAP (%) over the HOI classes with test GT, "
                 "Default setting; D's AP (%) over the candidate pairs.")
    return "\n".join(table), data


def plot(data: list[dict], path: str) -> str:
    from tin_jax.evaluation import reports  # pylint: disable=g-import-not-at-top
    fig = reports.new_figure((1100, 480))
    ax = fig.add_subplot(1, 1, 1)
    switches = [s for s, _, _ in SWITCHES]
    width = 0.8 / len(switches)
    for k, switch in enumerate(switches):
        xs, ms, ss = [], [], []
        for i, variant in enumerate(VARIANTS):
            row = next((d for d in data if d["variant"] == variant and d["switch"] == switch), None)
            if row is not None:
                xs.append(i + (k - (len(switches) - 1) / 2) * width)
                ms.append(100 * row["mean"])
                ss.append(100 * row["std"])
        ax.bar(xs, ms, width, yerr=ss, capsize=3, label=f"test time: {switch}")
    ax.set_xticks(range(len(VARIANTS)), list(VARIANTS))
    ax.set_ylabel("Default mAP (%), classes with test GT")
    ax.set_title("Ablation on the synthetic benchmark (mean ± std over seeds)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return reports.save_png(fig, path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--out_dir", "--out", dest="out", default="out/ablation")
    p.add_argument("--data", default="out/demo", help="holds raw/ and hico/ (made if missing)")
    p.add_argument("--steps", type=int, default=300, help="training steps of every variant")
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    hico, anno = ensure_data(os.path.abspath(args.data))
    rows, seconds = [], {}
    t0 = time.perf_counter()
    for seed in seeds:
        for variant in VARIANTS:
            spec, workdir, spent = train_variant(variant, seed, out, hico, anno, args.steps)
            seconds[f"{variant} seed {seed}"] = spent
            print(f"trained {variant} seed {seed} in {spent:.0f} s", flush=True)
            rows += [dict(variant=variant, **r) for r in evaluate_variant(spec, workdir, seed, hico, anno)]
    table, data = summarise(rows, seeds)
    with open(os.path.join(out, "ablation.md"), "w") as f:
        f.write(table + "\n")
    with open(os.path.join(out, "ablation.json"), "w") as f:
        json.dump(dict(rows=rows, summary=data, train_seconds=seconds), f, indent=1)
    plot(data, os.path.join(out, "ablation.png"))
    print(table)
    print(f"\n{len(seeds) * len(VARIANTS)} trainings + evaluations in {time.perf_counter() - t0:.0f} s; "
          f"{out}/ablation.md, ablation.json, ablation.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
