"""The default paper columns: NME on every split, FR/AUC on the main split, 300W's paper splits."""

from __future__ import annotations

from faceval.report import render_report
from faceval.report.tables import build_table
from tests.faceval.report.helpers import make_run, three_splits_run


def _cols(table):
    return [(c.dataset, c.split, c.metric) for c in table.columns]


def test_300w_default_is_nme_on_three_splits_and_fr_auc_on_full():
    nme = [0.02, 0.03, 0.05, 0.09, 0.04]
    splits = {"helen": [0, 1], "lfpw": [2], "common": [0, 1, 2], "challenging": [3, 4], "full": range(5)}
    table = build_table([make_run("m", nme, splits)])
    assert _cols(table) == [("300w", "common", "nme"), ("300w", "challenging", "nme"), ("300w", "full", "nme"),
                            ("300w", "full", "fr@0.08"), ("300w", "full", "auc@0.08")]
    # --splits and --metrics are taken as given: every metric on every split named
    explicit = build_table([make_run("m", nme, splits)], metrics=["nme", "fr@0.08"], splits=["helen", "full"])
    assert _cols(explicit) == [("300w", "helen", "nme"), ("300w", "helen", "fr@0.08"), ("300w", "full", "nme"),
                               ("300w", "full", "fr@0.08")]
    only_splits = build_table([make_run("m", nme, splits)], splits=["helen", "full"])
    assert _cols(only_splits) == [("300w", "helen", "nme"), ("300w", "full", "nme"), ("300w", "full", "fr@0.08"),
                                  ("300w", "full", "auc@0.08")]


def test_wflw_fr_and_auc_on_test_only_like_asmnet():
    subsets = ("largepose", "expression", "illumination", "makeup", "occlusion", "blur")
    splits = {"test": range(6), **{s: [k] for k, s in enumerate(subsets)}}
    run = make_run("asmnet", [0.05, 0.06, 0.07, 0.08, 0.09, 0.12], splits, dataset="wflw")
    table = build_table([run])
    assert _cols(table) == [("wflw", "test", "nme"), ("wflw", "test", "fr@0.10"), ("wflw", "test", "auc@0.10")] + [
        ("wflw", s, "nme") for s in subsets]
    md = render_report([run], "markdown")[0]
    assert md.splitlines()[0] == ("| Model | Test NME (%) | Test FR@0.10 (%) | Test AUC@0.10 | Pose NME (%) | "
                                  "Expression NME (%) | Illumination NME (%) | Make-up NME (%) | Occlusion NME (%) | "
                                  "Blur NME (%) |")
    # values: test NME = mean of the six, FR@0.10 = 1 of 6 above 0.10, make-up = its one image
    cells = [c.strip() for c in md.splitlines()[2].strip("|").split("|")]
    assert cells[1] == f"{100 * (0.05 + 0.06 + 0.07 + 0.08 + 0.09 + 0.12) / 6:.2f}"
    assert cells[2] == f"{100 / 6:.2f}" and cells[7] == "8.00"


def test_a_dataset_without_its_main_split_gets_every_metric_everywhere():
    run = make_run("m", [0.02, 0.03], {"helen": [0, 1]})  # a 300w:helen run: no Full
    assert _cols(build_table([run])) == [("300w", "helen", "nme"), ("300w", "helen", "fr@0.08"),
                                         ("300w", "helen", "auc@0.08")]


def test_a_model_without_a_split_gets_en_dashes():
    full = three_splits_run("a")
    part = make_run("b", [0.03, 0.04], {"common": [0, 1]})
    md = render_report([full, part], "markdown")[0]
    row = next(line for line in md.splitlines() if line.startswith("| b |"))
    assert row == "| b | 3.50 | – | – | – | – |"
    tex = render_report([full, part], "latex")[0]
    assert "b & 3.50 & -- & -- & -- & -- \\\\" in tex
