"""COFW ``.mat`` files (MATLAB v7.3, i.e. HDF5 with a 512-byte user block), read with h5py.

Variables (``T`` = test, 507 faces; ``Tr`` = train, 1345 faces):

* ``IsT`` / ``IsTr``: a cell array of images, stored as HDF5 object references; each image is an
  ``H x W x 3`` (or ``H x W`` grey) uint8 array that HDF5 holds transposed (``3 x W x H``).
* ``phisT`` / ``phisTr``: ``N x 87`` — 29 x, 29 y, 29 occlusion flags (1 = occluded); 1-based.
* ``bboxesT`` / ``bboxesTr``: ``N x 4`` face boxes ``x, y, w, h``; 1-based.

MATLAB matrices are stored transposed in HDF5; the reader transposes them back. Coordinates are
returned 0-based (1 subtracted); boxes as ``x_min, y_min, x_max, y_max`` with
``x_min = x - 1``, ``x_max = x_min + w``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from faceval.errors import InputError

NUM_POINTS = 29
SPLIT_SUFFIX = {"test": "T", "train": "Tr"}
#: what h5py and numpy raise on damaged files (turned into InputError naming the file)
_DAMAGED = (KeyError, ValueError, TypeError, AttributeError, IndexError, OSError, RuntimeError)


def _damaged(path: Path, exc: BaseException) -> InputError:
    text = str(exc).strip().splitlines()
    detail = f"{type(exc).__name__}: {text[0][:80]}" if text else type(exc).__name__
    return InputError(f"damaged COFW .mat file ({detail})", path=path)


@dataclass
class CofwData:
    """The annotations of one COFW split.

    Attributes:
        landmarks: ``(N, 29, 2)`` float64, 0-based.
        occluded: ``(N, 29)`` bool, True where the point is flagged occluded.
        boxes: ``(N, 4)`` float64 ``x_min, y_min, x_max, y_max``, 0-based.
    """

    landmarks: np.ndarray
    occluded: np.ndarray
    boxes: np.ndarray

    def __len__(self) -> int:
        return len(self.landmarks)


def _variables(split: str) -> tuple[str, str, str]:
    if split not in SPLIT_SUFFIX:
        raise InputError(f"unknown COFW split '{split}': expected 'test' or 'train'")
    s = SPLIT_SUFFIX[split]
    return f"Is{s}", f"phis{s}", f"bboxes{s}"


def _open(path: Path) -> Any:
    import h5py

    if not path.is_file():
        raise InputError("COFW .mat file not found", path=path)
    try:
        return h5py.File(path, "r")
    except OSError:
        raise InputError("expected a MATLAB v7.3 (HDF5) .mat file (COFW_*_color.mat), "
                         "found something else (not HDF5; an older MATLAB format?)", path=path) from None


def _require(handle: Any, name: str, path: Path) -> Any:
    if name not in handle:
        present = ", ".join(sorted(k for k in handle.keys() if not k.startswith("#"))) or "none"
        raise InputError(f"expected variable '{name}' in the COFW .mat file, found: {present}", path=path)
    return handle[name]


def read_cofw_mat(path: Path | str, split: str = "test") -> CofwData:
    """Read the landmarks, occlusion flags and boxes of one split (``test`` or ``train``)."""
    path = Path(path)
    images_var, phis_var, boxes_var = _variables(split)
    try:
        with _open(path) as handle:
            phis = np.asarray(_require(handle, phis_var, path)[()], dtype=np.float64).T
            boxes = np.asarray(_require(handle, boxes_var, path)[()], dtype=np.float64).T
            images = _require(handle, images_var, path)
            num_images = int(np.prod(images.shape))
    except _DAMAGED as exc:
        raise _damaged(path, exc) from None
    if phis.ndim != 2 or phis.shape[1] != 3 * NUM_POINTS:
        raise InputError(f"expected '{phis_var}' of shape N x 87 (29 x, 29 y, 29 occlusion flags), "
                         f"found {' x '.join(map(str, phis.shape))}", path=path)
    n = phis.shape[0]
    if boxes.shape != (n, 4):
        raise InputError(f"expected '{boxes_var}' of shape {n} x 4 (x, y, w, h), "
                         f"found {' x '.join(map(str, boxes.shape))}", path=path)
    if num_images != n:
        raise InputError(f"expected {n} images in '{images_var}' (one per row of '{phis_var}'), found {num_images}",
                         path=path)
    if not np.isfinite(phis).all() or not np.isfinite(boxes).all():
        raise InputError(f"expected finite values in '{phis_var}' and '{boxes_var}', found NaN or inf", path=path)
    landmarks = np.stack([phis[:, :NUM_POINTS], phis[:, NUM_POINTS : 2 * NUM_POINTS]], axis=-1) - 1.0
    occluded = phis[:, 2 * NUM_POINTS :] > 0.5
    x0 = boxes[:, 0] - 1.0
    y0 = boxes[:, 1] - 1.0
    xyxy = np.stack([x0, y0, x0 + boxes[:, 2], y0 + boxes[:, 3]], axis=1)
    return CofwData(landmarks=landmarks, occluded=occluded, boxes=xyxy)


class CofwImages:
    """Random access to the images stored inside a COFW ``.mat`` (keeps the file open).

    ``images(i)`` returns image ``i`` (0-based, same order as :func:`read_cofw_mat`) as an
    ``(H, W, 3)`` uint8 RGB array; grey images are repeated over three channels. Use as a context
    manager or call :meth:`close`. Not safe to share between threads: open one per thread.
    """

    def __init__(self, path: Path | str, split: str = "test") -> None:
        self.path = Path(path)
        images_var, _, _ = _variables(split)
        self._handle = _open(self.path)
        try:
            refs = _require(self._handle, images_var, self.path)[()]
            self._refs = np.asarray(refs).reshape(-1)
        except _DAMAGED as exc:
            self._handle.close()
            raise _damaged(self.path, exc) from None
        except BaseException:
            self._handle.close()
            raise

    def __len__(self) -> int:
        return len(self._refs)

    def __call__(self, index: int) -> np.ndarray:
        if not 0 <= index < len(self._refs):
            raise IndexError(f"COFW image index {index} out of range 0..{len(self._refs) - 1}")
        try:
            data = np.asarray(self._handle[self._refs[index]][()])
            return _to_rgb(data, self.path, index)
        except _DAMAGED as exc:
            raise _damaged(self.path, exc) from None

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> "CofwImages":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _to_rgb(stored: np.ndarray, path: Path, index: int) -> np.ndarray:
    image = stored.T  # HDF5 holds MATLAB's H x W x C as C x W x H
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise InputError(f"expected image {index} to be H x W x 3 or H x W, found shape {image.shape}", path=path)
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image.astype(np.uint8, copy=False))


def read_cofw_image(path: Path | str, split: str, index: int) -> np.ndarray:
    """Decode one image (``(H, W, 3)`` uint8 RGB) from a COFW ``.mat``; opens and closes the file."""
    with CofwImages(path, split) as images:
        return images(index)
