"""Decode raw model outputs into landmarks (crop input pixels) and head pose (degrees).

"Input pixel coordinates" are continuous coordinates on the model input image: the input spans
``[0, W] x [0, H]`` (W, H = ``spec.input_size``), so the left edge of the first pixel is x = 0 and
the right edge of the last pixel is x = W. A unit coordinate ``p`` maps to ``p·W``. (Where pixel
centres sit, ``i + 0.5`` in this frame, is the crop transform's business: faceval.pipeline.)

Conventions (``spec.coords``), per axis with ``S`` = W for x and H for y:

==============  ==========================  =================================================
coords          model output p              input pixel coordinate
==============  ==========================  =================================================
``unit``        [0, 1] of the crop          ``p·S``
``signed-unit`` [-1, 1] of the crop         ``(p + 1)/2·S``
``pixels``      input pixels                ``p``
``asmnet``      ASMNet's normalisation      ``S·(0.5 - p)`` (ASMNet: ``x = 112 - 224·p`` at 224)
==============  ==========================  =================================================

Landmark values are interleaved ``x0 y0 x1 y1 ...`` (any trailing shape with 2K values per sample,
e.g. ``(B, 2K)`` or ``(B, K, 2)``).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from faceval.errors import InputError
from faceval.models.resolve import format_outputs
from faceval.models.spec import POSE_ANGLES, ModelSpec


def encode_landmarks(points: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Inverse of :func:`decode_landmarks`: ``(B, K, 2)`` input pixels -> ``(B, 2K)`` raw values."""
    w, h = spec.width, spec.height
    pts = np.asarray(points, dtype=np.float64)
    size = np.array([w, h], dtype=np.float64)
    if spec.coords == "unit":
        raw = pts / size
    elif spec.coords == "signed-unit":
        raw = pts / size * 2.0 - 1.0
    elif spec.coords == "pixels":
        raw = pts.copy()
    elif spec.coords == "asmnet":
        raw = 0.5 - pts / size
    else:  # pragma: no cover - validated by ModelSpec
        raise InputError(f"unknown coords '{spec.coords}'")
    return raw.reshape(raw.shape[0], -1)


def decode_landmarks(raw: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """``raw`` (B, ...) with 2K values per sample -> ``(B, K, 2)`` float64 in input pixel coordinates.

    Raises InputError when the sample size is not ``2·spec.points``.
    """
    arr = np.asarray(raw)
    if arr.ndim < 1:
        raise InputError("landmark output is a scalar; expected (batch, 2K) values")
    b = arr.shape[0]
    per = int(np.prod(arr.shape[1:])) if arr.ndim > 1 else 1
    k = spec.points if spec.points else per // 2
    if per != 2 * k:
        raise InputError(
            f"landmark output has shape [{','.join(map(str, arr.shape))}] ({per} values per image), "
            f"not 2x{k}; set landmark_output or points in the spec"
        )
    w, h = spec.width, spec.height
    p = arr.reshape(b, k, 2).astype(np.float64)
    size = np.array([w, h], dtype=np.float64)
    if spec.coords == "unit":
        return p * size
    if spec.coords == "signed-unit":
        return (p + 1.0) * 0.5 * size
    if spec.coords == "pixels":
        return p
    if spec.coords == "asmnet":
        return size * (0.5 - p)
    raise InputError(f"unknown coords '{spec.coords}'")  # pragma: no cover


def decode_pose(raw: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """``raw`` (B, 3) in ``spec.pose_order`` -> ``(B, 3)`` yaw, pitch, roll in degrees.

    ``v = raw · pose_scale`` (in ``pose_units``), radians converted to degrees, reordered to
    yaw, pitch, roll, multiplied by ``pose_signs`` (each fix explicit in the spec).
    """
    arr = np.asarray(raw)
    if arr.ndim < 1 or int(np.prod(arr.shape[1:] if arr.ndim > 1 else (1,))) != 3:
        raise InputError(
            f"pose output has shape [{','.join(map(str, arr.shape))}]; expected 3 values per image "
            "(set pose_output in the spec, or leave it empty)"
        )
    vals = arr.reshape(arr.shape[0], 3).astype(np.float64) * float(spec.pose_scale)
    if spec.pose_units == "radians":
        vals = np.degrees(vals)
    order = [spec.pose_order.index(a) for a in POSE_ANGLES]
    return vals[:, order] * np.asarray(spec.pose_signs, dtype=np.float64)


def coords_warning(raw: np.ndarray, spec: ModelSpec) -> str | None:
    """One line when the raw landmark values of a batch lie clearly outside ``spec.coords``.

    Rules (on the finite rows; S = the larger input side):

    - ``pixels`` while every value lies in [-1, 1] (input of 16 pixels or more): likely ``unit``
      (or ``signed-unit`` when some values are below -0.05);
    - ``unit``, ``signed-unit`` or ``asmnet`` while more than half the values lie outside [-2, 2]
      and all within [-S/2, 1.5·S]: likely ``pixels``;
    - ``unit`` while more than a quarter of the values lie below -0.1 and all within [-1.2, 1.2]:
      likely ``signed-unit``; ``signed-unit`` while every value lies in [0, 1]: likely ``unit``.
    """
    v = np.asarray(raw, dtype=np.float64).reshape(len(raw), -1)
    v = v[np.isfinite(v).all(axis=1)]
    if v.size == 0:
        return None
    lo, hi = float(v.min()), float(v.max())
    w, h = spec.width, spec.height
    side = max(w, h)
    likely = None
    if spec.coords == "pixels" and min(w, h) >= 16 and lo >= -1.0 and hi <= 1.0:
        likely = "signed-unit" if lo < -0.05 else "unit"
    elif spec.coords in ("unit", "signed-unit", "asmnet") and float(np.mean(np.abs(v) > 2.0)) > 0.5 \
            and lo >= -0.5 * side and hi <= 1.5 * side:
        likely = "pixels"
    elif spec.coords == "unit" and float(np.mean(v < -0.1)) > 0.25 and lo >= -1.2 and hi <= 1.2:
        likely = "signed-unit"
    elif spec.coords == "signed-unit" and lo >= 0.0 and hi <= 1.0:
        likely = "unit"
    if likely is None:
        return None
    return (
        f"coords={spec.coords}, but the landmark values of the first batch lie in [{lo:.3g}, {hi:.3g}] "
        f"for a {w}x{h} input: the model likely outputs '{likely}' coordinates (--set coords={likely})"
    )


def _missing(shapes: list[tuple[str, list[int]]], name: str | None, fix: str) -> np.ndarray:
    raise InputError(f"model outputs: {format_outputs(shapes)}; no output named '{name}'; {fix}")


def select_outputs(
    names: Sequence[str], outputs: Sequence[np.ndarray], spec: ModelSpec
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Pick the landmark and pose arrays out of ``session.run`` results, checking shapes.

    The landmark array is None for a pose-only spec (:attr:`ModelSpec.pose_only`).

    Error message example: ``model outputs: out0 [1,196], out1 [1,3]; none has 2x68 values;
    set landmark_output or points in the spec``.
    """
    shapes = [(n, list(np.shape(o))) for n, o in zip(names, outputs)]
    by_name = dict(zip(names, outputs))
    k = spec.points
    if spec.pose_only:
        return None, (by_name[spec.pose_output] if spec.pose_output in by_name else
                      _missing(shapes, spec.pose_output, "set pose_output in the spec"))
    def named(name: str, fix: str) -> np.ndarray:
        if name not in by_name:
            raise InputError(f"model outputs: {format_outputs(shapes)}; no output named '{name}'; {fix}")
        return by_name[name]

    if spec.landmark_output is not None:
        lm = named(spec.landmark_output, "set landmark_output in the spec")
    else:
        cands = [o for n, o in zip(names, outputs) if n != spec.pose_output and k and _per(o) == 2 * k]
        if not cands and not k and len(outputs) == 1:
            cands = [outputs[0]]
        if not cands:
            want = f"2×{k}" if k else "2K"
            raise InputError(
                f"model outputs: {format_outputs(shapes)}; none has {want} values; "
                "set landmark_output or points in the spec"
            )
        lm = cands[0]
    if k and _per(lm) != 2 * k:
        raise InputError(
            f"model outputs: {format_outputs(shapes)}; none has 2×{k} values; set landmark_output or points in the spec"
        )
    pose = None
    if spec.pose_output is not None:
        pose = named(spec.pose_output, "set pose_output in the spec (or leave it empty)")
    return lm, pose


def _per(arr: Any) -> int:
    shape = np.shape(arr)
    return int(np.prod(shape[1:])) if len(shape) > 1 else 1
