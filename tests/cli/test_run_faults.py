"""Faults that used to end badly in `faceval run` (issue 10): output names and locks, stale
temporaries, damaged partials, full disks, signals at checkpoints, crop-cache warnings."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from faceval_cli.main import main
from tests.conftest import shared_path


def _helen_root(tmp_path: Path) -> Path:
    helen = shared_path("300w_helen_test", "helen", "testset")
    root = tmp_path / "data"
    (root / "300w" / "helen").mkdir(parents=True)
    (root / "300w" / "helen" / "testset").symlink_to(helen)
    return root


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _run(capsys, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["run", "--no-progress", "--format", "json", *args])
    return code, capsys.readouterr().err


def test_default_out_names_are_unique_within_one_second(tmp_path, capsys, monkeypatch):
    import faceval_cli.run as run_cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run_cli.time, "strftime", lambda fmt: "20260101-000000")  # both runs in one second
    for _ in range(2):
        code, err = _run(capsys, "--no-cache")
        assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert names == ["PFLD_GhostOne_112_1_opt_sim-sample-20260101-000000-2.h5",
                     "PFLD_GhostOne_112_1_opt_sim-sample-20260101-000000.h5"]


def test_out_written_by_a_live_run_is_refused(tmp_path, capsys):
    out = tmp_path / "r.h5"
    (tmp_path / "r.h5.lock").write_text(f"{os.getppid()}\n")  # a live process that is not this one
    code, err = _run(capsys, "--no-cache", "--out", str(out))
    assert code == 2
    assert f"{out}: another faceval run (pid {os.getppid()}) is writing this file" in err
    assert not out.exists() and (tmp_path / "r.h5.lock").exists()


def test_stale_lock_and_temporaries_of_dead_runs_are_removed(tmp_path, capsys):
    dead, alive = _dead_pid(), os.getppid()
    out = tmp_path / "r.h5"
    (tmp_path / "r.h5.lock").write_text(f"{dead}\n")
    stale = tmp_path / f".r.h5.{dead}.abc123xy.part"
    live = tmp_path / f".r.h5.{alive}.abc123xy.part"
    cache = tmp_path / "cache"
    cache.mkdir()
    stale_tmp = cache / f"sample-0123456789abcdef.h5.{dead}.0123abcd.tmp"
    for path in (stale, live, stale_tmp):
        path.write_bytes(b"half written")
    code, err = _run(capsys, "--out", str(out), "--cache", str(cache))
    assert code == 0, err
    assert out.exists() and not (tmp_path / "r.h5.lock").exists()
    assert not stale.exists() and not stale_tmp.exists()
    assert live.exists()  # its writer is alive


def test_damaged_partial_is_an_input_error(tmp_path, capsys):
    out = tmp_path / "r.h5"
    with h5py.File(tmp_path / "r.h5.partial", "w") as h5:  # valid HDF5, not a partial
        h5.create_dataset("junk", data=np.zeros(3))
    code, err = _run(capsys, "--no-cache", "--out", str(out), "--resume")
    assert code == 2, err
    assert err.strip().splitlines()[-1] == (f"faceval: error: {tmp_path / 'r.h5.partial'}: partial progress file is damaged; "
                           "delete it or run without --resume")
    assert not out.exists()


def test_partial_without_its_landmarks_is_damaged(tmp_path, capsys):
    """A partial of this very run with a dataset missing (the old code: internal error KeyError, exit 3)."""
    out = tmp_path / "r.h5"
    proc = _interrupted_run(tmp_path, ["--dataset", "300w:helen", "--data-root", str(_helen_root(tmp_path)),
                                       "--limit", "8"], out)
    if proc is None:
        pytest.skip("the run finished before it could be interrupted")
    with h5py.File(tmp_path / "r.h5.partial", "a") as h5:
        del h5["landmarks"]
    code, err = _run(capsys, "--dataset", "300w:helen", "--data-root", str(tmp_path / "data"), "--limit", "8",
                     "--no-cache", "--checkpoint-every", "1", "--out", str(out), "--resume")
    assert code == 2, err
    assert "partial progress file is damaged; delete it or run without --resume" in err


def _interrupted_run(tmp_path: Path, args: list[str], out: Path | None, cwd: Path | None = None,
                     sig: int = signal.SIGINT) -> subprocess.CompletedProcess | None:
    """Start a run, SIGINT it once its first partial exists; None when it finished first."""
    cmd = [sys.executable, "-m", "faceval_cli.main", "run", "--no-cache", "--no-progress", "--checkpoint-every", "1",
           *args] + (["--out", str(out)] if out is not None else [])
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, cwd=cwd)
    folder = out.parent if out is not None else (cwd or Path.cwd()) / "runs"
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline and not list(folder.glob("*.partial")):
        time.sleep(0.01)
    proc.send_signal(sig)
    err = proc.communicate(timeout=120)[1]
    if proc.returncode == 0:
        return None
    assert proc.returncode in (130, 143), err
    return subprocess.CompletedProcess(cmd, proc.returncode, "", err)


@pytest.mark.slow
def test_resume_with_the_default_out(tmp_path):
    """The partial of a default-named run is found by identity; no *.h5 glob ever matches a partial."""
    from faceval.runs.runfile import read_run

    root = _helen_root(tmp_path)
    args = ["--dataset", "300w:helen", "--data-root", str(root), "--limit", "24"]
    if _interrupted_run(tmp_path, args, None, cwd=tmp_path) is None:
        pytest.skip("the run finished before it could be interrupted")
    runs = tmp_path / "runs"
    assert list(runs.glob("*.h5")) == [] and len(list(runs.glob("*.partial"))) == 1
    resumed = subprocess.run([sys.executable, "-m", "faceval_cli.main", "run", "--no-cache", "--no-progress",
                              "--checkpoint-every", "1", "--resume", *args], cwd=tmp_path, capture_output=True,
                             text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming:" in resumed.stderr
    assert list(runs.glob("*.partial")) == [] and len(list(runs.glob("*.h5"))) == 1
    full = tmp_path / "full.h5"
    subprocess.run([sys.executable, "-m", "faceval_cli.main", "run", "--no-cache", "--no-progress",
                    "--checkpoint-every", "1", *args, "--out", str(full)], check=True, capture_output=True)
    (done,) = runs.glob("*.h5")
    np.testing.assert_array_equal(read_run(done).predictions, read_run(full).predictions)


@pytest.mark.slow
def test_signals_at_checkpoint_boundaries(tmp_path):
    """SIGINT/SIGTERM just as a checkpoint is written: 130/143 and nothing at --out, or a complete run."""
    from faceval.runs.runfile import read_run

    root = _helen_root(tmp_path)
    args = ["--dataset", "300w:helen", "--data-root", str(root), "--limit", "12", "--no-cache", "--no-progress",
            "--checkpoint-every", "1"]
    full = tmp_path / "full.h5"
    subprocess.run([sys.executable, "-m", "faceval_cli.main", "run", *args, "--out", str(full)], check=True,
                   capture_output=True)
    reference = read_run(full).predictions
    rng = random.Random(0)
    for trial in range(8):
        folder = tmp_path / f"t{trial}"
        folder.mkdir()
        out = folder / "r.h5"
        partial = folder / "r.h5.partial"
        proc = subprocess.Popen([sys.executable, "-m", "faceval_cli.main", "run", *args, "--out", str(out)],
                                stderr=subprocess.PIPE, text=True)
        wanted, seen, last = rng.randint(1, 10), 0, None
        deadline = time.monotonic() + 120
        while proc.poll() is None and seen < wanted and time.monotonic() < deadline:
            try:  # a new checkpoint file appears (atomic rename): signal right at that boundary
                stamp = partial.stat().st_ino
            except FileNotFoundError:
                stamp = None
            if stamp is not None and stamp != last:
                seen, last = seen + 1, stamp
            time.sleep(0.001)
        sig = signal.SIGTERM if trial % 2 else signal.SIGINT
        proc.send_signal(sig)
        err = proc.communicate(timeout=120)[1]
        assert "internal error" not in err and "Traceback" not in err, err
        assert not list(folder.glob(".*.part")), "a temporary file was left behind"
        if proc.returncode == 0 or out.exists():
            # finished before the signal, or the signal came after the run file was renamed into place
            assert proc.returncode in (0, 130, 143), err
            np.testing.assert_array_equal(read_run(out).predictions, reference)
            if proc.returncode:
                assert "is complete" in err
        else:
            assert proc.returncode == (143 if sig == signal.SIGTERM else 130), err


def _mounted_tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    path.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    if not _mounted_tmpfs(disk, "768k"):
        pytest.skip("needs root and mount to make a small tmpfs (a real full disk)")
    yield disk
    subprocess.run(["umount", str(disk)], check=False)


def test_full_disk_for_the_crop_cache_warns_once_and_goes_on(tmp_path, capsys, small_disk):
    from faceval.runs.runfile import read_run

    root = _helen_root(tmp_path)
    args = ["--dataset", "300w:helen", "--data-root", str(root), "--limit", "40"]
    code, err = _run(capsys, *args, "--cache", str(small_disk / "cache"), "--out", str(tmp_path / "a.h5"))
    assert code == 0, err
    assert err.count("crop cache disabled: no space left on") == 1, err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert [p.name for p in (small_disk / "cache").iterdir() if p.name != "models"] == []  # no crops, no .tmp
    code, err = _run(capsys, *args, "--no-cache", "--out", str(tmp_path / "b.h5"))
    np.testing.assert_array_equal(read_run(tmp_path / "a.h5").predictions, read_run(tmp_path / "b.h5").predictions)


def test_full_disk_at_out_is_one_line_and_leaves_nothing(tmp_path, small_disk):
    root = _helen_root(tmp_path)
    (small_disk / "filler").write_bytes(b"\0" * (640 << 10))
    out = small_disk / "r.h5"
    proc = subprocess.run([sys.executable, "-m", "faceval_cli.main", "run", "--dataset", "300w:helen",
                           "--data-root", str(root), "--limit", "40", "--no-cache", "--no-progress",
                           "--checkpoint-every", "8", "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line.lower() or "Traceback" in line]
    assert errors == [f"faceval: error: no space left on device writing {out}"]
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]


def test_unreadable_crop_cache_is_said_once(tmp_path, capsys):
    from faceval.pipeline.cache import CropCache

    cache = tmp_path / "cache"
    code, err = _run(capsys, "--cache", str(cache), "--out", str(tmp_path / "a.h5"))
    assert code == 0, err
    (cache_file,) = [p for p in cache.iterdir() if p.suffix == ".h5"]
    cache_file.write_bytes(b"not HDF5 at all")
    code, err = _run(capsys, "--cache", str(cache), "--out", str(tmp_path / "b.h5"))
    assert code == 0, err
    assert err.count("ignoring unreadable crop cache") == 1, err
    assert CropCache.__name__  # the cache was rebuilt: a third run is all hits and silent
    code, err = _run(capsys, "--cache", str(cache), "--out", str(tmp_path / "c.h5"))
    assert code == 0 and "crop cache" not in err


def test_read_only_crop_cache_is_said_once(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root can write a read-only folder")
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o555)
    try:
        code, err = _run(capsys, "--cache", str(cache), "--out", str(tmp_path / "a.h5"))
    finally:
        cache.chmod(0o755)
    assert code == 0, err
    assert err.count("crop cache is read-only") == 1, err


def test_model_cost_stays_under_the_named_cache_folder(tmp_path, capsys, monkeypatch):
    from faceval.evaluation.evaluate import model_cost, model_cost_dir
    from faceval.models import default_model_path
    from faceval.runs.provenance import sha256_file

    cache = tmp_path / "parent" / "cache"
    assert model_cost_dir(cache) == cache / "models"
    monkeypatch.delenv("FACEVAL_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert model_cost_dir(None) == tmp_path / "xdg" / "faceval" / "models"
    pytest.importorskip("onnx")
    sha = sha256_file(default_model_path())
    cost = model_cost(Path(default_model_path()), sha, cache)
    assert cost is not None and cost.params and cost.params > 0
    assert (cache / "models" / f"{sha}.json").is_file()
    assert sorted(p.name for p in (tmp_path / "parent").iterdir()) == ["cache"]
    # The run reads the cached cost (never importing onnx itself) and records it.
    code, err = _run(capsys, "--cache", str(cache), "--out", str(tmp_path / "r.h5"))
    assert code == 0, err
    from faceval.runs.runfile import read_run

    assert read_run(tmp_path / "r.h5").model_info["params"] == cost.params


def test_run_path_never_imports_onnx(tmp_path):
    """A first run ever (no model cost cached) neither imports onnx nor counts the cost (reports count it)."""
    code = ("import sys; from faceval_cli.main import main; "
            f"rc = main(['run', '--no-progress', '--cache', {str(tmp_path / 'c')!r}, '--out', {str(tmp_path / 'r.h5')!r}]); "
            "assert rc == 0, rc; print('onnx' in sys.modules)")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "xdg"))
    env.pop("FACEVAL_CACHE_DIR", None)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "False"
    assert not (tmp_path / "c" / "models").exists() and not (tmp_path / "xdg" / "faceval").exists()
