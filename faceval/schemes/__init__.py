"""Landmark schemes, defined as JSON package data (one file per scheme).

Each ``<name>.json`` holds: ``name``, ``num_points``, ``groups`` (name -> indices),
``flip_pairs`` (list of [i, j]), ``eye_corners`` ([left_outer, right_outer]) or null,
``pupils`` ([indices averaged for one eye, indices for the other]) or null,
``conversions`` (target scheme -> list of source indices, one per target point), and optional
``subsets`` (name -> the indices scored by ``--points NAME``; 300w: menpofit's ``inner51`` =
68 minus the jaw 0-16, ``inner49`` = that minus the inner mouth corners 60 and 64).
Indices are 0-based.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np

from faceval.errors import InputError, closest

SCHEME_NAMES = ("300w", "wflw", "cofw", "aflw")


@dataclass(frozen=True)
class Scheme:
    """A landmark scheme: point count, groups, flip pairs, normaliser points, conversions."""

    name: str
    num_points: int
    groups: dict[str, list[int]]
    flip_pairs: list[tuple[int, int]]
    eye_corners: tuple[int, int] | None
    pupils: tuple[list[int], list[int]] | None
    conversions: dict[str, list[int]] = field(default_factory=dict)
    subsets: dict[str, list[int]] = field(default_factory=dict)


#: ``--points`` choices: every point, or a named subset of the scheme (``Scheme.subsets``).
POINT_SUBSETS = ("all", "inner51", "inner49")


def point_subset(scheme_name: str, points: str) -> list[int] | None:
    """Indices scored with ``--points``: None for ``all``; a scheme without the subset raises.

    Raises:
        InputError: unknown subset name, or a scheme that does not define it (only the 68-point
            ``300w`` scheme has ``inner51`` / ``inner49``).
    """
    if points not in POINT_SUBSETS:
        raise InputError(f"unknown point subset '{points}'{closest(points, POINT_SUBSETS)}; "
                         f"known: {', '.join(POINT_SUBSETS)}")
    if points == "all":
        return None
    scheme = load_scheme(scheme_name)
    if points not in scheme.subsets:
        raise InputError(f"--points {points} needs the 68-point 300w scheme; this ground truth uses the "
                         f"'{scheme.name}' scheme ({scheme.num_points} points)")
    return list(scheme.subsets[points])


@lru_cache(maxsize=None)
def load_scheme(name: str) -> Scheme:
    """Load a scheme by name (``300w``, ``wflw``, ``cofw``, ``aflw``)."""
    if name not in SCHEME_NAMES:
        raise InputError(f"unknown landmark scheme '{name}'{closest(name, SCHEME_NAMES)}; known: {', '.join(SCHEME_NAMES)}")
    raw = json.loads(resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8"))
    corners = raw.get("eye_corners")
    pupils = raw.get("pupils")
    return Scheme(
        name=raw["name"],
        num_points=int(raw["num_points"]),
        groups={k: [int(i) for i in v] for k, v in raw.get("groups", {}).items()},
        flip_pairs=[(int(a), int(b)) for a, b in raw.get("flip_pairs", [])],
        eye_corners=(int(corners[0]), int(corners[1])) if corners else None,
        pupils=([int(i) for i in pupils[0]], [int(i) for i in pupils[1]]) if pupils else None,
        conversions={k: [int(i) for i in v] for k, v in raw.get("conversions", {}).items()},
        subsets={k: [int(i) for i in v] for k, v in raw.get("subsets", {}).items()},
    )


def scheme_for_points(num_points: int) -> Scheme | None:
    """The scheme with this many points, if exactly one has it."""
    matches = [load_scheme(n) for n in SCHEME_NAMES if load_scheme(n).num_points == num_points]
    return matches[0] if len(matches) == 1 else None


def convert(landmarks: np.ndarray, source: str, target: str) -> np.ndarray:
    """Convert ``(..., K_src, D)`` landmarks from ``source`` scheme to ``target`` by index selection."""
    if source == target:
        return landmarks
    src = load_scheme(source)
    if target not in src.conversions:
        raise InputError(f"no conversion from the '{source}' scheme to '{target}'")
    return np.asarray(landmarks)[..., src.conversions[target], :]
