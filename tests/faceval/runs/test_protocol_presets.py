"""The protocol keys of peer presets: stored, read back, compared by gate and merge."""

from __future__ import annotations

import dataclasses

import pytest

from faceval.errors import InputError
from faceval.report.gate import evaluate_gate
from faceval.runs.protocol import COMPARED_KEYS, INFORMATIVE_KEYS, Protocol
from faceval.runs.runfile import read_run, write_run
from faceval.runs.shards import merge_runs
from tests.faceval.runs.helpers import make_run

NEW_KEYS = {"fr_cut": "grid", "points": "inner49", "distance_dtype": "float32", "preset": "pipnet"}


def test_defaults_are_not_stored_so_old_protocols_are_unchanged() -> None:
    stored = Protocol().to_dict()
    assert not set(NEW_KEYS) & set(stored) and "overrides" not in stored
    assert Protocol.from_dict(stored) == Protocol()


def test_preset_keys_round_trip() -> None:
    p = Protocol(preset="pipnet", fr_cut="grid", auc_mode="simpson-1e-4", points="inner51",
                 distance_dtype="float32", aggregation="point-mean", overrides=("thresholds", "normalizer"))
    d = p.to_dict()
    assert d["overrides"] == ["normalizer", "thresholds"]  # sorted
    assert Protocol.from_dict(d) == p
    text = p.describe()
    # the overridden keys in parentheses: "preset pipnet; overridden: normalizer, thresholds, inter-ocular
    # normaliser, ..." read as if the normaliser were overridden twice
    assert text.startswith("preset pipnet (overridden: normalizer, thresholds), ")
    assert "points inner51" in text and "FR cut grid" in text and "float32 distances" in text


def test_bad_overrides_are_a_damaged_file() -> None:
    with pytest.raises(InputError, match="protocol 'overrides'"):
        Protocol.from_dict({"overrides": "thresholds"})
    with pytest.raises(InputError, match="protocol 'fr_cut'"):
        Protocol.from_dict({"fr_cut": 3})


@pytest.mark.parametrize("key, value", [*NEW_KEYS.items(), ("aggregation", "point-mean")])
def test_differences_cover_the_new_keys(key: str, value: str) -> None:
    assert key in COMPARED_KEYS
    diffs = Protocol().differences(Protocol(**{key: value}))
    assert [d.key for d in diffs] == [key]


def test_overrides_are_informative() -> None:
    a, b = Protocol(preset="spiga"), Protocol(preset="spiga", overrides=("auc_mode",))
    assert "overrides" in INFORMATIVE_KEYS
    assert a.differences(b) == []
    assert [d.key for d in a.differences(b, informative=True)] == ["overrides"]


@pytest.mark.parametrize("key, value", [("fr_cut", "spiga-hist"), ("preset", "hrnet"), ("points", "inner51"),
                                        ("aggregation", "point-mean")])
def test_gate_refuses_a_different_peer_protocol(tmp_path, key: str, value: str) -> None:
    base = make_run()
    run = make_run(seed=1)
    run.protocol = dataclasses.replace(run.protocol, **{key: value})
    path = tmp_path / "run.h5"
    write_run(path, run)
    back = read_run(path)
    assert back.protocol.value(key) == value
    with pytest.raises(InputError, match=key):
        evaluate_gate(back, base)


def test_merge_refuses_shards_of_different_presets() -> None:
    from tests.faceval.runs.test_shards import _split_run

    first, second = _split_run(make_run(), 2)
    second.protocol = dataclasses.replace(second.protocol, preset="star")
    with pytest.raises(InputError, match="preset"):
        merge_runs([first, second])
