"""The human summary of `faceval score` / `run`: metric names from the registry, n_pose, partial splits."""

from __future__ import annotations

import json
import re

import numpy as np

from faceval_cli.main import main
from tests.cli.test_score import PUBLIC_FOLDERS, _spiga_tree


def test_threshold_0075_human_summary(tmp_path, capsys):
    """`--threshold 0.075` used to exit 3 with "internal error: KeyError: 'fr@0.07'"."""
    root, predictions, _ = _spiga_tree(tmp_path, "300wpublic", PUBLIC_FOLDERS)
    args = ["score", "--predictions", str(predictions), "--dataset", "300w:helen", "--ignore-extra", "--data-root", str(root),
            "--threshold", "0.075"]
    assert main([*args, "--format", "json"]) == 0
    stats = json.loads(capsys.readouterr().out)["splits"]["helen"]
    # independent: SPIGA's HELEN NMEs from its own JSON, inter-ocular (outer eye corners 36, 45)
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "internal error" not in err
    assert "FR@0.075 %" in err and "AUC@0.075" in err
    row = next(line for line in err.splitlines() if line.strip("│ ").startswith("helen"))
    cells = [c.strip() for c in row.strip("│").split("│")]
    assert cells[4] == f"{100 * stats['fr@0.075']:.4f}" and cells[5] == f"{stats['auc@0.075']:.4f}"
    assert "thresholds 0.075" in err


def test_pose_over_a_subset_is_flagged(tmp_path, capsys):
    """Pose labels for 1 of the samples: n_pose 1 beside the MAE, and a warning."""
    root, predictions, pose_csv = _spiga_tree(tmp_path, "300wpublic", PUBLIC_FOLDERS)
    lines = pose_csv.read_text().splitlines()
    one = tmp_path / "one_pose.csv"
    helen = [line for line in lines[1:] if line.startswith("helen/")]
    one.write_text(lines[0] + "\n" + helen[0] + "\n")
    args = ["score", "--predictions", str(predictions), "--dataset", "300w:helen", "--ignore-extra", "--data-root", str(root),
            "--pose-labels", str(one)]
    assert main([*args, "--format", "json"]) == 0
    stats = json.loads(capsys.readouterr().out)["splits"]["helen"]
    assert stats["n"] == 330 and stats["n_pose"] == 1
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "n_pose" in err
    assert re.search(r"warning: pose MAE on 'helen' is over 1 of 330 images", err)
    row = next(line for line in err.splitlines() if line.strip("│ ").startswith("helen"))
    assert np.isclose(float(row.split("(")[1].split(")")[0]), stats["mae_mean"], atol=0.005)
