"""Transcription of HAKE's part-box rule (DirtyHarryLYL/HAKE-Action,
``script/part_box_generation.py``: ``map_17_to_16``, ``output_part_box``), one joint
and one branch at a time as there, kept as an independent reference for
``tin_jax.data.parts``. Only the I/O around the two functions is left out.
"""

import numpy as np


def map_17_to_16(joint_17):
    joint_16 = np.zeros((16, 3), dtype=np.float32)
    dict_map = {0: 16, 1: 14, 2: 12, 3: 11, 4: 13, 5: 15, 6: [11, 12], 7: [5, 6], 9: [1, 2],
                10: 10, 11: 8, 12: 6, 13: 5, 14: 7, 15: 9}
    for idx in range(16):
        if idx == 8:
            continue
        elif idx in [6, 7, 9]:
            for c in range(3):
                joint_16[idx, c] = (joint_17[dict_map[idx][0], c] + joint_17[dict_map[idx][1], c]) * 0.5
        else:
            joint_16[idx] = joint_17[dict_map[idx]]
    for c in range(3):
        joint_16[8, c] = joint_16[7, c] * 0.75 + joint_16[9, c] * 0.25
    return joint_16


def get_distance(joint, a, b):
    return np.sqrt((joint[a, 1] - joint[b, 1]) ** 2 + (joint[a, 0] - joint[b, 0]) ** 2)


def get_part_box(i, joint, half):
    part = [0, 1, 4, 5, 6, 9, 10, 12, 13, 15]
    cx, cy = joint[part[i], 0], joint[part[i], 1]
    return cx - half, cy - half, cx + half, cy + half


def output_part_box(joint, img_bbox):
    part_size = [1.2, 1, 1, 1.2, 1.2, 1.2, 0.9, 1, 1, 0.9]
    part = [0, 1, 4, 5, 6, 9, 10, 12, 13, 15]
    height = get_distance(joint, 6, 8)
    flag_bad_joint = 1 if (joint[8, 2] < 0.2) or (joint[6, 2] < 0.2) else 0
    group = {5: ((7, 8, 9), (7, 9)), 6: ((10, 11, 12), (10, 12)), 7: ((10, 11, 12), (10, 12)),
             8: ((13, 14, 15), (13, 15)), 9: ((13, 14, 15), (13, 15)), 0: ((0, 1, 2), (0, 2)),
             1: ((0, 1, 2), (0, 2)), 2: ((3, 4, 5), (3, 5)), 3: ((3, 4, 5), (3, 5))}
    bbox = np.zeros((10, 4), dtype=np.float32)
    for i in range(10):
        score_joint = joint[part[i], 2]
        if score_joint < 0.2:
            bbox[i] = img_bbox
        elif flag_bad_joint == 1:
            if i in group:
                members, (a, b) = group[i]
                if sum(joint[m, 2] for m in members) / 3 > 0.2:
                    bbox[i] = get_part_box(i, joint, get_distance(joint, a, b))
                else:
                    bbox[i] = img_bbox
            else:  # pelvis
                bbox[i] = img_bbox
        else:
            bbox[i] = get_part_box(i, joint, height * part_size[i] / 2)
    return np.concatenate([np.zeros((10, 1)), bbox], axis=1)
