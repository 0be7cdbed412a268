"""V-COCO command line: ``python -m tin_jax.evaluation.vcoco --vcoco_root DIR --detections dets.pkl [--out_json F]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tin_jax.evaluation.vcoco.detections import read_vsrl_detections
from tin_jax.evaluation.vcoco.ground_truth import load_ground_truth
from tin_jax.evaluation.vcoco.protocol import evaluate_vcoco
from tin_jax.io.errors import DataFormatError

__all__ = ["main"]


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tin_jax.evaluation.vcoco",
                                description="V-COCO agent/role AP (vsrl_eval semantics) of a vsrl detection pickle.")
    p.add_argument("--vcoco_root", required=True, help="v-coco repository root (holds data/)")
    p.add_argument("--detections", required=True, help="vsrl detection pickle (list of per-person dicts)")
    p.add_argument("--split", default="test", help="V-COCO split (default: test)")
    p.add_argument("--ovr_thresh", type=float, default=0.5, help="IoU threshold (default: 0.5)")
    p.add_argument("--out_json", "--json", dest="json", default=None, help="also write the result as JSON to this file")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Evaluate and print vsrl_eval's report; 0 on success, 2 (one-line error) on bad input."""
    args = _parse_args(argv)
    try:
        gt = load_ground_truth(args.vcoco_root, args.split)
        result = evaluate_vcoco(gt, read_vsrl_detections(args.detections), args.ovr_thresh)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                f.write(result.to_json() + "\n")
    except (DataFormatError, OSError) as e:
        print(f"error: {e}".replace("\n", " "), file=sys.stderr)
        return 2
    print(result.format_table())
    return 0
