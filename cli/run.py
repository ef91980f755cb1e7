"""``faceval run``: evaluate an ONNX model end to end (decode, crop, infer, map back, score)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from faceval_cli.common import (data_root_option, device_option, emit_json, format_option, info, progress_bar,
                                progress_option, progress_wanted)
from faceval_cli.score import protocol_options, validate_protocol_names

if TYPE_CHECKING:
    from faceval.evaluation.evaluate import EvaluationRequest


def _parse_set(values: tuple[str, ...]) -> dict[str, Any]:
    """``--set key=value`` spec overrides; values are JSON when they parse, else strings."""
    from faceval.errors import InputError

    out: dict[str, Any] = {}
    for item in values:
        if "=" not in item:
            raise InputError(f"--set expects KEY=VALUE, found '{item}'")
        key, raw = item.split("=", 1)
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


def _default_out(model: Path, dataset: str) -> Path:
    """``runs/<model>-<dataset>-<time>.h5``; reserved with -2, -3, ... appended while taken."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{model.stem}-{dataset}-{stamp}")
    return Path("runs") / f"{name}.h5"


@click.command("run")
@click.option("--model", type=click.Path(path_type=Path), multiple=True,
              help="ONNX model (default: the bundled PFLD-GhostOne). Repeat it, or give a quoted glob "
                   "('ckpts/*.onnx'), to evaluate many models in one process: one run file per model in --out DIR.")
@click.option("--dataset", default="sample", show_default=True, help="NAME or NAME:SPLIT (300w, 300w:private, wflw, wflw:blur, cofw, cofw68, aflw2000, aflw2000:yaw, sample), "
                   "or json:PATH[:SPLIT] for a SPIGA-style annotation file.")
@click.option("--spec", "spec_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="JSON model spec (preprocessing/decoding contract); overrides the model's metadata.")
@click.option("--set", "spec_set", multiple=True, metavar="KEY=VALUE",
              help="Override one spec field, e.g. --set box_scale=1.3 --set coords=signed-unit.")
@click.option("--box", type=click.Choice(["landmarks", "dataset", "file", "detector"]), default=None,
              help="Face box: GT landmark box, the dataset's rectangle, a box file (--boxes) or a face detector (--detector).")
@click.option("--boxes", "boxes_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="With --box file: CSV/JSON (sample_id,x1,y1,x2,y2 or x,y,w,h) or 300W bounding_boxes_*.mat.")
@click.option("--boxes-field", type=click.Choice(["bb_detector", "bb_ground_truth"]), default=None,
              help="With a 300W .mat box file: which of its boxes.")
@click.option("--detector", "detector", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="With --box detector: ONNX face detector (default: the bundled UltraFace RFB-320).")
@click.option("--detector-iou", type=float, default=None,
              help="With --box detector: least IoU of a detection with the GT landmark box (default 0.3).")
@click.option("--box-scale", type=float, default=None, help="Enlarge the face box by this factor (default 1.2).")
@data_root_option
@device_option
@click.option("--batch-size", type=int, default=None,
              help="Batch size for dynamic-batch models (default 32; 64 when the session runs on CUDA/TensorRT).")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Decode/crop threads, 0 = in the main thread (default: CPU count, at most 8).")
@click.option("--max-batch-memory", default=None, metavar="SIZE",
              help="Refuse a batch input tensor larger than this (e.g. 4GiB, 500MB; default 2GiB).")
@click.option("--cache", "cache_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Crop cache folder (default: ~/.cache/faceval/crops or FACEVAL_CACHE_DIR).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the crop cache.")
@click.option("--limit", type=int, default=None, help="Evaluate only the first N samples (canonical order).")
@click.option("--shard", default=None, metavar="I/N", help="Evaluate shard I of N (join with 'faceval merge').")
@click.option("--checkpoint-every", type=int, default=256, show_default=True,
              help="Save partial progress beside --out after every N samples (for --resume).")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run from its partial progress (<out>.partial, or the newest partial "
                   "of the same run in --out's folder).")
@click.option("--strict", is_flag=True, help="An unreadable image is an error (exit 2) instead of a counted failure.")
@protocol_options
@click.option("--label", default=None, help="Name of this run in reports (default: the model file's stem).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Run file (default: a new runs/<model>-<dataset>-<time>.h5), or with several models the folder "
                   "of their run files (an existing one too). An existing file is replaced when the run "
                   "succeeds; one another live run is writing is refused.")
@format_option
@progress_option
def command(model: tuple[Path, ...], dataset: str, spec_file: Path | None, spec_set: tuple[str, ...], box: str | None,
            boxes_file: Path | None, boxes_field: str | None, detector: Path | None, detector_iou: float | None,
            box_scale: float | None, data_root: Path | None, device: str, batch_size: int | None, workers: int | None,
            max_batch_memory: str | None, cache_dir: Path | None, no_cache: bool, limit: int | None, shard: str | None, checkpoint_every: int, resume: bool, strict: bool,
            protocol: str | None, normalizer: str | None, thresholds: tuple[float, ...], auc_mode: str | None,
            aggregation: str | None, fr_cut: str | None, points: str | None, visible_only: bool | None,
            pose_labels: Path | None, pose_wrap: bool, strict_data: bool, label: str | None, out: Path | None,
            output_format: str, progress: bool | None) -> None:
    """Evaluate an ONNX landmark (or pose-only: --set pose_output=NAME --pose-labels F) model and write a run file.

    With no arguments: the bundled PFLD-GhostOne model on the bundled sample photos.
    """
    from faceval.errors import InputError
    from faceval.evaluation.evaluate import EvaluationRequest
    from faceval.models.runner import parse_bytes

    validate_protocol_names(protocol=protocol, normalizer=normalizer, thresholds=thresholds, auc_mode=auc_mode,
                            aggregation=aggregation, fr_cut=fr_cut, points=points, visible_only=visible_only,
                            pose_wrap=pose_wrap)
    if batch_size is not None and batch_size < 1:
        raise InputError("--batch-size must be at least 1")
    if checkpoint_every < 1:
        raise InputError("--checkpoint-every must be at least 1")
    if limit is not None and limit < 1:
        raise InputError("--limit must be at least 1")
    overrides = _parse_set(spec_set)
    from faceval.detection.source import DEFAULT_MIN_IOU, BoxSourceRequest

    box_request = BoxSourceRequest(box or "landmarks", boxes_file=boxes_file, boxes_field=boxes_field,
                                   detector=detector, min_iou=DEFAULT_MIN_IOU if detector_iou is None else detector_iou)
    box_request.check()  # before any work
    if box is not None and not box_request.external:
        overrides["box"] = box
    if box_scale is not None:
        overrides["box_scale"] = box_scale
    from faceval.evaluation.sweep import is_sweep

    sweep = is_sweep(model)
    model_path = model[0] if model else None
    if model_path is None:
        from faceval.models import default_model_path

        model_path = Path(default_model_path())
    from faceval.atomic import check_writable_target
    from faceval.evaluation.output import lock_output, reserve_default_output

    if sweep:  # many models: faceval_cli.sweep checks every target, runs them, prints one table
        target = out or _default_out(model_path, dataset)
    elif out is None:
        Path("runs").mkdir(parents=True, exist_ok=True)
        check_writable_target(_default_out(model_path, dataset))
        reservation = reserve_default_output(_default_out(model_path, dataset))
        target = reservation.out
    else:
        target = out
        check_writable_target(target)  # before any work, not after it
        reservation = lock_output(target)
    request = EvaluationRequest(
        model_path=model_path, dataset=dataset, data_root=data_root, spec_file=spec_file, overrides=overrides,
        device=device, batch_size=batch_size, workers=workers, cache_dir=cache_dir, use_cache=not no_cache,
        limit=limit, shard=shard, resume=resume, checkpoint_every=checkpoint_every, strict=strict, strict_data=strict_data, pose_labels=pose_labels,
        normalizer=normalizer, thresholds=thresholds, auc_mode=auc_mode, aggregation=aggregation,
        visible_only=visible_only, pose_wrap=pose_wrap, label=label, out=target, protocol=protocol, fr_cut=fr_cut,
        points=points,
        box_source=box_request if box_request.external else None,
        max_batch_bytes=parse_bytes(max_batch_memory, "--max-batch-memory") if max_batch_memory else None,
    )
    if sweep:
        from faceval_cli.sweep import run_sweep

        run_sweep(request, model, out, output_format, progress_wanted(progress))
        return
    with reservation:
        _evaluate_and_print(request, output_format, progress)


def _evaluate_and_print(request: "EvaluationRequest", output_format: str, progress: bool | None) -> None:
    from faceval.errors import Terminated
    from faceval.evaluation.evaluate import evaluate_model

    target, model_path = request.out, request.model_path
    show = progress_wanted(progress)
    started = time.time()
    try:
        with progress_bar(show, "evaluating") as reporter:
            result = evaluate_model(request, on_message=lambda text: reporter.message(f"faceval: {text}"),
                                    progress=reporter)
    except (KeyboardInterrupt, Terminated) as exc:
        from faceval.evaluation.checkpoint import partial_path

        if target.exists() and target.stat().st_mtime >= started:
            info(f"faceval: the run had finished: {target} is complete")
        elif partial_path(target).exists():
            info(f"faceval: progress saved to {partial_path(target)}; continue with --resume")
        raise exc
    run = result.run
    if result.pose_warning is not None:  # the library says what looks wrong; nothing was changed
        info(f"faceval: warning: {result.pose_warning.message()}")
    if output_format == "json":
        from faceval.evaluation.scoring import summary_json

        data = summary_json(run)
        data["timings"] = result.timings
        data["run_file"] = str(target)
        warning = result.pose_warning
        data["pose_warning"] = None if warning is None else {
            "angles": list(warning.angles), "fix": warning.fix, "message": warning.message(),
            "findings": [{"angle": f.angle, "kind": f.kind, "detail": f.detail} for f in warning.findings]}
        emit_json(data)
    else:
        from faceval_cli.summary_view import print_summary

        t = result.timings
        lines = [
            f"model: {model_path} (spec from {run.provenance.get('spec_source')}); providers: {', '.join(run.provenance.get('providers_used', []))}",
            f"throughput: {t['images_per_s']:.1f} images/s over {int(t['images'])} images "
            f"(inference {t['inference_s']:.2f} s, waiting for crops {t['waiting_for_crops_s']:.2f} s, "
            f"cache hits {int(t['cache_hits'])}); total {t['total_s']:.2f} s",
            f"run file: {target}",
        ]
        if "detector_s" in t:
            rates = ", ".join(f"{split} {100 * s['detection_rate']:.2f} % ({s['n_missed_detections']} missed)"
                              for split, s in run.summary.items())
            lines.insert(2, f"face detector: {t['detector_s']:.2f} s; detection rate {rates}")
        print_summary(run, lines)
