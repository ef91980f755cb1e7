"""describe_run: failures with their reasons, worst images, landmark groups, from a real run file."""

from __future__ import annotations

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.runs.runfile import read_run
from faceval.views.samples import NONFINITE_REASON
from faceval.views.show import describe_run
from tests.faceval.views.helpers import FAILURES, write_failures_run


def test_failures_keep_every_reason_and_name_nonfinite_outputs(tmp_path):
    written = write_failures_run(tmp_path / "r.h5")
    overview = describe_run(read_run(tmp_path / "r.h5"), worst=3)
    by_id = {f.sample_id: f.failure_reason for f in overview.failures}
    expected = {str(written.sample_ids[i]): (reason or NONFINITE_REASON) for i, (reason, _) in FAILURES.items()}
    assert by_id == expected
    assert sum(c.count for c in overview.failure_counts) == len(FAILURES)
    # each failure lists its splits: index 3 is in 'a' and 'full' (make_run: a = first half)
    three = next(f for f in overview.failures if f.sample_id == str(written.sample_ids[3]))
    assert three.splits == ("a", "full")


def test_worst_images_are_the_highest_finite_nme_worst_first(tmp_path):
    written = write_failures_run(tmp_path / "r.h5")
    overview = describe_run(read_run(tmp_path / "r.h5"), worst=4)
    finite = [(float(v), str(s)) for v, s in zip(written.nme, written.sample_ids) if np.isfinite(v)]
    expected = [s for _, s in sorted(finite, key=lambda t: -t[0])[:4]]
    assert [w.sample_id for w in overview.worst] == expected
    assert overview.worst[0].nme == max(v for v, _ in finite)


def test_worst_within_a_split_and_unknown_split(tmp_path):
    written = write_failures_run(tmp_path / "r.h5")
    run = read_run(tmp_path / "r.h5")
    overview = describe_run(run, worst=2, split="b")
    b = set(int(i) for i in written.splits["b"])
    assert all(w.index in b for w in overview.worst)
    with pytest.raises(InputError, match="no split 'bb'.*did you mean 'b'"):
        describe_run(run, split="bb")


def test_group_nme_in_the_overview_matches_an_independent_mean(tmp_path):
    written = write_failures_run(tmp_path / "r.h5")
    overview = describe_run(read_run(tmp_path / "r.h5"), worst=0)
    ok = [i for i in range(len(written.nme)) if np.isfinite(written.nme[i])]
    eyes = list(range(36, 48))
    per_image = [np.mean([np.hypot(*(written.predictions[i, k] - written.ground_truth[i, k])) for k in eyes])
                 / written.normalizers[i] for i in ok]
    assert overview.landmark_groups["full"]["eyes"] == pytest.approx(np.mean(per_image), rel=1e-12)
    assert overview.to_json()["landmark_groups"]["full"]["eyes"] == overview.landmark_groups["full"]["eyes"]
