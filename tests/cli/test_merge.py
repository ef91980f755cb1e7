"""`faceval merge` end to end: shards of a real run on the bundled photos with the bundled model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from faceval_cli.main import main

GHOSTONE = Path(__file__).resolve().parents[2] / "faceval" / "data" / "models" / "PFLD_GhostOne_112_1_opt_sim.onnx"


def _run(tmp_path: Path, out: str, *extra: str) -> Path:
    path = tmp_path / out
    code = main(["run", "--model", str(GHOSTONE), "--dataset", "sample", "--out", str(path), "--cache",
                 str(tmp_path / "cache"), "--no-progress", "--format", "json", *extra])
    assert code == 0, f"faceval run {' '.join(extra)} failed"
    return path


@pytest.fixture(scope="module")
def shards(tmp_path_factory):  # noqa: ANN001, ANN201
    """One full run and its two shards, made once (3 photos); shard 2 also with another spec."""
    top = tmp_path_factory.mktemp("merge")
    return {"top": top, "full": _run(top, "full.h5"), "s1": _run(top, "s1.h5", "--shard", "1/2"),
            "s2": _run(top, "s2.h5", "--shard", "2/2"),
            "s2_bgr": _run(top, "s2bgr.h5", "--shard", "2/2", "--set", "color=BGR"),
            "s2_mean": _run(top, "s2mean.h5", "--shard", "2/2", "--set", "mean=0.4"),
            "s2_inner49": _run(top, "s2in49.h5", "--shard", "2/2", "--points", "inner49"),
            "s2_hrnet": _run(top, "s2hrnet.h5", "--shard", "2/2", "--protocol", "hrnet")}


def test_a_shard_says_which_part_of_which_set_it_is(shards):
    from faceval.runs.provenance import sample_set_sha256
    from faceval.runs.runfile import read_run

    from faceval.runs.shards import protocol_dict

    runs = {k: read_run(shards[k]) for k in ("full", "s1", "s2")}
    s1, s2 = runs["s1"], runs["s2"]
    full, p1, p2 = (protocol_dict(runs[k].protocol) for k in ("full", "s1", "s2"))
    assert "shard" not in full
    assert (p1["shard"], p2["shard"]) == ("1/2", "2/2")
    assert len(s1.sample_ids) == 1 and len(s2.sample_ids) == 2  # floor(3/2) = 1, then 2
    # its own sample set, so it never compares as the full set; the full set is named beside it
    assert p1["sample_set_sha256"] == sample_set_sha256(list(s1.sample_ids))
    assert p1["sample_set_sha256"] != full["sample_set_sha256"]
    assert p1["shard_of_sample_set_sha256"] == full["sample_set_sha256"]
    assert p1["shard_of_n"] == 3


def test_merged_shards_equal_the_single_run(shards, capsys):
    from faceval.runs.runfile import read_run

    out = shards["top"] / "merged.h5"
    capsys.readouterr()
    assert main(["merge", str(shards["s2"]), str(shards["s1"]), "--out", str(out), "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    merged, full = read_run(out), read_run(shards["full"])
    for name in ("predictions", "ground_truth", "nme", "normalizers"):
        np.testing.assert_array_equal(getattr(merged, name), getattr(full, name))
    assert list(merged.sample_ids) == list(full.sample_ids)
    assert merged.protocol == full.protocol
    assert summary["splits"]["all"]["nme"] == pytest.approx(float(np.mean(full.nme)), rel=1e-12)


@pytest.mark.parametrize(("other", "field"), [
    ("s2_bgr", "model spec field 'color': 'RGB' \\(.*s1.h5\\) vs 'BGR' \\(.*s2bgr.h5\\)"),
    ("s2_mean", "model spec field 'mean': \\[0.5, 0.5, 0.5\\] \\(.*s1.h5\\) vs \\[0.4, 0.4, 0.4\\] \\(.*s2mean.h5\\)"),
    # the protocol key itself (not the 'overrides' it implies), its values as text, both files named
    ("s2_inner49", "protocol 'points': 'all' \\(.*s1.h5\\) vs 'inner49' \\(.*s2in49.h5\\)"),
    ("s2_hrnet", "protocol 'thresholds': '0.1' \\(.*s1.h5\\) vs '0.08 0.1' \\(.*s2hrnet.h5\\)"),
])
def test_shards_with_another_spec_do_not_merge(shards, capsys, other, field):
    out = shards["top"] / f"bad-{other}.h5"
    capsys.readouterr()
    assert main(["merge", str(shards["s1"]), str(shards[other]), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    import re

    assert re.search(f"shards differ in {field}", err), err
    assert not out.exists()
