"""The detector spec: the pre- and post-processing contract of an ONNX face detector.

Like the landmark model spec (:mod:`faceval.models.spec`), it says how to turn a photo into the
detector's input and how to read boxes back. The default is UltraFace RFB-320's contract (its
authors' demo): the whole image resized to 320x240, RGB, ``input = (pixel - 127) / 128``, NCHW;
outputs ``scores`` ``[1, A, 2]`` (background, face; already softmaxed) and ``boxes`` ``[1, A, 4]``
= ``x1 y1 x2 y2`` in [0, 1] of the image; keep face scores ``> score_threshold`` (0.7), the
``candidate_size`` (200) best of them, then hard NMS at IoU ``nms_iou`` (0.3).

Preprocessing formula, per channel ``c`` in the spec's colour order::

    input[c] = (pixel[c] - mean[c]) / std[c]        (pixel in 0..255)

The spec is part of a detection's identity: its JSON (``to_dict``) goes into the detector
box cache key and into a run's protocol. Nothing here imports onnxruntime.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from faceval.errors import InputError, closest
from faceval.jsonspec import JsonSpec

LAYOUTS = ("NCHW", "NHWC")
COLORS = ("RGB", "BGR")
RESAMPLES = ("bilinear", "bicubic", "nearest", "lanczos")
BOX_FORMATS = ("unit-x1y1x2y2",)


@dataclass(frozen=True)
class DetectorSpec(JsonSpec):
    """Pre/post-processing of one face detector (all fields have a JSON form).

    Attributes:
        input_size: ``(width, height)`` the whole image is resized to.
        layout: ``"NCHW"`` or ``"NHWC"``.
        color: channel order, ``"RGB"`` or ``"BGR"``.
        mean, std: per-channel normalisation in pixel units, ``input = (pixel - mean) / std``.
        resample: filter of the resize (Pillow's, which antialiases when shrinking).
        draft: let JPEGs be decoded at reduced size by the DCT (never below ``input_size``). Off by
            default: faster, but it moves borderline scores across the threshold (the Einstein photo
            of the bundled sample: 0.78 fully decoded, 0.69 drafted).
        scores_output, boxes_output: output names; ``scores`` is ``[1, A, 2]`` with the face
            probability in column ``face_column``; ``boxes`` is ``[1, A, 4]``.
        face_column: column of the face class in the scores output.
        box_format: ``"unit-x1y1x2y2"``: corners in [0, 1] of the image.
        score_threshold: keep detections with face score ``> score_threshold``.
        candidate_size: keep at most this many of them (best first) before NMS; None = all.
        nms_iou: hard NMS: a box is suppressed by a better one when their IoU is ``> nms_iou``.
    """

    input_size: tuple[int, int] = (320, 240)
    layout: str = "NCHW"
    color: str = "RGB"
    mean: tuple[float, float, float] = (127.0, 127.0, 127.0)
    std: tuple[float, float, float] = (128.0, 128.0, 128.0)
    resample: str = "bilinear"
    draft: bool = False
    scores_output: str = "scores"
    boxes_output: str = "boxes"
    face_column: int = 1
    box_format: str = "unit-x1y1x2y2"
    score_threshold: float = 0.7
    candidate_size: int | None = 200
    nms_iou: float = 0.3

    kind: ClassVar[str] = "detector spec"

    @staticmethod
    def validate_fields(data: dict[str, Any], source: str) -> dict[str, Any]:
        return _check_fields(data, source)

    @property
    def width(self) -> int:
        return self.input_size[0]

    @property
    def height(self) -> int:
        return self.input_size[1]


#: Read a JSON detector spec (:meth:`JsonSpec.load_file`): a missing file, bad JSON, unknown fields or
#: wrong types raise InputError naming the file (and line).
load_detector_spec_file = DetectorSpec.load_file


def _number(value: Any, name: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"detector spec field '{name}' must be a finite number, got {value!r}", path=source)
    return float(value)


def _triple(value: Any, name: str, source: str) -> tuple[float, float, float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value] * 3
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise InputError(f"detector spec field '{name}' must be a number or 3 numbers, got {value!r}", path=source)
    a, b, c = (_number(v, name, source) for v in value)
    return (a, b, c)


def _choice(value: Any, name: str, choices: tuple[str, ...], source: str, upper: bool = False) -> str:
    if not isinstance(value, str):
        raise InputError(f"detector spec field '{name}' must be a string, got {value!r}", path=source)
    v = value.upper() if upper else value.lower()
    if v not in choices:
        raise InputError(f"detector spec field '{name}': unknown value '{value}'{closest(v, choices)}; "
                         f"use one of {', '.join(choices)}", path=source)
    return v


def _check_fields(data: dict[str, Any], source: str) -> dict[str, Any]:
    out = dict(data)
    for name, value in data.items():
        if name == "input_size":
            if (not isinstance(value, (list, tuple)) or len(value) != 2
                    or any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in value)):
                raise InputError(f"detector spec field 'input_size' must be [width, height] positive integers, "
                                 f"got {value!r}", path=source)
            out[name] = (int(value[0]), int(value[1]))
        elif name == "layout":
            out[name] = _choice(value, name, LAYOUTS, source, upper=True)
        elif name == "color":
            out[name] = _choice(value, name, COLORS, source, upper=True)
        elif name == "resample":
            out[name] = _choice(value, name, RESAMPLES, source)
        elif name == "box_format":
            out[name] = _choice(value, name, BOX_FORMATS, source)
        elif name in ("mean", "std"):
            triple = _triple(value, name, source)
            if name == "std" and any(v <= 0 for v in triple):
                raise InputError(f"detector spec field 'std' must be positive, got {value!r}", path=source)
            out[name] = triple
        elif name == "draft":
            if not isinstance(value, bool):
                raise InputError(f"detector spec field 'draft' must be true or false, got {value!r}", path=source)
        elif name in ("scores_output", "boxes_output"):
            if not isinstance(value, str) or not value:
                raise InputError(f"detector spec field '{name}' must be an output name, got {value!r}", path=source)
        elif name == "face_column":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InputError(f"detector spec field 'face_column' must be a non-negative integer, got {value!r}",
                                 path=source)
        elif name == "candidate_size":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise InputError(f"detector spec field 'candidate_size' must be a positive integer or null, "
                                 f"got {value!r}", path=source)
        elif name in ("score_threshold", "nms_iou"):
            v = _number(value, name, source)
            if not 0.0 <= v < 1.0:
                raise InputError(f"detector spec field '{name}' must lie in [0, 1), got {value!r}", path=source)
            out[name] = v
    return out


#: UltraFace RFB-320 / slim-320 (the bundled default detector).
ULTRAFACE_SPEC = DetectorSpec()
