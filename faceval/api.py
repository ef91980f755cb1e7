"""The public Python API: evaluate a model, score predictions, load, report and gate runs.

Everything here is importable from the package (``faceval.evaluate``, ``faceval.Run`` ...);
``import faceval`` itself imports none of this until a name is used.

Worked example (the bundled model on the three bundled photos; no data download)::

    >>> import faceval
    >>> run = faceval.evaluate(faceval.BUNDLED_MODEL, "sample", cache=False)
    >>> run.summary["splits"]["all"]["n"]
    3
    >>> round(run.summary["splits"]["all"]["nme"], 3)
    0.055
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from faceval.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from faceval.datasets.base import Annotations
    from faceval.metrics.pose_conventions import PoseConventionWarning
    from faceval.report.gate import GateResult
    from faceval.runs.data import RunData

#: the bundled real model (PFLD-GhostOne, 98 WFLW points, Apache-2.0)
BUNDLED_MODEL = Path(__file__).resolve().parent / "data" / "models" / "PFLD_GhostOne_112_1_opt_sim.onnx"

#: keyword arguments that set the metric protocol (as ``faceval score/run`` flags)
PROTOCOL_OPTIONS = ("normalizer", "thresholds", "auc_mode", "aggregation", "visible_only", "pose_wrap",
                    "pose_labels", "strict_data", "protocol", "fr_cut", "points")

PathLike = str | os.PathLike[str]


#: protocol options that are names (None: not given) and those that are flags
_NAME_OPTIONS = ("normalizer", "auc_mode", "aggregation", "protocol", "fr_cut", "points")
_FLAG_OPTIONS = ("visible_only", "pose_wrap", "strict_data")


def _check_option_types(options: dict[str, Any], where: str) -> None:
    """TypeError for a protocol option of the wrong type (``pose_wrap='no'`` once meant True,
    ``thresholds='0.1'`` the thresholds 0, '.', 1, ``points=49`` a bare TypeError)."""
    def bad(key: str, expected: str) -> TypeError:
        value = options[key]
        return TypeError(f"{where}() option '{key}' must be {expected}, got {type(value).__name__} {value!r}")

    for key in _NAME_OPTIONS:
        if options[key] is not None and not isinstance(options[key], str):
            raise bad(key, "a string (a name) or None")
    for key in _FLAG_OPTIONS:
        value = options[key]
        if not isinstance(value, bool) and not (key == "visible_only" and value is None):
            raise bad(key, "True or False" + (" (or None)" if key == "visible_only" else ""))
    from numbers import Real

    thresholds = options["thresholds"]
    values = thresholds.tolist() if hasattr(thresholds, "tolist") else thresholds  # a numpy array or scalar
    values = [values] if isinstance(values, Real) else values
    if isinstance(thresholds, (str, bytes, bool)) or not isinstance(values, (list, tuple)) or any(
            isinstance(t, bool) or not isinstance(t, Real) for t in values):
        raise bad("thresholds", "a number or a list of numbers (fractions, e.g. [0.08, 0.10])")


def _protocol_options(protocol: dict[str, Any], where: str) -> dict[str, Any]:
    """Validated protocol keyword arguments with their defaults filled in."""
    from faceval.errors import closest

    for key in protocol:
        if key not in PROTOCOL_OPTIONS:
            raise TypeError(f"{where}() got an unknown protocol option '{key}'{closest(key, PROTOCOL_OPTIONS)}; "
                            f"expected one of {', '.join(PROTOCOL_OPTIONS)}")
    # None: not given (the preset's value with ``protocol=``, else faceval's default)
    options: dict[str, Any] = {"normalizer": None, "thresholds": (), "auc_mode": None,
                               "aggregation": None, "visible_only": None, "pose_wrap": False,
                               "pose_labels": None, "strict_data": False, "protocol": None, "fr_cut": None,
                               "points": None}
    options.update(protocol)
    _check_option_types(options, where)
    thresholds = options["thresholds"]
    thresholds = thresholds.tolist() if hasattr(thresholds, "tolist") else thresholds
    options["thresholds"] = (float(thresholds),) if isinstance(thresholds, (int, float)) else tuple(thresholds)
    options["pose_labels"] = None if options["pose_labels"] is None else Path(options["pose_labels"])
    from types import SimpleNamespace

    from faceval.evaluation.score import protocol_choice_of, validate_choice

    validate_choice(protocol_choice_of(SimpleNamespace(**options)))
    return options


class Run:
    """One evaluation: per-image arrays, protocol, provenance and summary (a run file's content).

    ``run.data`` is the underlying :class:`faceval.runs.data.RunData`; ``run.path`` the file
    it was read from or saved to (None for a run held only in memory).

    Example::

        >>> import faceval
        >>> run = faceval.score(faceval.load_dataset("sample").landmarks + 1.0, "sample")
        >>> run.label, run.dataset, sorted(run.splits)
        ('predictions', 'sample', ['all'])
        >>> table = run.per_image()
        >>> list(table.columns[:4])
        ['sample_id', 'split:all', 'nme', 'normalizer']
        >>> bool((table["nme"] > 0).all())
        True
    """

    def __init__(self, data: "RunData", path: PathLike | None = None) -> None:
        self.data = data
        self.path = None if path is None else Path(path)

    def __repr__(self) -> str:
        where = f", path='{self.path}'" if self.path else ""
        return f"Run(label='{self.label}', dataset='{self.dataset}', n={len(self.data.sample_ids)}{where})"

    @property
    def label(self) -> str:
        return self.data.label

    @property
    def dataset(self) -> str:
        return self.data.dataset

    @property
    def splits(self) -> dict[str, "np.ndarray"]:
        """Split name -> indices into the samples."""
        return self.data.splits

    @property
    def protocol(self) -> dict[str, Any]:
        """The protocol as its JSON object (as in ``summary["protocol"]``)."""
        from faceval.runs.shards import protocol_dict

        return protocol_dict(self.data.protocol)

    @property
    def summary(self) -> dict[str, Any]:
        """The same object as ``faceval score/run --format json`` prints (schema_version, dataset,
        label, protocol, splits: split -> metric -> value; fractions and degrees)."""
        from faceval.evaluation.scoring import summary_json

        return summary_json(self.data)

    @property
    def pose_only(self) -> bool:
        """True for a run of a pose-only model: pose metrics only, no NME."""
        return self.data.pose_only

    @property
    def pose_warning(self) -> "PoseConventionWarning | None":
        """The pose convention warning of this run (a flipped sign, an angle order, radians, an
        offset; :mod:`faceval.metrics.pose_conventions`), None when nothing looks wrong or no pose."""
        from faceval.metrics.pose_conventions import check_pose_conventions

        return check_pose_conventions(self.data.pose_pred, self.data.pose_gt, protocol=self.data.protocol)

    def per_image(self) -> "pd.DataFrame":
        """One row per sample: ``sample_id``, one bool column ``split:NAME`` per split, ``nme``
        (fraction; inf for failures), ``normalizer`` (the d_i), ``failed`` (input unusable),
        ``failure_reason``, and with poses ``err_yaw``, ``err_pitch``, ``err_roll`` (absolute
        degrees, wrapped into (-180, 180] first when the protocol says ``pose_wrap``; NaN where
        no label or no prediction)."""
        import numpy as np
        import pandas as pd

        data = self.data
        n = len(data.sample_ids)
        columns: dict[str, Any] = {"sample_id": list(data.sample_ids)}
        for split, idx in data.splits.items():
            member = np.zeros(n, dtype=bool)
            member[np.asarray(idx, dtype=np.int64)] = True
            columns[f"split:{split}"] = member
        # a pose-only run has no NME and no normaliser: NaN, never a number
        columns["nme"] = np.full(n, np.nan) if data.pose_only else np.asarray(data.nme, dtype=np.float64)
        columns["normalizer"] = np.full(n, np.nan) if data.pose_only else np.asarray(data.normalizers, dtype=np.float64)
        columns["failed"] = np.asarray(data.failed_inputs, dtype=bool)
        columns["failure_reason"] = [str(r) for r in data.failure_reasons]
        if data.pose_pred is not None and data.pose_gt is not None:
            from faceval.metrics.pose import POSE_ANGLES, wrap_degrees

            diff = np.asarray(data.pose_pred, dtype=np.float64) - np.asarray(data.pose_gt, dtype=np.float64)
            if self.protocol.get("pose_wrap"):
                diff = wrap_degrees(diff)
            for i, angle in enumerate(POSE_ANGLES):
                columns[f"err_{angle}"] = np.abs(diff[:, i])
        return pd.DataFrame(columns)

    def save(self, path: PathLike) -> Path:
        """Write the run file (HDF5, atomically, with checksums); returns its path.

        Example::

            >>> import tempfile, pathlib, faceval
            >>> run = faceval.score(faceval.load_dataset("sample").landmarks, "sample")
            >>> with tempfile.TemporaryDirectory() as folder:
            ...     saved = run.save(pathlib.Path(folder) / "run.h5")
            ...     faceval.load_run(saved).summary == run.summary
            True
        """
        from faceval.runs.runfile import write_run

        self.path = write_run(path, self.data)
        return self.path


def load_dataset(dataset: str, *, data_root: PathLike | None = None, pose_labels: PathLike | None = None,
                 strict_data: bool = False) -> "Annotations":
    """The ground truth of a dataset selection (sample ids, landmarks, visibility, poses, splits).

    Example::

        >>> import faceval
        >>> truth = faceval.load_dataset("sample")
        >>> len(truth), truth.landmarks.shape, truth.sample_ids[0]
        (3, (3, 68, 2), 'breakingbad.jpg')
    """
    from faceval.datasets import load

    return load(dataset, None if data_root is None else Path(data_root), strict=strict_data,
                pose_labels=None if pose_labels is None else Path(pose_labels), need_images=False)


def load_run(path: PathLike) -> Run:
    """Read a run file (verified; per-image arrays are read on first use).

    A missing, foreign or damaged file raises :class:`faceval.errors.InputError` naming it.

    Example::

        >>> import faceval
        >>> faceval.load_run("no-such-run.h5")
        Traceback (most recent call last):
        ...
        faceval.errors.InputError: no-such-run.h5: run file not found
    """
    from faceval.runs.runfile import read_run

    return Run(read_run(path), path)


def evaluate(model: PathLike, dataset: str, *, data_root: PathLike | None = None,
             spec: PathLike | dict[str, Any] | None = None, device: str = "auto", batch_size: int | None = None,
             cache: bool | PathLike = True, limit: int | None = None, label: str | None = None,
             out: PathLike | None = None, **protocol: Any) -> Run:
    """Run an ONNX model over a dataset and score it, as ``faceval run`` does.

    Args:
        model: the ``.onnx`` file (:data:`BUNDLED_MODEL` is the bundled GhostOne).
        dataset: ``NAME`` or ``NAME:SPLIT`` (``"300w"``, ``"wflw:blur"``, ``"sample"``).
        data_root: folder holding the datasets (default ``FACEVAL_DATA_ROOT``).
        spec: a spec JSON file (as ``--spec``), or a dict of spec fields (as ``--set``), e.g.
            ``{"color": "BGR", "box_scale": 1.3}``.
        device: ``auto``, ``cpu``, ``cuda`` or ``tensorrt``.
        batch_size: images per inference for a dynamic-batch model (None: 32, or 64 on CUDA/TensorRT).
        cache: True (default crop cache folder), False (none), or a cache folder.
        limit: evaluate only the first ``limit`` samples.
        out: also write the run file here (otherwise nothing is written; see :meth:`Run.save`).
        **protocol: ``normalizer``, ``thresholds``, ``auc_mode``, ``aggregation``, ``visible_only``,
            ``pose_wrap``, ``pose_labels``, ``strict_data``, ``protocol`` (a peer preset, as
            ``--protocol``), ``fr_cut``, ``points`` (as the command-line flags).

    Example::

        >>> import faceval
        >>> run = faceval.evaluate(faceval.BUNDLED_MODEL, "sample", cache=False, thresholds=[0.08])
        >>> sorted(run.summary["splits"]["all"])[:4]
        ['auc@0.08', 'complete', 'fr@0.08', 'n']
        >>> run.protocol["box_source"], run.protocol["conversion"]
        ('landmarks', 'wflw->300w')
    """
    from faceval.evaluation.evaluate import EvaluationRequest, evaluate_model
    from faceval.models.spec import validate_overrides

    options = _protocol_options(protocol, "evaluate")
    spec_file, overrides = None, {}
    if isinstance(spec, dict):
        overrides = {str(k): v for k, v in spec.items()}
        validate_overrides(overrides)
    elif spec is not None:
        spec_file = Path(spec)
    with tempfile.TemporaryDirectory(prefix="faceval-") as scratch:
        target = Path(out) if out is not None else Path(scratch) / "run.h5"
        request = EvaluationRequest(
            model_path=Path(model), dataset=dataset, data_root=None if data_root is None else Path(data_root),
            spec_file=spec_file, overrides=overrides, device=device, batch_size=batch_size,
            cache_dir=None if isinstance(cache, bool) else Path(cache), use_cache=cache is not False,
            limit=limit, label=label, out=target, **options)
        result = evaluate_model(request)
    return Run(result.run, out)


def _loaded_from_array(predictions: Any, sample_ids: Sequence[str] | None, dataset_ids: Sequence[str],
                       pose: Any, allow_missing: bool, ignore_extra: bool) -> Any:
    """An in-memory (N, K, 2) array (with optional ids and poses) aligned as a prediction file is."""
    import numpy as np

    from faceval.io.predictions import PredictionArrays, align_predictions, from_arrays

    source = Path("<array>")
    ids = None if sample_ids is None else [str(s) for s in sample_ids]
    raw = from_arrays(PredictionArrays(landmarks=predictions, sample_ids=ids, pose=pose), str(source))
    raw.format = "array"
    loaded = align_predictions(raw, dataset_ids, source=source, allow_missing=allow_missing, ignore_extra=ignore_extra)
    loaded.landmarks = np.asarray(loaded.landmarks, dtype=np.float64)
    return loaded


def score(predictions: PathLike | Any, dataset: str, *, data_root: PathLike | None = None,
          sample_ids: Sequence[str] | None = None, pose: Any = None, scheme: str | None = None,
          allow_missing: bool = False, ignore_extra: bool = False, label: str | None = None,
          **protocol: Any) -> Run:
    """Score predictions made elsewhere, as ``faceval score`` does (never opens images).

    Args:
        predictions: a prediction file (CSV, NPY/NPZ, JSON, SPIGA JSON, HDF5), or an array
            ``(N, K, 2)`` of 0-based pixel coordinates of the original images.
        dataset: ``NAME`` or ``NAME:SPLIT``.
        sample_ids: with an array, the sample id of each row; without, the rows are in the
            dataset's canonical order (``faceval datasets samples``).
        pose: with an array, optional ``(N, 3)`` yaw, pitch, roll in degrees.
        scheme: scheme of the predictions when it differs from the dataset's (e.g. ``"wflw"``).
        allow_missing / ignore_extra: as ``--allow-missing`` / ``--ignore-extra``.
        **protocol: as :func:`evaluate`.

    Example::

        >>> import faceval
        >>> truth = faceval.load_dataset("sample")
        >>> run = faceval.score(truth.landmarks + [3.0, 4.0], "sample", sample_ids=truth.sample_ids)
        >>> nme = 5.0 / run.per_image()["normalizer"]  # every point is off by 5 pixels
        >>> bool(abs(run.summary["splits"]["all"]["nme"] - nme.mean()) < 1e-12)
        True
    """
    from faceval.datasets import load
    from faceval.evaluation.scoring import PredictionSet, build_run
    from faceval.runs.provenance import collect, now_iso, sha256_file

    options = _protocol_options(protocol, "score")
    if scheme is not None:
        from faceval.schemes import load_scheme

        load_scheme(scheme)
    started = now_iso()
    ann = load(dataset, None if data_root is None else Path(data_root), strict=options["strict_data"],
               pose_labels=options["pose_labels"], need_images=False)
    provenance = collect()
    is_file = isinstance(predictions, (str, os.PathLike))
    if is_file:
        from faceval.io.predictions import read_predictions

        path = Path(predictions)
        loaded = read_predictions(path, ann.sample_ids, allow_missing=allow_missing, ignore_extra=ignore_extra)
        provenance.update({"predictions_path": str(path), "predictions_sha256": sha256_file(path)})
    else:
        loaded = _loaded_from_array(predictions, sample_ids, ann.sample_ids, pose, allow_missing, ignore_extra)
        from faceval.runs.runfile import array_sha256

        provenance.update({"predictions_path": None, "predictions_sha256": array_sha256(loaded.landmarks)})
    provenance.update({
        "command": "score", "api": "faceval.score", "predictions_format": loaded.format,
        "predictions_ignored": loaded.ignored, "data_root": str(ann.data_root) if ann.data_root else None,
        "dataset_spec": dataset, "data_warnings": list(ann.warnings), "started": started,
    })
    failed = ~loaded.present
    from types import SimpleNamespace

    from faceval.evaluation.score import protocol_choice_of
    from faceval.metrics.presets import choose_protocol

    proto = choose_protocol(protocol_choice_of(SimpleNamespace(**options)), ann.dataset, ann.splits, ann.scheme)
    run = build_run(ann, PredictionSet(landmarks=loaded.landmarks, scheme=scheme, pose=loaded.pose, failed=failed,
                                       reasons=["missing prediction" if f else "" for f in failed]),
                    proto, label=label or (Path(predictions).stem if is_file else "predictions"),
                    provenance=provenance)
    run.provenance["finished"] = now_iso()
    return Run(run)


def _data(run: Run | "RunData" | PathLike) -> "RunData":
    if isinstance(run, Run):
        return run.data
    if isinstance(run, (str, os.PathLike)):
        return load_run(run).data
    return run


def report(runs: Sequence[Run | PathLike] | Run | PathLike, format: str = "markdown", *,  # noqa: A002
           metrics: Sequence[str] | str | None = None, splits: Sequence[str] | None = None,
           layout: str | None = None, ci: bool = False, percent: bool | None = None,
           precision: int | None = None, ci_style: str = "pm", rename: Mapping[str, str] | None = None,
           caption: str | None = None, label: str | None = None) -> str:
    """A table over runs (or run files), as ``faceval report`` prints it.

    ``format`` is csv, latex, markdown, html or json; the other arguments as the flags
    (``rename`` is ``{old: new}``, the ``--rename old=new`` pairs).

    Example::

        >>> import faceval
        >>> truth = faceval.load_dataset("sample")
        >>> good = faceval.score(truth.landmarks + 1.0, "sample", label="good")
        >>> bad = faceval.score(truth.landmarks + 4.0, "sample", label="bad")
        >>> for line in faceval.report([good, bad], "markdown", metrics=["nme"]).splitlines()[:4]:
        ...     print(line)
        | Model | All NME (%) |
        | :--- | ---: |
        | good | **2.19** |
        | bad | 8.75 |
    """
    from faceval.report import render_report
    from faceval.report.tables import parse_metric_list

    if isinstance(runs, (Run, str, os.PathLike)):
        runs = [runs]
    units_mode = None if percent is None else ("percent" if percent else "fraction")
    text, _warnings = render_report([_data(r) for r in runs], format, layout=layout,
                                    metrics=parse_metric_list(metrics), splits=list(splits) if splits else None,
                                    units_mode=units_mode, precision=precision, ci=ci, ci_style=ci_style,
                                    renames=dict(rename or {}), caption=caption, label=label)
    return text


def gate(run: Run | PathLike, baseline: Run | PathLike, rules: Sequence[str] | None = None, *,
         significance: float | None = None, allow_protocol_change: bool = False) -> "GateResult":
    """Check a run against a baseline, as ``faceval gate`` does; ``result.passed`` is the verdict.

    ``rules`` are ``METRIC[@SPLIT]:BOUND`` strings (default: ``nme:+1%``, ``fr@T:+0.005``,
    ``auc@T:-1%``). Runs with different protocols raise InputError unless
    ``allow_protocol_change``.

    Example::

        >>> import faceval
        >>> truth = faceval.load_dataset("sample")
        >>> base = faceval.score(truth.landmarks + 1.0, "sample")
        >>> worse = faceval.score(truth.landmarks + 2.0, "sample")
        >>> faceval.gate(base, base).passed, faceval.gate(worse, base, rules=["nme:+0.001"]).passed
        (True, False)
    """
    from faceval.report.gate import evaluate_gate, parse_rule

    parsed = [parse_rule(r) for r in rules] if rules else None
    return evaluate_gate(_data(run), _data(baseline), parsed, significance=significance,
                         allow_protocol_change=allow_protocol_change)


__all__ = ["BUNDLED_MODEL", "Run", "evaluate", "gate", "load_dataset", "load_run", "report", "score"]
