"""The measurement protocol of a run: one typed value, written to the run file and read back.

:class:`Protocol` is what ``build_run`` records, what a run file holds under its ``protocol``
attribute (a JSON object) and what :func:`faceval.runs.runfile.read_run` gives back: the same
type, validated by :meth:`Protocol.from_dict`. Its :meth:`~Protocol.describe` is the one
protocol text (report captions, human summaries, gate messages) and
:meth:`~Protocol.differences` the one comparison (``gate``, ``report`` warnings, ``merge``).

Keys (JSON names = field names):

* compared (:data:`COMPARED_KEYS`): ``normalizer``, ``thresholds``, ``auc_mode``,
  ``aggregation``, ``visible_only``, ``pose_wrap``, ``box_source``, ``box_scale``,
  ``box_square``, ``manifest_sha256``, ``sample_set_sha256``, then ``fr_cut`` (``strict`` |
  ``grid`` | ``spiga-hist``), ``points`` (``all`` | ``inner51`` | ``inner49``),
  ``distance_dtype`` (``float64`` | ``float32``, the point-mean's per-point distances) and
  ``preset`` (the peer preset, :mod:`faceval.metrics.presets`, or null);
* informative (:data:`INFORMATIVE_KEYS`, compared by ``merge`` only): ``conversion``,
  ``pose_source``, ``gt_scheme``, ``overrides`` (the protocol keys set by explicit flags over
  the preset, a sorted list of names), and the model's pose decoding ``pose_order``, ``pose_signs``,
  ``pose_scale``, ``pose_units`` (null for a run without a model pose output);
* ``shard``: ``"I/N"`` for one shard of a sharded evaluation (written only when set);
* any other key of a run file is kept in ``extra`` (JSON scalars only) and compared like the
  compared keys, so a key a newer faceval writes is never silently ignored.

Schema-1 run files written before this module have exactly these keys (a missing key takes
its default), so they read back unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping, Union

from faceval.errors import InputError

JsonScalar = Union[str, int, float, bool, None]

#: Keys that must agree before two runs are compared (gate, report).
COMPARED_KEYS: tuple[str, ...] = (
    "normalizer",
    "thresholds",
    "auc_mode",
    "aggregation",
    "visible_only",
    "pose_wrap",
    "box_source",
    "box_scale",
    "box_square",
    "manifest_sha256",
    "sample_set_sha256",
    "fr_cut",
    "points",
    "distance_dtype",
    "preset",
)

#: Protocol columns of the long report layout: the compared keys as of schema 1, in that order, then
#: those added since (a row scored on 49 points or with a grid FR cut must not read as the default).
COLUMN_KEYS: tuple[str, ...] = ("normalizer", "thresholds", "auc_mode", "aggregation", "visible_only", "box_source",
                                "box_scale", "box_square", "manifest_sha256", "sample_set_sha256", "fr_cut", "points",
                                "distance_dtype", "preset")

#: Keys that describe how the result was obtained; ``merge`` requires them equal as well.
INFORMATIVE_KEYS: tuple[str, ...] = ("conversion", "pose_source", "gt_scheme", "overrides", "pose_order", "pose_signs",
                                     "pose_scale", "pose_units")

#: Keys added after schema 1 that run files store only when they differ from their default, so
#: a run scored without them has the very protocol object (and identity) it always had.
_DEFAULT_OMITTED: dict[str, Any] = {"fr_cut": "strict", "points": "all", "distance_dtype": "float64",
                                    "preset": None, "overrides": ()}

#: The pose decoding keys (each one the model spec field of that name; lists stored as JSON lists).
POSE_DECODING_KEYS: tuple[str, ...] = ("pose_order", "pose_signs", "pose_scale", "pose_units")

#: Keys that stay unset in runs scored from a predictions file (no crop box was used).
_BOX_KEYS = frozenset({"box_source", "box_scale", "box_square"})

_OPTIONAL_KEYS = ("shard",) + POSE_DECODING_KEYS  # written only when set (older run files stay as they were)


def _threshold_text(t: float) -> str:
    from faceval.metrics.registry import threshold_key

    return threshold_key(t)


@dataclass(frozen=True)
class ProtocolDifference:
    """One protocol key whose values differ: ``this`` (the run) and ``other`` (baseline, shard 1).

    Values are display text (:func:`value_text`); ``""`` means not set.
    """

    key: str
    this: str
    other: str

    def describe(self, this_name: str = "run", other_name: str = "baseline") -> str:
        """``key: run 'a', baseline 'b'`` with unset values spelled out."""
        return (f"{self.key}: {this_name} {_quoted(self.key, self.this)}, "
                f"{other_name} {_quoted(self.key, self.other)}")


def _quoted(key: str, text: str) -> str:
    if text == "":
        return "not set (scored predictions)" if key in _BOX_KEYS else "not set"
    return repr(text)


def value_text(value: Any) -> str:
    """A protocol value as text: ``""`` for None, ``true``/``false``, ``%g`` floats, ``/``-less lists."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return " ".join(value_text(v) for v in value)
    if isinstance(value, float):
        return format(value, "g")
    return str(value)


@dataclass(frozen=True)
class Protocol:
    """How errors are measured; recorded with every result and compared by gate and merge.

    ``box_source``/``box_scale``/``box_square`` describe the face crop of a model run; they are
    ``None`` for predictions made elsewhere (``faceval score``). ``pose_order``/``pose_signs``/
    ``pose_scale``/``pose_units`` are the model's pose decoding (spec fields of those names), set
    for a model with a pose output; ``normalizer`` is None and ``thresholds`` empty for a pose-only run. ``shard`` is ``"I/N"`` for one
    shard of a sharded run, None otherwise. ``extra`` holds keys this faceval does not know
    (sorted ``(key, value)`` pairs), kept and compared.
    """

    normalizer: str | None = "inter-ocular"
    thresholds: tuple[float, ...] = (0.10,)
    auc_mode: str = "exact"
    aggregation: str = "mean"
    visible_only: bool = False
    pose_wrap: bool = False
    box_source: str | None = None
    box_scale: float | None = None
    box_square: bool | None = None
    manifest_sha256: str | None = None
    sample_set_sha256: str | None = None
    conversion: str | None = None
    pose_source: str | None = None
    gt_scheme: str | None = None
    shard: str | None = None
    fr_cut: str = "strict"
    points: str = "all"
    distance_dtype: str = "float64"
    preset: str | None = None
    overrides: tuple[str, ...] = ()
    pose_order: tuple[str, ...] | None = None
    pose_signs: tuple[float, ...] | None = None
    pose_scale: float | None = None
    pose_units: str | None = None
    extra: tuple[tuple[str, JsonScalar], ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "thresholds", tuple(float(t) for t in self.thresholds))
        object.__setattr__(self, "overrides", tuple(sorted(str(k) for k in self.overrides)))
        for key in ("box_scale", "pose_scale"):
            if getattr(self, key) is not None:
                object.__setattr__(self, key, float(getattr(self, key)))
        if self.pose_order is not None:
            object.__setattr__(self, "pose_order", tuple(str(a) for a in self.pose_order))
        if self.pose_signs is not None:
            object.__setattr__(self, "pose_signs", tuple(float(v) for v in self.pose_signs))

    # -- file form --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON object stored in run files, keys sorted (``shard`` only when set; extra keys kept)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if f.name in _OPTIONAL_KEYS and value is None:
                continue
            if f.name in _DEFAULT_OMITTED and value == _DEFAULT_OMITTED[f.name]:
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        out.update(dict(self.extra))
        return dict(sorted(out.items()))  # as run files have always stored it (sorted keys)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | Path | None = None) -> "Protocol":
        """Validate a stored protocol object; a bad one raises a one-line :class:`InputError`.

        ``source`` (the run file) is named in the error. Missing keys take their defaults
        (old files); unknown keys with JSON scalar values go to ``extra``.
        """

        def bad(key: str, expected: str) -> InputError:
            return InputError(f"damaged run file: protocol '{key}' is {data[key]!r}, expected {expected}",
                              path=source)

        if not isinstance(data, Mapping):
            raise InputError(f"damaged run file: protocol is {type(data).__name__}, expected a JSON object",
                             path=source)
        known = {f.name for f in fields(cls)} - {"extra"}
        kwargs: dict[str, Any] = {}
        for key in ("normalizer", "box_source", "manifest_sha256", "sample_set_sha256", "conversion",
                    "pose_source", "gt_scheme", "shard", "preset", "pose_units"):
            if key in data:
                if data[key] is not None and not isinstance(data[key], str):
                    raise bad(key, "a string or null")
                kwargs[key] = data[key]
        for key in ("auc_mode", "aggregation", "fr_cut", "points", "distance_dtype"):
            if key in data:
                if not isinstance(data[key], str):
                    raise bad(key, "a string")
                kwargs[key] = data[key]
        for key in ("visible_only", "pose_wrap"):
            if key in data:
                if not isinstance(data[key], bool):
                    raise bad(key, "true or false")
                kwargs[key] = data[key]
        if "box_square" in data:
            if data["box_square"] is not None and not isinstance(data["box_square"], bool):
                raise bad("box_square", "true, false or null")
            kwargs["box_square"] = data["box_square"]
        if "box_scale" in data:
            value = data["box_scale"]
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value) or value <= 0):
                raise bad("box_scale", "a positive number or null")
            kwargs["box_scale"] = value
        if "pose_scale" in data:
            value = data["pose_scale"]
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value) or value <= 0):
                raise bad("pose_scale", "a positive number or null")
            kwargs["pose_scale"] = value
        if data.get("pose_order") is not None:
            if not isinstance(data["pose_order"], list) or sorted(map(str, data["pose_order"])) != ["pitch", "roll", "yaw"]:
                raise bad("pose_order", "a permutation of yaw, pitch, roll")
            kwargs["pose_order"] = tuple(data["pose_order"])
        if data.get("pose_signs") is not None:
            if not isinstance(data["pose_signs"], list) or len(data["pose_signs"]) != 3 or any(
                    isinstance(v, bool) or v not in (1, -1) for v in data["pose_signs"]):
                raise bad("pose_signs", "three signs, 1 or -1")
            kwargs["pose_signs"] = tuple(data["pose_signs"])
        if "thresholds" in data:
            raw = data["thresholds"]
            if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                raw = [raw]
            if not isinstance(raw, (list, tuple)) or any(
                    isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t <= 0
                    for t in raw):
                raise bad("thresholds", "a list of positive numbers")
            kwargs["thresholds"] = tuple(float(t) for t in raw)
        if "overrides" in data:
            raw = data["overrides"]
            if not isinstance(raw, (list, tuple)) or any(not isinstance(k, str) for k in raw):
                raise bad("overrides", "a list of protocol key names")
            kwargs["overrides"] = tuple(raw)
        if kwargs.get("shard") is not None:
            from faceval.runs.shards import parse_shard

            try:
                parse_shard(kwargs["shard"])
            except InputError:
                raise bad("shard", "'I/N' with 1 <= I <= N") from None
        extra = []
        for key in sorted(set(data) - known):
            value = data[key]
            if value is not None and not isinstance(value, (str, int, float, bool)):
                raise bad(key, "a JSON string, number, boolean or null")
            extra.append((str(key), value))
        return cls(**kwargs, extra=tuple(extra))

    # -- text -------------------------------------------------------------------------------

    def describe(self) -> str:
        """The one protocol line: normaliser, aggregation, visibility, thresholds, AUC, box, shard.

        e.g. ``inter-ocular normaliser, thresholds 0.08/0.10, AUC exact, box landmarks ×1.2 square``.
        """
        parts = []
        if self.normalizer is None and not self.thresholds and self.pose_order is not None:
            parts.append("pose only (no landmarks)")
        else:
            parts.append(f"{self.normalizer or 'unknown'} normaliser")
            if self.aggregation not in ("", "mean"):
                dtype = ", float32 distances" if self.distance_dtype == "float32" else ""
                parts[-1] += f" ({self.aggregation} aggregation{dtype})"
            if self.points != "all":
                parts.append(f"points {self.points}")
            if self.visible_only:
                parts.append("visible points only")
            if self.thresholds:
                parts.append("thresholds " + "/".join(_threshold_text(t) for t in self.thresholds))
            parts.append("no AUC" if self.auc_mode == "none" else f"AUC {self.auc_mode}")
            if self.fr_cut != "strict":
                parts.append(f"FR cut {self.fr_cut}")
        if self.preset:
            # in parentheses: the overridden keys are a list of their own inside the comma-separated line
            over = f" (overridden: {', '.join(self.overrides)})" if self.overrides else ""
            parts.insert(0, f"preset {self.preset}{over}")
        if self.pose_wrap:
            parts.append("pose wrapped to (-180, 180]")
        if self.box_source:
            box_text = f"box {self.box_source}"
            if self.box_scale is not None:
                box_text += f" ×{value_text(self.box_scale)}"
            if self.box_square:
                box_text += " square"
            parts.append(box_text)
        if self.pose_order is not None and (tuple(self.pose_order) != ("yaw", "pitch", "roll") or self.pose_signs
                                            != (1.0, 1.0, 1.0) or self.pose_scale != 1.0 or self.pose_units != "degrees"):
            signs = ",".join(f"{v:+g}"[0] for v in (self.pose_signs or (1.0, 1.0, 1.0)))
            parts.append(f"pose decoded as {'/'.join(self.pose_order)} x{value_text(self.pose_scale)} "
                         f"{self.pose_units}, signs {signs}")
        if self.shard:
            parts.append(f"shard {self.shard}")
        return ", ".join(parts)

    # -- comparison -------------------------------------------------------------------------

    def value(self, key: str) -> Any:
        """The value of a protocol key (a field or an ``extra`` key; None when absent)."""
        if key in _FIELD_NAMES:
            return getattr(self, key)
        return dict(self.extra).get(key)

    def differences(self, other: "Protocol", *, informative: bool = False) -> list[ProtocolDifference]:
        """Keys whose values differ, in :data:`COMPARED_KEYS` order, then extra keys (sorted).

        ``informative=True`` (merge) also compares :data:`INFORMATIVE_KEYS`. ``shard`` is never
        compared: gate and report treat a shard as a partial run instead.
        """
        keys = list(COMPARED_KEYS) + (list(INFORMATIVE_KEYS) if informative else [])
        keys += sorted({k for k, _ in self.extra} | {k for k, _ in other.extra})
        out = []
        for key in keys:
            a, b = self.value(key), other.value(key)
            if _comparable(a) != _comparable(b):
                out.append(ProtocolDifference(key, value_text(a), value_text(b)))
        return out

    def columns(self) -> dict[str, str]:
        """The :data:`COLUMN_KEYS` as text columns (long report layout)."""
        return {k: value_text(self.value(k)) for k in COLUMN_KEYS}


_FIELD_NAMES = frozenset(f.name for f in fields(Protocol)) - {"extra"}


def _comparable(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (list, tuple)):
        return tuple(_comparable(v) for v in value)
    return value
