"""Determinism: the same inputs give byte-identical outputs across two invocations.

* ``faceval score --out``: every dataset under /arrays, /splits and /samples of the two run files
  (bytes, dtype and shape), the protocol and summary attributes, and the summary JSON on stdout
  (provenance holds start/end times and differs by design).
* ``faceval report`` in CSV, LaTeX, Markdown and JSON (and HTML), written twice from the same run
  files, and the tables built from the run files of the two score invocations.
* ``faceval plot ced`` as PDF, SVG and PNG, twice.

(``faceval run`` with workers 1 vs 4 is covered with the run command's tests.)
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from faceval_cli.main import main
from tests.fixtures import build_300w_tree, random_faces

FOLDERS = {"helen/testset": (5, ".jpg"), "lfpw/testset": (4, ".png"), "ibug": (3, ".jpg")}  # manifest image_ext


def _inputs(top: Path, seed: int, name: str) -> tuple[Path, Path, Path]:
    """A 300W tree (12 faces over common and challenging), predictions with one NaN face, pose labels."""
    ids: list[str] = []
    for folder, (count, ext) in FOLDERS.items():
        ids += [f"{folder}/img_{k}{ext}" for k in range(count)]
    faces = random_faces(len(ids), seed=5)
    root = build_300w_tree(top / "data", dict(zip(ids, faces)), with_images=False)
    rng = np.random.default_rng(seed)
    preds = faces + rng.normal(0, 3, faces.shape)
    preds[4, 10] = np.nan
    header = "sample_id," + ",".join(f"x{k},y{k}" for k in range(68)) + ",yaw,pitch,roll"
    rows = [sid + "," + ",".join(repr(float(v)) for v in preds[i].ravel()) + f",{i}.5,-{i}.25,{i % 3}.0"
            for i, sid in enumerate(ids)]
    pred_path = top / f"{name}.csv"
    pred_path.write_text("\n".join([header, *rows]) + "\n")
    pose_path = top / "poses.csv"
    pose_path.write_text("sample_id,yaw,pitch,roll\n" + "".join(f"{sid},{i}.0,-{i}.5,0.25\n" for i, sid in enumerate(ids)))
    return root, pred_path, pose_path


def _datasets(path: Path) -> dict[str, tuple[str, tuple[int, ...], bytes]]:
    """name -> (dtype, shape, bytes) for every dataset under /arrays, /splits and /samples."""
    found: dict[str, tuple[str, tuple[int, ...], bytes]] = {}
    with h5py.File(path, "r") as h5:
        def visit(name: str, obj: object) -> None:
            if isinstance(obj, h5py.Dataset):
                value = obj[()]
                if obj.dtype.kind == "O":
                    data = b"\x00".join(v if isinstance(v, bytes) else str(v).encode() for v in np.ravel(value))
                else:
                    data = np.ascontiguousarray(value).tobytes()
                found[name] = (str(obj.dtype), tuple(obj.shape), data)
        for group in ("arrays", "splits", "samples"):
            h5[group].visititems(lambda n, o, g=group: visit(f"{g}/{n}", o))
        attrs = {k: h5.attrs[k] for k in ("protocol", "summary", "label", "dataset", "scheme", "schema_version")}
    found["attrs"] = ("json", (), json.dumps({k: str(v) for k, v in attrs.items()}, sort_keys=True).encode())
    return found


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two score invocations of model A (a1, a2) and one of model B, from the same inputs."""
    top = tmp_path_factory.mktemp("determinism")
    import contextlib
    import io

    def score(root: Path, preds: Path, poses: Path, out: Path) -> dict:
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(["score", "--predictions", str(preds), "--dataset", "300w", "--data-root", str(root),
                         "--pose-labels", str(poses), "--threshold", "0.08", "--threshold", "0.1", "--out", str(out),
                         "--format", "json"])
        assert code == 0, stderr.getvalue()
        return json.loads(stdout.getvalue())

    root, preds_a, poses = _inputs(top / "a", seed=1, name="modelA")
    _, preds_b, _ = _inputs(top / "b", seed=2, name="modelB")
    result = {"top": top}
    result["json_a1"] = score(root, preds_a, poses, top / "a1.h5")
    result["json_a2"] = score(root, preds_a, poses, top / "a2.h5")
    result["json_b"] = score(root, preds_b, poses, top / "b.h5")
    result.update(a1=top / "a1.h5", a2=top / "a2.h5", b=top / "b.h5")
    return result


def _strip_times(summary: dict) -> dict:
    summary = json.loads(json.dumps(summary))
    provenance = summary.pop("provenance", None)
    assert provenance is None or isinstance(provenance, dict)
    return summary


def test_score_run_file_arrays_are_byte_identical(runs):
    first, second = _datasets(runs["a1"]), _datasets(runs["a2"])
    assert set(first) == set(second)
    assert {"arrays/predictions", "arrays/ground_truth", "arrays/nme", "arrays/normalizers", "arrays/visible",
            "arrays/failed_inputs", "arrays/failure_reasons", "arrays/pose_pred", "arrays/pose_gt", "samples/ids",
            "splits/common", "splits/challenging", "splits/full", "splits/helen", "splits/lfpw"} <= set(first)
    for name in sorted(first):
        assert first[name] == second[name], f"{name} differs between two identical score invocations"
    # and the runs are not trivially empty: 12 faces, one NaN prediction counted as a failure
    with h5py.File(runs["a1"], "r") as h5:
        nme = h5["arrays/nme"][()]
    assert nme.shape == (12,) and np.isinf(nme).sum() == 1


def test_score_summary_json_is_identical(runs):
    assert _strip_times(runs["json_a1"]) == _strip_times(runs["json_a2"])
    assert json.dumps(_strip_times(runs["json_a1"]), sort_keys=True) == json.dumps(_strip_times(runs["json_a2"]),
                                                                                     sort_keys=True)
    assert runs["json_a1"]["splits"]["full"]["n"] == 12
    assert runs["json_a1"] != runs["json_b"]  # different predictions do give a different summary


def _report(runs_: list[Path], out: Path, *extra: str) -> bytes:
    assert main(["report", *map(str, runs_), "--out", str(out), *extra]) == 0
    return out.read_bytes()


@pytest.mark.parametrize("ext,extra", [("csv", ["--ci"]), ("tex", ["--ci"]), ("md", ["--ci"]), ("json", []),
                                       ("html", [])])
def test_report_is_byte_identical_across_invocations(runs, ext, extra, tmp_path):
    """Bootstrap intervals (--ci) included: their resampling is seeded."""
    inputs = [runs["a1"], runs["b"]]
    first = _report(inputs, tmp_path / f"one.{ext}", *extra)
    second = _report(inputs, tmp_path / f"two.{ext}", *extra)
    assert first == second
    assert len(first) > 200 and b"modelA" in first and b"modelB" in first


@pytest.mark.parametrize("ext", ["csv", "tex", "md"])
def test_report_tables_from_the_two_score_invocations_are_identical(runs, ext, tmp_path):
    """The tables depend on the runs' numbers, not on when the runs were made."""
    from_first = _report([runs["a1"], runs["b"]], tmp_path / f"one.{ext}")
    from_second = _report([runs["a2"], runs["b"]], tmp_path / f"two.{ext}")
    assert from_first == from_second


def test_report_json_differs_only_in_provenance_between_score_invocations(runs, tmp_path):
    one = json.loads(_report([runs["a1"]], tmp_path / "one.json"))
    two = json.loads(_report([runs["a2"]], tmp_path / "two.json"))

    def without_provenance(value):  # type: ignore[no-untyped-def]
        if isinstance(value, dict):
            return {k: without_provenance(v) for k, v in value.items() if k != "provenance"}
        if isinstance(value, list):
            return [without_provenance(v) for v in value]
        return value

    assert without_provenance(one) == without_provenance(two)


@pytest.mark.parametrize("ext", ["pdf", "svg", "png"])
def test_plot_ced_is_byte_identical(runs, ext, tmp_path):
    outputs = []
    for k in range(2):
        out = tmp_path / f"ced{k}.{ext}"
        assert main(["plot", "ced", str(runs["a1"]), str(runs["b"]), "--out", str(out)]) == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) > 1000
    magic = {"pdf": b"%PDF", "svg": b"<?xml", "png": b"\x89PNG"}[ext]
    assert outputs[0].startswith(magic)


def test_plot_ced_from_the_two_score_invocations_is_identical(runs, tmp_path):
    one, two = tmp_path / "one.svg", tmp_path / "two.svg"
    assert main(["plot", "ced", str(runs["a1"]), "--out", str(one)]) == 0
    assert main(["plot", "ced", str(runs["a2"]), "--out", str(two)]) == 0
    assert one.read_bytes() == two.read_bytes()
