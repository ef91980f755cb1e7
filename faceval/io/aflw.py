"""AFLW2000-3D per-image ``.mat`` files (MATLAB v5, read with scipy.io.loadmat, imported lazily).

Variables used: ``pt3d_68`` (3 x 68: x, y, z of the 68 iBUG points fitted by 3DDFA), ``pt2d``
(2 x 21 AFLW points, -1 where missing) and ``Pose_Para`` (1 x 7: pitch, yaw, roll in radians,
tx, ty, tz, scale).

Landmarks are ``pt3d_68[:2].T`` (68 points, scheme ``300w``), taken as stored: the evaluation code
that published AFLW2000-3D numbers (3DDFA, SynergyNet, img2pose) compares predictions with these
values directly, so no 1-based shift is applied. Poses are returned as degrees yaw, pitch, roll.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceval.errors import InputError


@dataclass
class AflwRecord:
    """One AFLW2000-3D face.

    Attributes:
        landmarks: ``(68, 2)`` float64 (``pt3d_68[:2].T``).
        landmarks_3d: ``(68, 3)`` float64 (``pt3d_68.T``).
        pt2d: ``(21, 2)`` float64 AFLW 2D points, NaN where the file has -1 (missing).
        pose: ``(3,)`` float64 yaw, pitch, roll in degrees.
    """

    landmarks: np.ndarray
    landmarks_3d: np.ndarray
    pt2d: np.ndarray
    pose: np.ndarray


def read_aflw2000_mat(path: Path | str) -> AflwRecord:
    """Read one AFLW2000-3D ``.mat``; malformed or incomplete files raise InputError."""
    from scipy.io import loadmat

    path = Path(path)
    if not path.is_file():
        raise InputError("AFLW2000-3D .mat file not found", path=path)
    try:
        mat = loadmat(str(path))
    except NotImplementedError:
        raise InputError("expected a MATLAB v5 .mat file (AFLW2000-3D), found MATLAB v7.3 (HDF5)", path=path) from None
    except Exception as exc:  # scipy raises ValueError, TypeError, MatReadError... for non-MAT data
        raise InputError(f"expected a MATLAB .mat file (AFLW2000-3D), cannot read it: {type(exc).__name__}",
                         path=path) from None
    missing = [name for name in ("pt3d_68", "Pose_Para") if name not in mat]
    if missing:
        present = ", ".join(sorted(k for k in mat if not k.startswith("__"))) or "none"
        raise InputError(f"expected variables pt3d_68 and Pose_Para in the AFLW2000-3D .mat file, "
                         f"missing {', '.join(missing)}; found: {present}", path=path)
    try:
        pt3d = np.asarray(mat["pt3d_68"], dtype=np.float64)
        para = np.asarray(mat["Pose_Para"], dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InputError("expected numeric matrices pt3d_68 and Pose_Para in the AFLW2000-3D .mat file", path=path) from None
    if pt3d.shape != (3, 68):
        raise InputError(f"expected pt3d_68 of shape 3 x 68, found {' x '.join(map(str, pt3d.shape))}", path=path)
    if para.size < 3:
        raise InputError(f"expected Pose_Para with 7 values (pitch, yaw, roll, tx, ty, tz, scale), found {para.size}",
                         path=path)
    if not (np.isfinite(pt3d).all() and np.isfinite(para[:3]).all()):
        raise InputError("expected finite values in pt3d_68 and Pose_Para, found NaN or inf", path=path)
    pt2d = np.full((21, 2), np.nan)
    if "pt2d" in mat:
        try:
            raw = np.asarray(mat["pt2d"], dtype=np.float64)
        except (TypeError, ValueError):
            raw = np.empty(0)  # pt2d is informative only: ignored when not numeric
        if raw.shape == (2, 21):
            pt2d = np.where(raw.T < 0, np.nan, raw.T)
    pitch, yaw, roll = np.degrees(para[:3])
    return AflwRecord(landmarks=pt3d[:2].T.copy(), landmarks_3d=pt3d.T.copy(), pt2d=pt2d,
                      pose=np.array([yaw, pitch, roll]))


def landmark_box_size(landmarks: np.ndarray) -> np.ndarray:
    """``sqrt(w * h)`` of the landmark bounding box, for ``(..., K, 2)`` landmarks."""
    pts = np.asarray(landmarks, dtype=np.float64)
    span = pts.max(axis=-2) - pts.min(axis=-2)
    return np.sqrt(span[..., 0] * span[..., 1])
