"""Deciding the spec a model runs with: metadata, spec file, flags, and inference from shapes.

:func:`resolve_spec` merges, in increasing priority, what the model's input/output shapes tell,
the ONNX metadata key ``faceval.spec``, a JSON spec file and command-line overrides, and lists
every choice that came from neither the user nor the model's metadata (the "assumptions").
The contract itself (fields, validation, JSON form) is :mod:`faceval.models.spec`.

Nothing here imports onnxruntime or onnx at module level.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, NamedTuple

from faceval.errors import InputError, closest
from faceval.models.spec import METADATA_KEY, ModelSpec, check_fields, reject_unknown, load_spec_file, spec_from_metadata

if TYPE_CHECKING:
    from faceval.models.session import SessionInfo


@dataclass
class IOInfo:
    """Names and shapes of a model's inputs and outputs (ints, or str/None for symbolic dims)."""

    inputs: list[tuple[str, list[Any]]] = field(default_factory=list)
    outputs: list[tuple[str, list[Any]]] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    #: ONNX Runtime type strings by input / output name (``"tensor(float)"``); empty when unknown.
    types: dict[str, str] = field(default_factory=dict)

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
            types={v.name: str(v.type) for v in [*session.get_inputs(), *session.get_outputs()]},
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


class ResolvedSpec(NamedTuple):
    """What :func:`resolve_spec` decided (unpacks as ``spec, assumptions, source``)."""

    spec: ModelSpec
    #: every inferred or defaulted choice, in words, for the user
    assumptions: list[str]
    #: ``"flags"``, ``"spec file <path>"``, ``"ONNX metadata"``, ``"inferred"``, joined with " + "
    source: str


def resolve_spec(
    model_path: str | Path,
    spec_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    session_info: "SessionInfo | IOInfo | None" = None,
    *,
    allow_pose_only: bool = False,
) -> ResolvedSpec:
    """Decide the spec a model runs with: a :class:`ResolvedSpec` ``(spec, assumptions, source)``.

    Priority: overrides > spec file > ONNX metadata ``faceval.spec`` > inference from shapes.
    Fields still unknown afterwards are inferred from the model's shapes, where the shapes allow:
    input size (from the input's spatial dims), layout (NHWC when the last input axis is 3 and the
    second is not), points (landmark output values / 2), scheme (the one scheme of
    :mod:`faceval.schemes` with that many points). Every inferred or defaulted choice that did not come from the user or
    the model's metadata is described in ``assumptions`` (human-readable strings).

    ``session_info`` is a :class:`~faceval.models.session.SessionInfo` or an :class:`IOInfo`;
    when None a CPU session is created to read the shapes.
    A spec with ``pose_output`` on a model whose only output is that one is pose-only
    (``landmark_output``, ``points``, ``scheme`` None); callers that can evaluate such a model
    pass ``allow_pose_only=True``, others get an InputError saying so.
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
        explicit = _given(json.loads(io.metadata[METADATA_KEY]))
        sources.append("ONNX metadata")
    else:
        explicit = set()
    if spec_file is not None:
        file_spec_raw = json.loads(Path(spec_file).read_text(encoding="utf-8")) if Path(spec_file).is_file() else None
        file_spec = load_spec_file(spec_file)  # validates (and raises for a missing file)
        for key in file_spec_raw or {}:
            data[key] = file_spec.to_dict()[key]
        # a null in the file clears what the metadata set: that field is inferred again
        explicit = (explicit - set(file_spec_raw or {})) | _given(file_spec_raw or {})
        sources.append(f"spec file {spec_file}")
    if overrides:
        given = {k: v for k, v in overrides.items() if v is not None}
        if given:
            reject_unknown(given, "--set/--box flags")
            data.update(check_fields(given, "--set/--box flags"))
            explicit |= set(given)
            sources.append("flags")

    # -- inference from shapes for whatever is still unknown --
    if not io.inputs:
        raise InputError("model has no inputs", path=model_path)
    in_name, in_shape = io.inputs[0]
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
    check_input_fits(in_name, in_shape, layout, tuple(data["input_size"]), model_path)

    names = [n for n, _ in io.outputs]
    if data.get("pose_output") and data["pose_output"] not in names:
        raise InputError(
            f"pose_output '{data['pose_output']}' is not an output of the model "
            f"(outputs: {format_outputs(io.outputs)}){closest(data['pose_output'], names)}",
            path=model_path,
        )
    pose_only = bool(data.get("pose_output")) and not data.get("landmark_output") and not data.get("points") \
        and names == [data["pose_output"]]
    if data.get("pose_output"):
        pose_size = per_sample_size(dict(io.outputs)[data["pose_output"]])
        if pose_size is not None and pose_size != 3:
            raise InputError(
                f"model outputs: {format_outputs(io.outputs)}; pose_output '{data['pose_output']}' has {pose_size} "
                "values per image, not 3 (yaw, pitch, roll)",
                path=model_path,
            )
    if pose_only and not allow_pose_only:
        raise InputError(
            f"a pose-only model (its one output '{data['pose_output']}' holds the pose): this command "
            "evaluates landmark models only",
            path=model_path,
        )
    if pose_only:
        data["landmark_output"] = data["points"] = data["scheme"] = None
        assumptions.append(f"pose-only model: output '{data['pose_output']}' holds the pose, no landmark output")
    else:
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
            from faceval.schemes import scheme_for_points

            found = scheme_for_points(int(data["points"]))
            scheme = found.name if found is not None else None
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
        ("coords", None if pose_only else f"landmark coordinates '{defaults.coords}' ([0,1] of the crop)"),
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
        if text is not None:
            assumptions.append(text)

    if not sources:
        sources.append("inferred")
    elif assumptions:
        sources.append("inferred")
    spec = ModelSpec.from_dict(data, source=" + ".join(sources))
    return ResolvedSpec(spec, assumptions, " + ".join(sources))


def check_input_fits(name: str, shape: list[Any], layout: str, input_size: tuple[int, int], model: Any = None) -> None:
    """Refuse a layout or input size that does not fit the input's declared shape (InputError).

    faceval feeds a 4-D batch of 3-channel images, ``[batch,3,H,W]`` (NCHW) or ``[batch,H,W,3]``
    (NHWC); symbolic dims fit anything.
    """
    text = _fmt_shape(shape)
    if len(shape) != 4:
        raise InputError(
            f"input '{name}' has shape {text}: faceval feeds a 4-D image batch, [batch,3,H,W] (NCHW) "
            "or [batch,H,W,3] (NHWC)",
            path=model,
        )
    c_axis, (h_axis, w_axis) = (1, (2, 3)) if layout == "NCHW" else (3, (1, 2))
    other = "NHWC" if layout == "NCHW" else "NCHW"
    channels = shape[c_axis]
    if isinstance(channels, int) and channels != 3:
        fits_other = _guess_layout(shape) == other
        hint = f"; the shape fits layout {other} (--set layout={other})" if fits_other else \
            "; faceval feeds 3 channels (RGB or BGR)"
        raise InputError(
            f"layout {layout} does not fit input '{name}' {text}: axis {c_axis} has {channels} channels, not 3{hint}",
            path=model,
        )
    h, w = shape[h_axis], shape[w_axis]
    want_w, want_h = input_size
    if (isinstance(w, int) and w > 0 and w != want_w) or (isinstance(h, int) and h > 0 and h != want_h):
        fix = f"--set input_size=[{w},{h}]" if isinstance(w, int) and isinstance(h, int) else "an input_size that fits"
        raise InputError(
            f"input_size {want_w}x{want_h} does not fit input '{name}' {text} (layout {layout}: "
            f"{w if isinstance(w, int) else '?'}x{h if isinstance(h, int) else '?'} width x height); use {fix} "
            "or leave input_size out",
            path=model,
        )


# -- helpers -------------------------------------------------------------------------------


def _given(raw: Any) -> set[str]:
    """The fields a metadata / spec-file JSON object really sets: a null (as ``faceval models annotate``
    writes for every unset field) is not given, so the shapes still decide it."""
    return {key for key, value in raw.items() if value is not None} if isinstance(raw, dict) else set()


def _io_info(model_path: str | Path, session_info: "SessionInfo | IOInfo | None") -> IOInfo:
    if isinstance(session_info, IOInfo):
        return session_info
    if session_info is None:
        from faceval.models.session import create_session

        session_info = create_session(model_path, device="cpu")
    return IOInfo.from_session(session_info.session)


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
