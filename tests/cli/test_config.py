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


@pytest.mark.parametrize(("table", "message"), [
    ('[score]\nprotocol = "pipnett"\n', "[score] protocol = 'pipnett': unknown protocol preset 'pipnett' (did you mean"),
    ('[run]\nnormalizer = "bboxx"\n', "[run] normalizer = 'bboxx': unknown normaliser 'bboxx' (did you mean 'bbox'?)"),
    ('[score]\nfr-cut = "gird"\n', "[score] fr-cut = 'gird': unknown FR cut 'gird'"),
    ('[score]\npoints = "inner50"\n', "[score] points = 'inner50': unknown point subset 'inner50'"),
    ('[score]\nauc-mode = "simpson"\n', "[score] auc-mode = 'simpson': unknown AUC mode 'simpson'"),
    ('[score]\nprotocol = 3\n', "[score] protocol = 3: Invalid value for '--protocol': expected a name, got 3"),
])
def test_a_bad_protocol_name_in_the_config_names_the_file(tmp_path, capsys, table, message):
    """These names were checked only when a command used them, in an error naming no file."""
    config = _write(tmp_path / "faceval.toml", table)
    assert main(["--config", str(config), "datasets", "list"]) == 2  # any command checks the whole file
    err = capsys.readouterr().err
    assert err.startswith(f"faceval: error: {config}: ") and message in err and len(err.strip().splitlines()) == 1


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


@pytest.mark.parametrize(
    "argv, text, message",
    [
        (["run", "--no-progress"], "[gate]\njunit-xlm = \"g.xml\"\n",
         "[gate] has no option 'junit-xlm' (did you mean 'junit-xml'?)"),
        (["datasets", "list"], "[report]\nformat = \"xml\"\n", "[report] format = 'xml':"),
        (["report", "x.h5"], "[datasets]\nstrictt = true\n", "[datasets] has no option 'strictt' in any of its subcommands"),
        (["gate", "a.h5", "--baseline", "b.h5"], "[datasets.verfy]\nformat = \"json\"\n",
         "unknown section [datasets.verfy] (did you mean 'verify'?)"),
        (["datasets", "list"], "[datasets.verify]\nformatt = \"json\"\n",
         "[datasets.verify] has no option 'formatt' (did you mean 'format'?)"),
        (["score", "--predictions", "p.csv", "--dataset", "sample"], "[plot.ced]\nsplitt = \"all\"\n",
         "[plot.ced] has no option 'splitt' (did you mean 'split'?)"),
    ],
)
def test_any_bad_key_in_the_file_is_reported_by_every_command(tmp_path, capsys, argv, text, message):
    """A typo in [gate] must not wait for the gate to run in CI: `faceval run` reports it too."""
    config = _write(tmp_path / "faceval.toml", text)
    capsys.readouterr()
    assert main(["--config", str(config), *argv]) == 2
    lines = [l for l in capsys.readouterr().err.splitlines() if l.startswith("faceval: error:")]
    assert len(lines) == 1 and message in lines[0] and str(config) in lines[0]


def test_a_valid_file_with_every_kind_of_table_is_accepted(tmp_path, capsys):
    config = _write(tmp_path / "faceval.toml", 'device = "cpu"\n[gate]\njunit-xml = "g.xml"\n[datasets]\nformat = "json"\n'
                                               '[datasets.verify]\nformat = "human"\n[plot.ced]\nsplit = "all"\n')
    capsys.readouterr()
    assert main(["--config", str(config), "datasets", "list"]) == 0
    assert json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    "text, message",
    [
        ("data_root = 5\n", "data_root = 5: not a valid directory for '--data-root'"),
        ("progress = 3\n", "progress = 3: not a valid boolean for '--progress'"),
        ('device = "gpu"\n', "device = 'gpu': Invalid value for '--device'"),
        ("[run]\nbatch-size = [1]\n", "[run] batch-size = [1]: not a valid integer for '--batch-size'"),
        ("[run]\nout = 3\n", "[run] out = 3: not a valid path for '--out'"),
        ("[run]\nlimit = {a = 1}\n", "unknown section [run.limit]: 'run' has no subcommands"),
        ("[datasets.verify]\nformat = {a = 1}\n", "unknown section [datasets.verify.format]"),
    ],
)
def test_a_value_of_the_wrong_toml_type_is_one_line_exit_2_for_every_command(tmp_path, capsys, text, message):
    """TOML numbers, lists and tables where click expects a string were internal errors (exit 3), a table
    inside a command's table was silently ignored, and a bad top-level value waited for a command with
    that option: `faceval datasets list` (no --device) reports them all."""
    config = _write(tmp_path / "faceval.toml", text)
    capsys.readouterr()
    assert main(["--config", str(config), "datasets", "list"]) == 2
    lines = [l for l in capsys.readouterr().err.splitlines() if l.startswith("faceval: error:")]
    assert len(lines) == 1 and message in lines[0] and str(config) in lines[0], lines
