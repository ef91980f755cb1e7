"""``faceval export RUN --out F``: one row per sample, as CSV, JSON or Parquet.

Columns, in order:

* ``sample_id``; ``splits`` (the splits holding the sample, ``;``-joined in CSV/Parquet, a list
  in JSON);
* ``nme`` (fraction; ``inf`` for failures), ``normalizer`` (the protocol's normaliser name),
  ``normalizer_px`` (the image's ``d_i`` in pixels);
* ``failure_reason`` (empty where the sample did not fail; see
  :func:`faceval.views.samples.failure_reasons`);
* ``pose_err_yaw``, ``pose_err_pitch``, ``pose_err_roll`` (absolute degrees, wrapped under ``pose_wrap``;
  empty where the MAE leaves the angle out: a non-finite prediction or label) when the run has pose;
* ``box_x0, box_y0, box_x1, box_y1``: the face crop the model saw (empty where unknown);
* with ``per_landmark``: ``e_k`` for each point ``k`` the protocol scores, the normalised point
  errors ``e_ik = ||p_ik - g_ik|| / d_i`` (``e_0 … e_{K-1}`` under ``points: all``; under ``inner51`` /
  ``inner49`` only those points, named by their index in the scheme: the unscored jaw and mouth corners
  get no column, as ``faceval show`` leaves their groups out). Under ``visible_only`` an invisible
  point's error is empty (CSV) / ``null`` (JSON): the protocol did not score it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from faceval.atomic import atomic_path, check_writable_target
from faceval.errors import InputError
from faceval.jsonable import to_jsonable
from faceval.views.samples import face_boxes, failure_reasons, pose_errors, run_nme, split_membership

EXPORT_FORMATS = (".csv", ".json", ".parquet")


def export_format(path: Path) -> str:
    """The format chosen by ``path``'s suffix; InputError for anything else."""
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise InputError(f"unknown export format '{path.suffix or '(no suffix)'}'; expected "
                         f"{', '.join(EXPORT_FORMATS)}", path=path)
    return suffix


def sample_table(run, per_landmark: bool = False):  # type: ignore[no-untyped-def]
    """The per-sample table as a :class:`pandas.DataFrame` (columns as in the module docstring).

    ``splits`` holds tuples of split names.
    """
    import pandas as pd

    from faceval.metrics.landmarks import run_point_errors
    from faceval.schemes import point_subset

    n = len(run.sample_ids)
    columns: dict[str, Any] = {
        "sample_id": [str(s) for s in run.sample_ids],
        "splits": split_membership(run),
        "nme": run_nme(run),  # a pose-only run: NaN (empty in CSV, null in JSON), never a number
        "normalizer": [str(run.protocol.normalizer or "")] * n,
        "normalizer_px": np.full(n, np.nan) if run.pose_only else np.asarray(run.normalizers, dtype=np.float64),
        "failure_reason": [str(r) for r in failure_reasons(run)],
    }
    pose = pose_errors(run)
    if pose is not None:
        for j, angle in enumerate(("yaw", "pitch", "roll")):
            columns[f"pose_err_{angle}"] = pose[:, j]
    boxes = face_boxes(run)
    for j, name in enumerate(("box_x0", "box_y0", "box_x1", "box_y1")):
        columns[name] = boxes[:, j]
    if per_landmark:
        if run.pose_only:
            raise InputError(f"run '{run.label}' is pose-only: it has no per-landmark errors (--per-landmark)")
        errors = run_point_errors(run)  # NaN (empty / null) where the protocol scores no error
        scored = point_subset(run.scheme, run.protocol.points)  # None: every point
        for k in range(errors.shape[1]) if scored is None else scored:
            columns[f"e_{k}"] = errors[:, k]
    return pd.DataFrame(columns)


def export_samples(run, out: Path, per_landmark: bool = False) -> Path:  # type: ignore[no-untyped-def]
    """Write the per-sample table of ``run`` to ``out`` (format from the suffix), atomically.

    JSON is ``{"schema_version", "label", "dataset", "protocol", "columns", "samples": [{...}]}``
    with non-finite numbers (failures' ``inf`` NME) as ``null``. CSV writes ``inf`` and leaves
    unknown values empty. Parquet needs the ``pyarrow`` package.
    """
    out = Path(out)
    fmt = export_format(out)
    check_writable_target(out)
    if fmt == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise InputError("writing .parquet needs the pyarrow package (pip install pyarrow); "
                             "or choose .csv or .json", path=out) from None
    table = sample_table(run, per_landmark)
    with atomic_path(out) as tmp:
        if fmt == ".csv":
            flat = table.assign(splits=[";".join(s) for s in table["splits"]])
            flat.to_csv(tmp, index=False, lineterminator="\n")
        elif fmt == ".parquet":
            flat = table.assign(splits=[";".join(s) for s in table["splits"]])
            flat.to_parquet(tmp, index=False)
        else:
            names = list(table.columns)
            records = [dict(zip(names, row)) for row in table.itertuples(index=False, name=None)]
            doc = {"schema_version": 1, "label": run.label, "dataset": run.dataset, "protocol": run.protocol,
                   "columns": names, "samples": records}
            tmp.write_text(json.dumps(to_jsonable(doc), indent=1, sort_keys=False, allow_nan=False) + "\n",
                           encoding="utf-8")
    return out
