"""The 17-keypoint COCO skeleton of the synthetic people and their body proportions."""

from __future__ import annotations

KEYPOINT_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
#: Keypoint permutation that swaps left and right.
FLIP_PERM = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)

NOSE, L_EYE, R_EYE, L_EAR, R_EAR, L_SH, R_SH, L_EL, R_EL, L_WR, R_WR = range(11)
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANK, R_ANK = range(11, 17)

# Body proportions, in units of standing height (the unit of every layout).
UPPER_ARM, FOREARM = 0.16, 0.15
THIGH, SHIN = 0.245, 0.245
TORSO = 0.30           # hip centre -> neck
SHOULDER_HALF = 0.10
HIP_HALF = 0.055
NECK_HEAD = 0.10       # neck -> head centre
HEAD_R = 0.065
PROFILE = 0.35         # lateral squeeze of a side view
LIMB_HALF = 0.03       # half limb thickness (+ margin) for the tight person box
