"""A run with every kind of failure, written as a real run file."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from faceval.runs.data import RunData
from faceval.runs.runfile import write_run
from tests.conftest import shared_path
from tests.faceval.runs.helpers import make_run

#: sample index -> (reason written in the run file, failed input?)
FAILURES = {
    3: ("image file unreadable: truncated image file", True),
    7: ("detection miss", True),
    11: ("missing box", True),
    15: ("", False),  # a NaN prediction of a usable input: non-finite output
}


def run_with_failures(n: int = 20, seed: int = 0) -> RunData:
    """``make_run`` with the failures of :data:`FAILURES` applied (NME inf, NaN predictions)."""
    run = make_run(n=n, seed=seed)
    reasons = np.asarray(run.failure_reasons, dtype=object).copy()
    for i, (reason, failed_input) in FAILURES.items():
        run.predictions[i] = np.nan
        run.nme[i] = np.inf
        run.failed_inputs[i] = failed_input
        reasons[i] = reason
        if run.pose_pred is not None:
            run.pose_pred[i] = np.nan
    run.failure_reasons = reasons
    return run


def write_failures_run(path: Path, n: int = 20, seed: int = 0) -> RunData:
    run = run_with_failures(n, seed)
    write_run(path, run)
    return run


@lru_cache(maxsize=None)
def helen_run_file() -> tuple[Path, Path]:
    """``(run file, data root)`` of one real run of the bundled GhostOne on the 330 HELEN photos.

    Made once per test session (shared by the show, export and gallery tests); skips the caller
    when ../shared/data/300w_helen_test is absent.
    """
    from faceval_cli.main import main

    helen = shared_path("300w_helen_test", "helen", "testset")
    base = Path(tempfile.mkdtemp(prefix="faceval-views-helen-"))
    atexit.register(shutil.rmtree, base, True)
    root = base / "data"
    (root / "300w" / "helen").mkdir(parents=True)
    (root / "300w" / "helen" / "testset").symlink_to(helen)
    out = base / "helen.h5"
    code = main(["run", "--dataset", "300w:helen", "--data-root", str(root), "--out", str(out),
                 "--no-progress", "--cache", str(base / "cache"), "--format", "json"])
    assert code == 0, "the real HELEN run failed"
    return out, root
