"""Per-image normalising distances ``d_i`` for NME, computed from the ground truth only.

All functions are vectorised over the images: ``gt`` is ``(N, K, 2)`` in pixels.

Kinds (``NORMALIZERS``):

==================  ==========================================================================
``inter-ocular``    ``d_i = ||g_i[a] - g_i[b]||`` with ``(a, b) = scheme.eye_corners``
``inter-pupil``     ``d_i = ||mean_{k in P} g_ik - mean_{k in Q} g_ik||`` with
                    ``(P, Q) = scheme.pupils`` (one index list per eye; a single index is a
                    list of length one, as for WFLW's annotated pupils)
``bbox``            ``d_i = sqrt(w_i * h_i)`` of the GT landmark box,
                    ``w_i = max_k x_ik - min_k x_ik``, ``h_i = max_k y_ik - min_k y_ik``
``diagonal``        ``d_i = sqrt(w_i**2 + h_i**2)`` of the same GT landmark box
``box-edge``        ``d_i = (w_i + h_i) / 2`` of the same box (menpofit's ``bb_avg_edge_length``)
``box-height``      ``d_i = h_i`` of the same box (SPIGA's ``height``: its ``bbox[3]``, which
                    for its 300W files is the GT landmark box)
``box-size``        ``d_i = box_sizes[i]`` (a per-image size given by the dataset, e.g. AFLW)
==================  ==========================================================================

The landmark box uses **all** K ground-truth points, occluded ones included. This is what
SPIGA's ``lnd_bbox`` does (``np.max/np.min`` over every annotated landmark); it is confirmed by
reproducing SPIGA's COFW-68 number (NME 2.5170 %), where 7 896 of 34 476 points are occluded:
a visible-only box does not reproduce it (see tests/faceval/metrics/test_spiga_reference.py).
"""

from __future__ import annotations

import numpy as np

from faceval.errors import InputError, closest
from faceval.schemes import Scheme

NORMALIZERS: tuple[str, ...] = ("inter-ocular", "inter-pupil", "bbox", "diagonal", "box-size", "box-edge",
                                "box-height")


def _as_landmarks(gt: np.ndarray) -> np.ndarray:
    arr = np.asarray(gt, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[-1] != 2:
        raise InputError(f"ground truth must have shape (N, K, 2); got {arr.shape}")
    return arr


def _check_index(scheme: Scheme, indices: "list[int] | tuple[int, ...]", num_points: int, what: str) -> None:
    bad = [i for i in indices if not 0 <= int(i) < num_points]
    if bad:
        raise InputError(
            f"scheme '{scheme.name}' {what} index {bad[0]} is out of range for {num_points}-point landmarks"
        )


def landmark_box_wh(gt: np.ndarray) -> np.ndarray:
    """Width and height of the GT landmark box: ``(N, 2)`` = ``max_k g_ik - min_k g_ik``."""
    arr = _as_landmarks(gt)
    return arr.max(axis=1) - arr.min(axis=1)


def compute_normalizers(
    gt: np.ndarray,
    kind: str,
    scheme: Scheme | None = None,
    *,
    box_sizes: np.ndarray | None = None,
) -> np.ndarray:
    """Per-image normaliser ``d_i`` (``(N,)`` float64) of the given kind; see the module docstring.

    Args:
        gt: ``(N, K, 2)`` ground-truth landmarks (pixels).
        kind: one of ``NORMALIZERS``.
        scheme: the landmark scheme (needed by ``inter-ocular`` and ``inter-pupil``).
        box_sizes: ``(N,)`` per-image sizes (needed by ``box-size``).

    Formulas:
        inter-ocular: ``d_i = ||g_i,a - g_i,b||_2``, ``(a, b) = scheme.eye_corners``;
        inter-pupil:  ``d_i = ||mean_{k in P} g_ik - mean_{k in Q} g_ik||_2``;
        bbox:         ``d_i = sqrt((max_k x_ik - min_k x_ik) * (max_k y_ik - min_k y_ik))``;
        diagonal:     ``d_i = sqrt(w_i^2 + h_i^2)``;
        box-size:     ``d_i = box_sizes[i]``;
        box-edge:     ``d_i = (w_i + h_i) / 2`` (menpofit ``bb_avg_edge_length``);
        box-height:   ``d_i = h_i`` (SPIGA ``height``).

    Raises:
        InputError: unknown kind (with the closest name), a scheme without the needed points,
            indices out of range, or missing/mis-shaped ``box_sizes``.

    Zero or non-finite results are *not* rejected here; ``per_image_nme`` rejects them and names
    the offending sample.
    """
    if kind not in NORMALIZERS:
        raise InputError(f"unknown normaliser '{kind}'{closest(kind, NORMALIZERS)}; known: {', '.join(NORMALIZERS)}")
    if kind == "box-size":
        if box_sizes is None:
            raise InputError("the 'box-size' normaliser needs per-image box sizes (box_sizes=...)")
        sizes = np.asarray(box_sizes, dtype=np.float64).reshape(-1)
        if gt is not None:
            n = np.asarray(gt).shape[0]
            if sizes.shape[0] != n:
                raise InputError(f"box_sizes has {sizes.shape[0]} values for {n} images")
        return sizes.copy()

    arr = _as_landmarks(gt)
    num_points = arr.shape[1]
    if kind == "inter-ocular":
        if scheme is None or scheme.eye_corners is None:
            name = scheme.name if scheme is not None else "(none)"
            raise InputError(
                f"the 'inter-ocular' normaliser needs eye corners, and scheme '{name}' defines none; "
                "use 'bbox', 'diagonal' or 'box-size'"
            )
        a, b = scheme.eye_corners
        _check_index(scheme, (a, b), num_points, "eye-corner")
        diff = arr[:, a, :] - arr[:, b, :]
        return np.sqrt(np.einsum("ij,ij->i", diff, diff))
    if kind == "inter-pupil":
        if scheme is None or scheme.pupils is None:
            name = scheme.name if scheme is not None else "(none)"
            raise InputError(
                f"the 'inter-pupil' normaliser needs pupil points, and scheme '{name}' defines none; "
                "use 'inter-ocular', 'bbox', 'diagonal' or 'box-size'"
            )
        left, right = (list(p) for p in scheme.pupils)
        if not left or not right:
            raise InputError(f"scheme '{scheme.name}' has an empty pupil index list")
        _check_index(scheme, left + right, num_points, "pupil")
        diff = arr[:, left, :].mean(axis=1) - arr[:, right, :].mean(axis=1)
        return np.sqrt(np.einsum("ij,ij->i", diff, diff))
    wh = landmark_box_wh(arr)
    if kind == "bbox":
        return np.sqrt(wh[:, 0] * wh[:, 1])
    if kind == "box-edge":
        return 0.5 * (wh[:, 0] + wh[:, 1])
    if kind == "box-height":
        return wh[:, 1].copy()
    # diagonal
    return np.hypot(wh[:, 0], wh[:, 1])
