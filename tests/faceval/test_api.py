"""The public Python API (faceval.evaluate/score/load_run/report/gate, Run)."""

from __future__ import annotations

import doctest
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import faceval
from faceval.errors import InputError

REPO = Path(__file__).resolve().parents[2]


def test_import_faceval_imports_nothing_heavy():
    code = ("import sys, faceval; heavy = ('numpy', 'h5py', 'onnxruntime', 'pandas', 'matplotlib', 'scipy', 'onnx',"
            " 'PIL', 'click', 'rich'); print([m for m in heavy if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"
    # and the names are there, resolved on first use
    code = "import faceval; print(faceval.evaluate.__module__, faceval.Run.__name__, callable(faceval.report))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.split() == ["faceval.api", "Run", "True"]


@pytest.mark.parametrize("module", ["faceval.api", "faceval"])
def test_docstring_examples_run(module):
    """The README's `pytest -q` runs every example in the public docstrings (doctest)."""
    import importlib

    mod = importlib.import_module(module)
    finder = doctest.DocTestFinder()
    tests = [t for t in finder.find(mod, mod.__name__) if t.examples]
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in tests:
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0
    if module == "faceval.api":
        names = {t.name.rsplit(".", 1)[-1] for t in tests}
        assert {"evaluate", "score", "load_run", "load_dataset", "report", "gate", "Run", "save"} <= names


def _truth():
    return faceval.load_dataset("sample")


def test_score_an_array_with_ids_in_any_order():
    truth = _truth()
    rng = np.random.default_rng(0)
    pred = truth.landmarks + rng.normal(0, 2, truth.landmarks.shape)
    order = np.array([2, 0, 1])
    run = faceval.score(pred[order], "sample", sample_ids=[truth.sample_ids[i] for i in order])
    # NME written out here: inter-ocular = outer eye corners 36 and 45 of the 68 points
    d = np.linalg.norm(truth.landmarks[:, 36] - truth.landmarks[:, 45], axis=1)
    expected = np.linalg.norm(pred - truth.landmarks, axis=2).mean(axis=1) / d
    table = run.per_image()
    assert list(table["sample_id"]) == list(truth.sample_ids)
    np.testing.assert_allclose(table["nme"], expected, rtol=1e-12)
    np.testing.assert_allclose(table["normalizer"], d, rtol=1e-12)
    assert run.summary["splits"]["all"]["nme"] == pytest.approx(expected.mean(), rel=1e-12)
    assert table["split:all"].all() and not table["failed"].any()


def test_summary_is_the_cli_json(tmp_path, capsys):
    from faceval_cli.main import main

    truth = _truth()
    preds = tmp_path / "p.npy"
    np.save(preds, truth.landmarks + 1.5)
    capsys.readouterr()
    assert main(["score", "--predictions", str(preds), "--dataset", "sample", "--format", "json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    run = faceval.score(preds, "sample")
    assert json.loads(json.dumps(run.summary)) == cli


def test_score_array_errors():
    truth = _truth()
    with pytest.raises(InputError, match="expected predictions for 3 samples in canonical order"):
        faceval.score(truth.landmarks[:2], "sample")
    with pytest.raises(InputError, match="predictions for 1 of 3 samples are missing"):
        faceval.score(truth.landmarks[:2], "sample", sample_ids=truth.sample_ids[:2])
    with pytest.raises(TypeError, match="unknown protocol option 'normaliser' \\(did you mean 'normalizer'\\?\\)"):
        faceval.score(truth.landmarks, "sample", normaliser="bbox")


def test_per_image_pose_errors_and_failures():
    truth = _truth()
    pred = truth.landmarks.copy()
    pred[1] = np.nan  # a failed prediction
    pose = np.array([[179.0, 1.0, 2.0], [0.0, 0.0, 0.0], [10.0, -5.0, 3.0]])
    run = faceval.score(pred, "sample", pose=pose, pose_labels=_pose_csv(truth))
    table = run.per_image()
    assert np.isinf(table["nme"][1]) and np.isfinite(table["nme"][[0, 2]]).all()
    np.testing.assert_allclose(table["err_yaw"], [abs(179.0 - -179.0), 0.0, 0.0])
    wrapped = faceval.score(pred, "sample", pose=pose, pose_labels=_pose_csv(truth), pose_wrap=True).per_image()
    np.testing.assert_allclose(wrapped["err_yaw"], [2.0, 0.0, 0.0])


def _pose_csv(truth) -> Path:  # noqa: ANN001
    import tempfile

    folder = Path(tempfile.mkdtemp())
    path = folder / "poses.csv"
    rows = [(-179.0, 1.0, 2.0), (0.0, 0.0, 0.0), (10.0, -5.0, 3.0)]
    path.write_text("sample_id,yaw,pitch,roll\n" + "".join(f"{s},{y},{p},{r}\n" for s, (y, p, r) in
                                                            zip(truth.sample_ids, rows)))
    return path


def test_save_load_report_and_gate_match_the_cli(tmp_path, capsys):
    from faceval_cli.main import main

    truth = _truth()
    good = faceval.score(truth.landmarks + 1.0, "sample", label="good")
    bad = faceval.score(truth.landmarks + 3.0, "sample", label="bad")
    paths = [good.save(tmp_path / "good.h5"), bad.save(tmp_path / "bad.h5")]
    assert good.path == paths[0]
    loaded = faceval.load_run(paths[0])
    np.testing.assert_array_equal(loaded.data.nme, good.data.nme)
    capsys.readouterr()
    assert main(["report", *map(str, paths), "--format", "latex"]) == 0
    assert faceval.report(paths, "latex") == capsys.readouterr().out
    assert faceval.report([good, bad], format="latex") == faceval.report(paths, "latex")
    result = faceval.gate(bad, good)
    assert not result.passed and {c.metric for c in result.failures} >= {"nme"}
    assert faceval.gate(paths[0], paths[0]).passed


def test_evaluate_writes_nothing_unless_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = faceval.evaluate(faceval.BUNDLED_MODEL, "sample", cache=False, spec={"box_scale": 1.3})
    assert list(tmp_path.iterdir()) == []
    assert run.path is None and run.data.provenance["spec"]["box_scale"] == 1.3
    assert run.protocol["box_scale"] == 1.3
    out = tmp_path / "r.h5"
    again = faceval.evaluate(faceval.BUNDLED_MODEL, "sample", cache=False, spec={"box_scale": 1.3}, out=out)
    assert again.path == out and out.is_file()
    np.testing.assert_array_equal(faceval.load_run(out).data.predictions, run.data.predictions)


def test_score_takes_a_peer_preset_and_records_overrides() -> None:
    import numpy as np

    import faceval

    truth = faceval.load_dataset("sample")
    run = faceval.score(truth.landmarks + 1.0, "sample", protocol="hrnet", auc_mode="simpson-1e-4")
    assert run.protocol["preset"] == "hrnet" and run.protocol["thresholds"] == [0.08, 0.1]
    assert run.protocol["overrides"] == ["auc_mode"]
    nme = np.sqrt(2.0) / run.per_image()["normalizer"]  # every point is off by (1, 1) pixels
    assert run.summary["splits"]["all"]["nme"] == pytest.approx(float(np.mean(nme)), rel=1e-9)
    with pytest.raises(faceval.errors.InputError, match="unknown protocol preset"):
        faceval.score(truth.landmarks, "sample", protocol="nope")


@pytest.mark.parametrize(("options", "message"), [
    ({"pose_wrap": "no"}, "option 'pose_wrap' must be True or False, got str 'no'"),  # once: wrapped (truthy)
    ({"visible_only": "yes"}, "option 'visible_only' must be True or False (or None), got str 'yes'"),
    ({"thresholds": "0.1"}, "option 'thresholds' must be a number or a list of numbers"),  # once: 'threshold 0'
    ({"points": 49}, "option 'points' must be a string (a name) or None, got int 49"),  # once: bare TypeError
    ({"protocol": ["pipnet"]}, "option 'protocol' must be a string"),
])
def test_protocol_options_of_the_wrong_type_are_named(options, message):
    truth = _truth()
    with pytest.raises(TypeError, match=re.escape("score() " + message)):
        faceval.score(truth.landmarks, "sample", sample_ids=list(truth.sample_ids), **options)


def test_thresholds_as_a_numpy_array_or_a_number():
    truth = _truth()
    for value in (np.array([0.08, 0.1]), [0.08, 0.1], 0.1, (0.1,)):
        run = faceval.score(truth.landmarks, "sample", sample_ids=list(truth.sample_ids), thresholds=value)
        assert run.summary["protocol"]["thresholds"] == list(np.atleast_1d(value))
