"""The model spec: the preprocessing and decoding contract of a landmark model.

A spec says how to turn a face in a photo into the model's input tensor and how to read
landmarks (and pose) back from its outputs (evaluation spec §6). It comes, in increasing
priority, from

1. inference from the model's input/output shapes (with the assumptions listed to the user),
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from faceval.errors import InputError, closest

#: ONNX metadata key holding the spec as a JSON string.
METADATA_KEY = "faceval.spec"

LAYOUTS = ("NCHW", "NHWC")
COLORS = ("RGB", "BGR")
BOXES = ("landmarks", "dataset")
COORDS = ("unit", "signed-unit", "pixels", "asmnet")
POSE_ANGLES = ("yaw", "pitch", "roll")
RESAMPLES = ("bilinear", "bicubic", "nearest", "area", "lanczos")

#: Landmark scheme guessed from a point count when the spec does not say.
SCHEME_BY_POINTS = {68: "300w", 98: "wflw", 29: "cofw", 19: "aflw"}


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
        square: make the box square (side = max(w, h) · box_scale) before cropping.
        landmark_output: name of the output holding landmarks; None = the output with 2·points values.
        coords: coordinate convention of the landmark output: ``"unit"`` ([0, 1] of the crop),
            ``"signed-unit"`` ([-1, 1]), ``"pixels"`` (input pixels), ``"asmnet"``
            (``x = W·(0.5 - p)``, ASMNet's ``x = 112 - 224·p`` for its 224 input).
        points: number of landmarks K; None = output size / 2.
        scheme: landmark scheme name (``"300w"``, ``"wflw"``, ``"cofw"``, ``"aflw"``); None = from K.
        pose_output: name of the output holding head pose (3 values), or None.
        pose_order: order of the three pose values in that output.
        pose_scale: degrees per output unit (65 for ASMNet, 1 when the model outputs degrees).
    """

    input_size: tuple[int, int] | None = None
    layout: str = "NCHW"
    color: str = "RGB"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    resample: str = "bilinear"
    box: str = "landmarks"
    box_scale: float = 1.2
    square: bool = True
    landmark_output: str | None = None
    coords: str = "unit"
    points: int | None = None
    scheme: str | None = None
    pose_output: str | None = None
    pose_order: tuple[str, str, str] = POSE_ANGLES
    pose_scale: float = 1.0

    def __post_init__(self) -> None:
        # Normalise and validate programmatic construction too (``ModelSpec(mean=0.5)``).
        checked = _check_fields({f.name: getattr(self, f.name) for f in dataclasses.fields(self)}, "ModelSpec")
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
        _reject_unknown(data, source)
        return cls(**_check_fields(dict(data), source))

    def with_overrides(self, _source: str = "overrides", **overrides: Any) -> "ModelSpec":
        """A copy with the given fields replaced; ``None`` values are ignored (flag not given)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        _reject_unknown(given, _source)
        merged = {**self.to_dict(), **_check_fields(given, _source)}
        return ModelSpec(**_check_fields(merged, _source))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field (lists for tuples), for metadata and run files."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def to_json(self) -> str:
        """Compact JSON string (what goes into the ONNX metadata)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

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


# -- inference from shapes ---------------------------------------------------------------


@dataclass
class IOInfo:
    """Names and shapes of a model's inputs and outputs (ints, or str/None for symbolic dims)."""

    inputs: list[tuple[str, list[Any]]] = field(default_factory=list)
    outputs: list[tuple[str, list[Any]]] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_session(cls, session: Any) -> "IOInfo":
        """From an onnxruntime InferenceSession (or anything with get_inputs/get_outputs)."""
        meta: dict[str, str] = {}
        try:
            meta = dict(session.get_modelmeta().custom_metadata_map)
        except Exception:  # noqa: BLE001 - metadata is optional
            meta = {}
        return cls(
            inputs=[(i.name, list(i.shape)) for i in session.get_inputs()],
            outputs=[(o.name, list(o.shape)) for o in session.get_outputs()],
            metadata=meta,
        )


def per_sample_size(shape: list[Any]) -> int | None:
    """Product of the non-batch dims, or None when one of them is symbolic."""
    n = 1
    for d in shape[1:]:
        if not isinstance(d, int) or d <= 0:
            return None
        n *= d
    return n


def format_outputs(outputs: list[tuple[str, list[Any]]]) -> str:
    """``out0 [1,196], out1 [1,3]`` for error messages."""
    return ", ".join(f"{name} [{','.join(str(d) for d in shape)}]" for name, shape in outputs)


def validate_overrides(overrides: Mapping[str, Any] | None) -> None:
    """Check ``--set``/``--box`` overrides alone (unknown fields, wrong types) before any model work."""
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if given:
        _reject_unknown(given, "--set/--box flags")
        _check_fields(dict(given), "--set/--box flags")


def resolve_spec(
    model_path: str | Path,
    spec_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    session_info: Any = None,
) -> tuple[ModelSpec, list[str], str]:
    """Decide the spec a model runs with; return ``(spec, assumptions, source)``.

    Priority: overrides > spec file > ONNX metadata ``faceval.spec`` > inference from shapes.
    Fields still unknown afterwards are inferred from the model's shapes, where the shapes allow:
    input size (from the input's spatial dims), layout (NHWC when the last input axis is 3 and the
    second is not), points (landmark output values / 2), scheme (68 -> 300w, 98 -> wflw,
    29 -> cofw, 19 -> aflw). Every inferred or defaulted choice that did not come from the user or
    the model's metadata is described in ``assumptions`` (human-readable strings).

    ``session_info`` is a :class:`~faceval.models.session.SessionInfo`, an onnxruntime session,
    or an :class:`IOInfo`; when None a CPU session is created to read the shapes.
    ``source`` is one of ``"flags"``, ``"spec file <path>"``, ``"ONNX metadata"``, ``"inferred"``,
    joined with ``" + "`` when several contributed.
    """
    io = _io_info(model_path, session_info)
    sources: list[str] = []
    assumptions: list[str] = []

    data: dict[str, Any] = {}
    meta_spec = spec_from_metadata(io.metadata, source=str(model_path))
    if meta_spec is not None:
        data = {k: v for k, v in meta_spec.to_dict().items()}
        explicit = set(json.loads(io.metadata[METADATA_KEY]))
        sources.append("ONNX metadata")
    else:
        explicit = set()
    if spec_file is not None:
        file_spec_raw = json.loads(Path(spec_file).read_text(encoding="utf-8")) if Path(spec_file).is_file() else None
        file_spec = load_spec_file(spec_file)  # validates (and raises for a missing file)
        for key in file_spec_raw or {}:
            data[key] = file_spec.to_dict()[key]
        explicit |= set(file_spec_raw or {})
        sources.append(f"spec file {spec_file}")
    if overrides:
        given = {k: v for k, v in overrides.items() if v is not None}
        if given:
            _reject_unknown(given, "--set/--box flags")
            data.update(_check_fields(given, "--set/--box flags"))
            explicit |= set(given)
            sources.append("flags")

    # -- inference from shapes for whatever is still unknown --
    if not io.inputs:
        raise InputError("model has no inputs", path=model_path)
    in_name, in_shape = io.inputs[0]
    if len(io.inputs) > 1:
        assumptions.append(f"model has {len(io.inputs)} inputs; images go to the first, '{in_name}'")
    if "layout" not in explicit:
        layout = _guess_layout(in_shape)
        if layout is not None:
            data["layout"] = layout
            assumptions.append(f"layout {layout} (input '{in_name}' shape {_fmt_shape(in_shape)})")
        else:
            data["layout"] = "NCHW"
            assumptions.append(f"layout NCHW assumed (input shape {_fmt_shape(in_shape)} does not tell)")
    layout = data["layout"]
    if "input_size" not in explicit:
        size = _size_from_shape(in_shape, layout)
        if size is None:
            raise InputError(
                f"input '{in_name}' has shape {_fmt_shape(in_shape)}: the input size is not fixed; "
                "set input_size in the spec (e.g. --set input_size=[112,112])",
                path=model_path,
            )
        data["input_size"] = list(size)
        assumptions.append(f"input size {size[0]}x{size[1]} from the input shape")

    if "landmark_output" not in explicit or not data.get("landmark_output"):
        data["landmark_output"] = _guess_landmark_output(io, data.get("points"), data.get("pose_output"), model_path)
        if len(io.outputs) > 1:
            assumptions.append(f"landmarks read from output '{data['landmark_output']}'")
    names = [n for n, _ in io.outputs]
    if data["landmark_output"] not in names:
        raise InputError(
            f"landmark_output '{data['landmark_output']}' is not an output of the model "
            f"(outputs: {format_outputs(io.outputs)}){closest(data['landmark_output'], names)}",
            path=model_path,
        )
    if data.get("pose_output") and data["pose_output"] not in names:
        raise InputError(
            f"pose_output '{data['pose_output']}' is not an output of the model "
            f"(outputs: {format_outputs(io.outputs)}){closest(data['pose_output'], names)}",
            path=model_path,
        )
    lm_shape = dict(io.outputs)[data["landmark_output"]]
    lm_size = per_sample_size(lm_shape)
    if "points" not in explicit or not data.get("points"):
        if lm_size is None or lm_size % 2:
            raise InputError(
                f"cannot tell the number of points from output '{data['landmark_output']}' "
                f"{_fmt_shape(lm_shape)}; set points in the spec",
                path=model_path,
            )
        data["points"] = lm_size // 2
        assumptions.append(f"{data['points']} points (output '{data['landmark_output']}' has {lm_size} values)")
    elif lm_size is not None and lm_size != 2 * int(data["points"]):
        raise InputError(
            f"model outputs: {format_outputs(io.outputs)}; output '{data['landmark_output']}' has {lm_size} "
            f"values, not 2x{data['points']}; set landmark_output or points in the spec",
            path=model_path,
        )
    if "scheme" not in explicit or not data.get("scheme"):
        scheme = SCHEME_BY_POINTS.get(int(data["points"]))
        if scheme is None:
            raise InputError(
                f"no known landmark scheme has {data['points']} points; set scheme in the spec",
                path=model_path,
            )
        data["scheme"] = scheme
        assumptions.append(f"scheme {scheme} ({data['points']} points)")

    defaults = ModelSpec()
    for key, text in (
        ("color", f"colour order {defaults.color}"),
        ("mean", None),
        ("coords", f"landmark coordinates '{defaults.coords}' ([0,1] of the crop)"),
        ("box", f"face box from the {defaults.box} (GT landmark box)"),
        ("box_scale", f"box scale {defaults.box_scale}"),
        ("square", "square box"),
    ):
        if key in explicit:
            continue
        if key == "mean":
            if "mean" not in explicit and "std" not in explicit:
                assumptions.append("scaling pixel/255 (mean 0, std 1)")
            continue
        assumptions.append(text or key)

    if not sources:
        sources.append("inferred")
    elif assumptions:
        sources.append("inferred")
    spec = ModelSpec.from_dict(data, source=" + ".join(sources))
    return spec, assumptions, " + ".join(sources)


# -- helpers -------------------------------------------------------------------------------


def _io_info(model_path: str | Path, session_info: Any) -> IOInfo:
    if isinstance(session_info, IOInfo):
        return session_info
    if session_info is None:
        from faceval.models.session import create_session

        session_info = create_session(model_path, device="cpu")
    session = getattr(session_info, "session", session_info)
    return IOInfo.from_session(session)


def _fmt_shape(shape: list[Any]) -> str:
    return "[" + ",".join(str(d) if d is not None else "?" for d in shape) + "]"


def _guess_layout(shape: list[Any]) -> str | None:
    if len(shape) != 4:
        return None
    c_first, c_last = shape[1], shape[3]
    if c_first in (1, 3) and c_last not in (1, 3):
        return "NCHW"
    if c_last in (1, 3) and c_first not in (1, 3):
        return "NHWC"
    if c_first in (1, 3):
        return "NCHW"
    return None


def _size_from_shape(shape: list[Any], layout: str) -> tuple[int, int] | None:
    if len(shape) != 4:
        return None
    h, w = (shape[2], shape[3]) if layout == "NCHW" else (shape[1], shape[2])
    if isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0:
        return (w, h)
    return None


def _guess_landmark_output(io: IOInfo, points: Any, pose_output: Any, model_path: Any) -> str:
    candidates = []
    for name, shape in io.outputs:
        if name == pose_output:
            continue
        n = per_sample_size(shape)
        if points:
            if n == 2 * int(points):
                candidates.append(name)
        elif n is not None and n % 2 == 0 and n > 6:
            candidates.append(name)
    if len(candidates) >= 1 and (points or len(candidates) == 1):
        return candidates[0]
    if not candidates and len(io.outputs) == 1 and not points:
        return io.outputs[0][0]
    want = f"2x{points} values" if points else "an even number of values"
    if candidates:
        raise InputError(
            f"model outputs: {format_outputs(io.outputs)}; several could hold landmarks; "
            "set landmark_output in the spec",
            path=model_path,
        )
    raise InputError(
        f"model outputs: {format_outputs(io.outputs)}; none has {want}; set landmark_output or points in the spec",
        path=model_path,
    )


def _reject_unknown(data: Mapping[str, Any], source: str) -> None:
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


def _check_fields(data: dict[str, Any], source: str) -> dict[str, Any]:
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
        elif name in ("layout", "color", "box", "coords", "resample"):
            choices = {"layout": LAYOUTS, "color": COLORS, "box": BOXES, "coords": COORDS, "resample": RESAMPLES}[name]
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
        elif name == "pose_order":
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
