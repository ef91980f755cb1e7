"""`faceval --config faceval.toml`: option defaults per command; flags on the command line win."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faceval_cli.main import main


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_section_sets_run_options_and_flags_win(tmp_path, capsys):
    config = _write(tmp_path / "faceval.toml", '[run]\nbox-scale = 1.3\nformat = "json"\nno-cache = true\n')
    capsys.readouterr()
    assert main(["--config", str(config), "run", "--out", str(tmp_path / "a.h5"), "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["protocol"]["box_scale"] == 1.3
    assert main(["--config", str(config), "run", "--out", str(tmp_path / "b.h5"), "--no-progress", "--box-scale", "1.1"]) == 0
    assert json.loads(capsys.readouterr().out)["protocol"]["box_scale"] == 1.1


def test_global_keys_reach_group_subcommands(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("FACEVAL_DATA_ROOT", raising=False)
    config = _write(tmp_path / "faceval.toml", f'data_root = "{tmp_path / "nowhere"}"\n[datasets]\nformat = "json"\n')
    capsys.readouterr()
    code = main(["--config", str(config), "datasets", "info", "300w"])
    out, err = capsys.readouterr()
    assert json.loads(out)  # [datasets] format = "json" applied to the subcommand
    assert main(["--config", str(config), "datasets", "samples", "300w"]) == 2
    assert "nowhere" in capsys.readouterr().err  # the global data_root was used
    del code


@pytest.mark.parametrize(
    "text, message",
    [
        ("[run]\nbatch-sise = 3\n", "[run] has no option 'batch-sise' (did you mean 'batch-size'?)"),
        ('devise = "cpu"\n', "unknown top-level key 'devise' (did you mean 'device'?)"),
        ("[rnu]\nlimit = 1\n", "unknown section [rnu] (did you mean 'run'?)"),
        ("[run\n", "invalid TOML"),
    ],
)
def test_bad_config_is_one_line_exit_2(tmp_path, capsys, text, message):
    config = _write(tmp_path / "faceval.toml", text)
    capsys.readouterr()
    code = main(["--config", str(config), "run", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    lines = [l for l in err.splitlines() if l.startswith("faceval: error:")]
    assert len(lines) == 1 and message in lines[0] and str(config) in lines[0]


def test_missing_config_file(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "none.toml"), "run"]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_bad_value_names_the_config_file(tmp_path, capsys):
    config = _write(tmp_path / "faceval.toml", '[run]\nlimit = "x"\n')
    assert main(["--config", str(config), "run"]) == 2
    err = capsys.readouterr().err
    assert f"{config}: [run] limit = 'x':" in err and "not a valid integer" in err
