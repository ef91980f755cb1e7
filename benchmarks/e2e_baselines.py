"""Baselines for bench_run.py, each run as its own process (start-up counted).

    python e2e_baselines.py naive DATA_ROOT MODEL          per image: Pillow full decode, crop, resize, session.run
    python e2e_baselines.py infer INPUTS.npy MODEL         session.run on ready inputs only

Prints one JSON line: images, seconds inside the process, NME (naive only).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

T0 = time.perf_counter()

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

CONV = (list(range(0, 33, 2)) + list(range(33, 38)) + list(range(42, 47)) + list(range(51, 60))
        + [60, 61, 63, 64, 65, 67, 68, 69, 71, 72, 73, 75] + list(range(76, 96)))


def naive(root: Path, model: str) -> dict:
    from PIL import Image

    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    errors, inputs = [], []
    files = sorted((root / "300w" / "helen" / "testset").glob("*.pts"))
    for pts_file in files:
        gt = np.loadtxt(pts_file) - 1.0
        lo, hi = gt.min(axis=0), gt.max(axis=0)
        centre, side = (lo + hi) / 2, (hi - lo).max() * 1.2
        x0, y0 = centre - side / 2
        img = Image.open(pts_file.with_suffix(".jpg")).convert("RGB")
        pad = int(side) + 2
        padded = Image.new("RGB", (img.width + 2 * pad, img.height + 2 * pad))
        padded.paste(img, (pad, pad))
        bx, by = x0 + pad + 0.5, y0 + pad + 0.5
        crop = padded.resize((112, 112), Image.Resampling.BILINEAR, box=(bx, by, bx + side, by + side))
        x = ((np.asarray(crop, dtype=np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None]
        inputs.append(x[0])
        out = sess.run(None, {name: x})[0].reshape(98, 2)
        pred = out[CONV] * side + np.array([x0, y0])
        errors.append(np.linalg.norm(pred - gt, axis=1).mean() / np.linalg.norm(gt[36] - gt[45]))
    elapsed = time.perf_counter() - T0
    if len(sys.argv) > 4:
        np.save(sys.argv[4], np.stack(inputs))
    return {"images": len(files), "seconds_in_process": elapsed, "nme": float(np.mean(errors))}


def infer(inputs_path: str, model: str) -> dict:
    x = np.load(inputs_path)
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    for i in range(len(x)):
        sess.run(None, {name: x[i : i + 1]})
    return {"images": int(len(x)), "seconds_in_process": time.perf_counter() - T0}


if __name__ == "__main__":
    mode, arg, model = sys.argv[1], sys.argv[2], sys.argv[3]
    print(json.dumps(naive(Path(arg), model) if mode == "naive" else infer(arg, model)))
