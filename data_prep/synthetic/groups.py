"""Groups: one or two people laid out together with their objects, in group units.

* :func:`single_group` -- one person doing some interaction types (or none), maybe with a
  non-interacting object next to them.
* :func:`pair_group` -- two people holding hands, hugging, or standing near each other.
* :func:`group_extent` -- the bounding box of a group in group units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from data_prep.synthetic import render
from data_prep.synthetic.catalogue import OBJECT_NAMES, TYPES_BY_NAME, InteractionType
from data_prep.synthetic.person_layout import build_person, near_object
from data_prep.synthetic.skeleton import HEAD_R, LIMB_HALF
from tin_jax.schema import classes


@dataclass
class Group:
    """People, their drawing styles, objects, interactions and V-COCO actions of one group."""

    people: list = field(default_factory=list)        # PersonPlan
    styles: list = field(default_factory=list)        # render.PersonStyle
    objs: list = field(default_factory=list)          # LayoutObject
    # (human idx, ('p'|'o', idx), hoi ids, vcoco, type name)
    inters: list = field(default_factory=list)
    actions: list = field(default_factory=list)       # per person: list of V-COCO names


def _choose_posture(rng, types: Sequence[InteractionType]) -> str:
    allowed = ["stand", "walk", "run"]
    for t in types:
        if t.postures:
            allowed = [p for p in allowed if p in t.postures]
    if not allowed:
        allowed = ["stand"]
    p = np.array([{"stand": 0.6, "walk": 0.3, "run": 0.1}[a] for a in allowed])
    return allowed[int(rng.choice(len(allowed), p=p / p.sum()))]


def _person_style(rng) -> render.PersonStyle:
    def jit(c):
        return tuple(int(np.clip(v + rng.integers(-15, 16), 0, 255)) for v in c)

    return render.PersonStyle(
        skin=jit(render.SKIN_TONES[rng.integers(len(render.SKIN_TONES))]),
        shirt=jit(render.SHIRT_COLORS[rng.integers(len(render.SHIRT_COLORS))]),
        pants=jit(render.PANTS_COLORS[rng.integers(len(render.PANTS_COLORS))]),
        smile=bool(rng.random() < 0.3))


def _posture_actions(posture: str, smile: bool) -> list[str]:
    out = {"stand": ["stand"], "stand_side": ["stand"], "walk": ["walk"],
           "run": ["run"]}.get(posture, [])
    return out + (["smile"] if smile else [])


def _add_person(rng, g: Group, types: Sequence[InteractionType], posture: str, facing: int,
                **layout):
    """Lay out a person of ``types`` into ``g`` with a drawing style, its objects, interactions
    and V-COCO actions; returns its plan."""
    plan, owned = build_person(rng, types, posture, facing=facing, **layout)
    style = _person_style(rng)
    style.facing, style.profile = facing, plan.profile
    i = len(g.people)
    g.people.append(plan)
    g.styles.append(style)
    acts = _posture_actions(plan.posture, style.smile)
    for name, o in owned:  # one object per type
        t = TYPES_BY_NAME[name]
        g.inters.append((i, ("o", len(g.objs)), t.hoi_ids, t.vcoco, name))
        acts += list(t.vcoco)
        g.objs.append(o)
    g.actions.append(acts)
    return plan


def single_group(rng, types: list[InteractionType], budget: list[int]) -> Group:
    """One person with ``types`` (possibly none), maybe a non-interacting near object."""
    g = Group()
    posture = _choose_posture(rng, types)
    facing = 1 if rng.random() < 0.5 else -1
    plan = _add_person(rng, g, types, posture, facing)
    if budget[0] > 0 and rng.random() < 0.5:
        name = OBJECT_NAMES[rng.integers(len(OBJECT_NAMES))]
        side = 1 if rng.random() < 0.5 else -1
        taken = {1 if o.box[0] + o.box[2] > 0 else -1 for o in g.objs}
        if side in taken:
            side = -side  # keep clear of the objects the person interacts with
        o = near_object(rng, name, plan, side) if side not in taken else None
        if o is not None:
            budget[0] -= 1
            rng.random()  # unused draw: keeps the random stream, so each seed's scenes, unchanged
            # Annotated whenever it is there to see: a person standing next to an object without
            # touching it is a "no interaction" pair, as far as what is visible decides.
            noint = int(classes.NO_INTERACTION_HOI_BY_OBJECT[classes.coco_id(name)])
            g.inters.append((0, ("o", len(g.objs)), (noint,), (), "no_interaction"))
            g.objs.append(o)
    return g


def _pair_specs(rng, kind: str):
    """Distance d and per person (facing, x0, wrist targets by arm side or None)."""
    if kind == "hold_hands":
        d = rng.uniform(0.30, 0.37)
        m = (d / 2, -rng.uniform(0.5, 0.56))
        return d, [(1, 0.0, {1: m}), (-1, d, {1: (d - m[0], m[1])})]
    if kind == "hug_person":
        d = rng.uniform(0.13, 0.17)
        # both hug around the other's back; in each person's own frame the targets coincide
        return d, [(f, x0, {1: (d + 0.07, -0.73 + rng.uniform(-0.02, 0.02)),
                            -1: (d + 0.055, -0.62 + rng.uniform(-0.02, 0.02))})
                   for f, x0 in ((1, 0.0), (-1, d))]
    d = rng.uniform(0.24, 0.5)
    return d, [(1 if rng.random() < 0.5 else -1, 0.0, None),
               (1 if rng.random() < 0.5 else -1, d, None)]


def pair_group(rng, kind: str, budget: list[int], secondary_w: Mapping[str, float]) -> Group:
    """Two people: 'hold_hands', 'hug_person' or 'no_interaction' (standing near each other)."""
    g = Group()
    d, specs = _pair_specs(rng, kind)
    for f, x0, pt in specs:
        extra = []
        if kind != "hug_person" and budget[0] > 0 and rng.random() < 0.25:
            cands = [TYPES_BY_NAME[n] for n in ("hold_cup", "talk_phone", "drink_cup")
                     if secondary_w.get(n, 0) > 0]
            if cands:
                extra = [cands[int(rng.integers(len(cands)))]]
                budget[0] -= 1
        posture = "stand_side" if pt is not None else _choose_posture(rng, extra)
        _add_person(rng, g, extra, posture, f, pair_targets=pt, x0=x0,
                    look_at=(d, -0.9) if pt else None)
    if kind in ("hold_hands", "hug_person"):
        t = TYPES_BY_NAME[kind]
        for i in (0, 1):
            g.inters.append((i, ("p", 1 - i), t.hoi_ids, t.vcoco, kind))
            g.actions[i] += list(t.vcoco)
    else:
        noint = int(classes.NO_INTERACTION_HOI_BY_OBJECT[1])
        for i in (0, 1):
            rng.random()  # unused draw (see single_group)
            g.inters.append((i, ("p", 1 - i), (noint,), (), "no_interaction"))
    return g


def group_extent(g: Group) -> tuple[float, float, float, float]:
    """(x1, y1, x2, y2) of the group's people (with limb thickness and head) and objects."""
    xs, ys = [], []
    for p in g.people:
        xs += [p.kp[:, 0].min() - LIMB_HALF, p.kp[:, 0].max() + LIMB_HALF,
               p.head[0] - HEAD_R, p.head[0] + HEAD_R]
        ys += [p.kp[:, 1].min() - LIMB_HALF, p.kp[:, 1].max() + LIMB_HALF,
               p.head[1] - HEAD_R]
    for o in g.objs:
        xs += [o.box[0], o.box[2]]
        ys += [o.box[1], o.box[3]]
    return min(xs), min(ys), max(xs), max(ys)
