r"""Writes the embedded synthetic dataset in the ORIGINAL raw formats.

    python -m data_prep.make_synthetic --out_dir Data --seed 0

The output is laid out like TIN's ``Data/`` folder (``script/download_dataset.sh``),
so the converter reads it through exactly the code path of the real files:

    Data/hico_20160224_det/images/{train2015,test2015}/HICO_{train,test}2015_%08d.jpg
    Data/hico_20160224_det/{anno_bbox.mat, anno.mat}
    Data/Trainval_GT_HICO_with_pose.pkl, Trainval_Neg_HICO_with_pose.pkl,
         Test_Faster_RCNN_R-50-PFN_2x_HICO_DET_with_pose.pkl
    Data/v-coco/coco/images/{train2014,val2014}/COCO_{train,val}2014_%012d.jpg
    Data/v-coco/data/{instances_vcoco_all_2014.json, vcoco/vcoco_*.json, splits/vcoco_*.ids}
    Data/Trainval_GT_VCOCO_with_pose.pkl, Trainval_Neg_VCOCO_with_pose.pkl,
         Test_Faster_RCNN_R-50-PFN_2x_VCOCO_with_pose.pkl

Pickles are Python-2 protocol-2 pickles (``py2pickle``), boxes in the ``.mat``
files are 1-based like the real annotations, pickle boxes 0-based.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from data_prep.synthetic import hico_files, vcoco_files


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out_dir", "--out", dest="out", required=True, help="output Data/ directory")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dataset", choices=["hico", "vcoco", "both"], default="both")
    p.add_argument("--hico_train", type=int, default=600)
    p.add_argument("--hico_test", type=int, default=80)
    p.add_argument("--vcoco_train", type=int, default=160)
    p.add_argument("--vcoco_test", type=int, default=60)
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if args.dataset in ("hico", "both"):
        s = hico_files.make_hico(args.out, np.random.default_rng([args.seed, 0]), args.hico_train, args.hico_test)
        print(f"hico: {s}")
    if args.dataset in ("vcoco", "both"):
        s = vcoco_files.make_vcoco(args.out, np.random.default_rng([args.seed, 1]),
                                   args.vcoco_train, args.vcoco_test)
        print(f"vcoco: {s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
