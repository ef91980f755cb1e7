"""``faceval score``: evaluate predictions made elsewhere; never opens images."""

from __future__ import annotations

from pathlib import Path

import click

from faceval_cli.common import data_root_option, emit_json, format_option, info, progress_option


class ProtocolName(click.ParamType):
    """A preset, normaliser, AUC mode, FR cut or point-subset name, checked by the library's
    :func:`~faceval.evaluation.score.validate_choice` when parsed, so that a bad value in a
    ``--config`` file is an error naming that file (not a later one naming no file)."""

    name = "text"

    def __init__(self, field: str) -> None:
        self.field = field

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        from faceval.evaluation.score import validate_choice
        from faceval.metrics.presets import ProtocolChoice

        if not isinstance(value, str):
            self.fail(f"expected a name, got {value!r}", param, ctx)
        validate_choice(ProtocolChoice(**{self.field: value}))  # InputError: the library's one-line message
        return value


def protocol_options(func):  # type: ignore[no-untyped-def]
    """The metric-protocol options shared by ``score`` and ``run``."""
    options = [
        click.option("--protocol", "protocol", default=None, type=ProtocolName("preset"), metavar="PRESET",
                     help="Peer preset: pipnet | star | menpofit | spiga | hrnet | mmpose | 3ddfa (the peer's "
                          "normaliser, aggregation, thresholds, AUC mode and FR cut); explicit flags win."),
        click.option("--normalizer", default=None, type=ProtocolName("normalizer"),
                     help="inter-ocular (default) | inter-pupil | bbox | diagonal | box-size | box-edge | box-height."),
        click.option("--threshold", "thresholds", type=float, multiple=True,
                     help="Failure/AUC threshold (repeatable; default 0.08 and 0.10 for 300W, 0.10 elsewhere)."),
        click.option("--auc-mode", default=None, type=ProtocolName("auc_mode"),
                     help="exact (default, closed form) | simpson-1e-4 (PIPNet/STAR/menpofit) | spiga-hist (SPIGA) "
                          "| none (no AUC: HRNet, mmpose, 3DDFA)."),
        click.option("--aggregation", type=click.Choice(["mean", "pooled", "point-mean"]), default=None,
                     help="mean of per-image NME (default), pooled (sum of errors / sum of normalisers), or "
                          "point-mean (mmpose: mean over every counted image-point pair)."),
        click.option("--fr-cut", default=None, type=ProtocolName("fr_cut"),
                     help="strict (default, NME > t) | grid (PIPNet/STAR/menpofit 1 - CED(grid[-1])) | "
                          "spiga-hist (SPIGA's histogram)."),
        click.option("--points", default=None, type=ProtocolName("points"),
                     help="all (default) | inner51 | inner49: score a subset of the 68 points (menpofit)."),
        click.option("--visible-only/--all-points", "visible_only", default=None,
                     help="Average over visible points only (default: all points; the mmpose preset: visible)."),
        click.option("--pose-labels", type=click.Path(path_type=Path, dir_okay=False), default=None,
                     help="Sidecar CSV sample_id,yaw,pitch,roll (degrees) with pose ground truth."),
        click.option("--pose-wrap", is_flag=True, help="Wrap pose differences into (-180, 180]."),
        click.option("--strict-data", is_flag=True, help="Error when a split has fewer files than its manifest."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def validate_protocol_names(**flags: object) -> None:
    """Unknown preset, normaliser, AUC mode, FR cut or point subset: one-line error with the
    closest name (used by ``run`` too), before any work."""
    from types import SimpleNamespace

    from faceval.evaluation.score import protocol_choice_of, validate_choice

    validate_choice(protocol_choice_of(SimpleNamespace(**flags)))


@click.command("score")
@click.option("--predictions", "predictions_path", required=True, type=click.Path(path_type=Path),
              help="CSV, NPY/NPZ, JSON (faceval or SPIGA) or HDF5 predictions.")
@click.option("--dataset", required=True, help="NAME or NAME:SPLIT (300w, 300w:private, wflw, wflw:blur, cofw, cofw68, aflw2000, "
                                                    "aflw2000:yaw, sample), or json:PATH[:SPLIT] for a SPIGA-style "
                                                    "annotation file.")
@data_root_option
@protocol_options
@click.option("--scheme", default=None, help="Scheme of the predictions when it differs from the dataset's (e.g. wflw).")
@click.option("--allow-missing", is_flag=True, help="Count samples without predictions as failures.")
@click.option("--ignore-extra", is_flag=True,
              help="Ignore predictions for samples outside the selection (score one split from a full-set file).")
@click.option("--label", default=None, help="Name of this run in reports (default: the prediction file's stem).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Write the run file here (HDF5).")
@format_option
@progress_option
def command(predictions_path: Path, dataset: str, data_root: Path | None, protocol: str | None,
            normalizer: str | None, thresholds: tuple[float, ...], auc_mode: str | None, aggregation: str | None,
            fr_cut: str | None, points: str | None, visible_only: bool | None, pose_labels: Path | None, pose_wrap: bool,
            strict_data: bool, scheme: str | None, allow_missing: bool, ignore_extra: bool, label: str | None, out: Path | None,
            output_format: str, progress: bool | None) -> None:
    """Score predictions made elsewhere against a dataset's ground truth.

    Predictions are 0-based pixel coordinates of the original image. Missing
    samples are an error unless --allow-missing; NaN predictions are failures.
    """
    from faceval.evaluation.score import ScoreRequest, score_predictions

    request = ScoreRequest(
        predictions=predictions_path, dataset=dataset, data_root=data_root, strict_data=strict_data,
        pose_labels=pose_labels, scheme=scheme, allow_missing=allow_missing, ignore_extra=ignore_extra,
        normalizer=normalizer, thresholds=thresholds, auc_mode=auc_mode, aggregation=aggregation,
        visible_only=visible_only, pose_wrap=pose_wrap, label=label, out=out, protocol=protocol, fr_cut=fr_cut,
        points=points,
    )
    result = score_predictions(request, on_message=lambda text: info(f"faceval: {text}"))
    run = result.run
    if result.pose_warning is not None:
        info(f"faceval: warning: {result.pose_warning.message()}")
    if output_format == "json":
        from faceval.evaluation.scoring import summary_json

        emit_json(summary_json(run))
    else:
        from faceval_cli.summary_view import print_summary

        lines = [f"run file: {out}" if out else "no run file written (pass --out RUN.h5 to keep one)"]
        print_summary(run, lines)
