"""HICO-DET command line: ``python -m tin_jax.evaluation.hico_det --anno_dir DIR --detections DIR [--format tin]
[--out_json F] [--out_csv F]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tin_jax.evaluation.hico_det.detection_files import (
    read_compact_detections,
    read_official_detections,
    read_tin_detections,
)
from tin_jax.evaluation.hico_det.ground_truth import load_ground_truth
from tin_jax.evaluation.hico_det.protocol import evaluate
from tin_jax.io.errors import DataFormatError

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m tin_jax.evaluation.hico_det",
                description="HICO-DET mAP with the official ho-rcnn protocol (Default and Known Object).")
    p.add_argument("--anno_dir", required=True, help="folder with anno_bbox.mat and anno.mat")
    p.add_argument("--detections", required=True,
                   help="folder with detections_01.mat .. detections_80.mat, or a compact .npz file")
    p.add_argument("--format", choices=("official", "tin", "compact"), default="official",
                   help="official: all_boxes{k, image} cells (Generate_detection.m output, what eval_one.m reads); "
                        "tin: TIN's [Hbox, Obox, image_id, k, score] lists (rounded as Generate_detection.m does); "
                        "compact: our .npz of flat rows (hoi, image file name, boxes, scores); "
                        "a path ending in .npz is read as compact")
    p.add_argument("--out_json", help="write the summary and per-class results as JSON")
    p.add_argument("--out_csv", help="write per-class AP / recall as CSV")
    p.add_argument("--style", choices=("console", "markdown", "matlab"), default="console")
    p.add_argument("--noko_check", "--no_ko_check", dest="no_ko_check", action="store_true",
                   help="skip eval_one.m's assertion that no GT lies on images the Known Object setting drops")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Evaluate and print the table; 0 on success, 2 (one-line error) on bad input, 130 if interrupted."""
    args = _parser().parse_args(argv)
    try:
        gt = load_ground_truth(args.anno_dir)
        fmt = "compact" if str(args.detections).endswith(".npz") else args.format
        reader = {"official": read_official_detections, "tin": read_tin_detections,
                  "compact": read_compact_detections}[fmt]
        dets = reader(args.detections, gt)
        result = evaluate(gt, dets, check_known_object=not args.no_ko_check)
        print(result.format_table(args.style))
        if args.out_json:
            result.write_json(args.out_json)
        if args.out_csv:
            result.write_csv(args.out_csv)
    except (DataFormatError, OSError) as e:
        sys.stderr.write(f"error: {' '.join(str(e).split())}\n")
        return 2
    except MemoryError:
        sys.stderr.write("error: out of memory\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130
    except Exception as e:  # noqa: BLE001 - the CLI promises one line, never a traceback
        sys.stderr.write(f"error: unexpected {type(e).__name__}: {' '.join(str(e).split())}\n")
        return 2
    return 0
