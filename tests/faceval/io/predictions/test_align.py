"""Aligning predictions with a dataset: the 'did you mean' hint for an unknown sample id."""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.io.predictions.align import align_predictions
from faceval.io.predictions.common import RawPredictions

DATASET = ["helen/testset/3051542838_1.jpg", "helen/testset/296814969_3.jpg"]


def _error(extra: str) -> str:
    ids = DATASET + [extra]
    raw = RawPredictions(ids=ids, landmarks=np.zeros((len(ids), 68, 2)), pose=None, format="spiga", image_paths=False)
    with pytest.raises(InputError) as exc:
        align_predictions(raw, DATASET, source=Path("preds.json"))
    return str(exc.value)


def test_a_far_id_gets_no_suggestion() -> None:
    far = "images/test/image_0238.png"  # an id of another dataset's layout
    # the generic hint's cutoff (0.5) would suggest it: the ratio is computed here, independently
    assert difflib.SequenceMatcher(None, far, DATASET[0]).ratio() >= 0.5
    text = _error(far)
    assert f"first: '{far}')" in text and "did you mean" not in text and "--ignore-extra" in text


def test_a_typo_gets_the_suggestion() -> None:
    text = _error("helen/testset/3051542838_l.jpg")
    assert "(did you mean 'helen/testset/3051542838_1.jpg'?)" in text
