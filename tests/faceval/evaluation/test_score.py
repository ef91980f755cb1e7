"""faceval.evaluation.score: ``faceval score`` as one library call (files or arrays in memory)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.evaluation.score import ScoreRequest, score_predictions
from faceval.io.predictions import PredictionArrays
from tests.fixtures import build_300w_tree, random_faces


def _tree(tmp_path: Path) -> tuple[Path, list[str], np.ndarray]:
    faces = random_faces(3, seed=11)
    ids = [f"helen/testset/f{i}.jpg" for i in range(3)]
    return build_300w_tree(tmp_path / "data", dict(zip(ids, faces)), with_images=False), ids, faces


def _nme(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    d = np.linalg.norm(gt[:, 36] - gt[:, 45], axis=1)
    return np.linalg.norm(pred - gt, axis=2).mean(axis=1) / d


def test_arrays_with_ids_in_any_order_are_aligned_and_scored(tmp_path: Path) -> None:
    root, ids, faces = _tree(tmp_path)
    pred = faces + np.array([0.5, -1.0])
    order = [2, 0, 1]
    messages: list[str] = []
    result = score_predictions(ScoreRequest(predictions=PredictionArrays(pred[order], [ids[i] for i in order]),
                                            dataset="300w:helen", data_root=root, out=tmp_path / "r.h5"),
                               on_message=messages.append)
    np.testing.assert_allclose(result.run.nme, _nme(pred, faces), rtol=1e-6)
    assert result.run.summary["helen"]["nme"] == pytest.approx(_nme(pred, faces).mean(), rel=1e-6)
    assert result.out == tmp_path / "r.h5" and result.out.is_file()
    assert result.run.provenance["predictions_path"] is None and result.run.label == "predictions"
    assert any("3 of 330 samples present" in m for m in messages)


def test_arrays_in_canonical_order_and_shape_checks(tmp_path: Path) -> None:
    root, ids, faces = _tree(tmp_path)
    result = score_predictions(ScoreRequest(predictions=PredictionArrays(faces.reshape(3, -1)), dataset="300w:helen",
                                            data_root=root))
    assert result.out is None
    np.testing.assert_allclose(result.run.nme, 0.0, atol=1e-7)
    with pytest.raises(InputError, match="expected predictions for 3 samples in canonical order"):
        score_predictions(ScoreRequest(predictions=PredictionArrays(faces[:2]), dataset="300w:helen", data_root=root))
    with pytest.raises(InputError, match="'landmarks' is not numeric"):
        score_predictions(ScoreRequest(predictions=PredictionArrays(np.array([["a"] * 136] * 3)),
                                       dataset="300w:helen", data_root=root))
    with pytest.raises(InputError, match=r"'pose' must have shape \(3, 3\)"):
        score_predictions(ScoreRequest(predictions=PredictionArrays(faces, pose=np.zeros((3, 2))),
                                       dataset="300w:helen", data_root=root))


def test_unknown_normaliser_is_checked_before_any_data_is_read(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown normaliser 'iod'"):
        score_predictions(ScoreRequest(predictions=tmp_path / "none.csv", dataset="300w", data_root=tmp_path / "no",
                                       normalizer="iod"))
