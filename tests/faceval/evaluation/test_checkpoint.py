"""Partial progress (``--resume``): another run's partial is refused, naming what differs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from faceval.errors import InputError
from faceval.evaluation.checkpoint import Checkpoint, RunIdentity


def _identity() -> RunIdentity:
    return RunIdentity(model_sha256="m" * 64, spec={"input_size": 112}, dataset="300w:helen", data_root=None,
                       data="d" * 64, sample_set="s" * 64, shard=None, limit=None, batch_size=8, checkpoint_every=4)


@pytest.mark.parametrize("changes,phrase", [
    ({"checkpoint_every": 2}, "(checkpoint interval differs)"),
    ({"checkpoint_every": 2, "batch_size": 4}, "(batch size, checkpoint interval differ)"),
])
def test_resume_with_another_identity_names_what_differs_in_grammar(tmp_path, changes, phrase):
    path = tmp_path / "run.h5.partial"
    Checkpoint(path, _identity(), n=3, k=68).save()
    with pytest.raises(InputError) as err:
        Checkpoint.load(path, replace(_identity(), **changes), n=3, k=68)
    assert phrase in str(err.value) and str(path) in str(err.value)
