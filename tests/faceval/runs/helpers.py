"""Small in-memory runs for tests of run files, merging and reports."""

from __future__ import annotations

import numpy as np

from faceval.runs.data import RunData
from faceval.runs.provenance import sample_set_sha256


def make_run(n: int = 20, k: int = 68, seed: int = 0, label: str = "model", with_pose: bool = True) -> RunData:
    """A run with random GT/predictions and NME computed independently here (inter-ocular 36/45)."""
    rng = np.random.default_rng(seed)
    gt = rng.uniform(50, 150, size=(n, k, 2))
    pred = gt + rng.normal(0, 2, size=gt.shape)
    norm = np.linalg.norm(gt[:, 36] - gt[:, 45], axis=1)
    nme = np.linalg.norm(pred - gt, axis=2).mean(axis=1) / norm
    ids = np.asarray([f"img{i:03d}.jpg" for i in range(n)], dtype=object)
    return RunData(
        label=label,
        dataset="300w",
        scheme="300w",
        sample_ids=ids,
        splits={"a": np.arange(0, n // 2), "b": np.arange(n // 2, n), "full": np.arange(n)},
        predictions=pred,
        ground_truth=gt,
        visible=np.ones((n, k), dtype=bool),
        normalizers=norm,
        nme=nme,
        failed_inputs=np.zeros(n, dtype=bool),
        failure_reasons=np.asarray([""] * n, dtype=object),
        pose_pred=rng.normal(0, 10, (n, 3)) if with_pose else None,
        pose_gt=rng.normal(0, 10, (n, 3)) if with_pose else None,
        protocol={"normalizer": "inter-ocular", "thresholds": [0.08, 0.1], "auc_mode": "exact", "aggregation": "mean",
                  "visible_only": False, "pose_wrap": False, "box_source": None, "box_scale": None, "box_square": None,
                  "manifest_sha256": None, "sample_set_sha256": sample_set_sha256(ids)},
        provenance={"faceval_version": "test", "model_sha256": "abc"},
        summary={"full": {"n": n, "nme": float(nme.mean())}},
        model_info={"params": 123},
    )
