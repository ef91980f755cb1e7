"""``faceval score``: evaluate predictions made elsewhere; never opens images."""

from __future__ import annotations

from pathlib import Path

import click

from faceval_cli.common import data_root_option, emit_json, format_option, info, progress_option


def protocol_options(func):  # type: ignore[no-untyped-def]
    """The metric-protocol options shared by ``score`` and ``run``."""
    options = [
        click.option("--normalizer", default="inter-ocular", show_default=True,
                     help="inter-ocular | inter-pupil | bbox | diagonal | box-size."),
        click.option("--threshold", "thresholds", type=float, multiple=True,
                     help="Failure/AUC threshold (repeatable; default 0.08 and 0.10 for 300W, 0.10 elsewhere)."),
        click.option("--auc-mode", default="exact", show_default=True,
                     help="exact (closed form) | simpson-1e-4 (PIPNet/STAR) | spiga-hist (SPIGA)."),
        click.option("--aggregation", type=click.Choice(["mean", "pooled"]), default="mean", show_default=True,
                     help="mean of per-image NME, or pooled (sum of errors / sum of normalisers)."),
        click.option("--visible-only", is_flag=True, help="Average over visible points only."),
        click.option("--pose-labels", type=click.Path(path_type=Path, dir_okay=False), default=None,
                     help="Sidecar CSV sample_id,yaw,pitch,roll (degrees) with pose ground truth."),
        click.option("--pose-wrap", is_flag=True, help="Wrap pose differences into (-180, 180]."),
        click.option("--strict-data", is_flag=True, help="Error when a split has fewer files than its manifest."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def validate_protocol_names(normalizer: str, auc_mode: str) -> None:
    """Unknown normaliser or AUC mode: one-line error with the closest name."""
    from faceval.errors import InputError, closest
    from faceval.metrics.curves import AUC_MODES
    from faceval.metrics.normalizers import NORMALIZERS

    if normalizer not in NORMALIZERS:
        raise InputError(f"unknown normaliser '{normalizer}'{closest(normalizer, NORMALIZERS)}; expected one of {', '.join(NORMALIZERS)}")
    if auc_mode not in AUC_MODES:
        raise InputError(f"unknown AUC mode '{auc_mode}'{closest(auc_mode, AUC_MODES)}; expected one of {', '.join(AUC_MODES)}")


@click.command("score")
@click.option("--predictions", "predictions_path", required=True, type=click.Path(path_type=Path),
              help="CSV, NPY/NPZ, JSON (faceval or SPIGA) or HDF5 predictions.")
@click.option("--dataset", required=True, help="NAME or NAME:SPLIT, e.g. 300w, 300w:private, wflw:blur.")
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
def command(predictions_path: Path, dataset: str, data_root: Path | None, normalizer: str, thresholds: tuple[float, ...],
            auc_mode: str, aggregation: str, visible_only: bool, pose_labels: Path | None, pose_wrap: bool,
            strict_data: bool, scheme: str | None, allow_missing: bool, ignore_extra: bool, label: str | None, out: Path | None,
            output_format: str, progress: bool | None) -> None:
    """Score predictions made elsewhere against a dataset's ground truth.

    Predictions are 0-based pixel coordinates of the original image. Missing
    samples are an error unless --allow-missing; NaN predictions are failures.
    """
    from faceval.datasets import load
    from faceval.errors import InputError
    from faceval.io.predictions import read_predictions
    from faceval.evaluation.scoring import PredictionSet, Protocol, build_run, nonfinite_predictions, summary_json, thresholds_from
    from faceval.runs.runfile import write_run
    from faceval.runs.provenance import collect, now_iso, sha256_file

    validate_protocol_names(normalizer, auc_mode)
    if scheme is not None:
        from faceval.schemes import load_scheme

        load_scheme(scheme)  # an unknown --scheme is a flag error, not the prediction file's
    started = now_iso()
    ann = load(dataset, data_root, strict=strict_data, pose_labels=pose_labels, need_images=False)
    for warning in ann.warnings:
        info(f"faceval: warning: {warning}")
    loaded = read_predictions(predictions_path, ann.sample_ids, allow_missing=allow_missing, ignore_extra=ignore_extra)
    if loaded.ignored:
        info(f"faceval: note: ignored {loaded.ignored} predictions for samples outside {dataset} (--ignore-extra)")
    if loaded.missing:
        info(f"faceval: warning: {loaded.missing} of {len(ann)} samples have no prediction; counted as failures (--allow-missing)")
    failed = ~loaded.present
    protocol = Protocol(
        normalizer=normalizer,
        thresholds=thresholds_from(thresholds, ann.dataset),
        auc_mode=auc_mode,
        aggregation=aggregation,
        visible_only=visible_only,
        pose_wrap=pose_wrap,
    )
    provenance = collect()
    provenance.update({
        "command": "score",
        "predictions_path": str(predictions_path),
        "predictions_sha256": sha256_file(predictions_path),
        "predictions_format": loaded.format,
        "predictions_ignored": loaded.ignored,
        "data_root": str(ann.data_root) if ann.data_root else None,
        "dataset_spec": dataset,
        "data_warnings": list(ann.warnings),
        "started": started,
    })
    try:
        run = build_run(
            ann,
            PredictionSet(landmarks=loaded.landmarks, scheme=scheme, pose=loaded.pose, failed=failed,
                          reasons=["missing prediction" if f else "" for f in failed]),
            protocol,
            label=label or predictions_path.stem,
            provenance=provenance,
        )
    except InputError as exc:
        if exc.path is not None:
            raise
        raise InputError(str(exc), path=predictions_path) from None  # name the file the user gave
    run.provenance["finished"] = now_iso()
    nonfinite = nonfinite_predictions(run)
    if nonfinite:
        info(f"faceval: warning: {nonfinite} samples have non-finite predictions (counted as failures, NME = inf)")
    if out is not None:
        write_run(out, run)
    if output_format == "json":
        emit_json(summary_json(run))
    else:
        from faceval_cli.summary_view import print_summary

        lines = []
        lines.append(f"run file: {out}" if out else "no run file written (pass --out RUN.h5 to keep one)")
        print_summary(run, lines)
