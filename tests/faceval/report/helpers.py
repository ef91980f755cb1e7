"""Builders of in-memory runs with known per-image NME for the report and gate tests."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from faceval.runs.data import RunData
from faceval.runs.protocol import Protocol


def base_protocol(dataset: str = "300w", **overrides: Any) -> Protocol:
    """A protocol as build_run records it for scored predictions."""
    proto: dict[str, Any] = {
        "normalizer": "inter-ocular",
        "thresholds": [0.08, 0.10] if dataset == "300w" else [0.10],
        "auc_mode": "exact",
        "aggregation": "mean",
        "visible_only": False,
        "pose_wrap": False,
        "box_source": None,
        "box_scale": None,
        "box_square": None,
        "manifest_sha256": f"manifest-{dataset}",
        "sample_set_sha256": f"samples-{dataset}",
    }
    proto.update(overrides)
    return Protocol.from_dict(proto)


def make_run(
    label: str,
    nme: Sequence[float] | np.ndarray,
    splits: dict[str, Sequence[int]] | None = None,
    *,
    dataset: str = "300w",
    sample_ids: Sequence[str] | None = None,
    protocol: Protocol | None = None,
    pose_pred: np.ndarray | None = None,
    pose_gt: np.ndarray | None = None,
    with_summary: bool = True,
) -> RunData:
    """A run with the given per-image NME (fractions); splits default to one 'full' split."""
    nme_arr = np.asarray(nme, dtype=np.float64)
    n = nme_arr.size
    k = 4
    if splits is None:
        splits = {"full": range(n)}
    ids = np.asarray(sample_ids if sample_ids is not None else [f"img{i:05d}" for i in range(n)], dtype=object)
    run = RunData(
        label=label,
        dataset=dataset,
        scheme="300w",
        sample_ids=ids,
        splits={s: np.asarray(list(idx), dtype=np.int64) for s, idx in splits.items()},
        predictions=np.zeros((n, k, 2)),
        ground_truth=np.zeros((n, k, 2)),
        visible=np.ones((n, k), dtype=bool),
        normalizers=np.ones(n),
        nme=nme_arr,
        failed_inputs=np.zeros(n, dtype=bool),
        failure_reasons=np.asarray([""] * n, dtype=object),
        pose_pred=pose_pred,
        pose_gt=pose_gt,
        protocol=protocol if protocol is not None else base_protocol(dataset),
        provenance={"faceval_version": "0.1.0", "command": f"faceval score --label {label}"},
        model_info={"params": 1234},
    )
    if with_summary:
        from faceval.evaluation.scoring import recompute_summary

        run.summary = recompute_summary(run)
    return run


def three_splits_run(label: str, scale: float = 1.0, seed: int = 0, dataset: str = "300w") -> RunData:
    """A 300W-like run: common (60), challenging (20), full (80); NME ~ 3-8 % times ``scale``."""
    rng = np.random.default_rng(seed)
    common = rng.gamma(9.0, 0.0035, size=60)
    challenging = rng.gamma(9.0, 0.007, size=20)
    nme = np.concatenate([common, challenging]) * scale
    splits = {"common": range(60), "challenging": range(60, 80), "full": range(80)}
    return make_run(label, nme, splits, dataset=dataset)


def spiga_300w_run(label: str = "SPIGA") -> RunData:
    """SPIGA's 300W public test predictions as a run (inter-ocular NME; skipped when absent).

    Splits: helen, lfpw, common, challenging (ibug), full (all 689), from db_info.json.
    """
    import json

    from tests.conftest import shared_path

    folder = shared_path("spiga_results", "300wpublic")
    gt = json.loads((folder / "test.json").read_text())
    pred = json.loads((folder / "spiga_results_test.json").read_text())
    info = json.loads((folder / "db_info.json").read_text())
    assert [g["imgpath"] for g in gt] == [p["imgpath"] for p in pred]
    g = np.asarray([x["landmarks"] for x in gt], dtype=np.float64)
    p = np.asarray([x["landmarks"] for x in pred], dtype=np.float64)
    d = np.linalg.norm(g[:, 36] - g[:, 45], axis=1)
    nme = np.linalg.norm(p - g, axis=2).mean(axis=1) / d
    subsets = info["test_subsets"]
    splits = {
        "helen": subsets["helen"],
        "lfpw": subsets["lfpw"],
        "common": subsets["common"],
        "challenging": subsets["ibug"],
        "full": range(len(gt)),
    }
    pose_gt = np.asarray([x["headpose"][:3] for x in gt], dtype=np.float64)
    pose_pred = np.asarray([x["headpose"][:3] for x in pred], dtype=np.float64)
    ids = [x["imgpath"] for x in gt]
    run = make_run(label, nme, splits, dataset="300w", sample_ids=ids, pose_pred=pose_pred, pose_gt=pose_gt)
    run.provenance["source"] = "SPIGA spiga_results/300wpublic"
    return run
