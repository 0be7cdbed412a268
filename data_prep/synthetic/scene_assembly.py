"""Drawing the placed scene and recording what was drawn: the annotation of a scene.

* :func:`draw_and_record` -- draws the distractors, then the groups back to front, and records
  people (boxes with annotation noise, scored keypoints), objects, interactions and V-COCO
  actions in a :class:`SceneContent`.
* :func:`annotate_non_interacting` -- completes the annotation with the no_interaction pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from data_prep.synthetic import render
from data_prep.synthetic.geometry import clip_box
from data_prep.synthetic.groups import Group
from data_prep.synthetic.placement import Placement
from data_prep.synthetic.records import Interaction, Obj, Person
from data_prep.synthetic.skeleton import HEAD_R, L_ANK, L_WR, LIMB_HALF, R_ANK, R_WR
from tin_jax.schema import classes


@dataclass
class SceneContent:
    """The records of a scene, in the order they were drawn."""

    people: list[Person] = field(default_factory=list)
    objects: list[Obj] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)
    type_names: list[str] = field(default_factory=list)
    person_actions: list[tuple[str, ...]] = field(default_factory=list)

    def add_object(self, rng, name: str, box_px, W: int, H: int) -> None:
        """Record an object with a jittered (annotation-noise) box."""
        b = np.array(box_px, np.float64)
        bw, bh = b[2] - b[0], b[3] - b[1]
        jit = rng.uniform(-0.03, 0.03, 4) * np.array([bw, bh, bw, bh])
        b = b + jit
        self.objects.append(Obj(clip_box(b, W, H), classes.coco_id(name)))


def jitter_color(rng, c, amt=18):
    """BGR colour ``c`` with each channel shifted by up to +-``amt``."""
    return tuple(int(np.clip(v + rng.integers(-amt, amt + 1), 0, 255)) for v in c)


def draw_and_record(rng, img: np.ndarray, groups: list[Group], placement: Placement,
                    distractors, W: int, H: int) -> SceneContent:
    """Draw the distractors and the groups (farthest ground line first) into ``img``."""
    content = SceneContent()
    for name, box, facing in distractors:
        render.draw_object(img, name, box, render.ObjectStyle(
            jitter_color(rng, render.OBJECT_COLORS[name]), facing))
        content.add_object(rng, name, box, W, H)
    for gi in sorted(range(len(groups)), key=lambda i: placement.grounds[i]):
        obj_px = _draw_group(rng, img, groups[gi], gi, placement)
        _record_group(rng, content, groups[gi], gi, placement, obj_px, W, H)
    return content


def _draw_group(rng, img, g: Group, gi: int, placement: Placement) -> list:
    """Objects behind, people, objects in front and straps; returns the objects' pixel boxes."""
    to_px, s = placement.to_px, placement.scales[gi]
    obj_px = [to_px(gi, np.array(o.box).reshape(2, 2)).reshape(4) for o in g.objs]
    styles = [render.ObjectStyle(jitter_color(rng, render.OBJECT_COLORS[o.name]), o.facing,
                                 [tuple(map(tuple, to_px(gi, np.array(seg))))
                                  for seg in o.straps]) for o in g.objs]
    for o, b, st in zip(g.objs, obj_px, styles):
        if o.z == "behind":
            render.draw_object(img, o.name, b, st)
    for p, st in zip(g.people, g.styles):
        kp = to_px(gi, p.kp)
        render.draw_person(img, kp, to_px(gi, np.array(p.head)), s, st)
    for o, b, st in zip(g.objs, obj_px, styles):
        if o.z == "front":
            render.draw_object(img, o.name, b, st)
        if st.straps:
            render.draw_straps(img, st, s)
    return obj_px


def _record_group(rng, content: SceneContent, g: Group, gi: int, placement: Placement,
                  obj_px: list, W: int, H: int) -> None:
    """Append the group's people, objects and interactions (indices into the scene lists)."""
    to_px, s = placement.to_px, placement.scales[gi]
    p_base, o_base = len(content.people), len(content.objects)
    front_px = [b for o, b in zip(g.objs, obj_px) if o.z == "front"]
    for p, acts in zip(g.people, g.actions):
        kp = to_px(gi, p.kp)
        hd = to_px(gi, np.array(p.head))
        content.people.append(_make_person(rng, kp, hd, p.vis, s, front_px, W, H))
        content.person_actions.append(_sorted_actions(acts))
    for o, b in zip(g.objs, obj_px):
        content.add_object(rng, o.name, b, W, H)
    for h_i, (kind, t_i), hois, vc, tname in g.inters:
        if kind == "p":
            content.interactions.append(Interaction(p_base + h_i, p_base + t_i, True,
                                                    tuple(int(v) for v in hois), tuple(vc)))
        else:
            content.interactions.append(Interaction(p_base + h_i, o_base + t_i, False,
                                                    tuple(int(v) for v in hois), tuple(vc)))
        content.type_names.append(tname)


def annotate_non_interacting(people, objects, interactions, type_names) -> None:
    """Every person-object and person-person pair without an interaction gets its object's
    no_interaction HOI: the annotation is complete, so whether a pair is "no interaction" is
    decided by what the image shows, never by which pairs an annotator happened to label."""
    linked = {(i.human, i.target, i.target_is_person) for i in interactions}
    for h in range(len(people)):
        targets = [(t, False) for t in range(len(objects))] \
            + [(t, True) for t in range(len(people)) if t != h]
        for t, is_person in targets:
            if (h, t, is_person) not in linked:
                category = 1 if is_person else objects[t].category
                noint = int(classes.NO_INTERACTION_HOI_BY_OBJECT[category])
                interactions.append(Interaction(h, t, is_person, (noint,), ()))
                type_names.append("no_interaction")


def _sorted_actions(acts) -> tuple[str, ...]:
    order = {n: i for i, n in enumerate(classes.VCOCO_CLASSES)}
    return tuple(sorted(set(acts), key=lambda a: order[a]))


def _make_person(rng, kp, head, vis, h, front_boxes, W, H) -> Person:
    """GT box (tight box of the drawing + annotation noise) and scored keypoints."""
    m = LIMB_HALF * h
    r = HEAD_R * h
    x1 = min(kp[:, 0].min() - m, head[0] - r)
    x2 = max(kp[:, 0].max() + m, head[0] + r)
    y1 = min(kp[:, 1].min() - m, head[1] - r)
    y2 = kp[:, 1].max() + m
    box = np.array([x1, y1, x2, y2]) + rng.uniform(-0.02, 0.02, 4) * h
    score = rng.uniform(0.6, 1.0, 17)
    score[[L_WR, R_WR, L_ANK, R_ANK]] = rng.uniform(0.45, 1.0, 4)
    score *= vis
    for b in front_boxes:
        inside = ((kp[:, 0] > b[0]) & (kp[:, 0] < b[2]) & (kp[:, 1] > b[1]) & (kp[:, 1] < b[3]))
        score[inside] *= rng.uniform(0.45, 0.75)
    out = (kp[:, 0] < 0) | (kp[:, 0] > W - 1) | (kp[:, 1] < 0) | (kp[:, 1] > H - 1)
    score[out] = rng.uniform(0.055, 0.2, int(out.sum()))
    k = np.empty((17, 3), np.float32)
    k[:, :2] = kp + rng.normal(0.0, 0.005 * h, (17, 2))
    k[:, 2] = np.clip(score, 0.055, 1.0)
    return Person(clip_box(box, W, H), k)
