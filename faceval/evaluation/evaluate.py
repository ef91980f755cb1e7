"""``faceval run`` as a library call: load, open the model, infer, score, write the run file."""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol as TypingProtocol

from faceval.errors import InputError
from faceval.models.cost import ModelCost, cached_model_cost, model_cost, model_cost_dir  # noqa: F401 (re-exported)
from faceval.runs.data import RunData

if TYPE_CHECKING:
    from faceval.metrics.pose_conventions import PoseConventionWarning


class ProgressReporter(TypingProtocol):
    """What the CLI passes to show progress (the library never imports rich)."""

    def start(self, total: int) -> None: ...

    def advance(self, n: int = 1) -> None: ...


@dataclass
class EvaluationRequest:
    """Everything ``faceval run`` was asked to do."""

    model_path: Path
    dataset: str = "sample"
    data_root: Path | None = None
    spec_file: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"
    #: None: 32, or 64 on a CUDA/TensorRT session for a dynamic-batch model (said as an assumption)
    batch_size: int | None = None
    workers: int | None = None
    cache_dir: Path | None = None
    use_cache: bool = True
    limit: int | None = None
    shard: str | None = None
    resume: bool = False
    checkpoint_every: int = 256
    strict: bool = False
    strict_data: bool = False
    pose_labels: Path | None = None
    #: protocol flags; None (or no thresholds): the preset's value, else faceval's default
    normalizer: str | None = None
    thresholds: tuple[float, ...] = ()
    auc_mode: str | None = None
    aggregation: str | None = None
    visible_only: bool | None = None
    pose_wrap: bool = False
    label: str | None = None
    out: Path = Path("run.h5")
    #: ``file`` / ``detector`` face boxes (faceval.detection.source); None = ``spec.box`` (landmarks | dataset).
    box_source: Any = None
    #: bound on one batch input tensor (None: faceval.models.runner.DEFAULT_MAX_BATCH_BYTES)
    max_batch_bytes: int | None = None
    #: peer preset (``--protocol``; faceval.metrics.presets), FR cut and point subset
    protocol: str | None = None
    fr_cut: str | None = None
    points: str | None = None


@dataclass
class EvaluationResult:
    """The run, its timings, and the pose convention warning (None: nothing looks wrong, or no pose)."""

    run: RunData
    timings: dict[str, float]
    pose_warning: "PoseConventionWarning | None" = None


def _check_scheme(spec: Any, gt_scheme: str) -> None:
    """Fail before inference when the model's points cannot be compared with the GT."""
    from faceval.schemes import SCHEME_NAMES, load_scheme

    if spec.scheme is None or spec.scheme == gt_scheme:
        return
    if spec.scheme not in SCHEME_NAMES:
        raise InputError(f"model spec names an unknown scheme '{spec.scheme}'")
    if gt_scheme not in load_scheme(spec.scheme).conversions:
        raise InputError(
            f"the model predicts the '{spec.scheme}' scheme and the dataset uses '{gt_scheme}'; no conversion exists"
        )


def cpu_threads(workers: int | None) -> int:
    """ONNX Runtime intra-op threads beside ``workers`` decode threads: the cores they leave, at least 1.

    Measured on the 2-core development machine (330 GhostOne inferences, 5 rounds, load ~8):
    1 thread without spinning 1.53 s (1.41-2.32), 2 threads without spinning 2.51 s, ORT's default
    (2 spinning threads) 4.72 s; with decode threads beside it the gap only grows.
    """
    from faceval.pipeline.loader import default_workers

    cores = os.cpu_count() or 1
    decode = default_workers() if workers is None else max(0, int(workers))
    return max(1, cores - decode)


def evaluate_model(
    request: EvaluationRequest,
    *,
    on_message: Callable[[str], None] = lambda message: None,
    progress: ProgressReporter | None = None,
) -> EvaluationResult:
    """Run a model over a dataset selection and write the run file atomically to ``request.out``.

    ``request.out`` is locked for the run (``<out>.lock``; another live run writing it is an
    InputError); stale temporaries of dead runs beside it are removed first.
    """
    from faceval.atomic import remove_stale_temporaries
    from faceval.evaluation.output import lock_output

    from faceval.evaluation.checkpoint import partial_path

    lock = lock_output(request.out)
    try:
        remove_stale_temporaries(request.out.parent if str(request.out.parent) else Path("."))
        return _evaluate(request, on_message, progress)
    except InputError as exc:
        if str(exc).startswith("no space left on device"):  # leave nothing behind on a full disk
            partial_path(request.out).unlink(missing_ok=True)
        raise
    finally:
        lock.release()


def _require_dataset_boxes(ann: Any, dataset: str) -> None:
    """``box: dataset`` on annotations without any face rectangle: an error before any image is read."""
    import numpy as np

    if len(ann) and not np.isfinite(ann.boxes).all(axis=1).any():
        raise InputError(f"--box dataset: {dataset} has no face rectangles here (300W, AFLW2000-3D and WFLW built "
                         "from its attribute lists carry none); use --box landmarks, --box file --boxes FILE "
                         "or --box detector")


def _evaluate(
    request: EvaluationRequest,
    on_message: Callable[[str], None],
    progress: ProgressReporter | None,
) -> EvaluationResult:
    import numpy as np

    from faceval.datasets import image_loader, load
    from faceval.models.session import create_session
    from faceval.models.spec import load_spec_file, resolve_spec, validate_overrides
    from faceval.pipeline.cache import CropCache, crop_key_fields, default_cache_dir
    from faceval.pipeline.identity import sample_identities
    from faceval.evaluation.score import describe_choice, protocol_choice_of, validate_choice
    from faceval.evaluation.scoring import PredictionSet, build_run, nonfinite_predictions
    from faceval.metrics.presets import choose_protocol
    from faceval.evaluation.checkpoint import Checkpoint, RunIdentity, find_partial, partial_path
    from faceval.evaluation.inference import run_inference
    from faceval.atomic import ensure_space
    from faceval.runs.runfile import write_run
    from faceval.runs.provenance import collect, now_iso, sample_set_sha256, sha256_file, start_git_describe
    from faceval.runs.shards import parse_shard, shard_identity, shard_range

    t_start = time.perf_counter()
    started = now_iso()
    start_git_describe()  # answered by the time the provenance is collected
    # Spec mistakes are the user's: report them before opening the model or loading data.
    validate_overrides(request.overrides)
    if request.spec_file is not None:
        load_spec_file(request.spec_file)
    choice = protocol_choice_of(request)
    validate_choice(choice)
    ann = load(request.dataset, request.data_root, strict=request.strict_data, pose_labels=request.pose_labels)
    for warning in ann.warnings:
        on_message(f"warning: {warning}")
    chosen = choose_protocol(choice, ann.dataset, ann.splits, ann.scheme)  # refused here, before any work
    for text in describe_choice(chosen, ann.dataset, ann.splits):
        on_message(text)
    extra_protocol: dict[str, Any] = {}
    if request.shard:
        index, count = parse_shard(request.shard)
        extra_protocol = shard_identity(ann, index, count)  # the shard's own sample set stays its identity
        ann = ann.select(np.arange(*shard_range(len(ann), index, count)))
    if request.limit is not None and request.limit < len(ann):
        ann = ann.select(np.arange(request.limit))
        on_message(f"note: --limit {request.limit}: evaluating the first {len(ann)} samples only")
    if request.box_source is None and request.overrides.get("box") == "dataset":
        _require_dataset_boxes(ann, request.dataset)  # before the model is opened
    identities = sample_identities(ann)

    # One session, created once: on CPU its threads leave the cores to the decode threads and
    # never spin (measured fastest both cold and warm; see cpu_threads).
    threads = cpu_threads(request.workers) if request.device in ("cpu", "auto") else None
    session_info = create_session(request.model_path, request.device, intra_op_threads=threads, allow_spinning=False)
    if session_info.message:
        on_message(f"note: {session_info.message}")
    spec, assumptions, spec_source = resolve_spec(request.model_path, request.spec_file, request.overrides, session_info,
                                                  allow_pose_only=True)
    spec, scale_note = _scale_for_box_source(spec, request)
    if scale_note:
        assumptions = [a for a in assumptions if not a.startswith("box scale ")] + [scale_note]
    if request.box_source is not None:  # --box file|detector: the spec's own box field is not used
        assumptions = [a for a in assumptions if not a.startswith("face box from the ")]
    batch_size = _batch_size(request, session_info, assumptions)
    for assumption in assumptions:
        on_message(f"assumed: {assumption}")
    if spec.pose_only:
        _check_pose_only(request, ann)
        ignored = _landmark_flags(request)
        if ignored:
            on_message(f"warning: {request.model_path.name} is a pose-only model: {', '.join(ignored)} "
                       f"{'sets' if len(ignored) == 1 else 'set'} how landmarks are scored and "
                       f"{'is' if len(ignored) == 1 else 'are'} not used (the run scores pose only)")
    else:
        _check_scheme(spec, ann.scheme)
    if request.box_source is None and spec.box == "dataset":
        _require_dataset_boxes(ann, request.dataset)  # a spec (model metadata, --spec) asking for them
    if request.pose_labels is not None and spec.pose_output is None:
        on_message(f"note: {Path(request.model_path).name}: the model has no pose output (pose_output in the spec), "
                   "so the pose labels score nothing (no pose MAE)")

    boxes = None  # file / detector boxes: the crop uses them as the face rectangles
    if request.box_source is not None:
        from faceval.detection.source import resolve_boxes

        boxes = resolve_boxes(request.box_source, ann.sample_ids, ann.image_paths, ann.landmarks,
                              device=request.device, cache_dir=(request.cache_dir / "detections") if request.cache_dir else None,
                              use_cache=request.use_cache, strict=request.strict)
        for warning in boxes.warnings:
            on_message(f"warning: {warning}")
        extra_protocol.update(boxes.protocol())

    model_sha = sha256_file(request.model_path)
    crop_ann, crop_spec, box_source = ann, spec, spec.box
    if boxes is not None:

        crop_ann = dataclasses.replace(ann, boxes=boxes.boxes)
        crop_spec = spec.with_overrides(box="dataset")
        box_source = f"{boxes.kind}:{boxes.cache_identity()}"

    cache = None
    if request.use_cache:
        cache_dir = request.cache_dir or default_cache_dir()
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            cache = CropCache(cache_dir, crop_key_fields(
                ann.dataset, input_size=(spec.width, spec.height), box_source=box_source, scale=spec.box_scale,
                square=spec.square, resample=spec.resample))
        except OSError as exc:
            on_message(f"warning: crop cache disabled ({' '.join(str(exc).split())})")
            cache = None

    identity = RunIdentity(
        model_sha256=model_sha, spec=spec.to_dict(), dataset=request.dataset,
        data_root=str(ann.data_root.resolve()) if ann.data_root else None, data=identities.digest,
        sample_set=sample_set_sha256(ann.sample_ids), shard=request.shard, limit=request.limit,
        batch_size=batch_size, checkpoint_every=request.checkpoint_every, box_source=box_source,
    )
    partial = partial_path(request.out)
    n_points = 0 if spec.pose_only else int(spec.points)
    checkpoint = None
    if request.resume:
        source = partial if partial.exists() else find_partial(partial.parent, identity)
        if source is not None:
            checkpoint = Checkpoint.load(source, identity, len(ann), n_points)
            on_message(f"resuming: {int(checkpoint.done.sum())} of {len(ann)} samples already done ({source})")
        else:
            on_message(f"nothing to resume (no partial progress of this run at {partial} or beside it); "
                       "starting from the beginning")
    if checkpoint is None:
        checkpoint = Checkpoint(partial, identity, len(ann), n_points)

    if progress is not None:
        progress.start(len(ann))
    loader = image_loader(ann)
    try:
        result = run_inference(
            crop_ann, session_info, crop_spec, batch_size=batch_size, workers=request.workers, cache=cache,
            identities=identities, strict=request.strict, checkpoint=checkpoint, chunk_size=request.checkpoint_every,
            progress=progress.advance if progress else None, image_loader=loader,
            max_batch_bytes=request.max_batch_bytes, on_message=on_message,
        )
    finally:
        if cache is not None:
            cache.close()
            for warning in cache.warnings:
                on_message(f"warning: {warning}")
        if loader is not None and hasattr(loader, "close"):
            loader.close()

    if boxes is not None:
        for i, why in boxes.reasons.items():  # the crop saw a NaN rectangle: say why it had none
            result.reasons[i] = why
        result.timings["detector_s"] = float(boxes.detector_seconds or 0.0)
    protocol = dataclasses.replace(
        chosen,
        box_source=boxes.kind if boxes is not None else spec.box,
        box_scale=float(spec.box_scale),
        box_square=bool(spec.square),
        **_pose_decoding(spec),
    )
    provenance = collect()
    provenance.update(session_info.provenance())
    provenance.update({
        "command": "run",
        "model_path": str(request.model_path),
        "model_sha256": model_sha,
        "spec": spec.to_dict(),
        "spec_source": spec_source,
        "spec_assumptions": assumptions,
        "dataset_spec": request.dataset,
        "data_root": str(ann.data_root) if ann.data_root else None,
        "data_identity": identities.digest,
        "data_warnings": list(ann.warnings),
        "crop_cache": str(cache.path) if cache is not None else None,
        "batch_size": int(result.timings["batch_size"]),
        "workers": request.workers,
        "timings": result.timings,
        "started": started,
    })
    if boxes is not None:  # where file / detector boxes came from (landmark boxes: the protocol says all)
        provenance["box_source"] = boxes.provenance
    # Never counted here (that imports onnx, ~1 s): recorded when cached, else a report that asks counts it.
    cost = cached_model_cost(model_sha, request.cache_dir)
    model_info: dict[str, Any] = cost.to_dict() if cost is not None else {}
    model_info["images_per_s"] = result.timings["images_per_s"]
    model_info["providers_used"] = list(session_info.providers_used)
    failures = int(result.failed.sum())
    if failures:
        on_message(f"warning: {failures} of {len(ann)} images could not be used (counted as failures; see the run file)")
    run = build_run(
        ann,
        PredictionSet(landmarks=None if spec.pose_only else result.landmarks, scheme=spec.scheme, pose=result.pose,
                      failed=result.failed, reasons=result.reasons),
        protocol,
        label=request.label or Path(request.model_path).stem,
        provenance=provenance,
        model_info=model_info,
        extra_protocol=extra_protocol,
    )
    nonfinite = nonfinite_predictions(run)
    if nonfinite:
        on_message(f"warning: the model gave non-finite landmarks for {nonfinite} images (counted as failures, NME = inf)")
    run.provenance["finished"] = now_iso()
    ensure_space(request.out, 2 * sum(a.nbytes for a in (run.predictions, run.ground_truth, run.visible,
                                                         run.normalizers, run.nme) if a is not None) + 16 * len(ann))
    write_run(request.out, run)
    checkpoint.remove()  # also a partial adopted from an earlier run of the same identity
    timings = dict(result.timings)
    timings["total_s"] = time.perf_counter() - t_start
    from faceval.metrics.pose_conventions import check_pose_conventions

    return EvaluationResult(run=run, timings=timings,
                            pose_warning=check_pose_conventions(run.pose_pred, run.pose_gt, protocol=run.protocol))


def _scale_for_box_source(spec: Any, request: EvaluationRequest) -> tuple[Any, str | None]:
    """The spec with the box scale of the run's box source (``box_scales``), unless the user set ``box_scale``."""
    source = request.box_source.kind if request.box_source is not None else spec.box
    if request.overrides.get("box_scale") is not None or source not in dict(spec.box_scales or ()):
        return spec, None
    scale = spec.scale_for(source)
    return spec.with_overrides(box_scale=scale), f"box scale {scale:g} for {source} boxes (the spec's box_scales)"


def _check_pose_only(request: EvaluationRequest, ann: Any) -> None:
    """A pose-only model is scored on pose labels alone: refuse a run without any (before any work)."""
    import numpy as np

    if not ann.has_pose or not bool(np.isfinite(np.asarray(ann.poses, dtype=np.float64)).any()):
        if request.pose_labels is not None:
            raise InputError(
                f"{request.model_path} is a pose-only model (no landmark output) and the pose labels give no finite "
                f"yaw, pitch, roll for any sample of '{request.dataset}': nothing to score", path=request.pose_labels)
        raise InputError(
            f"{request.model_path} is a pose-only model (no landmark output) and '{request.dataset}' has no pose "
            "labels: nothing to score; give the labels with --pose-labels FILE (CSV sample_id,yaw,pitch,roll, degrees)")


def _landmark_flags(request: EvaluationRequest) -> list[str]:
    """The landmark protocol flags the request sets (``--protocol``, ``--normalizer``, ...), as typed."""
    given = [("--protocol", request.protocol), ("--normalizer", request.normalizer),
             ("--threshold", request.thresholds or None), ("--auc-mode", request.auc_mode),
             ("--aggregation", request.aggregation), ("--fr-cut", request.fr_cut), ("--points", request.points),
             ("--visible-only/--all-points", request.visible_only)]
    return [flag for flag, value in given if value is not None]


def _pose_decoding(spec: Any) -> dict[str, Any]:
    """The spec's pose decoding fields for the protocol (None without a pose output)."""
    from faceval.runs.protocol import POSE_DECODING_KEYS

    if spec.pose_output is None:
        return {}
    return {key: getattr(spec, key) for key in POSE_DECODING_KEYS}


def _batch_size(request: EvaluationRequest, session_info: Any, assumptions: list[str]) -> int:
    """The batch size asked for, else the default for this session (a GPU default is an assumption)."""
    from faceval.models.runner import DEFAULT_BATCH_SIZE, default_batch_size
    from faceval.models.session import batch_dim_fixed

    if request.batch_size is not None:
        return int(request.batch_size)
    chosen = default_batch_size(session_info)
    if chosen != DEFAULT_BATCH_SIZE and batch_dim_fixed(session_info) is None:
        assumptions.append(f"batch size {chosen} (dynamic-batch model on {session_info.device}; "
                           "--batch-size to change)")
    return chosen
