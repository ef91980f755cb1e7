"""The scheme JSON files: sizes, flip pairs, normaliser indices, the WFLW -> 300W conversion."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from faceval.schemes import SCHEME_NAMES, convert, load_scheme

EXPECTED = {"300w": 68, "wflw": 98, "cofw": 29, "aflw": 19}


@pytest.mark.parametrize("name", SCHEME_NAMES)
def test_scheme_loads_with_expected_size(name: str) -> None:
    scheme = load_scheme(name)
    assert scheme.name == name
    assert scheme.num_points == EXPECTED[name]


@pytest.mark.parametrize("name", SCHEME_NAMES)
def test_groups_in_range(name: str) -> None:
    scheme = load_scheme(name)
    for group, indices in scheme.groups.items():
        assert indices, group
        assert all(0 <= i < scheme.num_points for i in indices), group
        assert len(set(indices)) == len(indices), group


@pytest.mark.parametrize("name", SCHEME_NAMES)
def test_flip_pairs_are_a_symmetric_involution(name: str) -> None:
    scheme = load_scheme(name)
    perm = np.arange(scheme.num_points)
    seen: set[int] = set()
    for a, b in scheme.flip_pairs:
        assert a != b
        assert a not in seen and b not in seen, (a, b)
        seen |= {a, b}
        perm[a], perm[b] = b, a
    assert (perm[perm] == np.arange(scheme.num_points)).all()
    assert sorted(perm.tolist()) == list(range(scheme.num_points))


def test_300w_flip_matches_spiga_flip_order() -> None:
    from tests.conftest import shared_path

    info = json.loads(shared_path("spiga_results", "300wpublic", "db_info.json").read_text())
    scheme = load_scheme("300w")
    perm = list(range(68))
    for a, b in scheme.flip_pairs:
        perm[a], perm[b] = b, a
    assert perm == info["ldm_flip_order"]


def test_normaliser_points() -> None:
    assert load_scheme("300w").eye_corners == (36, 45)
    assert load_scheme("300w").pupils == (list(range(36, 42)), list(range(42, 48)))
    assert load_scheme("wflw").eye_corners == (60, 72)
    assert load_scheme("wflw").pupils == ([96], [97])
    assert load_scheme("cofw").eye_corners == (8, 9)
    assert load_scheme("cofw").pupils == ([16], [17])
    assert load_scheme("aflw").eye_corners is None
    assert load_scheme("aflw").pupils is None


def test_eye_corners_are_flip_partners() -> None:
    for name in ("300w", "wflw", "cofw"):
        scheme = load_scheme(name)
        assert tuple(scheme.eye_corners) in {tuple(p) for p in scheme.flip_pairs}, name


def test_wflw_to_300w_conversion_is_the_spec() -> None:
    conv = load_scheme("wflw").conversions["300w"]
    expected = (list(range(0, 33, 2)) + list(range(33, 38)) + list(range(42, 47)) + list(range(51, 60))
                + [60, 61, 63, 64, 65, 67] + [68, 69, 71, 72, 73, 75] + list(range(76, 96)))
    assert conv == expected
    assert len(conv) == 68 and len(set(conv)) == 68
    assert all(0 <= i < 98 for i in conv)


def test_conversion_maps_normaliser_points_and_flips() -> None:
    wflw, w300 = load_scheme("wflw"), load_scheme("300w")
    conv = wflw.conversions["300w"]
    assert (conv[w300.eye_corners[0]], conv[w300.eye_corners[1]]) == wflw.eye_corners
    wflw_flip = dict(wflw.flip_pairs) | {b: a for a, b in wflw.flip_pairs}
    for a, b in w300.flip_pairs:
        assert wflw_flip.get(conv[a]) == conv[b], (a, b)
    points = np.arange(98 * 2, dtype=float).reshape(98, 2)
    assert convert(points, "wflw", "300w").shape == (68, 2)


def test_scheme_files_are_package_data() -> None:
    names = {p.name for p in resources.files("faceval.schemes").iterdir()}
    assert {f"{n}.json" for n in SCHEME_NAMES} <= names
