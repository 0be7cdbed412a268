"""The sampler of one scene: image size, which groups it holds, then layout, drawing, annotation.

:func:`sample_scene` is the entry point; the order of its random draws defines the dataset of
each seed.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from data_prep.synthetic import render
from data_prep.synthetic.catalogue import CATALOGUE, TYPES_BY_NAME, compatible, scheduled_rare_types
from data_prep.synthetic.groups import Group, pair_group, single_group
from data_prep.synthetic.placement import place_distractors, place_groups
from data_prep.synthetic.records import Scene
from data_prep.synthetic.scene_assembly import annotate_non_interacting, draw_and_record

_PAIR_KINDS = ("hold_hands", "hug_person", "no_interaction_pair")


def sample_scene(rng: np.random.Generator, image_id: int, split: str,
                 size_range=((240, 320), (320, 480)),
                 type_weights: Mapping[str, float] | None = None) -> Scene:
    """Draw one synthetic scene.

    ``size_range = ((short_min, short_max), (long_min, long_max))`` in pixels; the image is
    landscape (75 %) or portrait (25 %) with sides from a few values in those ranges.
    ``type_weights`` overrides the catalogue's random-sampling weights by type name.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    H, W = _image_size(rng, size_range)
    weights = _weights(type_weights)
    forced = list(scheduled_rare_types(int(image_id), split))
    n_people = int(rng.choice([1, 2, 3], p=[0.35, 0.4, 0.25]))
    groups = _compose_groups(rng, n_people, forced, weights)
    placement = place_groups(rng, groups, W, H)
    img = render.background(rng, H, W)
    distractors = place_distractors(rng, groups, placement, W, H)
    c = draw_and_record(rng, img, groups, placement, distractors, W, H)
    annotate_non_interacting(c.people, c.objects, c.interactions, c.type_names)
    img = render.finish(img, rng)
    return Scene(int(image_id), W, H, c.people, c.objects, c.interactions, c.person_actions, img,
                 c.type_names)


def _image_size(rng, size_range) -> tuple[int, int]:
    (s_lo, s_hi), (l_lo, l_hi) = size_range
    shorts = sorted({int(round(v / 16) * 16) for v in np.linspace(s_lo, s_hi, 3)})
    longs = sorted({int(round(v / 16) * 16) for v in np.linspace(l_lo, l_hi, 3)})
    short = shorts[int(rng.integers(len(shorts)))]
    long_ = longs[int(rng.integers(len(longs)))]
    if rng.random() < 0.25:  # portrait
        return long_, short
    return short, long_


def _weights(type_weights: Mapping[str, float] | None) -> dict[str, float]:
    w = {t.name: t.weight for t in CATALOGUE}
    for k, v in (type_weights or {}).items():
        if k not in w:
            raise KeyError(f"unknown interaction type {k!r}; known: {sorted(w)}")
        w[k] = float(v)
    return w


def _pick(rng, names: list[str], w: Mapping[str, float]) -> str | None:
    p = np.array([w[n] for n in names], np.float64)
    if not names or p.sum() <= 0:
        return None
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _compose_groups(rng, n_people: int, forced: list[str],
                    weights: Mapping[str, float]) -> list[Group]:
    """Groups until there are ``n_people`` people and every forced rare type is placed."""
    budget = [4]  # non-person objects still allowed
    groups: list[Group] = []
    people = 0
    while people < n_people or forced:
        left = max(n_people - people, 2 if forced else 0)
        kind = forced.pop(0) if forced else _random_group_kind(rng, left, budget, weights)
        g = _group_of_kind(rng, kind, budget, weights)
        groups.append(g)
        people += len(g.people)
    return groups


def _random_group_kind(rng, left: int, budget: list[int], weights: Mapping[str, float]) -> str:
    """'idle', 'no_interaction_pair' or a catalogue type (pair types only if ``left`` >= 2)."""
    r = rng.random()
    if r < 0.12:
        return "idle"
    if r < 0.22 and left >= 2:
        return "no_interaction_pair"
    names = [t.name for t in CATALOGUE if weights[t.name] > 0
             and ("pair" not in t.parts or left >= 2)
             and ("pair" in t.parts or budget[0] > 0)]
    return _pick(rng, names, weights) or "idle"


def _group_of_kind(rng, kind: str, budget: list[int], weights: Mapping[str, float]) -> Group:
    if kind in _PAIR_KINDS:
        return pair_group(rng, kind, budget, weights)
    if kind == "idle":
        return single_group(rng, [], budget)
    return single_group(rng, _types_of_one_person(rng, kind, budget, weights), budget)


def _types_of_one_person(rng, kind: str, budget: list[int], weights: Mapping[str, float]):
    """Type ``kind``, maybe a compatible secondary type, and a chair under a laptop typist."""
    t = TYPES_BY_NAME[kind]
    budget[0] -= 1
    types = [t]
    if budget[0] > 0 and rng.random() < 0.3:
        names = [u.name for u in CATALOGUE if weights[u.name] > 0
                 and compatible(u, types)]
        sec = _pick(rng, names, weights)
        if sec is not None:
            types.append(TYPES_BY_NAME[sec])
            budget[0] -= 1
    if t.name == "type_laptop" and not any(u.name == "sit_chair" for u in types) \
            and budget[0] > 0 and rng.random() < 0.4:
        types.append(TYPES_BY_NAME["sit_chair"])
        budget[0] -= 1
    return types
