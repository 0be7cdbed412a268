"""Writing helpers shared by the synthetic HICO-DET and V-COCO files: JPEGs and pickle entries."""

from __future__ import annotations

import os

import cv2
import numpy as np

from data_prep.synthetic import scenes

JPEG_QUALITY = 90


def write_jpeg(path: str, image_bgr: np.ndarray) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ok, buf = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError(f"cannot encode {path}")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(buf.tobytes())
    os.replace(tmp, path)


def pose_list(keypoints: np.ndarray | None) -> list[float] | None:
    """AlphaPose pose as the pickles store it: a flat list of 51 Python floats."""
    if keypoints is None:
        return None
    return [float(v) for v in np.asarray(keypoints, np.float64).reshape(-1)]


def target_box(scene: "scenes.Scene", inter: "scenes.Interaction") -> np.ndarray:
    return (scene.people[inter.target] if inter.target_is_person else scene.objects[inter.target]).box


def gt_pose(rng: np.random.Generator, person: "scenes.Person", missing_rate: float):
    """The GT pose is AlphaPose's estimate: sometimes missing (None)."""
    return None if rng.random() < missing_rate else pose_list(person.keypoints)


def detection_entry(image_key, det: "scenes.Detection") -> list:
    return [image_key, "Human" if det.is_human else "Object", np.asarray(det.box, np.float32),
            float("nan"), int(det.category), np.float32(det.score),
            pose_list(det.pose) if det.is_human and det.pose is not None else None]
