"""The public records of a scene: people, objects, interactions, the scene, detections."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tin_jax.schema import classes


@dataclass
class Person:
    box: np.ndarray        # (4,) float32 [x1, y1, x2, y2], 0-based pixels
    keypoints: np.ndarray  # (17, 3) float32 (x, y, score), COCO order


@dataclass
class Obj:
    box: np.ndarray        # (4,) float32
    category: int          # 1..80 (never 1 here: people are in Scene.people)


@dataclass
class Interaction:
    human: int                     # index into Scene.people
    target: int                    # index into Scene.people (target_is_person) or Scene.objects
    target_is_person: bool
    hoi_ids: tuple[int, ...]       # 0-based HICO-DET HOI ids
    vcoco_classes: tuple[str, ...]  # TIN V-COCO class names; () for no_interaction pairs

    @property
    def interactive(self) -> bool:
        """False for pairs labelled only with their object's no_interaction HOI."""
        return not all(h in classes.NO_INTERACTION_HOIS for h in self.hoi_ids)


@dataclass
class Scene:
    image_id: int
    width: int
    height: int
    people: list[Person]
    objects: list[Obj]
    interactions: list[Interaction]
    person_actions: list[tuple[str, ...]]  # per person, all V-COCO class names
    image: np.ndarray                      # (H, W, 3) uint8 BGR
    type_names: list[str] = field(default_factory=list)  # catalogue type of each interaction

    def target_box(self, inter: Interaction) -> np.ndarray:
        return (self.people[inter.target].box if inter.target_is_person
                else self.objects[inter.target].box)

    def target_category(self, inter: Interaction) -> int:
        return 1 if inter.target_is_person else self.objects[inter.target].category


@dataclass
class Detection:
    box: np.ndarray             # (4,) float32, clipped to the image
    is_human: bool
    category: int               # 1..80, 1 for humans
    score: float
    pose: np.ndarray | None     # (17, 3) float32 for humans, else None
