"""`faceval score` says when predicted poses follow another convention than the labels (SPIGA's real poses)."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_score import PUBLIC_FOLDERS, _spiga_tree
from tests.cli.calls import score_json as _score


def test_spiga_poses_agree_and_a_negated_roll_is_named_with_its_fix(tmp_path, capsys) -> None:
    root, predictions, pose_csv = _spiga_tree(tmp_path, "300wpublic", PUBLIC_FOLDERS)
    common = ["--dataset", "300w", "--data-root", str(root), "--pose-labels", str(pose_csv)]
    result, err = _score(capsys, ["--predictions", str(predictions), *common])
    assert "pose convention" not in err
    assert result["splits"]["full"]["corr_yaw"] > 0.9 and abs(result["splits"]["full"]["bias_yaw"]) < 1.0
    records = json.loads(predictions.read_text())
    for r in records:  # a model that gives roll the other sign
        r["headpose"][2] = -r["headpose"][2]
    flipped = tmp_path / "flipped_results.json"
    flipped.write_text(json.dumps(records))
    result, err = _score(capsys, ["--predictions", str(flipped), *common])
    lines = [line for line in err.splitlines() if "pose convention" in line]
    assert len(lines) == 1 and lines[0].startswith("faceval: warning: pose convention of roll differs")
    assert "likely fix: --set pose_signs=1,1,-1" in lines[0]
    assert result["splits"]["full"]["corr_roll"] < -0.5
    assert result["splits"]["full"]["mae_yaw"] == pytest.approx(1.4117, abs=1e-4)  # the other angles unchanged
