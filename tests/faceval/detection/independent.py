"""A straightforward detector + crop + landmark-model loop, written without faceval, for comparisons.

What a user would write from the model cards alone (../shared/data/README.md, evaluation.md §1 and §6):
UltraFace on the whole image resized to 320x240 ((pixel - 127)/128, RGB), face scores > 0.7, greedy hard NMS
at IoU 0.3, the detection with the highest IoU against the GT landmark box (>= 0.3), a square crop of side
max(w, h) * scale around its centre, GhostOne at 112x112 ((pixel/255 - 0.5)/0.5), WFLW -> 300W conversion,
inter-ocular NME (outer eye corners 36, 45).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[3]
GHOSTONE = REPO / "faceval" / "data" / "models" / "PFLD_GhostOne_112_1_opt_sim.onnx"
CONVERSION = (list(range(0, 33, 2)) + list(range(33, 38)) + list(range(42, 47)) + list(range(51, 60))
              + [60, 61, 63, 64, 65, 67, 68, 69, 71, 72, 73, 75] + list(range(76, 96)))


def _iou(a, b) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(iw, 0.0) * max(ih, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def ultraface_boxes(session, image) -> list[tuple[float, list[float]]]:
    """(score, [x1, y1, x2, y2] in image pixels, pixel centres at integers) after threshold and NMS."""
    from PIL import Image

    x = (np.asarray(image.resize((320, 240), Image.Resampling.BILINEAR), dtype=np.float32) - 127.0) / 128.0
    scores, boxes = session.run(["scores", "boxes"], {"input": x.transpose(2, 0, 1)[None]})
    cands = sorted(((float(s), list(map(float, b))) for s, b in zip(scores[0, :, 1], boxes[0]) if s > 0.7),
                   key=lambda t: -t[0])[:200]
    kept: list[tuple[float, list[float]]] = []
    for s, b in cands:
        if all(_iou(b, k) <= 0.3 for _, k in kept):
            kept.append((s, b))
    w, h = image.size
    return [(s, [b[0] * w - 0.5, b[1] * h - 0.5, b[2] * w - 0.5, b[3] * h - 0.5]) for s, b in kept]


def detector_nme(images: list[Path], scale: float = 1.0) -> tuple[float, int]:
    """Mean inter-ocular NME (fraction) over the faces matched by the detector, and the number of misses."""
    import onnxruntime as ort
    from PIL import Image

    from tests.conftest import shared_path

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    det = ort.InferenceSession(str(shared_path("models", "ultraface", "version-RFB-320.onnx")), opts,
                               providers=["CPUExecutionProvider"])
    lmk = ort.InferenceSession(str(GHOSTONE), opts, providers=["CPUExecutionProvider"])
    name = lmk.get_inputs()[0].name
    errors, misses = [], 0
    for path in images:
        gt = np.loadtxt(path.with_suffix(".pts")) - 1.0  # header-less 1-based .pts
        gt_box = [*gt.min(axis=0), *gt.max(axis=0)]
        img = Image.open(path).convert("RGB")
        found = ultraface_boxes(det, img)
        best = max(found, key=lambda t: _iou(t[1], gt_box), default=None)
        if best is None or _iou(best[1], gt_box) < 0.3:
            misses += 1
            errors.append(np.inf)
            continue
        b = best[1]
        centre = np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2])
        side = max(b[2] - b[0], b[3] - b[1]) * scale
        x0, y0 = centre - side / 2
        pad = int(side) + 2  # zero padding so boxes that leave the photo can be cut
        padded = Image.new("RGB", (img.width + 2 * pad, img.height + 2 * pad))
        padded.paste(img, (pad, pad))
        bx, by = x0 + pad + 0.5, y0 + pad + 0.5  # Pillow's frame puts pixel i's centre at i + 0.5
        crop = padded.resize((112, 112), Image.Resampling.BILINEAR, box=(bx, by, bx + side, by + side))
        x = (np.asarray(crop, dtype=np.float32) / 255.0 - 0.5) / 0.5
        out = lmk.run(None, {name: x.transpose(2, 0, 1)[None]})[0].reshape(98, 2)
        pred = out[CONVERSION] * side + np.array([x0, y0])
        errors.append(np.linalg.norm(pred - gt, axis=1).mean() / np.linalg.norm(gt[36] - gt[45]))
    return float(np.mean(errors)), misses
