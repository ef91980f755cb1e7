"""Peer protocol presets: the settings each peer's own evaluation code uses (evaluation.md §5b).

``--protocol NAME`` sets the normaliser, aggregation, thresholds, AUC mode, FR cut (and for
mmpose the visibility mask and float32 distances) as that peer's code does; a flag given
explicitly wins and is recorded in the protocol's ``overrides``. :func:`choose_protocol` is the
one place a preset and the flags become a :class:`~faceval.runs.protocol.Protocol`.

=========  ===================================================================================
preset     what the peer's code does (the file it comes from)
=========  ===================================================================================
pipnet     ``lib/test.py`` + ``lib/functions.py compute_fr_and_auc``: inter-ocular (scheme eye
           corners: 300W 36/45, COFW 8/9, WFLW 60/72), mean of per-image NME, ``thres=0.1`` for
           every dataset, AUC ``simps`` on ``arange(0, t + 1e-4, 1e-4)`` (``simpson-1e-4``),
           ``FR = 1 - ys[-1]`` on that grid (``grid``).
star       ``lib/metric/fr_and_auc.py FR_AUC`` + ``conf/alignment.py``: as PIPNet, threshold 0.05
           on 300W and 0.10 elsewhere; COFW normalised inter-pupil (its ``default`` norm type),
           300W / WFLW inter-ocular. (STAR rounds FR to 4 and AUC to 6 decimals when printing.)
menpofit   ``menpofit/error/stats.py area_under_curve_and_failure_rate`` with step 1e-4:
           ``simpson-1e-4`` AUC and its ``1 - ced[-1]`` FR (``grid``), mean, inter-ocular
           (``outer_eye_corner_68_euclidean_error``); threshold 0.08 on 300W, 0.10 elsewhere.
           Its other normaliser is ``box-edge`` (``bb_avg_edge_length``) and its subsets
           ``--points inner51 / inner49``.
spiga      ``spiga/eval/benchmark/metrics/landmarks.py``: the first ``norm`` of each database's
           ``db_info.json``: 300W public inter-ocular ("corners") at 8 %, 300W private and COFW-68
           ``bbox`` ("lnd_bbox") at 7 %, WFLW inter-ocular at 10 %; mean; 10 000-bin histogram
           AUC and FR (``spiga-hist``).
hrnet      ``lib/core/evaluation.py compute_nme`` + ``lib/core/function.py``: inter-ocular
           (AFLW: box size), mean, ``FR = (nme > 0.08)`` and ``(nme > 0.10)`` (strict). HRNet
           computes no AUC: AUC mode ``none`` (``--auc-mode exact`` adds faceval's).
mmpose     ``mmpose/evaluation/functional/keypoint_eval.py keypoint_nme`` and the ``NME``
           metric: ``point-mean`` over the visible (image, point) pairs (mask =
           ``keypoints_visible``), float32 distances, inter-ocular (``keypoint_indices``: 300W
           36/45, COFW 8/9, WFLW 60/72). mmpose reports NME only: AUC mode ``none``; FR is
           faceval's default.
3ddfa      ``benchmark_aflw2000.py``: ``bbox`` (sqrt(w h) of the 68 2-D GT points), mean, and
           ``nme_binmean`` (the mean of the three yaw-bin means; :mod:`faceval.metrics.bins`).
           AFLW2000-3D only. 3DDFA reports NME only (``calc_nme``, ``ana``): AUC mode ``none``;
           FR is faceval's default.
=========  ===================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from faceval.errors import InputError, closest
from faceval.runs.protocol import Protocol


@dataclass(frozen=True)
class DatasetSettings:
    """A preset's normaliser and thresholds on one dataset (``thresholds=()``: the dataset's defaults)."""

    normalizer: str
    thresholds: tuple[float, ...] = ()


@dataclass(frozen=True)
class Preset:
    """One peer's evaluation settings.

    ``datasets`` maps a dataset key to its settings: a dataset name (``300w``), ``300w:private``
    (a selection of only the private splits; SPIGA normalises it differently), or ``*`` for
    any other dataset; a dataset with no key and no ``*`` is refused.
    """

    name: str
    peer_code: str
    datasets: tuple[tuple[str, DatasetSettings], ...]
    aggregation: str = "mean"
    auc_mode: str = "exact"
    fr_cut: str = "strict"
    visible_only: bool = False
    distance_dtype: str = "float64"

    def settings_for(self, dataset: str, splits: Iterable[str]) -> DatasetSettings:
        """The settings on ``dataset`` with these splits loaded.

        Raises:
            InputError: a dataset the peer's code does not cover, or a 300W selection that mixes
                private and public splits under a preset that normalises them differently.
        """
        table = dict(self.datasets)
        key = dataset
        if dataset == "300w" and "300w:private" in table:
            private = [s in _PRIVATE_300W for s in splits]
            if private and all(private):
                key = "300w:private"
            elif any(private):
                raise InputError(f"preset '{self.name}' normalises 300W public and private differently; "
                                 "score 300w:private and the public splits in separate runs")
        if key in table:
            return table[key]
        if "*" in table:
            return table["*"]
        known = ", ".join(k for k in table)
        raise InputError(f"preset '{self.name}' ({self.peer_code}) defines no settings for dataset '{dataset}' "
                         f"(it covers {known}); give --normalizer and --threshold instead")


_PRIVATE_300W = frozenset({"private", "indoor", "outdoor"})

_IOD = DatasetSettings("inter-ocular")

PRESETS: dict[str, Preset] = {
    "pipnet": Preset("pipnet", "PIPNet lib/test.py, lib/functions.py compute_fr_and_auc",
                     (("*", DatasetSettings("inter-ocular", (0.10,))),),
                     auc_mode="simpson-1e-4", fr_cut="grid"),
    "star": Preset("star", "STAR lib/metric/fr_and_auc.py FR_AUC, conf/alignment.py",
                   (("300w", DatasetSettings("inter-ocular", (0.05,))),
                    ("cofw", DatasetSettings("inter-pupil", (0.10,))),
                    ("*", DatasetSettings("inter-ocular", (0.10,)))),
                   auc_mode="simpson-1e-4", fr_cut="grid"),
    "menpofit": Preset("menpofit", "menpofit/error/stats.py area_under_curve_and_failure_rate (step 1e-4)",
                       (("300w", DatasetSettings("inter-ocular", (0.08,))),
                        ("*", DatasetSettings("inter-ocular", (0.10,)))),
                       auc_mode="simpson-1e-4", fr_cut="grid"),
    "spiga": Preset("spiga", "SPIGA spiga/eval/benchmark/metrics/landmarks.py",
                    (("300w", DatasetSettings("inter-ocular", (0.08,))),
                     ("300w:private", DatasetSettings("bbox", (0.07,))),
                     ("cofw68", DatasetSettings("bbox", (0.07,))),
                     ("wflw", DatasetSettings("inter-ocular", (0.10,)))),
                    auc_mode="spiga-hist", fr_cut="spiga-hist"),
    "hrnet": Preset("hrnet", "HRNet lib/core/evaluation.py compute_nme, lib/core/function.py",
                    (("aflw", DatasetSettings("box-size", (0.08, 0.10))),
                     ("*", DatasetSettings("inter-ocular", (0.08, 0.10)))), auc_mode="none"),
    "mmpose": Preset("mmpose", "mmpose keypoint_eval.py keypoint_nme, NME metric",
                     (("*", _IOD),), aggregation="point-mean", visible_only=True, distance_dtype="float32",
                     auc_mode="none"),
    "3ddfa": Preset("3ddfa", "3DDFA benchmark_aflw2000.py",
                    (("aflw2000", DatasetSettings("bbox")),), auc_mode="none"),
}

PRESET_NAMES: tuple[str, ...] = tuple(PRESETS)


def get_preset(name: str) -> Preset:
    """The preset of a name; an unknown name raises with the closest one."""
    key = str(name).strip().lower()
    if key not in PRESETS:
        raise InputError(f"unknown protocol preset '{name}'{closest(key, PRESET_NAMES)}; "
                         f"known: {', '.join(PRESET_NAMES)}")
    return PRESETS[key]


@dataclass(frozen=True)
class ProtocolChoice:
    """The protocol flags as given (None / empty: not given, so the preset's or the default).

    ``thresholds=()`` means not given (the preset's, else the dataset's defaults).
    """

    preset: str | None = None
    normalizer: str | None = None
    thresholds: tuple[float, ...] = ()
    auc_mode: str | None = None
    aggregation: str | None = None
    fr_cut: str | None = None
    points: str | None = None
    visible_only: bool | None = None
    pose_wrap: bool = False


#: faceval's own defaults, used for a flag that neither the user nor a preset sets.
DEFAULTS: dict[str, object] = {"normalizer": "inter-ocular", "auc_mode": "exact", "aggregation": "mean",
                               "fr_cut": "strict", "points": "all", "visible_only": False,
                               "distance_dtype": "float64"}


def choose_protocol(choice: ProtocolChoice, dataset: str, splits: Iterable[str], scheme: str | None = None
                    ) -> Protocol:
    """The protocol of a run: the preset's settings on this dataset, then the explicit flags.

    Without a preset every unset flag takes faceval's default (:data:`DEFAULTS`; thresholds:
    the dataset's conventional ones). With one, a flag given with a value other than the
    preset's is recorded in ``overrides``.

    ``scheme`` (the ground truth's) lets a point subset be refused here, before any work.

    Raises:
        InputError: unknown preset or mode names, a dataset the preset does not cover, a point
            subset the scheme lacks.
    """
    from faceval.evaluation.scoring import check_protocol_modes, thresholds_from
    from faceval.evaluation.score import validate_protocol_names

    splits = list(splits)
    base: dict[str, object] = dict(DEFAULTS)
    preset = None
    if choice.preset is not None:
        preset = get_preset(choice.preset)
        if dataset == "json" and len({v for _, v in preset.datasets}) > 1:
            # a json: annotation file names no benchmark: never pick one row of a per-dataset table silently
            if choice.normalizer is None or not choice.thresholds:
                rows = "; ".join(f"{'other datasets' if k == '*' else k}: {v.normalizer} "
                                 f"{'/'.join(f'{t:g}' for t in v.thresholds) or 'default thresholds'}"
                                 for k, v in preset.datasets)
                raise InputError(f"preset '{preset.name}' sets the normaliser and thresholds per dataset ({rows}) "
                                 "and a json: annotation file names no dataset; give --normalizer and --threshold "
                                 "with it")
            settings = DatasetSettings(choice.normalizer, tuple(choice.thresholds))
        else:
            settings = preset.settings_for(dataset, splits)
        base.update({"normalizer": settings.normalizer, "auc_mode": preset.auc_mode,
                     "aggregation": preset.aggregation, "fr_cut": preset.fr_cut,
                     "visible_only": preset.visible_only, "distance_dtype": preset.distance_dtype})
        base["thresholds"] = settings.thresholds
    given = {"normalizer": choice.normalizer, "auc_mode": choice.auc_mode, "aggregation": choice.aggregation,
             "fr_cut": choice.fr_cut, "points": choice.points, "visible_only": choice.visible_only,
             "thresholds": tuple(choice.thresholds) or None}
    overrides = []
    values = dict(base)
    for key, value in given.items():
        if value is None:
            continue
        if preset is not None and key in base and _differs(base[key], value):
            overrides.append(key)
        values[key] = value
    thresholds = thresholds_from(values.get("thresholds") or (), dataset)  # type: ignore[arg-type]
    if preset is not None and "thresholds" in overrides and not base.get("thresholds"):
        # the preset takes the dataset's defaults: an explicit equal list is no override
        if tuple(thresholds) == thresholds_from((), dataset):
            overrides.remove("thresholds")
    validate_protocol_names(str(values["normalizer"]), str(values["auc_mode"]))
    protocol = Protocol(normalizer=str(values["normalizer"]), thresholds=thresholds, auc_mode=str(values["auc_mode"]),
                        aggregation=str(values["aggregation"]), visible_only=bool(values["visible_only"]),
                        pose_wrap=bool(choice.pose_wrap), fr_cut=str(values["fr_cut"]), points=str(values["points"]),
                        distance_dtype=str(values["distance_dtype"]), preset=preset.name if preset else None,
                        overrides=tuple(overrides))
    check_protocol_modes(protocol)
    if scheme is not None:
        from faceval.schemes import point_subset

        point_subset(scheme, protocol.points)
    return protocol


def _differs(a: object, b: object) -> bool:
    if isinstance(a, tuple) or isinstance(b, tuple):
        return tuple(float(x) for x in a or ()) != tuple(float(x) for x in b or ())  # type: ignore[union-attr]
    return a != b
