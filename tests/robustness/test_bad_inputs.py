"""A catalogue of bad inputs and faceval's answer to each (one parametrised row per case).

Every row runs ``faceval_cli.main.main([...])`` in-process and checks:
  * the exit code (2 for usage or input errors);
  * stderr ends with exactly one line starting with ``faceval: error:``, that line names the file
    (``path:line:`` where a line is known) and matches the row's message; other stderr lines are
    ``faceval: warning:`` lines only; no ``Traceback`` anywhere;
  * nothing (not even a temporary ``.part`` file) exists at any ``--out`` path of the row.

Rows with ``usage=True`` are rejected by click's own parameter checks (unknown command, a value
outside a choice, a folder where a file is expected): click prints ``Usage: ... Error: <msg>``
with exit 2. the README table lists every row (test id in its last column); a test below keeps
the two in step.

Tests run as root in some containers, where ``chmod 000`` does not block reading or writing: those
rows skip with a reason, and an unreadable file is also simulated as root with a symlink to
``/proc/self/mem`` (reading it fails with EIO); an unwritable folder with a path under ``/proc``.
"""

from __future__ import annotations

import dataclasses

import errno
import json
import os
import re
import shutil
import stat
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import h5py
import numpy as np
import pytest

from faceval_cli.main import main
from tests.fixtures import (build_300w_tree, build_aflw2000_tree, build_wflw_tree, cofw_arrays, random_faces,
                            wflw_records, write_aflw2000_mat, write_cofw_mat)

IDS = [f"helen/testset/face_{i}.jpg" for i in range(3)]
DOCS = Path(__file__).resolve().parents[2] / "README.md"  # the table lives in the README
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
ROOT_SKIP = "running as root: chmod does not block root's reads/writes (the /proc rows cover this case)"


# --------------------------------------------------------------------------- the base data

@dataclass
class Base:
    root: Path      # data root with 300w (3 helen faces, no images), wflw, cofw, aflw2000
    preds: Path     # valid predictions CSV for 300w:helen
    run_a: Path     # run files written by `faceval score`
    run_b: Path
    folder: Path    # an existing empty folder
    afile: Path     # an existing plain file
    faces: np.ndarray


def _csv(path: Path, rows: list[tuple[str, np.ndarray]], header_points: int = 68) -> Path:
    header = "sample_id," + ",".join(f"x{k},y{k}" for k in range(header_points))
    body = [sid + "," + ",".join(f"{v:.4f}" if np.isfinite(v) else "nan" for v in np.ravel(lm)) for sid, lm in rows]
    path.write_text("\n".join([header, *body]) + "\n")
    return path


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    top = tmp_path_factory.mktemp("bad-inputs-base")
    faces = random_faces(3, seed=2)
    root = build_300w_tree(top / "data", dict(zip(IDS, faces)), with_images=False)
    build_wflw_tree(root, wflw_records(2, (1, 2), seed=1), with_images=False)
    (root / "cofw").mkdir()
    write_cofw_mat(root / "cofw" / "COFW_test_color.mat", "test", *cofw_arrays(2))
    build_aflw2000_tree(root, {"image00002.jpg": (faces[0], (10.0, 5.0, 3.0))}, with_images=False)
    preds = _csv(top / "preds.csv", [(sid, faces[i] + 0.5) for i, sid in enumerate(IDS)])
    other = _csv(top / "other.csv", [(sid, faces[i] + 1.5) for i, sid in enumerate(IDS)])
    run_a, run_b = top / "a.h5", top / "b.h5"
    for src, out in ((preds, run_a), (other, run_b)):
        assert main(["score", "--predictions", str(src), "--dataset", "300w:helen", "--data-root", str(root),
                     "--out", str(out), "--format", "json"]) == 0
    (top / "folder").mkdir()
    (top / "afile").write_text("a plain file\n")
    return Base(root, preds, run_a, run_b, top / "folder", top / "afile", faces)


def copy_dataset(b: Base, t: Path, name: str) -> Path:
    """A private copy of one dataset folder under ``t/data``; returns the new data root."""
    shutil.copytree(b.root / name, t / "data" / name)
    return t / "data"


def pts_of(root: Path, i: int = 1) -> Path:
    return root / "300w" / "helen" / "testset" / f"face_{i}.pts"


def score_args(b: Base, *extra: str, preds: Path | None = None, root: Path | None = None,
               dataset: str = "300w:helen") -> list[str]:
    return ["score", "--predictions", str(preds or b.preds), "--dataset", dataset, "--data-root", str(root or b.root),
            *extra]


# --------------------------------------------------------------------------- the catalogue

@dataclass
class Expect:
    args: list[str]
    match: str                      # regex searched in the message after "faceval: error: "
    names: Path | str | None = None  # the file the message must name
    line: int | None = None          # ... at this line ("path:line:")
    code: int = 2
    outs: list[Path] = field(default_factory=list)
    usage: bool = False              # click's own checks (one line ending with a --help hint)


CASES: dict[str, Callable[[Base, Path, pytest.MonkeyPatch], Expect]] = {}


def case(name: str):  # type: ignore[no-untyped-def]
    def register(fn):  # type: ignore[no-untyped-def]
        assert name not in CASES, name
        CASES[name] = fn
        return fn
    return register


# ---- missing or unreadable files and folders

@case("score-predictions-missing")
def _(b, t, mp):
    return Expect(score_args(b, preds=t / "missing.csv"), r"prediction file not found$", t / "missing.csv")


@case("score-predictions-folder")
def _(b, t, mp):
    return Expect(score_args(b, preds=b.folder), r"expected a prediction file, found a folder", b.folder)


@case("score-predictions-unreadable-eio")
def _(b, t, mp):
    link = t / "preds.csv"
    link.symlink_to("/proc/self/mem")
    return Expect(score_args(b, preds=link), r"cannot read the prediction file: Input/output error", link)


@case("score-predictions-unreadable-chmod")
def _(b, t, mp):
    if IS_ROOT:
        pytest.skip(ROOT_SKIP)
    path = shutil.copy(b.preds, t / "preds.csv")
    os.chmod(path, 0)
    return Expect(score_args(b, preds=Path(path)), r"cannot read the prediction file: Permission denied", path)


@case("pts-unreadable-chmod")
def _(b, t, mp):
    if IS_ROOT:
        pytest.skip(ROOT_SKIP)
    root = copy_dataset(b, t, "300w")
    os.chmod(pts_of(root), 0)
    return Expect(["datasets", "samples", "300w:helen", "--data-root", str(root)],
                  r"cannot read \.pts landmark file: Permission denied", pts_of(root))


@case("pts-unreadable-eio")
def _(b, t, mp):
    root = copy_dataset(b, t, "300w")
    pts_of(root).unlink()
    pts_of(root).symlink_to("/proc/self/mem")
    return Expect(["datasets", "samples", "300w:helen", "--data-root", str(root)],
                  r"cannot read \.pts landmark file: Input/output error", pts_of(root))


@case("data-root-missing")
def _(b, t, mp):
    return Expect(["datasets", "samples", "300w", "--data-root", str(t / "nowhere")], r"data root not found$",
                  t / "nowhere")


@case("data-root-absent")
def _(b, t, mp):
    mp.delenv("FACEVAL_DATA_ROOT", raising=False)
    return Expect(["datasets", "samples", "300w"], r"^no data root: pass --data-root DIR or set FACEVAL_DATA_ROOT$")


@case("data-root-is-a-file")
def _(b, t, mp):
    return Expect(["datasets", "samples", "300w", "--data-root", str(b.afile)],
                  r"Invalid value for '--data-root': Directory '.*afile' is a file", b.afile, usage=True)


@case("dataset-folder-missing")
def _(b, t, mp):
    return Expect(["datasets", "samples", "cofw", "--data-root", str(b.folder)],
                  r"COFW folder not found \(expected layout: ", b.folder / "cofw")


@case("dataset-folder-empty")
def _(b, t, mp):
    (t / "data" / "aflw2000" / "AFLW2000").mkdir(parents=True)
    return Expect(["datasets", "samples", "aflw2000", "--data-root", str(t / "data")],
                  r"no aflw2000 samples found under .*AFLW2000 \(expected layout", t / "data" / "aflw2000")


@case("wflw-list-missing-strict")
def _(b, t, mp):
    (t / "data" / "wflw").mkdir(parents=True)
    return Expect(score_args(b, "--strict-data", root=t / "data", dataset="wflw"),
                  r"WFLW test list not found", t / "data" / "wflw")


@case("run-missing")
def _(b, t, mp):
    return Expect(["report", str(t / "missing.h5")], r"run file not found$", t / "missing.h5")


@case("run-is-a-folder")
def _(b, t, mp):
    return Expect(["report", str(b.folder)], r"Invalid value for 'RUNS...': File '.*folder' is a directory", b.folder,
                  usage=True)


@case("gate-baseline-missing")
def _(b, t, mp):
    return Expect(["gate", str(b.run_a), "--baseline", str(t / "base.h5")], r"run file not found$", t / "base.h5")


@case("plot-run-missing")
def _(b, t, mp):
    out = t / "ced.pdf"
    return Expect(["plot", "ced", str(t / "nope.h5"), "--out", str(out)], r"run file not found$", t / "nope.h5",
                  outs=[out])


@case("merge-shard-missing")
def _(b, t, mp):
    out = t / "merged.h5"
    return Expect(["merge", str(b.run_a), str(t / "shard2.h5"), "--out", str(out)], r"run file not found$",
                  t / "shard2.h5", outs=[out])


@case("pose-labels-missing")
def _(b, t, mp):
    out = t / "run.h5"
    return Expect(score_args(b, "--pose-labels", str(t / "poses.csv"), "--out", str(out)), r"pose CSV not found$",
                  t / "poses.csv", outs=[out])


# ---- malformed 300W .pts

def _bad_pts(b: Base, t: Path, transform: Callable[[list[str]], list[str]] | None = None,
             raw: bytes | None = None) -> Path:
    root = copy_dataset(b, t, "300w")
    path = pts_of(root)
    if raw is not None:
        path.write_bytes(raw)
    else:
        path.write_text("\n".join(transform(path.read_text().splitlines())) + "\n")  # type: ignore[misc]
    return root


def _pts_expect(root: Path, match: str, line: int | None) -> Expect:
    out = root.parent / "run.h5"
    return Expect(["score", "--predictions", "unused.csv", "--dataset", "300w:helen", "--data-root", str(root),
                   "--out", str(out)], match, pts_of(root), line, outs=[out])


@case("pts-too-few-tokens")
def _(b, t, mp):
    root = _bad_pts(b, t, lambda ls: ls[:5] + [ls[5].split()[0]] + ls[6:])
    return _pts_expect(root, r"expected 2 values per point line \(x y\), found 1$", 6)


@case("pts-too-many-tokens")
def _(b, t, mp):
    root = _bad_pts(b, t, lambda ls: ls[:9] + [ls[9] + " 1.0"] + ls[10:])
    return _pts_expect(root, r"expected 2 values per point line \(x y\), found 3$", 10)


@case("pts-non-numeric")
def _(b, t, mp):
    root = _bad_pts(b, t, lambda ls: ls[:7] + ["12.5 abc"] + ls[8:])
    return _pts_expect(root, r"expected numeric coordinates, found 'abc'$", 8)


@case("pts-nan-coordinate")
def _(b, t, mp):
    root = _bad_pts(b, t, lambda ls: ls[:7] + ["nan 3.0"] + ls[8:])
    return _pts_expect(root, r"expected numeric coordinates, found 'nan'$", 8)


@case("pts-empty-file")
def _(b, t, mp):
    root = _bad_pts(b, t, raw=b"")
    return _pts_expect(root, r"empty \.pts landmark file: expected 68 'x y' lines", 1)


@case("pts-latin1")
def _(b, t, mp):
    root = _bad_pts(b, t, raw=b"version: 1\nn_points: 68\n{\n10 caf\xe9\n}\n")
    return _pts_expect(root, r"expected UTF-8 text in a \.pts landmark file, found undecodable byte 0xe9$", 4)


@case("pts-utf16")
def _(b, t, mp):
    root = _bad_pts(b, t, raw=pts_of(b.root).read_text().encode("utf-16"))
    return _pts_expect(root, r"expected a text \.pts landmark file, found binary data$", None)


@case("pts-wrong-point-count")
def _(b, t, mp):
    # header-less variant with 67 points (a 68-point scheme)
    root = _bad_pts(b, t, lambda ls: ls[3:-2])
    return _pts_expect(root, r"expected 68 points, found 67$", None)


@case("pts-header-count-mismatch")
def _(b, t, mp):
    root = _bad_pts(b, t, lambda ls: ls[:4] + ls[5:])
    return _pts_expect(root, r"header says n_points: 68 but 67 point lines follow$", 70)


@case("pts-missing-closing-brace")
def _(b, t, mp):
    root = _bad_pts(b, t, lambda ls: ls[:-1])
    return _pts_expect(root, r"expected a closing '\}' after the point lines$", 71)


# ---- malformed WFLW lists

WFLW_TEST = Path("wflw/WFLW_annotations/list_98pt_rect_attr_train_test/list_98pt_rect_attr_test.txt")
WFLW_BLUR = Path("wflw/WFLW_annotations/list_98pt_test/list_98pt_test_blur.txt")


def _bad_wflw(b: Base, t: Path, rel: Path, transform: Callable[[list[list[str]]], list[list[str]]] | None = None,
              raw: bytes | None = None) -> tuple[Path, Path]:
    root = copy_dataset(b, t, "wflw")
    path = root / rel
    if raw is not None:
        path.write_bytes(raw)
    else:
        rows = [line.split() for line in path.read_text().splitlines()]
        path.write_text("\n".join(" ".join(r) for r in transform(rows)) + "\n")  # type: ignore[misc]
    return root, path


def _wflw_expect(root: Path, path: Path, match: str, line: int | None, dataset: str = "wflw:test") -> Expect:
    return Expect(["datasets", "samples", dataset, "--data-root", str(root)], match, path, line)


@case("wflw-too-few-tokens")
def _(b, t, mp):
    root, path = _bad_wflw(b, t, WFLW_TEST, lambda rows: [rows[0], rows[1][:150] + rows[1][151:], *rows[2:]])
    return _wflw_expect(root, path, r"expected 207 tokens \(196 coordinates, 4 rectangle values, 6 attribute flags, "
                                    r"image path\), found 206$", 2)


@case("wflw-too-many-tokens")
def _(b, t, mp):
    root, path = _bad_wflw(b, t, WFLW_TEST, lambda rows: [rows[0] + ["extra"], *rows[1:]])
    return _wflw_expect(root, path, r"expected 207 tokens .*, found 208$", 1)


@case("wflw-non-numeric")
def _(b, t, mp):
    root, path = _bad_wflw(b, t, WFLW_TEST, lambda rows: [rows[0], rows[1], rows[2][:3] + ["abc"] + rows[2][4:]])
    return _wflw_expect(root, path, r"expected numeric values, found 'abc'$", 3)


@case("wflw-bad-flag")
def _(b, t, mp):
    root, path = _bad_wflw(b, t, WFLW_TEST, lambda rows: [rows[0][:200] + ["2"] + rows[0][201:], *rows[1:]])
    return _wflw_expect(root, path, r"expected a 0/1 pose flag \(token 201\), found '2'$", 1)


@case("wflw-empty-list")
def _(b, t, mp):
    root, path = _bad_wflw(b, t, WFLW_TEST, raw=b"\n\n")
    return _wflw_expect(root, path, r"empty WFLW annotation list: expected 207 tokens", 1)


@case("wflw-utf16-list")
def _(b, t, mp):
    root, path = _bad_wflw(b, t, WFLW_TEST, raw=(b.root / WFLW_TEST).read_text().encode("utf-16"))
    return _wflw_expect(root, path, r"expected a text WFLW annotation list, found binary data$", None)


@case("wflw-attribute-list-wrong-tokens")
def _(b, t, mp):
    # a full-list line (207 tokens) pasted into an attribute list (197)
    full_line = (b.root / WFLW_TEST).read_text().splitlines()[0]
    root, path = _bad_wflw(b, t, WFLW_BLUR, raw=(full_line + "\n").encode())
    return _wflw_expect(root, path, r"expected 197 tokens \(196 coordinates, image path\), found 207$", 1,
                        dataset="wflw:blur")


# ---- malformed COFW and AFLW2000-3D .mat files

COFW_TEST = Path("cofw/COFW_test_color.mat")


@case("cofw-not-hdf5")
def _(b, t, mp):
    root = copy_dataset(b, t, "cofw")
    (root / COFW_TEST).write_bytes(b"MATLAB 5.0 MAT-file, not the v7.3 format\n")
    return Expect(["datasets", "samples", "cofw", "--data-root", str(root)],
                  r"expected a MATLAB v7\.3 \(HDF5\) \.mat file", root / COFW_TEST)


@case("cofw-missing-variable")
def _(b, t, mp):
    root = copy_dataset(b, t, "cofw")
    with h5py.File(root / COFW_TEST, "r+") as h5:
        del h5["phisT"]
    return Expect(["datasets", "samples", "cofw", "--data-root", str(root)],
                  r"expected variable 'phisT' in the COFW \.mat file, found: IsT, bboxesT$", root / COFW_TEST)


@case("cofw-wrong-shape")
def _(b, t, mp):
    root = copy_dataset(b, t, "cofw")
    with h5py.File(root / COFW_TEST, "r+") as h5:
        phis = h5["phisT"][()]
        del h5["phisT"]
        h5.create_dataset("phisT", data=phis[:86])
    return Expect(["datasets", "samples", "cofw", "--data-root", str(root)],
                  r"expected 'phisT' of shape N x 87 \(29 x, 29 y, 29 occlusion flags\), found 2 x 86$",
                  root / COFW_TEST)


@case("cofw-damaged-variable")
def _(b, t, mp):
    root = copy_dataset(b, t, "cofw")
    with h5py.File(root / COFW_TEST, "r+") as h5:
        del h5["bboxesT"]
        h5.create_group("bboxesT")
    return Expect(["datasets", "samples", "cofw", "--data-root", str(root)], r"damaged COFW \.mat file \(",
                  root / COFW_TEST)


AFLW_MAT = Path("aflw2000/AFLW2000/image00002.mat")


@case("aflw-not-a-mat")
def _(b, t, mp):
    root = copy_dataset(b, t, "aflw2000")
    (root / AFLW_MAT).write_text("x y\n1 2\n")
    return Expect(["datasets", "samples", "aflw2000", "--data-root", str(root)],
                  r"expected a MATLAB \.mat file \(AFLW2000-3D\), cannot read it", root / AFLW_MAT)


@case("aflw-missing-variable")
def _(b, t, mp):
    from scipy.io import savemat

    root = copy_dataset(b, t, "aflw2000")
    savemat(str(root / AFLW_MAT), {"pt3d_68": np.zeros((3, 68))})
    return Expect(["datasets", "samples", "aflw2000", "--data-root", str(root)],
                  r"expected variables pt3d_68 and Pose_Para .*missing Pose_Para; found: pt3d_68$", root / AFLW_MAT)


@case("aflw-wrong-shape")
def _(b, t, mp):
    root = copy_dataset(b, t, "aflw2000")
    write_aflw2000_mat(root / AFLW_MAT, b.faces[0], (1.0, 2.0, 3.0))
    from scipy.io import loadmat, savemat

    mat = {k: v for k, v in loadmat(str(root / AFLW_MAT)).items() if not k.startswith("__")}
    mat["pt3d_68"] = mat["pt3d_68"][:, :67]
    savemat(str(root / AFLW_MAT), mat)
    return Expect(["datasets", "samples", "aflw2000", "--data-root", str(root)],
                  r"expected pt3d_68 of shape 3 x 68, found 3 x 67$", root / AFLW_MAT)


@case("aflw-non-numeric")
def _(b, t, mp):
    from scipy.io import loadmat, savemat

    root = copy_dataset(b, t, "aflw2000")
    mat = {k: v for k, v in loadmat(str(root / AFLW_MAT)).items() if not k.startswith("__")}
    mat["Pose_Para"] = "abc"
    savemat(str(root / AFLW_MAT), mat)
    return Expect(["datasets", "samples", "aflw2000", "--data-root", str(root)],
                  r"expected numeric matrices pt3d_68 and Pose_Para", root / AFLW_MAT)


# ---- pose sidecar CSV

def _pose_expect(b: Base, t: Path, text: str, match: str, line: int | None) -> Expect:
    path = t / "poses.csv"
    path.write_text(text)
    out = t / "run.h5"
    return Expect(score_args(b, "--pose-labels", str(path), "--out", str(out)), match, path, line, outs=[out])


@case("pose-csv-bad-header")
def _(b, t, mp):
    return _pose_expect(b, t, "id,yaw,pitch,roll\n", r"expected the header 'sample_id,yaw,pitch,roll', found 'id,", 1)


@case("pose-csv-too-few-columns")
def _(b, t, mp):
    return _pose_expect(b, t, f"sample_id,yaw,pitch,roll\n{IDS[0]},1,2\n",
                        r"expected 4 columns \(sample_id, yaw, pitch, roll\), found 3$", 2)


@case("pose-csv-non-numeric")
def _(b, t, mp):
    return _pose_expect(b, t, f"sample_id,yaw,pitch,roll\n{IDS[0]},1,2,3\n{IDS[1]},1,x,3\n",
                        r"expected numeric yaw, pitch, roll in degrees, found '1,x,3'$", 3)


@case("pose-csv-duplicate-id")
def _(b, t, mp):
    return _pose_expect(b, t, f"sample_id,yaw,pitch,roll\n{IDS[0]},1,2,3\n{IDS[0]},1,2,3\n",
                        rf"duplicate sample id '{re.escape(IDS[0])}' \(first on line 2\)$", 3)


@case("pose-csv-no-matching-id")
def _(b, t, mp):
    return _pose_expect(b, t, "sample_id,yaw,pitch,roll\nibug/x.jpg,1,2,3\n",
                        r"poses\.csv: none of the sample ids in this pose CSV \(1 row\) is a sample id of 300w "
                        r"\(e\.g\. file 'ibug/x\.jpg', dataset 'helen/testset/face_\d\.jpg'\)$", None)


@case("pose-csv-unknown-id")
def _(b, t, mp):
    return _pose_expect(b, t, "sample_id,yaw,pitch,roll\nhelen/testset/face_0.jpg,1,2,3\nhelen/testset/face_7.jpg,1,2,3\n",
                        r"1 sample id\(s\) not in 300w: 'helen/testset/face_7\.jpg' \(did you mean "
                        r"'helen/testset/face_\d\.jpg'\?\)$", None)


@case("pose-csv-empty")
def _(b, t, mp):
    return _pose_expect(b, t, "", r"empty pose CSV", 1)


# ---- prediction files

def _pred_rows(b: Base, which: list[int] | None = None) -> list[tuple[str, np.ndarray]]:
    return [(IDS[i], b.faces[i] + 0.5) for i in (which if which is not None else range(3))]


def _pred_expect(b: Base, t: Path, path: Path, match: str, line: int | None = None, *extra: str) -> Expect:
    out = t / "run.h5"
    return Expect(score_args(b, "--out", str(out), *extra, preds=path), match, path, line, outs=[out])


@case("predictions-missing-sample")
def _(b, t, mp):
    path = _csv(t / "p.csv", _pred_rows(b, [0, 2]))
    return _pred_expect(b, t, path, r"predictions for 1 of 3 samples are missing \(first: helen/testset/face_1\.jpg\); "
                                    r"pass --allow-missing to count them as failures$")


@case("predictions-duplicate-id")
def _(b, t, mp):
    path = _csv(t / "p.csv", _pred_rows(b, [0, 1, 1, 2]))
    return _pred_expect(b, t, path, r"sample id 'helen/testset/face_1\.jpg' appears twice \(entries 2 and 3\)$")


@case("predictions-unknown-id")
def _(b, t, mp):
    rows = _pred_rows(b) + [("helen/test/face_9.jpg", b.faces[0])]
    path = _csv(t / "p.csv", rows)
    return _pred_expect(b, t, path, r"1 sample ids are not in the dataset \(first: 'helen/test/face_9\.jpg' "
                                    r"\(did you mean 'helen/testset/face_\d\.jpg'\?\)\); list valid ids with "
                                    r"'faceval datasets samples', or pass --ignore-extra to score a subset$")


@case("predictions-csv-bad-header")
def _(b, t, mp):
    path = t / "p.csv"
    path.write_text("id,x0,y0\na,1,2\n")
    return _pred_expect(b, t, path, r"expected the header to start with 'sample_id', found 'id'$", 1)


@case("predictions-csv-too-few-fields")
def _(b, t, mp):
    path = _csv(t / "p.csv", _pred_rows(b))
    lines = path.read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0]
    path.write_text("\n".join(lines) + "\n")
    return _pred_expect(b, t, path, r"expected 137 fields as in the header, found 136$", 3)


@case("predictions-csv-non-numeric")
def _(b, t, mp):
    path = _csv(t / "p.csv", _pred_rows(b))
    lines = path.read_text().splitlines()
    fields = lines[3].split(",")
    fields[4] = "abc"
    lines[3] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    return _pred_expect(b, t, path, r"column 5 \('y1'\): expected a number \(plain ASCII decimal or scientific, or nan\), "
                                    r"found 'abc'$", 4)


def _csv_with_field(b: Base, t: Path, token: str) -> Path:
    path = _csv(t / "p.csv", _pred_rows(b))
    lines = path.read_text().splitlines()
    fields = lines[2].split(",")
    fields[3] = token  # column 4, 'x1'
    lines[2] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@case("predictions-csv-underscore-number")
def _(b, t, mp):
    path = _csv_with_field(b, t, "1_000")
    return _pred_expect(b, t, path, r"column 4 \('x1'\): expected a number .*, found '1_000'$", 3)


@case("predictions-csv-non-ascii-digits")
def _(b, t, mp):
    path = _csv_with_field(b, t, "\u0661\u0662\u0663")  # Arabic-Indic 123: float() takes it
    return _pred_expect(b, t, path, r"column 4 \('x1'\): expected a number .*, found '\u0661\u0662\u0663'$", 3)


@case("predictions-csv-boolean")
def _(b, t, mp):
    path = _csv_with_field(b, t, "true")  # pandas' C parser reads it as 1.0
    return _pred_expect(b, t, path, r"column 4 \('x1'\): expected a number .*, found 'true'$", 3)


@case("predictions-csv-two-pose-columns")
def _(b, t, mp):
    rows = _pred_rows(b)
    header = "sample_id," + ",".join(f"x{k},y{k}" for k in range(68)) + ",yaw,pitch"
    body = [sid + "," + ",".join(f"{v:.4f}" for v in np.ravel(lm)) + ",1,2" for sid, lm in rows]
    path = t / "p.csv"
    path.write_text("\n".join([header, *body]) + "\n")
    return _pred_expect(b, t, path, r"expected the pose columns 'yaw,pitch,roll' \(three values\) at the end of the "
                                    r"header, found 'yaw,pitch'$", 1)


def _json_preds(b: Base, t: Path, edit: Callable[[list[dict]], None]) -> Path:
    items = [{"sample_id": s, "landmarks": lm.tolist()} for s, lm in _pred_rows(b)]
    edit(items)
    path = t / "p.json"
    path.write_text(json.dumps(items, indent=1))  # one value per line: the line names the value
    return path


def _json_line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)


@case("predictions-json-string-coordinate")
def _(b, t, mp):
    def edit(items: list[dict]) -> None:
        items[1]["landmarks"][5][0] = "123.25"
    path = _json_preds(b, t, edit)
    return _pred_expect(b, t, path, r"column \d+: item 1 'landmarks'\[5\]\[0\]: expected a JSON number, "
                                    r"found the string \"123\.25\"$", _json_line_of(path, '"123.25"'))


@case("predictions-json-boolean-coordinate")
def _(b, t, mp):
    def edit(items: list[dict]) -> None:
        items[2]["landmarks"][0][1] = True
    path = _json_preds(b, t, edit)
    return _pred_expect(b, t, path, r"column \d+: item 2 'landmarks'\[0\]\[1\]: expected a JSON number, found true$",
                        _json_line_of(path, "true"))


@case("predictions-json-pose-two-values")
def _(b, t, mp):
    def edit(items: list[dict]) -> None:
        for item in items:
            item["pose"] = [1.0, 2.0, 3.0]
        items[1]["pose"] = [1.0, 2.0]
    path = _json_preds(b, t, edit)
    return _pred_expect(b, t, path, r"column \d+: item 1 'pose': expected a list \[yaw, pitch, roll\], found a list of 2$")


@case("predictions-json-pose-four-values")
def _(b, t, mp):
    def edit(items: list[dict]) -> None:
        for item in items:
            item["pose"] = [1.0, 2.0, 3.0, 4.0]
    path = _json_preds(b, t, edit)
    return _pred_expect(b, t, path, r"column \d+: item 0 'pose': expected a list \[yaw, pitch, roll\], found a list of 4$")


@case("predictions-csv-latin1")
def _(b, t, mp):
    path = t / "p.csv"
    path.write_bytes(b"sample_id,x0,y0\ncaf\xe9,1,2\n")
    return _pred_expect(b, t, path, r"not UTF-8 text; expected a CSV file$")


@case("predictions-csv-empty")
def _(b, t, mp):
    path = t / "p.csv"
    path.write_text("")
    return _pred_expect(b, t, path, r"empty file; expected a header 'sample_id,x0,y0,\.\.\.'$", 1)


@case("predictions-wrong-point-count")
def _(b, t, mp):
    path = _csv(t / "p.csv", [(sid, lm[:67]) for sid, lm in _pred_rows(b)], header_points=67)
    return Expect(score_args(b, preds=path), r"predictions have 67 points per face, the '300w' ground truth has 68",
                  names=path)


@case("predictions-unknown-extension")
def _(b, t, mp):
    path = t / "p.txt"
    path.write_text("1 2\n")
    return _pred_expect(b, t, path, r"unknown prediction format '\.txt'; expected \.csv, \.npy, \.npz, \.json, \.h5$")


@case("predictions-npy-wrong-rows")
def _(b, t, mp):
    path = t / "p.npy"
    np.save(path, b.faces[:2])
    return _pred_expect(b, t, path, r"expected predictions for 3 samples in canonical order .*found 2 rows$")


@case("predictions-npy-not-numpy")
def _(b, t, mp):
    path = t / "p.npy"
    path.write_text("not numpy\n")
    return _pred_expect(b, t, path, r"not a \.npy file \(no NumPy header\); expected an array saved with numpy\.save$")


@case("predictions-npz-no-landmarks")
def _(b, t, mp):
    path = t / "p.npz"
    np.savez(path, points=b.faces)
    return _pred_expect(b, t, path, r"expected an array named 'landmarks' in the archive; found points$")


@case("predictions-npz-truncated")
def _(b, t, mp):
    path = t / "p.npz"
    np.savez(path, landmarks=b.faces, sample_ids=np.array(IDS))
    path.write_bytes(path.read_bytes()[:-40])
    return _pred_expect(b, t, path, r"not a readable \.npz archive")


@case("predictions-h5-missing-dataset")
def _(b, t, mp):
    path = t / "p.h5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("landmarks", data=b.faces)
    return _pred_expect(b, t, path, r"expected datasets 'sample_ids' and 'landmarks' \(optional 'pose'\); "
                                    r"'sample_ids' is missing$")


@case("predictions-h5-ids-mismatch")
def _(b, t, mp):
    path = t / "p.h5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("landmarks", data=b.faces)
        h5.create_dataset("sample_ids", data=np.array(IDS[:2], dtype=object), dtype=h5py.string_dtype())
    return _pred_expect(b, t, path, r"'sample_ids' must be 3 strings \(one per row of 'landmarks'\)")


@case("predictions-json-invalid")
def _(b, t, mp):
    path = t / "p.json"
    path.write_text('[{"sample_id": "a",\n "landmarks": [1, 2]\n')
    return _pred_expect(b, t, path, r"invalid JSON: ", 3)


@case("predictions-json-bad-pose")
def _(b, t, mp):
    path = t / "p.json"
    path.write_text(json.dumps([{"sample_id": s, "landmarks": lm.tolist(), "pose": 5} for s, lm in _pred_rows(b)]))
    return _pred_expect(b, t, path, r"column \d+: item 0 'pose': expected a list \[yaw, pitch, roll\], found 5$", 1)


# ---- unknown names (with the closest suggestion)

@case("unknown-dataset")
def _(b, t, mp):
    return Expect(score_args(b, dataset="300x"), r"^unknown dataset '300x' \(did you mean '300w'\?\); known: 300w, ")


@case("unknown-split")
def _(b, t, mp):
    return Expect(score_args(b, dataset="300w:helenn"),
                  r"^unknown split 'helenn' of dataset '300w' \(did you mean 'helen'\?\); known: ")


@case("unknown-dataset-info")
def _(b, t, mp):
    return Expect(["datasets", "info", "wflv"], r"^unknown dataset 'wflv' \(did you mean 'wflw'\?\)")


@case("unknown-normalizer")
def _(b, t, mp):
    return Expect(score_args(b, "--normalizer", "inter-ocluar"),
                  r"^unknown normaliser 'inter-ocluar' \(did you mean 'inter-ocular'\?\); expected one of ")


@case("unknown-auc-mode")
def _(b, t, mp):
    return Expect(score_args(b, "--auc-mode", "simpson"),
                  r"^unknown AUC mode 'simpson' \(did you mean 'simpson-1e-4'\?\)")


@case("unknown-scheme")
def _(b, t, mp):
    return Expect(score_args(b, "--scheme", "wflx"), r"^unknown landmark scheme 'wflx' \(did you mean 'wflw'\?\)")


@case("report-unknown-metric")
def _(b, t, mp):
    out = t / "table.md"
    return Expect(["report", str(b.run_a), "--metrics", "nme,frr@0.10", "--out", str(out)],
                  r"^unknown metric 'frr@0\.10' \(did you mean 'fr@0\.10'\?\); known: ", outs=[out])


@case("report-unknown-split")
def _(b, t, mp):
    out = t / "table.md"
    return Expect(["report", str(b.run_a), "--splits", "hele", "--out", str(out)],
                  r"^no run has split 'hele' \(did you mean 'helen'\?\)", outs=[out])


@case("report-rename-unknown")
def _(b, t, mp):
    out = t / "table.md"
    return Expect(["report", str(b.run_a), "--rename", "hele=HELEN test", "--out", str(out)],
                  r"^--rename 'hele=HELEN test': no split, dataset or model is called 'hele' \(did you mean 'helen'\?\)",
                  outs=[out])


@case("report-rename-bad-syntax")
def _(b, t, mp):
    out = t / "table.md"
    return Expect(["report", str(b.run_a), "--rename", "helen", "--out", str(out)],
                  r"^--rename 'helen': expected OLD=NEW", outs=[out])


@case("report-label-bad")
def _(b, t, mp):
    out = t / "table.tex"
    return Expect(["report", str(b.run_a), "--label", "tab:my table", "--out", str(out)],
                  r"^--label 'tab:my table': a LaTeX label may hold letters, digits and ': _ - \. /' only", outs=[out])


@case("gate-rule-unknown-metric")
def _(b, t, mp):
    return Expect(["gate", str(b.run_a), "--baseline", str(b.run_b), "--rule", "nmee:+1%"],
                  r"^rule 'nmee:\+1%': unknown metric 'nmee' \(did you mean 'nme'\?\)")


@case("gate-rule-unknown-split")
def _(b, t, mp):
    return Expect(["gate", str(b.run_a), "--baseline", str(b.run_b), "--rule", "nme@helenn:+1%"],
                  r"^rule 'nme@helenn:\+1%': split 'helenn' is not in either run \(did you mean 'helen'\?\)")


@case("gate-rule-bad-syntax")
def _(b, t, mp):
    return Expect(["gate", str(b.run_a), "--baseline", str(b.run_b), "--rule", "nme"],
                  r"^rule 'nme': expected METRIC\[@SPLIT\]:BOUND")


@case("gate-rule-bad-bound")
def _(b, t, mp):
    return Expect(["gate", str(b.run_a), "--baseline", str(b.run_b), "--rule", "nme:+x"],
                  r"^rule 'nme:\+x': bound '\+x' is not \+ABS, -ABS, \+REL% or -REL%")


@case("plot-unknown-split")
def _(b, t, mp):
    out = t / "ced.pdf"
    return Expect(["plot", "ced", str(b.run_a), "--split", "hele", "--out", str(out)],
                  r"^\S*a\.h5: run 'preds' has no split 'hele' \(did you mean 'helen'\?\); its splits: .*\bhelen\b",
                  outs=[out])


@case("plot-size-bad")
def _(b, t, mp):
    out = t / "ced.png"
    return Expect(["plot", "ced", str(b.run_a), "--size", "6", "--out", str(out)],
                  r"^--size '6': expected WIDTHxHEIGHT in inches, e\.g\. 6x4", outs=[out])


@case("plot-xmax-not-positive")
def _(b, t, mp):
    out = t / "ced.png"
    return Expect(["plot", "ced", str(b.run_a), "--xmax", "0", "--out", str(out)],
                  r"^--xmax must be a positive number, got 0\.0", outs=[out])


@case("show-unknown-split")
def _(b, t, mp):
    return Expect(["show", str(b.run_a), "--split", "hele"],
                  r"^run 'preds' has no split 'hele' \(did you mean 'helen'\?\); its splits: helen$")


@case("export-unknown-format")
def _(b, t, mp):
    out = t / "per_image.xlsx"
    return Expect(["export", str(b.run_a), "--out", str(out)],
                  r"unknown export format '\.xlsx'; expected \.csv, \.json, \.parquet$", out, outs=[out])


@case("gallery-no-data-root")
def _(b, t, mp):
    mp.delenv("FACEVAL_DATA_ROOT", raising=False)
    out = t / "worst.html"
    return Expect(["gallery", str(b.run_a), "--out", str(out)],
                  r"^the gallery reads each face from its original image: no data root: pass --data-root DIR or "
                  r"set FACEVAL_DATA_ROOT \(the run was made with data root .*\)$", outs=[out])


@case("gallery-images-missing")
def _(b, t, mp):
    out = t / "worst.png"
    return Expect(["gallery", str(b.run_a), "--out", str(out), "--data-root", str(b.root)],
                  r"^image of sample 'helen/testset/face_\d\.jpg' not found under data root ", str(b.root), outs=[out])


@case("gallery-unknown-sample")
def _(b, t, mp):
    out = t / "worst.png"
    return Expect(["gallery", str(b.run_a), "--out", str(out), "--samples", "helen/testset/face_7.jpg"],
                  r"^sample id 'helen/testset/face_7\.jpg' is not in run 'preds' \(did you mean "
                  r"'helen/testset/face_\d\.jpg'\?\)", outs=[out])


@case("unknown-command")
def _(b, t, mp):
    return Expect(["scroe"], r"No such command 'scroe'\. \(did you mean 'score'\?\)", usage=True)


@case("report-unknown-format")
def _(b, t, mp):
    return Expect(["report", str(b.run_a), "--format", "xml"],
                  r"Invalid value for '--format': 'xml' is not one of 'csv', 'latex'", usage=True)


# ---- unwritable outputs (exit 2, nothing at --out)

@case("score-out-folder-missing")
def _(b, t, mp):
    out = t / "nodir" / "run.h5"
    return Expect(score_args(b, "--out", str(out)), rf"^cannot write {re.escape(str(out))}: folder .*nodir does not exist$",
                  out, outs=[out])


@case("score-out-is-a-folder")
def _(b, t, mp):
    return Expect(score_args(b, "--out", str(b.folder)), r"Invalid value for '--out': File '.*folder' is a directory",
                  b.folder, usage=True)


@case("score-out-parent-is-a-file")
def _(b, t, mp):
    out = b.afile / "run.h5"
    return Expect(score_args(b, "--out", str(out)), rf"^cannot write {re.escape(str(out))}: .*afile is not a folder$",
                  out, outs=[out])


@case("score-out-unwritable-proc")
def _(b, t, mp):
    out = Path("/proc/faceval-run.h5")
    return Expect(score_args(b, "--out", str(out)), r"^cannot write /proc/faceval-run\.h5: ", out, outs=[out])


@case("score-out-readonly-chmod")
def _(b, t, mp):
    if IS_ROOT:
        pytest.skip(ROOT_SKIP)
    folder = t / "ro"
    folder.mkdir()
    os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR)
    out = folder / "run.h5"
    return Expect(score_args(b, "--out", str(out)), r"Permission denied$", out, outs=[out])


@case("report-out-folder-missing")
def _(b, t, mp):
    out, ced = t / "nodir" / "table.md", t / "ced.pdf"
    return Expect(["report", str(b.run_a), "--out", str(out), "--ced", str(ced)],
                  r"folder .*nodir does not exist$", out, outs=[out, ced])


@case("report-ced-folder-missing")
def _(b, t, mp):
    out, ced = t / "table.md", t / "nodir" / "ced.pdf"
    return Expect(["report", str(b.run_a), "--out", str(out), "--ced", str(ced)],
                  r"folder .*nodir does not exist$", ced, outs=[out, ced])


@case("plot-out-unknown-extension")
def _(b, t, mp):
    out = t / "ced.gif"
    return Expect(["plot", "ced", str(b.run_a), "--out", str(out)],
                  r"unknown extension '\.gif' \(use \.pdf, \.png or \.svg\)$", out, outs=[out])


@case("plot-out-parent-is-a-file")
def _(b, t, mp):
    out = b.afile / "ced.pdf"
    return Expect(["plot", "ced", str(b.run_a), "--out", str(out)], r"is not a folder$", out, outs=[out])


@case("gate-junit-folder-missing")
def _(b, t, mp):
    out = t / "nodir" / "junit.xml"
    return Expect(["gate", str(b.run_a), "--baseline", str(b.run_a), "--junit-xml", str(out)],
                  r"folder .*nodir does not exist$", out, outs=[out])


@case("gate-summary-folder-missing")
def _(b, t, mp):
    out, junit = t / "nodir" / "summary.md", t / "junit.xml"
    return Expect(["gate", str(b.run_a), "--baseline", str(b.run_a), "--junit-xml", str(junit), "--summary", str(out)],
                  r"folder .*nodir does not exist$", out, outs=[out, junit])


@case("merge-out-folder-missing")
def _(b, t, mp):
    out = t / "nodir" / "merged.h5"
    return Expect(["merge", str(b.run_a), "--out", str(out)], r"folder .*nodir does not exist$", out, outs=[out])


# ---- a full disk (ENOSPC raised inside faceval.atomic)

def _enospc(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _fail_replace(mp: pytest.MonkeyPatch) -> None:
    """``os.replace`` inside faceval.atomic (only there) fails with ENOSPC."""
    import faceval.atomic

    proxy = types.SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
    proxy.replace = _enospc
    mp.setattr(faceval.atomic, "os", proxy)


def _fail_write(mp: pytest.MonkeyPatch) -> None:
    """Writing a file through faceval.atomic's ``open`` fails with ENOSPC after the file is created."""
    import builtins

    import faceval.atomic

    class Full:
        def __init__(self, handle):  # type: ignore[no-untyped-def]
            self.handle = handle

        def write(self, data: bytes) -> int:
            self.handle.write(data[: len(data) // 2])  # half written, then the disk is full
            _enospc()
            return 0

        def __getattr__(self, name):  # type: ignore[no-untyped-def]
            return getattr(self.handle, name)

        def __enter__(self):  # type: ignore[no-untyped-def]
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

    mp.setattr(faceval.atomic, "open", lambda *a, **k: Full(builtins.open(*a, **k)), raising=False)


@case("disk-full-score-out")
def _(b, t, mp):
    _fail_replace(mp)
    out = t / "run.h5"
    return Expect(score_args(b, "--out", str(out)), rf"^no space left on device writing {re.escape(str(out))}$",
                  out, outs=[out])


@case("disk-full-report-out")
def _(b, t, mp):
    _fail_write(mp)
    out = t / "table.tex"
    return Expect(["report", str(b.run_a), str(b.run_b), "--out", str(out)],
                  rf"^no space left on device writing {re.escape(str(out))}$", out, outs=[out])


@case("disk-full-plot-out")
def _(b, t, mp):
    _fail_write(mp)
    out = t / "ced.svg"
    return Expect(["plot", "ced", str(b.run_a), "--out", str(out)],
                  rf"^no space left on device writing {re.escape(str(out))}$", out, outs=[out])


@case("disk-full-merge-out")
def _(b, t, mp):
    from faceval.runs.runfile import read_run, write_run

    from faceval.runs.shards import protocol_dict, run_ground_truth_sha256

    shard = read_run(b.run_a)  # a complete 1-of-1 shard set
    from faceval.runs.protocol import Protocol

    proto = protocol_dict(shard.protocol)
    shard.protocol = Protocol.from_dict(dict(proto, shard="1/1", shard_of_n=len(shard.sample_ids),
                                             shard_of_sample_set_sha256=proto["sample_set_sha256"],
                                             shard_of_ground_truth_sha256=run_ground_truth_sha256(shard),
                                             shard_of_boxes_sha256=None))
    shard_path = write_run(t / "shard.h5", shard)
    _fail_replace(mp)
    out = t / "merged.h5"
    return Expect(["merge", str(shard_path), "--out", str(out)],
                  rf"^no space left on device writing {re.escape(str(out))}$", out, outs=[out])


@case("disk-full-gate-junit")
def _(b, t, mp):
    _fail_write(mp)
    out = t / "junit.xml"
    return Expect(["gate", str(b.run_a), "--baseline", str(b.run_a), "--junit-xml", str(out)],
                  rf"^no space left on device writing {re.escape(str(out))}$", out, outs=[out])


# ---- files that are not run files

@case("run-is-text")
def _(b, t, mp):
    return Expect(["report", str(b.preds)], r"not a faceval run file \(not HDF5\)$", b.preds)


@case("run-is-empty")
def _(b, t, mp):
    path = t / "empty.h5"
    path.write_bytes(b"")
    return Expect(["gate", str(path), "--baseline", str(b.run_a)], r"not a faceval run file \(not HDF5\)$", path)


@case("run-is-other-hdf5")
def _(b, t, mp):
    path = t / "preds.h5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("landmarks", data=b.faces)
    out = t / "ced.png"
    return Expect(["plot", "ced", str(path), "--out", str(out)],
                  r"not a faceval run file \(no 'faceval-run' format marker\)$", path, outs=[out])


@case("run-newer-schema")
def _(b, t, mp):
    path = Path(shutil.copy(b.run_a, t / "future.h5"))
    with h5py.File(path, "r+") as h5:
        h5.attrs["schema_version"] = 99
    return Expect(["report", str(path)], r"run file schema version 99 is newer than this faceval supports \(2\); "
                                         r"upgrade faceval$", path)


@case("run-damaged-array")
def _(b, t, mp):
    path = Path(shutil.copy(b.run_a, t / "damaged.h5"))
    with h5py.File(path, "r+") as h5:
        del h5["arrays/nme"]
    out = t / "merged.h5"
    return Expect(["merge", str(path), "--out", str(out)], r"damaged run file \(missing arrays/nme\)$", path, outs=[out])


@case("run-inconsistent-shapes")
def _(b, t, mp):
    path = Path(shutil.copy(b.run_a, t / "short.h5"))
    with h5py.File(path, "r+") as h5:
        nme = h5["arrays/nme"][()]
        del h5["arrays/nme"]
        h5.create_dataset("arrays/nme", data=nme[:2])
    return Expect(["report", str(path)], r"damaged run file \(arrays/nme of shape \(2,\) \(float64\), expected \(3,\)\)$", path)


@case("run-split-out-of-range")
def _(b, t, mp):
    path = Path(shutil.copy(b.run_a, t / "split.h5"))
    with h5py.File(path, "r+") as h5:
        del h5["splits/helen"]
        h5.create_dataset("splits/helen", data=np.array([0, 1, 7], dtype=np.int64))
    return Expect(["gate", str(path), "--baseline", str(b.run_a)],
                  r"damaged run file \('splits/helen' does not match its checksum\)$", path)


def _shards_of(run_path: Path, t: Path, count: int = 2) -> list[Path]:
    """Cut a run file into the shard files `faceval run --shard I/N` would have written."""
    from faceval.runs.data import RunData
    from faceval.runs.provenance import sample_set_sha256
    from faceval.runs.runfile import read_run, write_run
    from faceval.runs.shards import protocol_dict, run_ground_truth_sha256, shard_range

    run = read_run(run_path)
    n = len(run.sample_ids)
    proto = protocol_dict(run.protocol)
    full = {"shard_of_n": n, "shard_of_sample_set_sha256": proto["sample_set_sha256"],
            "shard_of_ground_truth_sha256": run_ground_truth_sha256(run), "shard_of_boxes_sha256": None}
    paths = []
    for i in range(1, count + 1):
        lo, hi = shard_range(n, i, count)
        rows = np.arange(lo, hi)
        fields = {f: getattr(run, f)[rows] for f in ("sample_ids", "predictions", "ground_truth", "visible",
                                                      "normalizers", "nme", "failed_inputs", "failure_reasons")}
        part = RunData(label=run.label, dataset=run.dataset, scheme=run.scheme,
                       splits={k: v[(v >= lo) & (v < hi)] - lo for k, v in run.splits.items()},
                       protocol=dict(proto, shard=f"{i}/{count}", **full,
                                     sample_set_sha256=sample_set_sha256(fields["sample_ids"])),
                       provenance=dict(run.provenance, spec={"color": "RGB", "mean": [0.5, 0.5, 0.5]}), **fields)
        paths.append(write_run(t / f"shard{i}.h5", part))
    return paths


@case("merge-shards-differ-in-spec")
def _(b, t, mp):
    from faceval.runs.runfile import read_run, write_run

    first, second = _shards_of(b.run_a, t)
    run = read_run(second)
    run.provenance["spec"]["color"] = "BGR"
    write_run(second, run)
    out = t / "merged.h5"
    return Expect(["merge", str(first), str(second), "--out", str(out)],
                  rf"^shards differ in model spec field 'color': 'RGB' \({re.escape(str(first))}\) vs 'BGR' "
                  rf"\({re.escape(str(second))}\); shards of one evaluation must use the same model, spec, boxes and "
                  r"data$", None, outs=[out])


@case("merge-shards-of-another-set")
def _(b, t, mp):
    from faceval.runs.runfile import read_run, write_run

    first, second = _shards_of(b.run_a, t)
    run = read_run(second)
    from faceval.runs.shards import protocol_dict

    run.protocol = dict(protocol_dict(run.protocol), shard_of_ground_truth_sha256="0" * 64)
    write_run(second, run)
    out = t / "merged.h5"
    return Expect(["merge", str(first), str(second), "--out", str(out)],
                  r"^shards differ in full set field 'ground_truth_sha256': '[0-9a-f]{64}' \(.*shard1.h5\) vs '0{64}' "
                  r"\(.*shard2.h5\); shards of one evaluation must use the same model, spec, boxes and data$",
                  None, outs=[out])


@case("run-nme-edited-in-place")
def _(b, t, mp):
    path = Path(shutil.copy(b.run_a, t / "edited.h5"))
    with h5py.File(path, "r+") as h5:  # h5py rewrites the chunk and its fletcher32: only the digest can tell
        h5["arrays/nme"][:] = h5["arrays/nme"][()] * 3
    return Expect(["gate", str(path), "--baseline", str(b.run_a), "--significance", "0.05"],
                  r"damaged run file \('arrays/nme' does not match its checksum\)$", path)


@case("run-byte-flipped")
def _(b, t, mp):
    path = Path(shutil.copy(b.run_a, t / "flipped.h5"))
    with h5py.File(path, "r") as h5:
        offset = h5["arrays/nme"].id.get_chunk_info(0).byte_offset
    data = bytearray(path.read_bytes())
    data[offset + 3] ^= 0x10
    path.write_bytes(bytes(data))
    return Expect(["report", str(path), "--ci"], r"damaged run file \('arrays/nme' fails its fletcher32 checksum\)$", path)


@case("run-summary-edited")
def _(b, t, mp):
    path = Path(shutil.copy(b.run_a, t / "summary.h5"))
    with h5py.File(path, "r+") as h5:
        h5.attrs["summary"] = h5.attrs["summary"].replace('"n": 3', '"n": 30')
    return Expect(["report", str(path)], r"damaged run file \(attributes do not match their checksum\)$", path)


@case("run-schema-1")
def _(b, t, mp):
    path = Path(shutil.copy(b.run_a, t / "old.h5"))
    with h5py.File(path, "r+") as h5:
        h5.attrs["schema_version"] = 1
        del h5.attrs["attrs_sha256"]
    return Expect(["report", str(path)], r"run file schema version 1 has no checksums and cannot be verified; "
                                         r"re-create it with this faceval \(faceval run or faceval score\)$", path)


def _complete_copy(b: Base, t: Path, name: str, **protocol: object) -> Path:
    """run_a with its split sizes unknown (so treated as complete), protocol fields replaced."""
    from faceval.runs.runfile import read_run, write_run

    run = read_run(b.run_a)
    run.split_expected = {}
    run.protocol = dataclasses.replace(run.protocol, **protocol)  # type: ignore[arg-type]
    return write_run(t / name, run)


@case("gate-partial-run")
def _(b, t, mp):
    base = _complete_copy(b, t, "complete.h5")
    return Expect(["gate", str(b.run_b), "--baseline", str(base)],
                  r"run 'other' is partial on split 'helen' \(3 of 330 images; baseline 3 images\) where baseline "
                  r"'preds' is complete: the numbers are not comparable$")


@case("gate-shard-run")
def _(b, t, mp):
    base = _complete_copy(b, t, "complete.h5")
    shard = _complete_copy(b, t, "shard.h5", shard="1/2")
    return Expect(["gate", str(shard), "--baseline", str(base)],
                  r"run 'preds' is shard 1/2 of a sharded run on split 'helen' \(shard 1/2, 3 images; baseline 3 "
                  r"images\) where baseline 'preds' is complete: the numbers are not comparable \(merge the shards "
                  r"with faceval merge first\)$")


# ---- datasets verify

@case("datasets-verify-incomplete")
def _(b, t, mp):
    return Expect(["datasets", "verify", "cofw", "--all-splits", "--data-root", str(b.root)],
                  r"^cofw: \d+ problem\(s\) against the manifest; first: missing file: .*COFW_train_color\.mat$",
                  b.root / "cofw" / "COFW_train_color.mat")


# --------------------------------------------------------------------------- the runner

def _no_partial_output(path: Path) -> None:
    assert not path.exists(), f"{path} was written"
    parent = path.parent
    if parent.is_dir() and os.access(parent, os.R_OK):
        leftovers = [p.name for p in parent.iterdir() if p.name.startswith(f".{path.name}.")]
        assert not leftovers, f"temporary files left beside {path}: {leftovers}"


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name: str, base: Base, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                   monkeypatch: pytest.MonkeyPatch) -> None:
    expect = CASES[name](base, tmp_path, monkeypatch)
    capsys.readouterr()
    code = main(expect.args)
    out, err = capsys.readouterr()
    assert code == expect.code, f"exit {code}, stderr:\n{err}"
    assert "Traceback" not in err and "Traceback" not in out
    assert "internal error" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    if expect.usage:  # click's own checks, reported as one line with a --help hint
        errors = [line for line in lines if line.startswith("faceval: error:")]
        assert errors == lines[-1:], f"expected one error line, stderr:\n{err}"
        assert "--help'" in errors[0]
        message = errors[0][len("faceval: error: "):]
    else:
        errors = [line for line in lines if line.startswith("faceval: error:")]
        assert len(errors) == 1, f"expected one error line, stderr:\n{err}"
        assert lines[-1] == errors[0], f"the error is not the last line, stderr:\n{err}"
        others = [line for line in lines[:-1] if not line.startswith("faceval: warning:")]
        assert not others, f"unexpected stderr lines: {others}"  # verify's findings go to stdout
        if name == "datasets-verify-incomplete":
            assert "problem: missing file: " in out, f"verify printed no findings on stdout:\n{out}"
        message = errors[0][len("faceval: error: "):]
    assert re.search(expect.match, message), f"{message!r} does not match {expect.match!r}"
    if expect.names is not None:
        where = f"{expect.names}:{expect.line}:" if expect.line is not None else str(expect.names)
        assert where in message, f"{message!r} does not name {where!r}"
    for path in expect.outs:
        _no_partial_output(path)


# --------------------------------------------------------------------------- inputs that are not errors

def _score_json(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, dict, str]:
    capsys.readouterr()
    code = main([*args, "--format", "json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


def test_nan_prediction_is_a_counted_failure(base: Base, tmp_path: Path, capsys) -> None:
    rows = _pred_rows(base)
    rows[1] = (rows[1][0], np.where(np.arange(68)[:, None] == 3, np.nan, rows[1][1]))
    path = _csv(tmp_path / "nan.csv", rows)
    out = tmp_path / "run.h5"
    code, result, err = _score_json(capsys, score_args(base, "--out", str(out), preds=path))
    assert code == 0, err
    helen = result["splits"]["helen"]
    assert helen["n"] == 3 and helen["n_nonfinite"] == 1 and helen["n_failed_inputs"] == 0
    assert helen["fr@0.08"] == pytest.approx(1 / 3)
    from faceval.runs.runfile import read_run

    run = read_run(out)
    assert np.isinf(run.nme[1]) and np.isfinite(run.nme[[0, 2]]).all()


def test_allow_missing_counts_absent_samples_as_failures(base: Base, tmp_path: Path, capsys) -> None:
    path = _csv(tmp_path / "p.csv", _pred_rows(base, [0, 2]))
    code, result, err = _score_json(capsys, score_args(base, "--allow-missing", preds=path))
    assert code == 0, err
    assert "faceval: warning: 1 of 3 samples have no prediction; counted as failures (--allow-missing)" in err
    helen = result["splits"]["helen"]
    assert helen["n"] == 3 and helen["n_failed_inputs"] == 1 and helen["fr@0.08"] == pytest.approx(1 / 3)


def test_docs_table_lists_every_case() -> None:
    """The README table has one row per catalogue case (test id in its last column), and no other ids."""
    text = DOCS.read_text(encoding="utf-8")
    documented = re.findall(r"^\|.*\|\s*`([a-z0-9_:\-\[\]]+)`\s*\|\s*$", text, flags=re.M)
    expected = {f"test_bad_input[{name}]" for name in CASES} | {
        "test_nan_prediction_is_a_counted_failure", "test_allow_missing_counts_absent_samples_as_failures"}
    assert len(documented) == len(set(documented)), "a test id appears twice in the table"
    assert set(documented) == expected, (f"missing from the docs: {sorted(expected - set(documented))}; "
                                         f"not a test: {sorted(set(documented) - expected)}")
