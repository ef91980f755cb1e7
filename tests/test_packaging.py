"""The wheel holds what a user needs and nothing it must not (no top-level `cli`)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_file(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        pytest.fail(f"building the wheel failed: {proc.stderr[-2000:]}")
    wheels = list(out.glob("faceval-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


@pytest.fixture(scope="module")
def wheel_names(wheel_file: Path) -> list[str]:
    with zipfile.ZipFile(wheel_file) as zf:
        return zf.namelist()


def test_wheel_contents(wheel_names):
    names = set(wheel_names)
    for required in (
        "faceval/__init__.py",
        "faceval_cli/main.py",
        "faceval_cli/run.py",
        "faceval/schemes/300w.json",
        "faceval/schemes/wflw.json",
        "faceval/manifests/300w.json",
        "faceval/manifests/wflw.json",
        "faceval/data/sample/einstein.jpg",
        "faceval/data/sample/einstein.pts",
        "faceval/data/sample/LICENSE.txt",
        "faceval/data/models/PFLD_GhostOne_112_1_opt_sim.onnx",
        "faceval/data/models/LICENSE",
        "faceval/data/models/ultraface/version-RFB-320.onnx",
        "faceval/data/models/ultraface/LICENSE",
        "faceval/detection/detector.py",
    ):
        assert required in names, f"{required} missing from the wheel"
    assert not any(n.startswith("cli/") for n in names), "a top-level 'cli' package would be installed"
    assert not any(n.startswith("tests/") for n in names)
    entries = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert len(entries) == 1, entries


def test_every_source_package_is_in_the_wheel(wheel_names):
    """Each folder of faceval/ with an __init__.py is installed (setup.cfg lists packages by hand)."""
    names = set(wheel_names)
    packages = sorted(p.parent.relative_to(REPO).as_posix() for p in (REPO / "faceval").rglob("__init__.py"))
    assert "faceval/io/predictions" in packages
    missing = [p for p in packages if f"{p}/__init__.py" not in names]
    assert not missing, f"packages missing from the wheel (add them to setup.cfg): {missing}"


def test_console_script_entry_point(wheel_names, wheel_file):
    """The wheel installs a `faceval` command that runs faceval_cli.main:entry."""
    import configparser

    entry = next(n for n in wheel_names if n.endswith(".dist-info/entry_points.txt"))
    with zipfile.ZipFile(wheel_file) as zf:
        text = zf.read(entry).decode("utf-8")
    parser = configparser.ConfigParser()
    parser.read_string(text)
    assert dict(parser["console_scripts"]) == {"faceval": "faceval_cli.main:entry"}
    from faceval_cli.main import entry as target

    assert callable(target)


def test_help_imports_no_heavy_modules():
    code = ("import sys; from faceval_cli.main import main; rc = main(['--help']); "
            "heavy = [m for m in ('onnxruntime', 'matplotlib', 'pandas', 'scipy', 'h5py') if m in sys.modules]; "
            "print(heavy); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stdout.strip().splitlines()[-1] == "[]"
