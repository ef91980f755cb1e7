"""An ONNX face detector run by faceval (UltraFace RFB-320 by default, bundled as package data).

:class:`FaceDetector` opens the model through :func:`faceval.models.session.create_session` (the
same provider policy as landmark models), checks it against its :class:`DetectorSpec` up front
(input shape, output names), and turns an image into :class:`Detections`: the whole image resized
to the spec's input size, normalised, run, face scores ``> score_threshold`` kept, hard NMS.

Coordinates: the detector's unit box ``u`` in [0, 1] of the image maps to the continuous image
frame ``u * W`` (``W`` in original pixels, also when the JPEG was decoded at reduced size, through
the exact DCT scale), then to faceval's point frame (pixel centres at integers) by ``- 0.5``, like
every other faceval coordinate.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from faceval.detection.geometry import hard_nms
from faceval.detection.spec import ULTRAFACE_SPEC, DetectorSpec
from faceval.errors import InputError, RuntimeFailure

#: Bundled default detector: UltraFace RFB-320 (MIT), in ``faceval/data/models/ultraface``.
DEFAULT_DETECTOR = "version-RFB-320.onnx"
#: Bumped whenever the boxes this module produces change for the same model and spec (cache key).
DETECTION_CODE_VERSION = 1

_RESAMPLE = {"bilinear": "BILINEAR", "bicubic": "BICUBIC", "nearest": "NEAREST", "lanczos": "LANCZOS"}


def default_detector_path() -> Path:
    """The bundled UltraFace RFB-320 model file."""
    return Path(str(resources.files("faceval.data").joinpath("models", "ultraface", DEFAULT_DETECTOR)))


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Detections:
    """Faces found on one image, best score first.

    Attributes:
        boxes: ``(M, 4)`` float64 ``x1, y1, x2, y2`` in the original image's point frame.
        scores: ``(M,)`` float64 face scores.
    """

    boxes: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return int(self.scores.shape[0])


def decode_detections(scores: np.ndarray, boxes: np.ndarray, spec: DetectorSpec,
                      extent: tuple[float, float]) -> Detections:
    """Raw detector outputs of one image -> thresholded, NMS-ed boxes in the point frame.

    Args:
        scores: ``(1, A, C)`` or ``(A, C)`` class scores.
        boxes: ``(1, A, 4)`` or ``(A, 4)`` unit ``x1 y1 x2 y2``.
        spec: threshold, NMS and face column.
        extent: ``(W, H)`` of the image in original pixels (the continuous frame ``[0, W] x [0, H]``).
    """
    s = np.asarray(scores, dtype=np.float64)
    b = np.asarray(boxes, dtype=np.float64)
    s = s.reshape(-1, s.shape[-1])
    b = b.reshape(-1, 4)
    face = s[:, spec.face_column]
    keep = face > spec.score_threshold
    face, b = face[keep], b[keep]
    order = hard_nms(b, face, spec.nms_iou, spec.candidate_size)
    face, b = face[order], b[order]
    scale = np.array([extent[0], extent[1], extent[0], extent[1]], dtype=np.float64)
    return Detections(b * scale - 0.5, face)


class FaceDetector:
    """An ONNX face detector with its spec.

    Args:
        model_path: the ONNX file (None = the bundled UltraFace RFB-320).
        spec: its pre/post-processing (None = UltraFace's).
        device: ``auto`` | ``cpu`` | ``cuda`` (see :mod:`faceval.models.session`).
        intra_op_threads: ONNX Runtime threads (None = its default).

    Raises:
        InputError: missing or invalid model file; an input shape or output names that do not fit the spec.
        RuntimeFailure: onnxruntime missing or unusable.
    """

    def __init__(self, model_path: str | os.PathLike[str] | None = None, spec: DetectorSpec | None = None, *,
                 device: str = "auto", intra_op_threads: int | None = None) -> None:
        from faceval.models.session import create_session

        self.model_path = Path(model_path) if model_path is not None else default_detector_path()
        self.spec = spec if spec is not None else ULTRAFACE_SPEC
        self.info = create_session(self.model_path, device, intra_op_threads=intra_op_threads)
        self.model_sha256 = file_sha256(self.model_path)
        self._check_model()

    def _check_model(self) -> None:
        session = self.info.session
        inputs = session.get_inputs()
        if len(inputs) != 1:
            raise InputError(f"a face detector must have one input, this model has {len(inputs)}", path=self.model_path)
        shape = list(inputs[0].shape)
        w, h = self.spec.input_size
        want = [3, h, w] if self.spec.layout == "NCHW" else [h, w, 3]
        if len(shape) != 4 or any(isinstance(d, int) and d > 0 and d != e for d, e in zip(shape[1:], want)):
            raise InputError(f"detector input shape {shape} does not fit the detector spec "
                             f"(input_size {w}x{h}, {self.spec.layout}: expected [1, {', '.join(map(str, want))}])",
                             path=self.model_path)
        if isinstance(shape[0], int) and shape[0] not in (1, -1) and shape[0] > 1:
            raise InputError(f"detector input batch dimension is fixed to {shape[0]}; faceval runs one image at "
                             "a time (batch 1 or dynamic)", path=self.model_path)
        names = [o.name for o in session.get_outputs()]
        for name in (self.spec.scores_output, self.spec.boxes_output):
            if name not in names:
                raise InputError(f"detector has no output '{name}' (outputs: {', '.join(names)}); set "
                                 "scores_output / boxes_output in the detector spec", path=self.model_path)

    def identity(self) -> dict[str, Any]:
        """What determines this detector's boxes: model hash, spec, code version (cache key and protocol)."""
        return {"model": self.model_path.name, "model_sha256": self.model_sha256, "spec": self.spec.to_dict(),
                "detection_code_version": DETECTION_CODE_VERSION}

    def provenance(self) -> dict[str, Any]:
        """What a run's protocol records about the detector (identity + where it ran)."""
        return {**self.identity(), "model_path": str(self.model_path), **self.info.provenance()}

    def to_input(self, image: Any) -> np.ndarray:
        """An RGB ``PIL.Image`` -> the detector's ``(1, ...)`` float32 input (whole image resized)."""
        from PIL import Image

        resample = getattr(Image.Resampling, _RESAMPLE[self.spec.resample])
        resized = image.resize(self.spec.input_size, resample)
        a = np.asarray(resized, dtype=np.float32)
        if self.spec.color == "BGR":
            a = a[:, :, ::-1]
        a = (a - np.asarray(self.spec.mean, dtype=np.float32)) / np.asarray(self.spec.std, dtype=np.float32)
        if self.spec.layout == "NCHW":
            a = a.transpose(2, 0, 1)
        return np.ascontiguousarray(a[None], dtype=np.float32)

    def prepare_image(self, image: Any, extent: tuple[float, float] | None = None) -> tuple[np.ndarray, tuple[float, float]]:
        """An RGB ``PIL.Image`` (or ``(H, W, 3)`` uint8 array) -> (detector input, extent in original pixels)."""
        from PIL import Image

        if not isinstance(image, Image.Image):
            image = Image.fromarray(np.asarray(image, dtype=np.uint8), "RGB")
        if extent is None:
            extent = (float(image.size[0]), float(image.size[1]))
        return self.to_input(image), extent

    def prepare_file(self, path: str | os.PathLike[str]) -> tuple[np.ndarray, tuple[float, float]]:
        """Decode and resize an image file (thread-safe; JPEGs drafted when ``spec.draft``, never below the input size)."""
        from faceval.pipeline.images import open_image

        image, scale, _original = open_image(path, target_min_size=self.spec.input_size if self.spec.draft else None)
        # decoded pixel k covers original pixels [k/scale, (k+1)/scale): the decoded frame spans size/scale
        return self.prepare_image(image, (image.size[0] / scale, image.size[1] / scale))

    def run_input(self, x: np.ndarray, extent: tuple[float, float]) -> Detections:
        """Run the detector on a prepared input and decode its boxes."""
        try:
            scores, boxes = self.info.session.run([self.spec.scores_output, self.spec.boxes_output],
                                                  {self.info.input_name: x})
        except Exception as exc:  # noqa: BLE001 - ORT raises pybind11 types
            text = str(exc).strip().splitlines()
            raise RuntimeFailure(f"face detector {self.model_path.name} failed: "
                                 f"{text[0] if text else type(exc).__name__}") from None
        return decode_detections(scores, boxes, self.spec, extent)

    def detect_image(self, image: Any, extent: tuple[float, float] | None = None) -> Detections:
        """Faces on an RGB ``PIL.Image`` (or ``(H, W, 3)`` uint8 array).

        ``extent``: ``(W, H)`` of the original image in its own pixels when ``image`` was decoded at
        reduced size (default: the image's own size).
        """
        return self.run_input(*self.prepare_image(image, extent))

    def detect_file(self, path: str | os.PathLike[str]) -> Detections:
        """Faces on an image file."""
        return self.run_input(*self.prepare_file(path))
