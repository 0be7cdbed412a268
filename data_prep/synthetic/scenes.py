"""Synthetic human-object-interaction scenes that TIN can learn from.

Real HICO-DET / V-COCO images cannot be downloaded here, so the project trains and tests on
drawn scenes.  A scene holds 1-3 people (filled head + thick limbs drawn from 17 COCO
keypoints) and 1-4 objects of 8 COCO classes, each class with its own shape and colour.
Whether a person interacts with an object is decided by what is *visible*: the pose (a hand
on the cup, a foot on the ball, hips on the seat, the head turned to the laptop), the spatial
relation and the object's appearance.  People also stand right next to objects (or another
person) without interacting (relaxed pose) and objects lie around as distractors. The
annotation is complete: every person-object (and person-person) pair without an interaction
is annotated with the object's no_interaction HOI, so the label follows what is visible
(HICO-DET's annotators were not exhaustive). Groups are sometimes cut by the image border, so
box overlap alone does not decide interactiveness.

Public API (all randomness flows through an explicit ``np.random.Generator``; the same
generator state gives the same scene, image and detections):

* :data:`CATALOGUE` -- the interaction types (:class:`InteractionType`), each with its HICO
  (verb, object) pairs, V-COCO classes, body parts it uses, sampling weight and rarity.
* :func:`sample_scene` -- one :class:`Scene` (people, objects, GT interactions, V-COCO person
  actions, BGR image).
* :func:`detect` -- a Faster R-CNN imitation: :class:`Detection` list with jittered boxes,
  scores, misses, false positives, wrong classes and noisy poses for humans.
* :func:`negative_pairs` -- detection pairs that match no GT pair (iCAN ``Trainval_Neg``).

Rare types.  In the ``'train'`` split a rare type never comes from random sampling; with
``k = image_id % RARE_TRAIN_BLOCK`` it is placed in the scenes whose
``k % RARE_TRAIN_PERIOD == phase`` for the first ``rare_train_scenes`` such ids (phases 3, 13,
23, 33).  So a training set with consecutive ids starting at a multiple of 10,000 (or at 0 or
1) and fewer than 10,000 images holds each rare HOI between 1 and 9 times as soon as it has
more than 34 images (all scheduled instances from 184 images on: throw sports_ball 2,
hold backpack 4, carry/hold chair 5, hug person 6 = 3 scenes x both directions).  In
``'test'`` each rare type is placed in every scene with
``image_id % RARE_TEST_PERIOD == test phase`` (phases 2, 7, 12, 17: 5 % of test images each).
``type_weights`` can give a rare type a random-sampling weight too (then the guarantee is
the caller's business).

Besides the requested fields, ``Scene.type_names[k]`` names the catalogue type of
``Scene.interactions[k]`` ('no_interaction' for the pairs labelled with a no_interaction HOI).

Modules: :mod:`.catalogue` (interaction types, object classes, rare schedule),
:mod:`.skeleton` (keypoints, body proportions), :mod:`.geometry`, :mod:`.records` (the public
dataclasses), :mod:`.pose_planners` and :mod:`.person_layout` (one person with its objects),
:mod:`.groups` (one or two people laid out together), :mod:`.placement` (groups and
distractors in the image), :mod:`.scene_assembly` (drawing and annotation),
:mod:`.scene_sampler` (:func:`sample_scene`), :mod:`.detections` (:func:`detect`,
:func:`negative_pairs`).
"""

from __future__ import annotations

from data_prep.synthetic.catalogue import (CATALOGUE, OBJECT_NAMES, RARE_TEST_PERIOD,
                                           RARE_TRAIN_BLOCK, RARE_TRAIN_PERIOD, RARE_TYPES,
                                           TYPES_BY_NAME, InteractionType, scheduled_rare_types)
from data_prep.synthetic.detections import detect, negative_pairs
from data_prep.synthetic.geometry import box_iou
from data_prep.synthetic.records import Detection, Interaction, Obj, Person, Scene
from data_prep.synthetic.scene_sampler import sample_scene
from data_prep.synthetic.skeleton import FLIP_PERM, KEYPOINT_NAMES

__all__ = [
    "KEYPOINT_NAMES",
    "FLIP_PERM",
    "InteractionType",
    "CATALOGUE",
    "TYPES_BY_NAME",
    "RARE_TYPES",
    "OBJECT_NAMES",
    "RARE_TRAIN_PERIOD",
    "RARE_TRAIN_BLOCK",
    "RARE_TEST_PERIOD",
    "Person",
    "Obj",
    "Interaction",
    "Scene",
    "Detection",
    "scheduled_rare_types",
    "sample_scene",
    "detect",
    "negative_pairs",
    "box_iou",
]
