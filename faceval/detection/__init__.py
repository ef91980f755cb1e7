"""Face detection for the ``detector`` box source: detector spec, ONNX detector, NMS, matching, box cache.

onnxruntime is imported only when a :class:`FaceDetector` is created.
"""

from faceval.detection.cache import DetectionCache, detection_cache_dir
from faceval.detection.detector import (
    DETECTION_CODE_VERSION,
    Detections,
    FaceDetector,
    decode_detections,
    default_detector_path,
)
from faceval.detection.faces import FaceBoxes, detect_face_boxes
from faceval.detection.geometry import DEFAULT_MIN_IOU, hard_nms, iou_matrix, landmark_boxes, match_face
from faceval.detection.spec import ULTRAFACE_SPEC, DetectorSpec, load_detector_spec_file

__all__ = [
    "DEFAULT_MIN_IOU",
    "DETECTION_CODE_VERSION",
    "DetectionCache",
    "DetectorSpec",
    "Detections",
    "FaceBoxes",
    "FaceDetector",
    "ULTRAFACE_SPEC",
    "decode_detections",
    "default_detector_path",
    "detect_face_boxes",
    "detection_cache_dir",
    "hard_nms",
    "iou_matrix",
    "landmark_boxes",
    "load_detector_spec_file",
    "match_face",
]
