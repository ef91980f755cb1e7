"""Face detection for the ``detector`` box source: detector spec, ONNX detector, NMS, matching, box cache.

onnxruntime is imported only when a :class:`FaceDetector` is created. The names below are
imported from their submodules on first use (PEP 562), so ``faceval run`` with landmark boxes,
which needs only :mod:`faceval.detection.source`, does not import the detector, its cache and
spec at start-up.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> submodule of faceval.detection that defines it
_WHERE = {
    "DetectionCache": "cache", "detection_cache_dir": "cache",
    "DETECTION_CODE_VERSION": "detector", "Detections": "detector", "FaceDetector": "detector",
    "decode_detections": "detector", "default_detector_path": "detector",
    "FaceBoxes": "faces", "detect_face_boxes": "faces",
    "DEFAULT_MIN_IOU": "geometry", "hard_nms": "geometry", "iou_matrix": "geometry", "landmark_boxes": "geometry",
    "match_face": "geometry",
    "ULTRAFACE_SPEC": "spec", "DetectorSpec": "spec", "load_detector_spec_file": "spec",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'faceval.detection' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"faceval.detection.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
