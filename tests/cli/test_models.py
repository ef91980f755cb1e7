"""``faceval models info | build | annotate`` through faceval_cli.main.main."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faceval_cli.main import main

onnx = pytest.importorskip("onnx")


def bundled() -> str:
    from faceval.models import default_model_path

    return default_model_path()


def test_info_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "info", bundled(), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert all(isinstance(data[k], int) for k in ("params", "macs", "flops"))
    assert data["params"] == 702_864 and data["flops"] == 2 * data["macs"]
    assert data["inputs"][0]["shape"] == [1, 3, 112, 112] and data["outputs"][0]["name"] == "output"
    assert data["spec"]["coords"] == "unit" and data["batch_fixed"] == 1


def test_info_human_goes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "info", bundled()]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "702,864" in out and "FLOPs" in out
    assert f"model: {bundled()}" in out.splitlines()  # the path whole, on its own line


def test_info_human_long_path_not_cut(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    deep = tmp_path / ("a_rather_long_folder_name_" * 4) / "model_with_a_long_name_for_testing.onnx"
    deep.parent.mkdir(parents=True)
    shutil.copyfile(bundled(), deep)
    assert main(["models", "info", str(deep)]) == 0
    out = capsys.readouterr().out
    assert f"model: {deep}" in out.splitlines() and "[1, 3, 112, 112]" in out and "…" not in out


def test_info_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "info", str(tmp_path / "none.onnx")]) == 2
    assert "none.onnx" in capsys.readouterr().err
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage\xff" * 10)
    assert main(["models", "info", str(bad)]) == 2
    assert "not an ONNX model" in capsys.readouterr().err


def test_build_and_annotate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "asm.onnx"
    assert main(["models", "build", "asmnet", "--points", "98", "--out", str(out), "--seed", "2"]) == 0
    assert out.is_file()
    spec_file = tmp_path / "s.json"
    spec_file.write_text(json.dumps({"input_size": [224, 224], "coords": "asmnet", "box_scale": 1.4, "points": 98}))
    annotated = tmp_path / "annotated.onnx"
    assert main(["models", "annotate", str(out), "--spec", str(spec_file), "--out", str(annotated)]) == 0
    capsys.readouterr()
    assert main(["models", "info", str(annotated), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["spec"]["box_scale"] == 1.4 and data["spec"]["points"] == 98
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_annotate_rejects_unknown_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec_file = tmp_path / "s.json"
    spec_file.write_text(json.dumps({"input_size": [112, 112], "colour": "RGB"}))
    model = tmp_path / "m.onnx"
    model.write_bytes(Path(bundled()).read_bytes())
    before = model.read_bytes()
    assert main(["models", "annotate", str(model), "--spec", str(spec_file)]) == 2
    err = capsys.readouterr().err
    assert "'colour'" in err and "did you mean 'color'" in err and str(spec_file) in err
    assert model.read_bytes() == before


def test_help_does_not_import_runtimes(capsys: pytest.CaptureFixture[str]) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from faceval_cli.main import main; main(['models', '--help']); main(['bench', '--help']);"
        "sys.exit(int(any(m in sys.modules for m in ('onnxruntime', 'onnx'))))"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_info_shows_symbolic_shapes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """rich must not read "[batch, 3, 224, 224]" as markup (the column used to print empty)."""
    out = tmp_path / "asm.onnx"
    assert main(["models", "build", "asmnet", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["models", "info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "[batch, 3, 224, 224]" in text and "[batch, 136]" in text and "[batch, 3]" in text


def test_info_takes_model_option_like_run_and_bench(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "info", "--model", bundled(), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == 702_864
    assert main(["models", "info", bundled(), "--model", bundled(), "--format", "json"]) == 0
    capsys.readouterr()
    assert main(["models", "info"]) == 2
    assert "faceval: error: no model given: faceval models info MODEL (or --model MODEL)" in capsys.readouterr().err
    assert main(["models", "info", bundled(), "--model", "other.onnx"]) == 2
    assert "two models given" in capsys.readouterr().err
