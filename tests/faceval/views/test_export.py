"""``faceval.views.export.sample_table`` on real SPIGA COFW-68 predictions (occluded points).

Skipped (by the loader) when ../shared/data/spiga_results is absent.
"""

from __future__ import annotations

import numpy as np

from faceval.metrics.presets import ProtocolChoice
from faceval.views.export import sample_table
from tests.faceval.metrics.test_presets import _score


def test_per_landmark_errors_of_occluded_points_are_missing_under_visible_only() -> None:
    run, data = _score("cofw68", "cofw68", ProtocolChoice(visible_only=True))
    visible = np.asarray(data["visible"], dtype=bool)
    assert (~visible).any(), "COFW-68 has occluded points"
    table = sample_table(run, per_landmark=True)
    errors = table[[f"e_{k}" for k in range(68)]].to_numpy()
    # the gt inter-ocular distance (300W outer eye corners 36/45), as the peers compute it
    d = np.linalg.norm(data["gt"][:, 36] - data["gt"][:, 45], axis=1)
    expected = np.linalg.norm(data["pred"] - data["gt"], axis=2) / d[:, None]
    assert np.array_equal(np.isnan(errors), ~visible)  # exactly the occluded points are missing
    np.testing.assert_allclose(errors[visible], expected[visible], rtol=1e-12)
    # the mean over a row's visible points is its (visible-only) NME
    np.testing.assert_allclose(np.nanmean(errors, axis=1), run.nme, rtol=1e-12)
    # without visible_only every point has its error
    full, _ = _score("cofw68", "cofw68", ProtocolChoice())
    all_errors = sample_table(full, per_landmark=True)[[f"e_{k}" for k in range(68)]].to_numpy()
    np.testing.assert_allclose(all_errors, expected, rtol=1e-12)
