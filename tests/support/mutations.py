"""Random damage to a real payload's shape, for "never crashes" property tests of the mappers."""

from __future__ import annotations

import copy
import random
from typing import Any

ODD_VALUES: list[Any] = [
    None,
    "",
    " ",
    0,
    -1,
    "3",
    "abc",
    1.5,
    True,
    [],
    {},
    [None],
    {"x": None},
    "1e400",
    "nan",
]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*path, index))
    return found


def mutate(order: dict[str, Any], rnd: random.Random, steps: int) -> dict[str, Any]:
    """Drop keys, or set values to None, "", numbers as strings or the wrong type, at random places."""
    mutated = copy.deepcopy(order)
    for _ in range(steps):
        paths = _paths(mutated)
        if not paths:
            break
        path = rnd.choice(paths)
        parent: Any = mutated
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and rnd.random() < 0.3:
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(rnd.choice(ODD_VALUES))
    return mutated
