"""Model cost: never counted by ``faceval run``, counted lazily for a report from the recorded model file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from faceval.models import default_model_path
from faceval.models.cost import cached_model_cost, fill_model_costs, model_cost_dir
from faceval.runs.provenance import sha256_file
from faceval.runs.runfile import read_run
from faceval_cli.main import main

onnx = pytest.importorskip("onnx", reason="counting a model's cost needs the onnx package")


@pytest.fixture
def user_cache(tmp_path, monkeypatch) -> Path:
    """A per-user cache of this test only (no model cost cached yet)."""
    monkeypatch.delenv("FACEVAL_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "faceval" / "models"


def _float_weights(path: Path) -> int:
    """Independent count: the elements of the model's float initialisers (GhostOne has no other weights)."""
    model = onnx.load(str(path))
    return sum(int(np.prod(i.dims)) for i in model.graph.initializer if i.data_type == onnx.TensorProto.FLOAT)


def _run(model: Path, out: Path, capsys) -> None:
    capsys.readouterr()
    code = main(["run", "--model", str(model), "--no-cache", "--no-progress", "--format", "json", "--out", str(out)])
    assert code == 0, capsys.readouterr().err


def test_a_run_records_the_cost_only_when_cached_and_a_report_counts_it(tmp_path, capsys, user_cache):
    model = Path(default_model_path())
    sha = sha256_file(model)
    assert model_cost_dir(None) == user_cache and cached_model_cost(sha) is None
    _run(model, tmp_path / "first.h5", capsys)
    first = read_run(tmp_path / "first.h5")
    assert not {"params", "macs", "flops"} & set(first.model_info)  # nothing counted on the run path
    assert first.model_info["images_per_s"] > 0

    filled = fill_model_costs([first])
    assert filled.warnings == []
    info = filled.runs[0].model_info
    assert info["params"] == _float_weights(model) == 702_864
    assert info["flops"] == 2 * info["macs"] and info["macs"] > 0
    assert "params" not in first.model_info  # the input run is not changed
    assert json.loads((user_cache / f"{sha}.json").read_text())["params"] == info["params"]

    _run(model, tmp_path / "second.h5", capsys)  # now cached: the run file records it
    second = read_run(tmp_path / "second.h5")
    assert (second.model_info["params"], second.model_info["flops"]) == (info["params"], info["flops"])


def test_a_changed_or_missing_model_gives_no_cost_and_says_why(tmp_path, capsys, user_cache):
    model = tmp_path / "copy.onnx"
    shutil.copyfile(default_model_path(), model)
    _run(model, tmp_path / "r.h5", capsys)
    run = read_run(tmp_path / "r.h5")
    with model.open("ab") as handle:  # another model under the recorded path
        handle.write(b"\0")
    filled = fill_model_costs([run])
    assert "params" not in filled.runs[0].model_info
    assert filled.warnings == [f"run 'copy': model cost unknown, its model file {model} has changed since the run "
                               "(sha256 differs)"]
    model.unlink()
    filled = fill_model_costs([run])
    assert "params" not in filled.runs[0].model_info
    assert filled.warnings == [f"run 'copy': model cost unknown, its model file {model} is gone"]
    assert not user_cache.exists() or not list(user_cache.iterdir())  # nothing was counted or cached

    capsys.readouterr()
    assert main(["report", str(tmp_path / "r.h5"), "--format", "markdown", "--metrics", "nme",
                 "--model-columns", "params"]) == 0
    out, err = capsys.readouterr()
    assert out.lower().startswith("| model | params (m) | all nme (%) |"), out
    assert "| copy |  | " in out or "| copy | – | " in out or "| copy | - | " in out, out
    assert f"model file {model} is gone" in err


def test_report_counts_the_cost_of_a_run_made_without_it(tmp_path, capsys, user_cache):
    model = Path(default_model_path())
    _run(model, tmp_path / "r.h5", capsys)
    capsys.readouterr()
    assert main(["report", str(tmp_path / "r.h5"), "--format", "markdown", "--metrics", "nme",
                 "--model-columns", "params,flops"]) == 0
    out, err = capsys.readouterr()
    params = _float_weights(model)
    assert f"| {params / 1e6:.2f} | " in out, out
    assert "warning" not in err
