"""The human body as TIN encodes it: 17 COCO/AlphaPose keypoints and 10 body parts."""

NUM_JOINTS = 17  # AlphaPose / COCO keypoint order
POSE_LEN = 3 * NUM_JOINTS  # (x, y, score) per keypoint, flattened as in the pickles

# TPAMI's body parts (HAKE's part_box_generation.py order); their boxes come from the pose.
PART_NAMES = ("RAnk", "RKnee", "LKnee", "LAnk", "Hip", "Head", "RHand", "RSho", "LSho", "LHand")
NUM_PARTS = len(PART_NAMES)
