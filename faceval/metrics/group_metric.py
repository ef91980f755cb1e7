"""The group NME metric of the registry: ``nme_group:<group>`` (its name is made and parsed in
:mod:`faceval.metrics.registry`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceval.errors import InputError
from faceval.metrics.metric import Metric, _masked_mean_rows
from faceval.metrics.view import MetricView
from faceval.runs.protocol import Protocol


@dataclass(frozen=True)
class GroupNmeMetric(Metric):
    """``nme_group:<group>``: mean over images of the group's per-image NME (see
    :func:`faceval.metrics.landmarks.group_nme`); images with an infinite NME are left out, as
    are, under ``visible_only``, the group's invisible points (an image with none left out too).

    Only the points the run's protocol scores count (``--points``); not available (an empty
    cell) when the run's scheme has no such group or none of its points is scored.
    """

    group: str | None = None

    @property
    def family(self) -> str:
        return "nme_group"

    @property
    def reads_landmarks(self) -> bool:
        return True

    def _indices(self, view: MetricView) -> list[int] | None:
        """The group's points that the run's protocol scores (``--points``); None when there are none."""
        from faceval.metrics.landmarks import scored_groups

        if view.scheme is None:
            return None
        points = view.protocol.points if view.protocol is not None else "all"
        return scored_groups(view.scheme, points).get(str(self.group)) or None

    def available(self, view: MetricView) -> bool:
        return view.has_landmarks and self._indices(view) is not None

    def per_image(self, view: MetricView) -> np.ndarray:
        from faceval.metrics.landmarks import group_nme_per_image

        indices = self._indices(view)
        if indices is None:
            raise InputError(f"metric '{self.name}': the run's scheme '{view.scheme}' has no group '{self.group}' "
                             f"among its scored points")
        if view.predictions is None or view.ground_truth is None or view.normalizers is None:
            raise InputError(f"metric '{self.name}' needs the predictions, ground truth and normalisers of the run")
        k = np.asarray(view.predictions).shape[1] if np.ndim(view.predictions) == 3 else 0
        if max(indices, default=-1) >= k:
            raise InputError(f"metric '{self.name}': the run's landmarks have {k} points, fewer than the "
                             f"'{view.scheme}' scheme's group '{self.group}' needs")
        visible = view.visible if view.protocol.visible_only else None
        return group_nme_per_image(view.predictions, view.ground_truth, view.normalizers, view.nme, indices, visible)

    def aggregate_rows(self, rows: np.ndarray, protocol: Protocol | None = None) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.float64)
        if rows.shape[0] == 1:  # the point estimate, summed as landmarks.group_nme sums it
            kept = rows[0][~np.isnan(rows[0])]
            return np.array([float(kept.mean()) if kept.size else float("nan")])
        return _masked_mean_rows(rows)

    def paired_values(self, view: MetricView) -> np.ndarray:
        return self.per_image(view)
