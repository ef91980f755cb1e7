"""`faceval run` on a WFLW tree (synthetic, real on-disk layout): all seven splits, dataset boxes."""

from __future__ import annotations

import json

from faceval_cli.main import main
from tests.fixtures import build_wflw_tree, wflw_records


def test_run_wflw_with_dataset_rectangles(tmp_path, capsys):
    root = build_wflw_tree(tmp_path / "data", wflw_records(n_images=4, faces_per_image=(1, 2)), with_images=True)
    capsys.readouterr()
    code = main(["run", "--dataset", "wflw", "--data-root", str(root), "--box", "dataset", "--no-cache",
                 "--no-progress", "--format", "json", "--out", str(tmp_path / "w.h5")])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    splits = ["test", "largepose", "expression", "illumination", "makeup", "occlusion", "blur"]
    assert set(result["splits"]) == set(splits)  # JSON keys are sorted; the run file keeps the order
    assert result["protocol"]["box_source"] == "dataset" and result["protocol"]["conversion"] is None
    assert result["splits"]["test"]["n"] == 6 and result["splits"]["test"]["n_failed_inputs"] == 0
    assert result["protocol"]["thresholds"] == [0.1]
    from faceval.runs.runfile import read_run

    run = read_run(tmp_path / "w.h5")
    assert list(run.splits) == splits
    assert all("#" in sid for sid in run.sample_ids)  # WFLW ids: <image path>#<face index>
