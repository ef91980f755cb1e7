"""Start-up stays light: `faceval --help` and `faceval datasets list` print static text.

They must not import numpy (about 0.1 s of a 0.15 s start-up budget on the development
machine; see benchmarks/results/startup.md). Each check runs in a fresh interpreter, because
the test process itself has numpy loaded. Not timed: the timing lives in benchmarks/.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("numpy", "onnxruntime", "onnx", "h5py", "pandas", "scipy", "matplotlib", "PIL", "rich")


def _modules_after(args: list[str]) -> tuple[int, str, list[str]]:
    code = (
        "import json, sys\n"
        "from faceval_cli.main import main\n"
        f"rc = main({args!r})\n"
        "sys.stdout.flush()\n"
        f"sys.stderr.write('\\nHEAVY=' + json.dumps([m for m in {HEAVY!r} if m in sys.modules]) + '\\n')\n"
        "sys.exit(rc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    marker = [line for line in proc.stderr.splitlines() if line.startswith("HEAVY=")]
    assert marker, proc.stderr
    return proc.returncode, proc.stdout, json.loads(marker[-1][len("HEAVY="):])


@pytest.mark.parametrize("args", [["--help"], ["datasets", "list"], ["datasets", "list", "--format", "json"]])
def test_static_listings_import_nothing_heavy(args: list[str]) -> None:
    rc, out, heavy = _modules_after(args)
    assert rc == 0
    assert heavy == []
    assert out.strip()  # it did print its listing


def test_datasets_list_still_lists_every_dataset_without_numpy() -> None:
    rc, out, heavy = _modules_after(["datasets", "list", "--format", "json"])
    assert rc == 0 and heavy == []
    listed = json.loads(out)["datasets"]
    assert set(listed) == {"300w", "wflw", "cofw", "cofw68", "aflw2000", "json", "sample"}
    # counts come from the manifests (data_manifests/), not from data on disk
    assert listed["300w"]["splits"]["helen"]["count"] == 330
