"""Runs with real-looking 68-point faces (the bundled einstein markup under random similarity
transforms), predictions with a known error pattern and, optionally, head poses: what the
report's figures draw."""

from __future__ import annotations

import numpy as np

from faceval.runs.data import RunData
from tests.faceval.report.helpers import base_protocol
from tests.fixtures import random_faces

#: GT |yaw| of the posed runs: every bin of faceval.report.figures.YAW_BINS but 45-60 gets images,
#: plus two images in no bin (beyond 90 degrees, no label)
YAWS = [3.0, -14.9, 15.0, 29.0, -31.0, 44.9, 60.0, -75.0, 90.0, 120.0, float("nan")]


def landmark_run(label: str, seed: int = 0, n: int = 44, jaw_noise: float = 3.0, with_pose: bool = False) -> RunData:
    """A 300W run: splits common (first 30), challenging (rest), full; jaw points ``jaw_noise`` times noisier."""
    from faceval.evaluation.scoring import recompute_summary

    rng = np.random.default_rng(seed)
    gt = random_faces(n, seed=seed)
    noise = rng.normal(0.0, 1.0, gt.shape)
    noise[:, :17] *= jaw_noise
    pred = gt + noise
    d = np.linalg.norm(gt[:, 36] - gt[:, 45], axis=1)
    nme = np.linalg.norm(pred - gt, axis=2).mean(axis=1) / d
    pose_gt = pose_pred = None
    if with_pose:
        yaw = np.resize(np.asarray(YAWS), n)
        pose_gt = np.stack([yaw, rng.normal(0, 5, n), rng.normal(0, 5, n)], axis=1)
        pose_pred = pose_gt + rng.normal(0, 2, (n, 3))
    run = RunData(
        label=label, dataset="300w", scheme="300w",
        sample_ids=np.asarray([f"helen/testset/f{i:03d}.jpg" for i in range(n)], dtype=object),
        splits={"common": np.arange(30), "challenging": np.arange(30, n), "full": np.arange(n)},
        predictions=pred, ground_truth=gt, visible=np.ones((n, 68), dtype=bool), normalizers=d, nme=nme,
        failed_inputs=np.zeros(n, dtype=bool), failure_reasons=np.asarray([""] * n, dtype=object),
        pose_pred=pose_pred, pose_gt=pose_gt, protocol=base_protocol("300w"),
        provenance={"faceval_version": "test", "dataset_spec": "300w"},
    )
    run.summary = recompute_summary(run)
    return run
