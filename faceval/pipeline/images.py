"""Robust image decoding: any Pillow mode to RGB uint8, reduced-size JPEG decoding.

* Pixels are returned exactly as stored: EXIF orientation is **not** applied, because
  dataset annotations refer to the stored pixel grid (300W, WFLW, COFW all do).
* Alpha is dropped (colour values kept, not composited); palettes are expanded;
  CMYK / YCbCr / LAB / HSV are converted by Pillow; 16-bit and 32-bit integer grey
  (``I;16*``, ``I``) are scaled to 8 bits by ``round(v / 257)`` (clipped to
  0..65535 first); float (``F``) images in ``[0, 1]`` are scaled by 255, otherwise clipped
  to 0..255.
* JPEGs can be decoded at 1/2, 1/4 or 1/8 size by the DCT (``Image.draft``), which is
  several times faster and bounds memory for huge files. The returned ``scale`` (decoded
  pixels per original pixel, ``1/s``) relates the frames exactly by
  ``x_dec + 0.5 = (x + 0.5) * scale`` (point frames, pixel centres at integers): the
  DCT maps original pixels ``[k*s, (k+1)*s)`` onto decoded pixel ``k``.
* Decompression bombs: the number of *decoded* pixels is limited to ``max_pixels``
  (default ``PIL.Image.MAX_IMAGE_PIXELS``, about 89.5 MP = 268 MB of RGB); beyond it
  :class:`ImageTooLargeError` is raised. JPEGs are opened without Pillow's header-size
  check so that a huge JPEG can still be read through ``draft``.
* Unreadable, missing, empty, truncated or corrupt files raise :class:`ImageReadError`
  (an :class:`~faceval.errors.InputError`) with a one-line message naming the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np

from faceval.errors import InputError

#: An image source: a file path, or a callable returning an array / PIL image
#: (for datasets such as COFW whose images live inside a ``.mat`` file).
ImageSource = Union[str, os.PathLike, Callable[[], Any]]

_JPEG_MAGIC = b"\xff\xd8\xff"


class ImageReadError(InputError):
    """An image file could not be read (missing, empty, truncated, corrupt, unsupported)."""


class ImageTooLargeError(ImageReadError):
    """The decoded image would exceed the pixel limit (decompression-bomb protection)."""


@dataclass
class DecodedImage:
    """A decoded image.

    Attributes:
        array: ``(h, w, 3)`` uint8 RGB, C-contiguous.
        scale: decoded pixels per original pixel (1.0, 0.5, 0.25 or 0.125).
        original_size: ``(W, H)`` of the stored image.
    """

    array: np.ndarray
    scale: float
    original_size: tuple[int, int]


def _default_max_pixels() -> int:
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    return int(limit) if limit else 1 << 40


def draft_factor(original_size: tuple[int, int], min_scale: float | None = None,
                 target_min_size: tuple[int, int] | None = None) -> int:
    """Largest DCT reduction ``s`` in {1, 2, 4, 8} keeping enough resolution.

    ``1/s >= min_scale`` and ``ceil(W/s) >= target_min_size[0]``,
    ``ceil(H/s) >= target_min_size[1]``.
    """
    w, h = original_size
    for s in (8, 4, 2):
        if min_scale is not None and 1.0 / s < min_scale:
            continue
        if target_min_size is not None:
            tw, th = target_min_size
            if -(-w // s) < tw or -(-h // s) < th:
                continue
        if min_scale is None and target_min_size is None:
            break
        return s
    return 1


def _to_rgb(im: Any) -> np.ndarray:
    """Any Pillow image -> (h, w, 3) uint8 RGB array."""
    from PIL import Image

    mode = im.mode
    if mode == "RGB":
        return np.asarray(im, dtype=np.uint8)
    if mode.startswith("I;16") or mode in ("I", "F"):
        a = np.asarray(im)
        if mode == "F":
            a = a.astype(np.float64)
            a = np.nan_to_num(a, nan=0.0)
            if a.size and a.max() <= 1.0 and a.min() >= 0.0:
                a = a * 255.0
            g = np.clip(np.rint(a), 0, 255).astype(np.uint8)
        else:
            a = np.clip(a.astype(np.int64), 0, 65535)
            g = ((a + 128) // 257).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(g[:, :, None], 3, axis=2))
    if mode in ("RGBA", "RGBX", "RGBa"):
        return np.ascontiguousarray(np.asarray(im, dtype=np.uint8)[:, :, :3])
    if mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
        return np.ascontiguousarray(np.asarray(im, dtype=np.uint8)[:, :, :3])
    try:
        rgb = im.convert("RGB")
    except (ValueError, OSError) as exc:
        raise ValueError(f"unsupported image mode {mode}") from exc
    if not isinstance(rgb, Image.Image):  # pragma: no cover
        raise ValueError(f"unsupported image mode {mode}")
    return np.asarray(rgb, dtype=np.uint8)


def as_rgb_array(obj: Any) -> np.ndarray:
    """Normalise an in-memory image (array, PIL image or :class:`DecodedImage`) to RGB uint8.

    Arrays may be ``(H, W)`` or ``(H, W, 1|3|4)``; uint8 is used as is, uint16 is scaled
    by ``/257``, floats in ``[0, 1]`` by 255 (else clipped to 0..255), bool to 0/255.
    """
    from PIL import Image

    if isinstance(obj, DecodedImage):
        return obj.array
    if isinstance(obj, Image.Image):
        return _to_rgb(obj)
    a = np.asarray(obj)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or 0 in a.shape:
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {a.shape}")
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint16:
        a = ((a.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif a.dtype.kind == "f":
        a = np.nan_to_num(a.astype(np.float64))
        if a.max() <= 1.0 and a.min() >= 0.0:
            a = a * 255.0
        a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    elif a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    return np.ascontiguousarray(a)


def _open(path: Path) -> Any:
    """Open lazily; JPEGs bypass Pillow's header-size check (checked after draft)."""
    from PIL import Image, JpegImagePlugin

    with open(path, "rb") as fh:
        head = fh.read(16)
    if not head:
        raise ImageReadError("empty file", path=path)
    if head.startswith(_JPEG_MAGIC):
        return JpegImagePlugin.JpegImageFile(str(path))
    try:
        return Image.open(path)
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"image too large to decode safely ({exc})", path=path) from None


def open_image(
    path: str | os.PathLike,
    *,
    target_min_size: tuple[int, int] | None = None,
    min_scale: float | None = None,
    max_pixels: int | None = None,
) -> tuple[Any, float, tuple[int, int]]:
    """Decode a file to an RGB ``PIL.Image``; see :func:`read_image` for the arguments.

    Returns ``(image, scale, original_size)``. Used by the loader to avoid an array copy.
    """
    from PIL import Image

    path = Path(path)
    limit = _default_max_pixels() if max_pixels is None else int(max_pixels)
    try:
        im = src = _open(path)
        try:
            original = (int(im.size[0]), int(im.size[1]))
            if original[0] <= 0 or original[1] <= 0:
                raise ImageReadError(f"image has no pixels (size {original})", path=path)
            scale = 1.0
            if getattr(im, "format", None) == "JPEG" and (target_min_size or min_scale is not None
                                                         or original[0] * original[1] > limit):
                s = draft_factor(original, min_scale, target_min_size)
                if original[0] * original[1] > limit:
                    # never decode more than the limit: force the smallest sufficient factor
                    while s < 8 and -(-original[0] // s) * -(-original[1] // s) > limit:
                        s *= 2
                if s > 1:
                    res = im.draft("RGB", (original[0] // s, original[1] // s))
                    if res is not None:
                        scale = float(res[1][2]) / original[0]
            w, h = im.size
            if w * h > limit:
                raise ImageTooLargeError(
                    f"image of {original[0]}x{original[1]} pixels ({w}x{h} decoded) exceeds the "
                    f"limit of {limit} pixels (decompression-bomb protection)",
                    path=path,
                )
            im.load()
            if im.mode != "RGB":
                arr = _to_rgb(im)
                im = Image.fromarray(arr, "RGB")
            return im, scale, original
        finally:
            # the decoded pixels no longer need the file (multi-frame formats keep it open)
            fp = getattr(src, "fp", None)
            if fp is not None and getattr(src, "_exclusive_fp", False):
                try:
                    fp.close()
                except Exception:  # pragma: no cover
                    pass
                src.fp = None
    except ImageReadError:
        raise
    except FileNotFoundError:
        raise ImageReadError("image file not found", path=path) from None
    except IsADirectoryError:
        raise ImageReadError("is a directory, not an image file", path=path) from None
    except PermissionError:
        raise ImageReadError("permission denied", path=path) from None
    except MemoryError:
        raise ImageTooLargeError("out of memory while decoding", path=path) from None
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error ...
        msg = " ".join(str(exc).split()) or type(exc).__name__
        if "UnidentifiedImageError" in type(exc).__name__ or "cannot identify" in msg:
            msg = "not a recognised image format"
        elif "truncated" in msg.lower():
            msg = "truncated image file"
        else:
            msg = f"corrupt or unreadable image ({msg})"
        raise ImageReadError(msg, path=path) from None


def read_image(
    path: str | os.PathLike,
    *,
    target_min_size: tuple[int, int] | None = None,
    min_scale: float | None = None,
    max_pixels: int | None = None,
) -> DecodedImage:
    """Decode an image file to RGB uint8, at reduced size when that is enough.

    Args:
        path: the image file.
        target_min_size: ``(w, h)`` the decoded image must at least have; a JPEG is then
            decoded at the largest reduction 1/2, 1/4 or 1/8 that keeps it.
        min_scale: alternatively (or also), the least decoded/original pixel ratio
            needed, e.g. ``input_w / crop_w`` so that the crop keeps the input resolution.
        max_pixels: limit on decoded pixels (default ``PIL.Image.MAX_IMAGE_PIXELS``).
            Huge JPEGs are drafted down to fit the limit automatically.

    Returns:
        :class:`DecodedImage`; map original point coordinates to the decoded array by
        ``x_dec = (x + 0.5) * scale - 0.5``.

    Raises:
        ImageReadError: missing, empty, truncated, corrupt or unsupported file.
        ImageTooLargeError: the decoded image would exceed ``max_pixels``.
    """
    im, scale, original = open_image(path, target_min_size=target_min_size, min_scale=min_scale,
                                     max_pixels=max_pixels)
    return DecodedImage(np.asarray(im, dtype=np.uint8), scale, original)


def load_source(
    source: ImageSource,
    *,
    min_scale: float | None = None,
    max_pixels: int | None = None,
) -> tuple[Any, float, tuple[int, int]]:
    """Decode a path or call an in-memory source; returns ``(image, scale, original_size)``.

    ``image`` is an RGB ``PIL.Image`` (files) or an RGB uint8 array (callables). A
    callable's failure is reported as :class:`ImageReadError`.
    """
    if callable(source):
        try:
            obj = source()
            if isinstance(obj, DecodedImage):
                arr, scale, original = as_rgb_array(obj.array), obj.scale, obj.original_size
            else:
                arr = as_rgb_array(obj)
                scale, original = 1.0, (int(arr.shape[1]), int(arr.shape[0]))
        except ImageReadError:
            raise
        except Exception as exc:
            name = getattr(source, "__name__", None) or type(source).__name__
            raise ImageReadError(f"in-memory image source {name} failed: {exc}") from None
        return arr, float(scale), original
    return open_image(source, min_scale=min_scale, max_pixels=max_pixels)
