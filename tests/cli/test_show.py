"""``faceval show RUN`` through the real entry point, on a real run file."""

from __future__ import annotations

import json

import numpy as np

from faceval_cli.main import main
from tests.faceval.views.helpers import FAILURES, helen_run_file, write_failures_run


def test_show_human_lists_protocol_provenance_failures_and_worst(tmp_path, capsys):
    run = write_failures_run(tmp_path / "r.h5")
    assert main(["show", str(tmp_path / "r.h5"), "--worst", "3"]) == 0
    out = capsys.readouterr().out
    assert "protocol: NME normalised inter-ocular" in out
    assert "model_sha256: abc" in out
    assert f"failures: {len(FAILURES)}" in out
    for i, (reason, _) in FAILURES.items():
        assert f"{run.sample_ids[i]} [" in out
        assert (reason or "non-finite output") in out
    worst = int(np.nanargmax(np.where(np.isfinite(run.nme), run.nme, np.nan)))
    assert "3 worst images" in out and str(run.sample_ids[worst]) in out


def test_show_json_is_one_object_with_null_for_failures(tmp_path, capsys):
    run = write_failures_run(tmp_path / "r.h5")
    assert main(["show", str(tmp_path / "r.h5"), "--format", "json", "--worst", "2"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["failures"]["count"] == len(FAILURES)
    assert {s["sample_id"] for s in doc["failures"]["samples"]} == {str(run.sample_ids[i]) for i in FAILURES}
    assert all(s["nme"] is None for s in doc["failures"]["samples"])  # inf -> null
    assert len(doc["worst"]["samples"]) == 2
    assert doc["splits"]["full"]["n"] == 20


def test_show_missing_run_file_is_one_line_exit_2(tmp_path, capsys):
    assert main(["show", str(tmp_path / "nope.h5")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope.h5" in err


def test_show_real_helen_run(capsys):
    """The real GhostOne run on the 330 HELEN photos: 330 samples, worst NME above the mean."""
    out, _ = helen_run_file()
    capsys.readouterr()
    assert main(["show", str(out), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_samples"] == 330 and doc["failures"]["count"] == 0
    nmes = [s["nme"] for s in doc["worst"]["samples"]]
    assert len(nmes) == 10 and nmes == sorted(nmes, reverse=True)
    assert nmes[-1] > doc["splits"]["helen"]["nme"]
