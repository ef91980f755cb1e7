"""The face-crop transform, its exact inverse, and crop resampling.

Coordinate convention
---------------------
faceval's *point frame* is the project-wide one: 0-based pixel coordinates of the
original image with pixel centres at integers, so pixel ``i`` covers ``[i - 0.5, i + 0.5)``.
A crop rectangle ``(x0, y0, x1, y1)`` is expressed in this same point frame (it is built
from landmarks or dataset rectangles that live there).

The model input of size ``W x H`` is a *continuous* frame spanning ``[0, W] x [0, H]``;
input pixel ``j`` covers ``[j, j + 1)`` and has its centre at ``j + 0.5`` (this is the
frame of ``decode_landmarks``: a unit coordinate ``p`` maps to ``p * W``).

The crop edges map to the input edges, so the affine maps are::

    sx = W / (x1 - x0)              sy = H / (y1 - y0)
    u  = (x - x0) * sx              v  = (y - y0) * sy          (to_input)
    x  = u / sx + x0                y  = v / sy + y0            (to_image)

Resampling agrees with these maps exactly: Pillow's continuous frame has image pixel ``i``
covering ``[i, i + 1)`` (centre ``i + 0.5``), i.e. Pillow coordinate = point coordinate
+ 0.5, so the crop is resampled from the Pillow box ``(x0 + 0.5, y0 + 0.5, x1 + 0.5, y1 + 0.5)``.
Input pixel ``j`` then samples the image at point coordinate ``x0 + (j + 0.5) / sx``,
which is exactly ``to_image(j + 0.5)``. A bright dot at image pixel ``(i, k)`` therefore
appears centred at input location ``to_input((i, k))`` (in the continuous input frame; the
input *pixel index* nearest to it is ``floor(u)``).

Crops that leave the image are padded, never refused: output pixels whose sampling centre
lies outside the image are black (zero padding, as ``cv2.warpAffine`` with
``BORDER_CONSTANT``); pixels inside are not darkened by the padding, because the
resampling filter sees the image extended by edge replication.

For a JPEG decoded at reduced size with ``draft`` by a factor ``s`` (``scale = 1/s``
decoded pixels per original pixel), the DCT scaling maps the continuous frame by ``1/s``:
``x_dec + 0.5 = (x + 0.5) * scale``. :func:`crop_and_resize` takes that ``image_scale``
and applies it to the Pillow box, so the same crop rectangle (in original coordinates)
gives the same input geometry whether or not the image was drafted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Bumped whenever the pixels produced by the crop code change (part of crop-cache keys).
CROP_CODE_VERSION = 1

#: Resampling filter names accepted by :func:`crop_and_resize`.
RESAMPLE_FILTERS = ("nearest", "box", "bilinear", "hamming", "bicubic", "lanczos")

# Pillow filter support radius (in source pixels when not shrinking); padding margin.
_SUPPORT = {"nearest": 0.5, "box": 0.5, "bilinear": 1.0, "hamming": 1.0, "bicubic": 2.0, "lanczos": 3.0}


@dataclass(frozen=True)
class CropBox:
    """A crop rectangle ``x0, y0, x1, y1`` in the point frame of the original image."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x0 + self.x1) / 2.0, (self.y0 + self.y1) / 2.0)

    def as_array(self) -> np.ndarray:
        """``(4,)`` float64 ``[x0, y0, x1, y1]``."""
        return np.array([self.x0, self.y0, self.x1, self.y1], dtype=np.float64)

    @classmethod
    def from_array(cls, a: Any) -> "CropBox":
        a = np.asarray(a, dtype=np.float64).reshape(4)
        return cls(float(a[0]), float(a[1]), float(a[2]), float(a[3]))


def _as_crop_array(crop: Any) -> np.ndarray:
    if isinstance(crop, CropBox):
        return crop.as_array()
    return np.asarray(crop, dtype=np.float64)


def face_crops(
    landmarks: np.ndarray | None = None,
    boxes: np.ndarray | None = None,
    *,
    scale: float = 1.2,
    square: bool = True,
) -> np.ndarray:
    """Vectorised crop rectangles for ``N`` faces, ``(N, 4)`` float64.

    Give exactly one of ``landmarks`` ``(N, K, 2)`` (the GT landmark box, NaN points
    ignored) or ``boxes`` ``(N, 4)`` ``x_min, y_min, x_max, y_max``. With centre ``c`` and
    size ``(w, h)`` of that box, the crop is ``c ± (w', h') / 2`` where
    ``(w', h') = (max(w, h), max(w, h)) * scale`` when ``square`` else ``(w, h) * scale``.
    Rows whose box is undefined or degenerate (zero size, NaN) come back NaN.
    """
    if (landmarks is None) == (boxes is None):
        raise ValueError("give exactly one of landmarks or boxes")
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"crop scale must be a positive number, got {scale!r}")
    if landmarks is not None:
        pts = np.asarray(landmarks, dtype=np.float64)
        if pts.ndim != 3 or pts.shape[-1] != 2:
            raise ValueError(f"landmarks must be (N, K, 2), got {pts.shape}")
        finite = np.isfinite(pts)
        lo = np.where(finite, pts, np.inf).min(axis=1)
        hi = np.where(finite, pts, -np.inf).max(axis=1)
    else:
        b = np.asarray(boxes, dtype=np.float64)
        if b.ndim != 2 or b.shape[-1] != 4:
            raise ValueError(f"boxes must be (N, 4), got {b.shape}")
        lo, hi = b[:, :2], b[:, 2:]
    with np.errstate(invalid="ignore", over="ignore"):
        c = (lo + hi) / 2.0
        size = hi - lo
        if square:
            side = size.max(axis=1, keepdims=True)
            size = np.concatenate([side, side], axis=1)
        half = size * (scale / 2.0)
        out = np.concatenate([c - half, c + half], axis=1)
        bad = ~(np.isfinite(out).all(axis=1) & (size > 0).all(axis=1))
    out[bad] = np.nan
    return out


def face_crop(
    landmarks: np.ndarray | None = None,
    box: np.ndarray | None = None,
    *,
    scale: float = 1.2,
    square: bool = True,
) -> CropBox:
    """Crop rectangle of one face from its ``(K, 2)`` landmarks or its ``(4,)`` box.

    See :func:`face_crops` for the formula. Raises ``ValueError`` when the box is
    degenerate (no finite points, zero width or height).
    """
    if landmarks is not None and box is None:
        arr = face_crops(np.asarray(landmarks, dtype=np.float64)[None], scale=scale, square=square)
    elif box is not None and landmarks is None:
        arr = face_crops(boxes=np.asarray(box, dtype=np.float64).reshape(1, 4), scale=scale, square=square)
    else:
        raise ValueError("give exactly one of landmarks or box")
    if not np.isfinite(arr).all():
        raise ValueError("degenerate face box: no finite points or zero width/height")
    return CropBox.from_array(arr[0])


def affine_params(crop: Any, input_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample scale ``(…, 2)`` = ``(sx, sy)`` and offset ``(…, 2)`` = ``(x0, y0)``.

    ``input = (point - offset) * scale``; ``point = input / scale + offset``.
    """
    c = _as_crop_array(crop)
    if c.shape[-1] != 4:
        raise ValueError(f"crop must have 4 values x0, y0, x1, y1, got shape {c.shape}")
    w, h = float(input_size[0]), float(input_size[1])
    offset = c[..., :2]
    scale = np.stack([w / (c[..., 2] - c[..., 0]), h / (c[..., 3] - c[..., 1])], axis=-1)
    return scale, offset


def to_input(points: np.ndarray, crop: Any, input_size: tuple[int, int]) -> np.ndarray:
    """Map image point-frame coordinates to continuous model-input coordinates.

    ``u = (x - x0) * W / (x1 - x0)``, ``v = (y - y0) * H / (y1 - y0)``.

    Args:
        points: ``(K, 2)`` with a ``(4,)`` crop, or ``(B, K, 2)`` with ``(B, 4)`` crops
            (a single ``(4,)`` crop applies to all).
        crop: crop rectangle(s) ``x0, y0, x1, y1`` (or a :class:`CropBox`).
        input_size: ``(W, H)`` of the model input.

    Returns:
        float64 array of the shape of ``points``; the input spans ``[0, W] x [0, H]``.
    """
    p = np.asarray(points, dtype=np.float64)
    scale, offset = affine_params(crop, input_size)
    if scale.ndim == 2 and p.ndim == 3:
        scale, offset = scale[:, None, :], offset[:, None, :]
    return (p - offset) * scale


def to_image(points: np.ndarray, crop: Any, input_size: tuple[int, int]) -> np.ndarray:
    """Exact inverse of :func:`to_input`: ``x = u * (x1 - x0) / W + x0`` (same for y)."""
    p = np.asarray(points, dtype=np.float64)
    scale, offset = affine_params(crop, input_size)
    if scale.ndim == 2 and p.ndim == 3:
        scale, offset = scale[:, None, :], offset[:, None, :]
    return p / scale + offset


# --------------------------------------------------------------------------- resampling


def resample_filter(name: str) -> Any:
    """Pillow ``Image.Resampling`` member for a filter name (``"bilinear"``, ...)."""
    from PIL import Image

    key = str(name).lower()
    if key not in RESAMPLE_FILTERS:
        raise ValueError(f"unknown resample filter {name!r}; choose one of {', '.join(RESAMPLE_FILTERS)}")
    return Image.Resampling[key.upper()]


def pillow_box(crop: Any, image_scale: float = 1.0) -> tuple[float, float, float, float]:
    """The crop as a box in Pillow's continuous frame of the (possibly drafted) image.

    ``X = (x + 0.5) * image_scale`` for each edge (Pillow pixel ``i`` covers ``[i, i+1)``).
    """
    c = _as_crop_array(crop).reshape(4)
    b = (c + 0.5) * float(image_scale)
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


def crop_and_resize(
    image: Any,
    crop: Any,
    input_size: tuple[int, int],
    *,
    resample: str = "bilinear",
    image_scale: float = 1.0,
) -> np.ndarray:
    """Resample the crop rectangle into a ``(H, W, 3)`` uint8 model-input image.

    Output pixel ``j`` samples the image at point coordinate ``x0 + (j + 0.5) / sx``
    (see the module docstring), so the pixels agree exactly with :func:`to_input`.
    Shrinking is antialiased (Pillow's convolution resampling widens the filter by the
    reduction factor); ``nearest`` is not. Output pixels whose centre falls outside the
    image are black; the filter sees the image edge-extended.

    Args:
        image: ``(H, W, 3)`` uint8 array (``(H, W)`` grey is accepted) or an RGB
            ``PIL.Image``.
        crop: ``x0, y0, x1, y1`` in the point frame of the *original* image.
        input_size: ``(W, H)`` of the output.
        resample: one of :data:`RESAMPLE_FILTERS`.
        image_scale: decoded pixels per original pixel (``DecodedImage.scale``) when
            ``image`` was decoded at reduced size; 1.0 otherwise.
    """
    from PIL import Image

    out_w, out_h = int(input_size[0]), int(input_size[1])
    if out_w <= 0 or out_h <= 0:
        raise ValueError(f"input size must be positive, got {input_size!r}")
    flt = resample_filter(resample)
    if isinstance(image, Image.Image):
        pil = image if image.mode == "RGB" else image.convert("RGB")
    else:
        arr = np.asarray(image)
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
            raise ValueError(f"image must be (H, W, 3) uint8, got {arr.shape} {arr.dtype}")
        pil = Image.fromarray(np.ascontiguousarray(arr), "RGB")

    bx0, by0, bx1, by1 = pillow_box(crop, image_scale)
    if not all(math.isfinite(v) for v in (bx0, by0, bx1, by1)) or bx1 <= bx0 or by1 <= by0:
        raise ValueError(f"degenerate crop rectangle {tuple(_as_crop_array(crop).reshape(4))}")
    # Region of source pixels the filter can touch, plus a margin (so Pillow's border
    # clamping never comes into play). When it leaves the image, the part outside is
    # filled by edge replication for the filter, and output pixels whose sampling centre
    # lies outside the image are then set to black.
    iw, ih = pil.size
    fx = max(1.0, (bx1 - bx0) / out_w)
    fy = max(1.0, (by1 - by0) / out_h)
    sup = _SUPPORT[str(resample).lower()]
    mx = int(math.ceil(sup * fx)) + 2
    my = int(math.ceil(sup * fy)) + 2
    rx0 = int(math.floor(bx0)) - mx
    ry0 = int(math.floor(by0)) - my
    rx1 = int(math.ceil(bx1)) + mx
    ry1 = int(math.ceil(by1)) + my
    if rx0 >= 0 and ry0 >= 0 and rx1 <= iw and ry1 <= ih:
        out = pil.resize((out_w, out_h), flt, box=(bx0, by0, bx1, by1), reducing_gap=None)
        return np.asarray(out, dtype=np.uint8)

    # output pixels whose centre X_j = bx0 + (j + 0.5) * (bx1 - bx0) / out_w is inside [0, iw)
    jx = bx0 + (np.arange(out_w) + 0.5) * ((bx1 - bx0) / out_w)
    jy = by0 + (np.arange(out_h) + 0.5) * ((by1 - by0) / out_h)
    col_in = (jx >= 0) & (jx < iw)
    row_in = (jy >= 0) & (jy < ih)
    if not col_in.any() or not row_in.any():
        return np.zeros((out_h, out_w, 3), dtype=np.uint8)
    cx0, cy0 = min(max(rx0, 0), iw - 1), min(max(ry0, 0), ih - 1)
    cx1, cy1 = max(min(rx1, iw), cx0 + 1), max(min(ry1, ih), cy0 + 1)
    sub = np.asarray(pil.crop((cx0, cy0, cx1, cy1)), dtype=np.uint8)
    pad = ((max(cy0 - ry0, 0), max(ry1 - cy1, 0)), (max(cx0 - rx0, 0), max(rx1 - cx1, 0)), (0, 0))
    ox, oy = cx0 - pad[1][0], cy0 - pad[0][0]
    src = Image.fromarray(np.pad(sub, pad, mode="edge"), "RGB")
    box = (bx0 - ox, by0 - oy, bx1 - ox, by1 - oy)
    res = np.array(src.resize((out_w, out_h), flt, box=box, reducing_gap=None), dtype=np.uint8)
    res[~row_in] = 0
    res[:, ~col_in] = 0
    return res
