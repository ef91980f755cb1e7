"""Face-box sources ``file`` and ``detector`` for a model run: one box per sample, or a counted failure.

The engine's own sources ``landmarks`` (GT landmark box) and ``dataset`` (the dataset rectangle)
need nothing from here. For the two others, :func:`resolve_boxes` gives every sample its box:

* ``file``: the box of the sample in a user's box file (:mod:`faceval.io.boxes`); a sample the
  file lacks has no box (reason ``no face box ...``, counted as ``n_missing_boxes``).
* ``detector``: the detection matched to the GT face (:mod:`faceval.detection.faces`); an
  unmatched face has no box (reason ``face not detected ...``, counted as
  ``n_missed_detections``; ``detection_rate`` = matched / faces whose image could be searched).

A sample without a box is a failure (NME ``inf``, counted in FR), or with ``strict`` an InputError
before any landmark inference. What determines the boxes (file sha256 and field; detector model
sha256, spec, match IoU) is recorded by :meth:`ResolvedBoxes.protocol` (flat protocol keys) and is part of the crop
cache key (:meth:`ResolvedBoxes.cache_identity`).

The reason prefixes are how :func:`box_source_stats` recounts the per-split figures from a run
file's ``failure_reasons`` (a merged or re-scored run gives the same counts).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from faceval.detection.geometry import DEFAULT_MIN_IOU
from faceval.errors import InputError

#: Box sources of a model run (``landmarks`` and ``dataset`` are handled by the engine itself).
BOX_SOURCES = ("landmarks", "dataset", "file", "detector")
#: Reason prefixes of samples left without a box.
MISSING_BOX = "no face box"
MISSED_DETECTION = "face not detected"


@dataclass(frozen=True)
class BoxSourceRequest:
    """Which face box a run uses, and its inputs.

    Attributes:
        kind: one of :data:`BOX_SOURCES`.
        boxes_file: the box file (``file`` only).
        boxes_field: ``bb_detector`` | ``bb_ground_truth`` for 300W ``.mat`` box files (``file`` only).
        detector: the ONNX face detector (``detector`` only; None = the bundled UltraFace RFB-320).
        detector_spec_file: a JSON detector spec (``detector`` only; None = UltraFace's contract).
        min_iou: least IoU of a detection with the GT landmark box for a match (``detector`` only).
    """

    kind: str = "landmarks"
    boxes_file: Path | None = None
    boxes_field: str | None = None
    detector: Path | None = None
    detector_spec_file: Path | None = None
    min_iou: float = DEFAULT_MIN_IOU

    def check(self) -> None:
        """Refuse inconsistent settings before any work (InputError, one line)."""
        if self.kind not in BOX_SOURCES:
            raise InputError(f"unknown box source '{self.kind}': use one of {', '.join(BOX_SOURCES)}")
        if self.kind == "file":
            if self.boxes_file is None:
                raise InputError("--box file needs --boxes FILE (CSV, JSON or 300W bounding_boxes_*.mat)")
        elif self.boxes_file is not None or self.boxes_field is not None:
            raise InputError(f"--boxes/--boxes-field apply to --box file only, not to --box {self.kind}")
        if self.kind != "detector":
            if self.detector is not None or self.detector_spec_file is not None:
                raise InputError(f"--detector applies to --box detector only, not to --box {self.kind}")
            if self.min_iou != DEFAULT_MIN_IOU:
                raise InputError(f"--detector-iou applies to --box detector only, not to --box {self.kind}")
        if not (isinstance(self.min_iou, (int, float)) and 0.0 < float(self.min_iou) <= 1.0):
            raise InputError(f"--detector-iou must lie in (0, 1], got {self.min_iou!r}")

    @property
    def external(self) -> bool:
        """True for ``file`` and ``detector`` (boxes come from :func:`resolve_boxes`)."""
        return self.kind in ("file", "detector")


@dataclass(frozen=True)
class ResolvedBoxes:
    """One box per sample from a ``file`` or ``detector`` source.

    Attributes:
        kind: ``"file"`` or ``"detector"``.
        boxes: ``(N, 4)`` float64 ``x1, y1, x2, y2`` (point frame); NaN rows where the sample has none.
        reasons: sample index -> why it has no box (only for NaN rows whose image exists).
        source: what determines the boxes (file sha256/field, or detector identity and match IoU).
        provenance: where it ran (detector providers, cache file); not part of the identity.
        detector_seconds: detector wall time (decode + inference on cache misses); None for ``file``.
        warnings: messages for the user (cache problems).
    """

    kind: str
    boxes: np.ndarray
    reasons: dict[int, str]
    source: dict[str, Any]
    provenance: dict[str, Any] = field(default_factory=dict)
    detector_seconds: float | None = None
    warnings: list[str] = field(default_factory=list)

    def protocol(self) -> dict[str, Any]:
        """Protocol entries of the run (flat JSON scalars, like every protocol key): the box source's identity.

        ``file``: ``box_file``, ``box_file_sha256``, ``box_file_format``, ``box_file_field``.
        ``detector``: ``detector_model``, ``detector_model_sha256``, ``detector_spec`` (compact JSON),
        ``detector_min_iou``, ``detector_code_version``.
        """
        src = self.source
        if self.kind == "file":
            return {"box_file": src["file"], "box_file_sha256": src["sha256"], "box_file_format": src["format"],
                    "box_file_field": src["field"]}
        return {"detector_model": src["model"], "detector_model_sha256": src["model_sha256"],
                "detector_spec": json.dumps(src["spec"], sort_keys=True, separators=(",", ":")),
                "detector_min_iou": float(src["min_iou"]), "detector_code_version": int(src["detection_code_version"])}

    def cache_identity(self) -> str:
        """A short hash of :attr:`source` and the boxes themselves, for the crop cache key."""
        text = json.dumps(self.source, sort_keys=True, separators=(",", ":"), default=str)
        digest = hashlib.sha256(text.encode())
        digest.update(np.ascontiguousarray(self.boxes, dtype=np.float64).tobytes())
        return digest.hexdigest()[:32]

    def missing(self) -> np.ndarray:
        """``(N,)`` bool: samples with a reason (no box; their image exists)."""
        out = np.zeros(self.boxes.shape[0], dtype=bool)
        out[list(self.reasons)] = True
        return out


def resolve_boxes(
    request: BoxSourceRequest,
    sample_ids: Sequence[str],
    image_paths: Sequence[Path | None],
    landmarks: np.ndarray,
    *,
    device: str = "auto",
    cache_dir: Path | None = None,
    use_cache: bool = True,
    strict: bool = False,
) -> ResolvedBoxes:
    """The boxes of a ``file`` or ``detector`` source for these samples (see the module docstring).

    Args:
        request: the box source (``kind`` ``file`` or ``detector``).
        sample_ids, image_paths, landmarks: the samples (GT landmarks are what detections are matched to).
        device: where the detector runs.
        cache_dir: detector box cache folder (None = the default, :func:`detection_cache_dir`).
        use_cache: False = detect every image again and store nothing.
        strict: a sample without a box (or an unreadable image) raises InputError.

    Raises:
        InputError: bad settings, an unreadable box file or detector, and with ``strict`` a missing box.
        RuntimeFailure: the detector fails.
    """
    request.check()
    if request.kind == "file":
        return _from_file(request, sample_ids, image_paths, strict)
    if request.kind == "detector":
        return _from_detector(request, sample_ids, image_paths, landmarks, device, cache_dir, use_cache, strict)
    raise InputError(f"box source '{request.kind}' needs no resolving: the engine crops it itself")


def _from_file(request: BoxSourceRequest, sample_ids: Sequence[str], image_paths: Sequence[Path | None],
               strict: bool) -> ResolvedBoxes:
    from faceval.io.boxes import read_boxes

    assert request.boxes_file is not None
    table = read_boxes(request.boxes_file, request.boxes_field)
    found = table.lookup(list(sample_ids))
    name = Path(request.boxes_file).name
    reasons: dict[int, str] = {}
    for i in np.flatnonzero(~found.found):
        if image_paths[i] is None:
            continue  # the engine reports the missing image
        if strict:
            raise InputError(f"sample '{sample_ids[i]}' has no box in the box file (--strict)", path=request.boxes_file)
        reasons[int(i)] = f"{MISSING_BOX} for this sample in {name}"
    return ResolvedBoxes("file", found.boxes, reasons, {"kind": "file", **table.provenance()})


def _from_detector(request: BoxSourceRequest, sample_ids: Sequence[str], image_paths: Sequence[Path | None],
                   landmarks: np.ndarray, device: str, cache_dir: Path | None, use_cache: bool,
                   strict: bool) -> ResolvedBoxes:
    from faceval.detection.cache import DetectionCache
    from faceval.detection.detector import FaceDetector
    from faceval.detection.faces import detect_face_boxes
    from faceval.detection.spec import load_detector_spec_file

    spec = load_detector_spec_file(request.detector_spec_file) if request.detector_spec_file is not None else None
    detector = FaceDetector(request.detector, spec, device=device)
    cache = None
    warnings: list[str] = []
    if use_cache:
        try:
            cache = DetectionCache(cache_dir, {**detector.identity(), "device": detector.info.device,
                                               "onnxruntime": detector.info.provenance().get("onnxruntime_version")})
        except OSError as exc:
            warnings.append(f"detector box cache disabled ({exc})")
    found = detect_face_boxes(image_paths, landmarks, detector, min_iou=request.min_iou, cache=cache, strict=strict)
    reasons: dict[int, str] = {}
    for i in np.flatnonzero(~found.matched):
        if image_paths[i] is None:
            continue  # the engine reports the missing image
        if int(i) in found.unreadable:
            reasons[int(i)] = found.unreadable[int(i)]
            continue
        why = (f"{MISSED_DETECTION} (best IoU with the GT landmark box {found.iou[i]:.2f} < {request.min_iou:g})"
               if found.iou[i] > 0 else f"{MISSED_DETECTION} (no detection overlaps the GT landmark box)")
        if strict:
            raise InputError(f"{why} for sample '{sample_ids[i]}' (--strict)", path=image_paths[i])
        reasons[int(i)] = why
    source = {"kind": "detector", "min_iou": float(request.min_iou), **detector.identity()}
    provenance = {"detector": detector.provenance(), "detector_cache": str(cache.path) if cache is not None else None,
                  "detector_images": found.n_images, "detector_images_detected": found.n_detected,
                  "detector_images_cached": found.n_cached}
    return ResolvedBoxes("detector", found.boxes, reasons, source, provenance, found.detector_seconds,
                         warnings + found.warnings)


def box_source_stats(box_source: str | None, reasons: np.ndarray, failed: np.ndarray) -> dict[str, float]:
    """Per-split box figures recounted from a run's failure reasons (``box_source`` file or detector).

    ``file``: ``n_missing_boxes``. ``detector``: ``n_missed_detections`` and ``detection_rate`` =
    1 - missed / (faces whose image could be searched, i.e. not failed for another reason). Other box
    sources: nothing.
    """
    kind = box_source
    texts = [str(r) for r in np.asarray(reasons, dtype=object).reshape(-1)]
    if kind == "file":
        return {"n_missing_boxes": sum(t.startswith(MISSING_BOX) for t in texts)}
    if kind == "detector":
        failed = np.asarray(failed, dtype=bool).reshape(-1)
        missed = sum(t.startswith(MISSED_DETECTION) for t in texts)
        other = int(sum(bool(f) and not t.startswith(MISSED_DETECTION) for f, t in zip(failed, texts)))
        searched = len(texts) - other
        return {"n_missed_detections": int(missed),
                "detection_rate": float(1.0 - missed / searched) if searched else float("nan")}
    return {}
