"""One rule for the cache folders (crops, model costs, detector boxes)."""

from pathlib import Path

import pytest

from faceval.cachedirs import cache_folder
from faceval.detection.cache import detection_cache_dir
from faceval.evaluation.evaluate import model_cost_dir
from faceval.pipeline.cache import default_cache_dir


def test_named_folder_holds_everything(tmp_path: Path) -> None:
    assert cache_folder("crops", tmp_path) == tmp_path
    assert cache_folder("models", tmp_path) == tmp_path / "models"
    assert model_cost_dir(tmp_path) == tmp_path / "models"


def test_environment_folder_and_per_user_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEVAL_CACHE_DIR", str(tmp_path / "env"))
    assert default_cache_dir() == tmp_path / "env"
    assert detection_cache_dir() == tmp_path / "env" / "detections"
    assert model_cost_dir(None) == tmp_path / "env" / "models"
    monkeypatch.delenv("FACEVAL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "faceval" / "crops"
    assert detection_cache_dir() == tmp_path / "xdg" / "faceval" / "detections"
    assert model_cost_dir(None) == tmp_path / "xdg" / "faceval" / "models"


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown cache kind"):
        cache_folder("crop")
