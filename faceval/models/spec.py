"""The model spec: the preprocessing and decoding contract of a landmark model.

A spec says how to turn a face in a photo into the model's input tensor and how to read
landmarks (and pose) back from its outputs (evaluation spec §6). It comes, in increasing
priority, from

1. inference from the model's input/output shapes (with the assumptions listed to the user;
   :mod:`faceval.models.resolve`),
2. the ONNX metadata key ``faceval.spec`` (a JSON object),
3. a JSON spec file (``--spec S.json``),
4. command-line overrides (``spec.with_overrides(**flags)``).

Preprocessing formula, per channel ``c`` (in the spec's colour order)::

    input[c] = (pixel[c] / 255 - mean[c]) / std[c]

so ``mean = std = 0.5`` gives ``(x/255 - 0.5)/0.5`` in [-1, 1], ``mean = 0, std = 1`` gives ``x/255``,
and ImageNet normalisation is ``mean = (0.485, 0.456, 0.406), std = (0.229, 0.224, 0.225)``.

Nothing here imports onnxruntime or onnx.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from faceval.errors import InputError, closest

#: ONNX metadata key holding the spec as a JSON string.
METADATA_KEY = "faceval.spec"

LAYOUTS = ("NCHW", "NHWC")
COLORS = ("RGB", "BGR")
BOXES = ("landmarks", "dataset")
#: Box sources a spec may give its own default scale for (``box_scales``).
BOX_SCALE_SOURCES = ("landmarks", "dataset", "file", "detector")
COORDS = ("unit", "signed-unit", "pixels", "asmnet")
POSE_ANGLES = ("yaw", "pitch", "roll")
POSE_UNITS = ("degrees", "radians")
RESAMPLES = ("bilinear", "bicubic", "nearest", "area", "lanczos")

#: Names that moved to :mod:`faceval.models.resolve` (shape inference); still importable from here.
_MOVED = ("IOInfo", "ResolvedSpec", "resolve_spec", "per_sample_size", "format_outputs")


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        from faceval.models import resolve

        return getattr(resolve, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class ModelSpec:
    """Preprocessing and decoding contract of one model (all fields have a JSON form).

    Attributes:
        input_size: ``(width, height)`` of the model input in pixels; None = take it from the model.
        layout: ``"NCHW"`` or ``"NHWC"``.
        color: channel order, ``"RGB"`` or ``"BGR"``.
        mean, std: per-channel normalisation, ``input = (pixel/255 - mean) / std``.
        resample: resampling filter of the crop (``"bilinear"``; the pipeline antialiases
            when shrinking).
        box: face box source, ``"landmarks"`` (GT landmark box, the usual oracle protocol) or
            ``"dataset"`` (the dataset's rectangle, e.g. WFLW).
        box_scale: enlargement factor of the box (1.2 is common).
        box_scales: the model's own default scale per box source, JSON ``{"landmarks": 1.2,
            "detector": 1.0}`` (stored as sorted ``(source, scale)`` pairs; None = none): a detector
            box is shaped unlike a landmark box, so the scale a model was trained with differs.
            It applies when the user does not set ``box_scale`` (:meth:`scale_for`).
        square: make the box square (side = max(w, h) · box_scale) before cropping.
        landmark_output: name of the output holding landmarks; None = the output with 2·points values.
        coords: coordinate convention of the landmark output: ``"unit"`` ([0, 1] of the crop),
            ``"signed-unit"`` ([-1, 1]), ``"pixels"`` (input pixels), ``"asmnet"``
            (``x = W·(0.5 - p)``, ASMNet's ``x = 112 - 224·p`` for its 224 input).
        points: number of landmarks K; None = output size / 2.
        scheme: landmark scheme name (``"300w"``, ``"wflw"``, ``"cofw"``, ``"aflw"``); None = from K.
        pose_output: name of the output holding head pose (3 values), or None. A spec with a
            pose output and no landmark output (``landmark_output`` and ``points`` None after
            resolving) is a pose-only model (FSA-Net, HopeNet, 6DRepNet, WHENet).
        pose_order: order of the three pose values in that output.
        pose_scale: ``pose_units`` per output unit (65 for ASMNet, 1 when the model outputs angles).
        pose_units: ``"degrees"`` or ``"radians"``: the unit of ``value · pose_scale``.
        pose_signs: ``(yaw, pitch, roll)`` factors, each 1 or -1, applied last: a model whose
            sign convention differs from the labels' is fixed explicitly, never silently.

    Pose decoding, per image: ``v = raw · pose_scale`` (in ``pose_order``), converted to degrees
    when ``pose_units`` is radians, reordered to yaw, pitch, roll, then multiplied by ``pose_signs``.
    """

    input_size: tuple[int, int] | None = None
    layout: str = "NCHW"
    color: str = "RGB"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    resample: str = "bilinear"
    box: str = "landmarks"
    box_scale: float = 1.2
    box_scales: tuple[tuple[str, float], ...] | None = None
    square: bool = True
    landmark_output: str | None = None
    coords: str = "unit"
    points: int | None = None
    scheme: str | None = None
    pose_output: str | None = None
    pose_order: tuple[str, str, str] = POSE_ANGLES
    pose_scale: float = 1.0
    pose_units: str = "degrees"
    pose_signs: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        # Normalise and validate programmatic construction too (``ModelSpec(mean=0.5)``).
        checked = check_fields({f.name: getattr(self, f.name) for f in dataclasses.fields(self)}, "ModelSpec")
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    # -- construction ------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "spec") -> "ModelSpec":
        """Build from a JSON-like mapping; unknown fields and wrong types raise InputError.

        ``source`` (a file path, ``"ONNX metadata"`` ...) is named in error messages.
        """
        if not isinstance(data, Mapping):
            raise InputError(f"a model spec must be a JSON object, got {type(data).__name__}", path=source)
        reject_unknown(data, source)
        return cls(**check_fields(dict(data), source))

    def with_overrides(self, _source: str = "overrides", **overrides: Any) -> "ModelSpec":
        """A copy with the given fields replaced; ``None`` values are ignored (flag not given)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        reject_unknown(given, _source)
        merged = {**self.to_dict(), **check_fields(given, _source)}
        return ModelSpec(**check_fields(merged, _source))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field (lists for tuples), for metadata and run files."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "box_scales":
                value = None if value is None else dict(value)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def to_json(self) -> str:
        """Compact JSON string (what goes into the ONNX metadata)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def scale_for(self, box_source: str) -> float:
        """The box scale for a box source: ``box_scales[box_source]`` when given, else ``box_scale``."""
        return dict(self.box_scales or ()).get(box_source, self.box_scale)

    @property
    def pose_only(self) -> bool:
        """True for a resolved spec with a pose output and no landmark output."""
        return self.pose_output is not None and self.landmark_output is None and self.points is None

    @property
    def width(self) -> int:
        if self.input_size is None:
            raise InputError("model spec has no input_size")
        return self.input_size[0]

    @property
    def height(self) -> int:
        if self.input_size is None:
            raise InputError("model spec has no input_size")
        return self.input_size[1]


FIELD_NAMES = tuple(f.name for f in dataclasses.fields(ModelSpec))


def load_spec_file(path: str | Path) -> ModelSpec:
    """Read a JSON spec file; a missing file, bad JSON, unknown fields or wrong types raise InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError("model spec file not found", path=path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", path=path) from None
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", path=path) from None
    return ModelSpec.from_dict(data, source=str(path))


def spec_from_metadata(metadata: Mapping[str, str], *, source: str = "ONNX metadata") -> ModelSpec | None:
    """The spec stored under ``faceval.spec`` in a model's metadata map, or None when absent."""
    text = metadata.get(METADATA_KEY)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"metadata key '{METADATA_KEY}' is not valid JSON: {exc.msg}", path=source) from None
    return ModelSpec.from_dict(data, source=f"{source} '{METADATA_KEY}'")


def validate_overrides(overrides: Mapping[str, Any] | None) -> None:
    """Check ``--set``/``--box`` overrides alone (unknown fields, wrong types) before any model work."""
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if given:
        reject_unknown(given, "--set/--box flags")
        check_fields(dict(given), "--set/--box flags")



# -- field checks ---------------------------------------------------------------------------


def reject_unknown(data: Mapping[str, Any], source: str) -> None:
    unknown = [k for k in data if k not in FIELD_NAMES]
    if unknown:
        hints = "".join(closest(k, FIELD_NAMES) for k in unknown[:1])
        raise InputError(
            f"unknown model spec field{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(k) for k in unknown)}{hints}; known fields: {', '.join(FIELD_NAMES)}",
            path=source,
        )


def _type_error(name: str, expected: str, value: Any, source: str) -> InputError:
    return InputError(
        f"model spec field '{name}': expected {expected}, got {type(value).__name__} {json.dumps(value, default=str)}",
        path=source,
    )


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def check_fields(data: dict[str, Any], source: str) -> dict[str, Any]:
    """Validate and normalise the given fields (only those present); raise InputError naming them."""
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name == "input_size":
            if value is None:
                out[name] = None
                continue
            if isinstance(value, int) and not isinstance(value, bool):
                value = [value, value]
            if (
                not isinstance(value, (list, tuple))
                or len(value) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
            ):
                raise _type_error(name, "[width, height] (two positive integers) or one integer", value, source)
            out[name] = (int(value[0]), int(value[1]))
        elif name in ("mean", "std"):
            if _is_number(value):
                value = [value] * 3
            if not isinstance(value, (list, tuple)) or len(value) != 3 or not all(_is_number(v) for v in value):
                raise _type_error(name, "a list of 3 numbers (or one number)", value, source)
            if name == "std" and any(float(v) == 0 for v in value):
                raise InputError(f"model spec field 'std': must not contain 0, got {list(value)}", path=source)
            out[name] = tuple(float(v) for v in value)
        elif name in ("layout", "color", "box", "coords", "resample", "pose_units"):
            choices = {"layout": LAYOUTS, "color": COLORS, "box": BOXES, "coords": COORDS, "resample": RESAMPLES,
                       "pose_units": POSE_UNITS}[name]
            if not isinstance(value, str):
                raise _type_error(name, f"a string, one of {', '.join(choices)}", value, source)
            norm = value.upper() if name in ("layout", "color") else value.lower()
            if norm not in choices:
                raise InputError(
                    f"model spec field '{name}': '{value}' is not one of {', '.join(choices)}"
                    f"{closest(norm, choices)}",
                    path=source,
                )
            out[name] = norm
        elif name in ("box_scale", "pose_scale"):
            if not _is_number(value) or float(value) <= 0:
                raise _type_error(name, "a positive number", value, source)
            out[name] = float(value)
        elif name == "box_scales":
            if value is None:
                out[name] = None
                continue
            if isinstance(value, (list, tuple)) and all(isinstance(v, (list, tuple)) and len(v) == 2 for v in value):
                value = dict(value)  # the stored pair form
            if not isinstance(value, Mapping) or not value or not all(
                    isinstance(k, str) and _is_number(v) and float(v) > 0 for k, v in value.items()):
                raise _type_error(name, 'an object of box source -> positive scale, e.g. {"landmarks": 1.2, '
                                  '"detector": 1.0}', value, source)
            unknown = [k for k in value if k not in BOX_SCALE_SOURCES]
            if unknown:
                raise InputError(f"model spec field 'box_scales': unknown box source '{unknown[0]}'"
                                 f"{closest(unknown[0], BOX_SCALE_SOURCES)}; known: {', '.join(BOX_SCALE_SOURCES)}",
                                 path=source)
            out[name] = tuple(sorted((str(k), float(v)) for k, v in value.items()))
        elif name == "square":
            if not isinstance(value, bool):
                raise _type_error(name, "true or false", value, source)
            out[name] = value
        elif name in ("landmark_output", "pose_output", "scheme"):
            if value is not None and (not isinstance(value, str) or not value):
                raise _type_error(name, "a non-empty string or null", value, source)
            out[name] = value.lower() if (name == "scheme" and value) else value
        elif name == "points":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise _type_error(name, "a positive integer or null", value, source)
            out[name] = value
        elif name == "pose_signs":
            if isinstance(value, str):  # --set pose_signs=-1,1,1
                parts = [p.strip() for p in value.split(",")]
                value = [float(p) if re.fullmatch(r"[+-]?1(\.0*)?", p) else p for p in parts]
            if (
                not isinstance(value, (list, tuple))
                or len(value) != 3
                or not all(_is_number(v) and float(v) in (1.0, -1.0) for v in value)
            ):
                raise _type_error(name, "three signs, 1 or -1, for yaw, pitch, roll (e.g. [-1, 1, 1])", value, source)
            out[name] = tuple(float(v) for v in value)
        elif name == "pose_order":
            if isinstance(value, str):  # --set pose_order=pitch,yaw,roll
                value = [p.strip() for p in value.split(",")]
            if (
                not isinstance(value, (list, tuple))
                or len(value) != 3
                or sorted(str(v).lower() for v in value) != sorted(POSE_ANGLES)
            ):
                raise _type_error(name, "a permutation of [\"yaw\", \"pitch\", \"roll\"]", value, source)
            out[name] = tuple(str(v).lower() for v in value)
        else:  # unknown: callers reject these first; keep as given
            out[name] = value
    return out


# The names these helpers had before resolve.py moved out (other modules may still use them).
_check_fields = check_fields
_reject_unknown = reject_unknown
