"""``faceval score`` as a library call: predictions made elsewhere, scored like ``faceval run``.

    request = ScoreRequest(predictions=Path("preds.csv"), dataset="300w:helen", data_root=root)
    result = score_predictions(request, on_message=print)
    result.run.summary["helen"]["nme"]

``predictions`` is a file (CSV, NPY/NPZ, JSON, SPIGA JSON, HDF5; see :mod:`faceval.io.predictions`)
or a :class:`~faceval.io.predictions.PredictionArrays` held in memory. Images are never opened or
looked at. The run file is written atomically to ``request.out`` when it is set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from faceval.errors import InputError
from faceval.io.predictions import LoadedPredictions, PredictionArrays
from faceval.runs.data import RunData

if TYPE_CHECKING:
    from faceval.metrics.presets import ProtocolChoice


@dataclass
class ScoreRequest:
    """Everything ``faceval score`` was asked to do (the CLI flags, typed)."""

    predictions: Path | PredictionArrays
    dataset: str
    data_root: Path | None = None
    strict_data: bool = False
    pose_labels: Path | None = None
    scheme: str | None = None
    allow_missing: bool = False
    ignore_extra: bool = False
    #: protocol flags; None (or no thresholds): the preset's value, else faceval's default
    normalizer: str | None = None
    thresholds: tuple[float, ...] = ()
    auc_mode: str | None = None
    aggregation: str | None = None
    visible_only: bool | None = None
    pose_wrap: bool = False
    label: str | None = None
    out: Path | None = None
    #: peer preset (``--protocol``; faceval.metrics.presets), FR cut and point subset
    protocol: str | None = None
    fr_cut: str | None = None
    points: str | None = None

    def protocol_choice(self) -> "ProtocolChoice":
        """The protocol flags as typed by :func:`faceval.metrics.presets.choose_protocol`."""
        return protocol_choice_of(self)


@dataclass
class ScoreResult:
    """The scored run, where it was written (None: not written) and what was left out."""

    run: RunData
    out: Path | None
    predictions: LoadedPredictions
    messages: list[str] = field(default_factory=list)
    #: the pose convention warning (:mod:`faceval.metrics.pose_conventions`), None when none
    pose_warning: Any = None


def protocol_choice_of(request: Any) -> "ProtocolChoice":
    """The protocol flags of a score or evaluation request (same field names)."""
    from faceval.metrics.presets import ProtocolChoice

    return ProtocolChoice(preset=request.protocol, normalizer=request.normalizer,
                          thresholds=tuple(request.thresholds or ()), auc_mode=request.auc_mode,
                          aggregation=request.aggregation, fr_cut=request.fr_cut, points=request.points,
                          visible_only=request.visible_only, pose_wrap=bool(request.pose_wrap))


def validate_choice(choice: "ProtocolChoice") -> None:
    """Unknown preset, normaliser, AUC mode, aggregation, FR cut or point subset given: one-line
    error with the closest name, before any data is read."""
    from faceval.errors import closest
    from faceval.evaluation.scoring import AGGREGATIONS
    from faceval.metrics.curves import FR_CUTS
    from faceval.metrics.presets import get_preset
    from faceval.schemes import POINT_SUBSETS

    if choice.preset is not None:
        get_preset(choice.preset)
    validate_protocol_names(choice.normalizer or "inter-ocular", choice.auc_mode or "exact")
    for what, value, known in (("aggregation", choice.aggregation, AGGREGATIONS), ("FR cut", choice.fr_cut, FR_CUTS),
                               ("point subset", choice.points, POINT_SUBSETS)):
        if value is not None and value not in known:
            raise InputError(f"unknown {what} '{value}'{closest(value, known)}; expected one of {', '.join(known)}")


def describe_choice(protocol: Any, dataset: str, splits: Any) -> list[str]:
    """Messages about a run's preset: ``note: protocol preset pipnet; ...`` and, for a preset
    that reports a cross-split metric (3ddfa: ``nme_binmean``), a warning when bins are missing."""
    if not protocol.preset:
        return []
    from faceval.metrics.bins import bin_coverage

    out = [f"note: protocol {protocol.describe()}"]
    coverage = bin_coverage(dataset, splits)
    if protocol.preset == "3ddfa" and not coverage.complete:
        names = ", ".join(f"{dataset}:{n}" for n in coverage.names) or "its yaw-bin splits"
        out.append(f"warning: no nme_binmean (3DDFA's mean of the bin means): {coverage.describe_missing()}"
                   if coverage.names else f"warning: no nme_binmean: {dataset} has no yaw-bin splits")
        if coverage.names:
            out[-1] += f"; score {names} together"
    return out


def validate_protocol_names(normalizer: str, auc_mode: str) -> None:
    """Unknown normaliser or AUC mode: one-line error with the closest name."""
    from faceval.errors import closest
    from faceval.metrics.curves import PROTOCOL_AUC_MODES as AUC_MODES
    from faceval.metrics.normalizers import NORMALIZERS

    if normalizer not in NORMALIZERS:
        raise InputError(f"unknown normaliser '{normalizer}'{closest(normalizer, NORMALIZERS)}; expected one of {', '.join(NORMALIZERS)}")
    if auc_mode not in AUC_MODES:
        raise InputError(f"unknown AUC mode '{auc_mode}'{closest(auc_mode, AUC_MODES)}; expected one of {', '.join(AUC_MODES)}")


def _label(request: ScoreRequest) -> str:
    if request.label:
        return request.label
    if isinstance(request.predictions, PredictionArrays):
        return "predictions"
    return Path(request.predictions).stem


def score_predictions(request: ScoreRequest, *, on_message: Callable[[str], None] = lambda message: None
                      ) -> ScoreResult:
    """Score predictions against a dataset selection's ground truth; write the run file if asked.

    Messages ("warning: ...", "note: ...") go to ``on_message`` as they arise. Rows for samples of
    the dataset outside the selection (or missing from this data root) are left out with a note;
    ids the dataset does not know are an error unless ``ignore_extra``.

    Raises:
        InputError: bad flags, data or prediction file (the message names the file given).
    """
    from faceval.datasets import load
    from faceval.datasets.ids import dataset_ids
    from faceval.datasets.registry import is_json_spec, parse_spec
    from faceval.evaluation.scoring import PredictionSet, build_run, nonfinite_predictions
    from faceval.io.predictions import align_predictions, from_arrays, read_prediction_file
    from faceval.metrics.presets import choose_protocol
    from faceval.runs.provenance import collect, now_iso, sha256_file

    messages: list[str] = []

    def say(text: str) -> None:
        messages.append(text)
        on_message(text)

    choice = request.protocol_choice()
    validate_choice(choice)
    if request.scheme is not None:
        from faceval.schemes import load_scheme

        load_scheme(request.scheme)  # an unknown scheme is a flag error, not the prediction file's
    in_memory = isinstance(request.predictions, PredictionArrays)
    source = Path("predictions") if in_memory else Path(request.predictions)  # type: ignore[arg-type]
    started = now_iso()
    ann = load(request.dataset, request.data_root, strict=request.strict_data, pose_labels=request.pose_labels,
               need_images=False)
    for warning in ann.warnings:
        say(f"warning: {warning}")
    raw = from_arrays(request.predictions) if in_memory else read_prediction_file(source)  # type: ignore[arg-type]
    if is_json_spec(request.dataset):
        from faceval.datasets.annotation_json import json_dataset_ids

        name, known = "json", json_dataset_ids(request.dataset)
    else:
        name, _ = parse_spec(request.dataset)
        known = dataset_ids(name, ann.data_root)
    loaded = align_predictions(raw, ann.sample_ids, source=source, allow_missing=request.allow_missing,
                               ignore_extra=request.ignore_extra, known=known)
    if loaded.outside:
        say(f"note: left out {loaded.outside} predictions for samples of {name} outside {request.dataset}")
    if loaded.absent:
        say(f"note: left out {loaded.absent} predictions: {loaded.absent} ids are samples of {name} "
            "missing from this data root")
    if loaded.ignored:
        say(f"note: ignored {loaded.ignored} predictions for samples outside {request.dataset} (--ignore-extra)")
    if loaded.missing:
        say(f"warning: {loaded.missing} of {len(ann)} samples have no prediction; counted as failures (--allow-missing)")
    if request.pose_labels is not None and loaded.pose is None:
        say(f"note: {source}: the predictions hold no head pose, so the pose labels score nothing (no pose MAE)")
    failed = ~loaded.present
    protocol = choose_protocol(choice, ann.dataset, ann.splits, ann.scheme)
    for text in describe_choice(protocol, ann.dataset, ann.splits):
        say(text)
    provenance = collect()
    provenance.update({
        "command": "score",
        "predictions_path": None if in_memory else str(source),
        "predictions_sha256": None if in_memory else sha256_file(source),
        "predictions_format": loaded.format,
        "predictions_ignored": loaded.ignored,
        "predictions_outside_selection": loaded.outside,
        "predictions_absent_from_data_root": loaded.absent,
        "data_root": str(ann.data_root) if ann.data_root else None,
        "dataset_spec": request.dataset,
        "data_warnings": list(ann.warnings),
        "started": started,
    })
    try:
        run = build_run(
            ann,
            PredictionSet(landmarks=loaded.landmarks, scheme=request.scheme, pose=loaded.pose, failed=failed,
                          reasons=["missing prediction" if f else "" for f in failed], owned=loaded.owned),
            protocol,
            label=_label(request),
            provenance=provenance,
        )
    except InputError as exc:
        if exc.path is not None or in_memory:
            raise
        raise InputError(str(exc), path=source) from None  # name the file the user gave
    run.provenance["finished"] = now_iso()
    nonfinite = nonfinite_predictions(run)
    if nonfinite:
        say(f"warning: {nonfinite} samples have non-finite predictions (counted as failures, NME = inf)")
    if request.out is not None:
        from faceval.runs.runfile import write_run

        write_run(request.out, run)
    from faceval.metrics.pose_conventions import check_pose_conventions

    return ScoreResult(run=run, out=request.out, predictions=loaded, messages=messages,
                       pose_warning=check_pose_conventions(run.pose_pred, run.pose_gt, protocol=run.protocol))
