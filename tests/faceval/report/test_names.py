"""Display names, --rename and the one rule for unique labels (tables and plots)."""

from __future__ import annotations

import pytest

from faceval.errors import InputError
from faceval.report.names import Names, parse_renames, unique_labels
from tests.faceval.report.helpers import make_run, three_splits_run


def test_papers_names_for_datasets_and_splits():
    names = Names()
    assert [names.dataset(d) for d in ("300w", "wflw", "cofw", "aflw2000")] == ["300W", "WFLW", "COFW", "AFLW2000-3D"]
    wflw = ("test", "largepose", "expression", "illumination", "makeup", "occlusion", "blur")
    assert [names.split(s) for s in wflw] == ["Test", "Pose", "Expression", "Illumination", "Make-up", "Occlusion",
                                              "Blur"]
    assert [names.split(s) for s in ("common", "challenging", "full", "private", "helen", "lfpw", "ibug")] == [
        "Common", "Challenging", "Full", "Private", "HELEN", "LFPW", "iBUG"]
    assert names.split("my_subset") == "my_subset"  # unknown ids are shown as they are


def test_renames_by_id_or_display_name():
    names = Names(parse_renames(["full=Fullset", "Challenging=Hard", "mnv2=MobileNetV2", "300w=300-W"]))
    assert names.split("full") == "Fullset" and names.split("challenging") == "Hard"
    assert names.label("mnv2") == "MobileNetV2" and names.dataset("300w") == "300-W"
    assert parse_renames(["a = b c "]) == {"a": "b c"}
    for bad in ("full", "=x", "full=", ""):
        with pytest.raises(InputError, match="expected OLD=NEW"):
            parse_renames([bad])
    with pytest.raises(InputError, match="already renamed"):
        parse_renames(["full=A", "full=B"])


def test_a_rename_that_matches_nothing_is_an_error():
    run = three_splits_run("mnv2")
    Names({"full": "F", "mnv2": "M", "300W": "X"}).check([run])
    with pytest.raises(InputError, match=r"no split, dataset or model is called 'fulll' \(did you mean 'full'\?\)"):
        Names({"fulll": "F"}).check([run])


def test_unique_labels_numbers_repeats_per_dataset():
    runs = [make_run("A", [0.1]), make_run("A", [0.1]), make_run("A", [0.1], dataset="wflw"),
            make_run("A", [0.1]), make_run("A#2", [0.1], dataset="wflw")]
    result = unique_labels(runs)
    # a second dataset keeps the label (a shared row); repeats on one dataset count up
    assert result.labels == ["A", "A#2", "A", "A#3", "A#2"]
    assert len(result.warnings) == 2 and "shown as 'A#2'" in result.warnings[0]
