"""A sweep evaluates many models in one process: one run file per model, images decoded once."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.evaluation.evaluate import EvaluationRequest, evaluate_model
from faceval.evaluation.sweep import evaluate_sweep, expand_models, is_sweep, sweep_targets
from faceval.runs.runfile import read_run

GHOSTONE = Path(__file__).resolve().parents[3] / "faceval" / "data" / "models" / "PFLD_GhostOne_112_1_opt_sim.onnx"


def _copies(tmp_path: Path, n: int) -> list[Path]:
    folder = tmp_path / "ckpts"
    folder.mkdir()
    out = []
    for i in range(n):
        out.append(folder / f"m{i}.onnx")
        shutil.copyfile(GHOSTONE, out[-1])
    return out


def test_is_sweep() -> None:
    assert not is_sweep([]) and not is_sweep(["a.onnx"])
    assert is_sweep(["a.onnx", "b.onnx"]) and is_sweep(["ckpts/*.onnx"]) and is_sweep(["m[12].onnx"])


def test_expand_models_sorts_each_glob_and_drops_duplicates(tmp_path: Path) -> None:
    for name in ("b.onnx", "a.onnx", "c.txt"):
        (tmp_path / name).write_bytes(b"x")
    got = expand_models([str(tmp_path / "*.onnx"), tmp_path / "a.onnx"])
    assert got == [tmp_path / "a.onnx", tmp_path / "b.onnx"]


def test_links_under_other_names_are_separate_models(tmp_path: Path) -> None:
    (tmp_path / "a.onnx").write_bytes(b"x")
    (tmp_path / "b.onnx").symlink_to(tmp_path / "a.onnx")
    assert expand_models([str(tmp_path / "*.onnx")]) == [tmp_path / "a.onnx", tmp_path / "b.onnx"]


def test_expand_models_glob_without_match_names_the_pattern(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nothing\*\.onnx.*no model file matches"):
        expand_models([str(tmp_path / "nothing*.onnx")])


def test_two_models_with_one_stem_would_collide(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="would both write"):
        sweep_targets([tmp_path / "a" / "m.onnx", tmp_path / "b" / "m.onnx"], tmp_path, "sample")


def test_sweep_writes_one_run_per_model_equal_to_separate_runs_and_decodes_once(tmp_path: Path) -> None:
    models = _copies(tmp_path, 3)
    cache = tmp_path / "cache"
    template = EvaluationRequest(model_path=Path(), dataset="sample", cache_dir=cache, out=Path())
    targets = sweep_targets(models, tmp_path, "sample")
    result = evaluate_sweep(template, models, targets)
    assert [e.out for e in result.entries] == targets and all(t.is_file() for t in targets)
    n = len(read_run(targets[0]).sample_ids)
    # the first model decodes every image, the others read its crops
    assert [int(e.result.timings["cache_hits"]) for e in result.entries] == [0, n, n]
    alone = tmp_path / "alone.h5"
    evaluate_model(EvaluationRequest(model_path=models[2], dataset="sample", use_cache=False, out=alone))
    expected = read_run(alone)
    for target, model in zip(targets, models):
        run = read_run(target)
        assert run.label == model.stem
        np.testing.assert_array_equal(run.predictions, expected.predictions)
        assert run.summary == expected.summary


def test_sweep_without_cache_leaves_no_cache_but_still_decodes_once(tmp_path: Path) -> None:
    models = _copies(tmp_path, 2)
    cache = tmp_path / "user-cache"
    template = EvaluationRequest(model_path=Path(), dataset="sample", cache_dir=cache, use_cache=False, out=Path())
    result = evaluate_sweep(template, models, sweep_targets(models, tmp_path, "sample"))
    n = len(result.entries[0].result.run.sample_ids)
    assert [int(e.result.timings["cache_hits"]) for e in result.entries] == [0, n]
    assert not cache.exists()


def test_sweep_refuses_one_label_for_many_runs(tmp_path: Path) -> None:
    models = _copies(tmp_path, 2)
    template = EvaluationRequest(model_path=Path(), dataset="sample", label="x", out=Path())
    with pytest.raises(InputError, match="--label"):
        evaluate_sweep(template, models, sweep_targets(models, tmp_path, "sample"))
