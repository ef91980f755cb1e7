"""Reference processes for bench_run.py, each run as its own process (start-up counted).

    python e2e_baselines.py naive DATA_ROOT MODEL       per image: Pillow full decode, crop, resize, session.run
    python e2e_baselines.py infer INPUTS.npy MODEL [THREADS]
                                                        session.run on ready inputs only (THREADS: ORT
                                                        intra-op threads, 0 = ORT's default with spinning;
                                                        1 = one thread, no spinning)
    python e2e_baselines.py overlapped DATA_ROOT MODEL [WORKERS]
                                                        the achievable limit: Pillow draft decode + crop in
                                                        WORKERS (default 2) threads overlapped with batch-1
                                                        inference on one ORT thread that does not spin

Prints one JSON line: images, seconds inside the process, NME (naive and overlapped).

DATA_ROOT holds ``300w/helen/testset/*.jpg|*.pts`` (header-less .pts, 1-based). The
``overlapped`` crops follow faceval's protocol exactly (GT landmark box x 1.2, square,
112x112 bilinear, JPEG drafted at the largest DCT reduction that keeps the input
resolution, out-of-image pixels black) but are written here independently of faceval's
code, so a change in faceval cannot move the limit; ``bench_run.py`` checks that
:func:`protocol_crop` gives the same pixels as faceval's loader before it times anything.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

T0 = time.perf_counter()

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

# WFLW 98 -> iBUG 68 (the conversion faceval uses for these models)
CONV = (list(range(0, 33, 2)) + list(range(33, 38)) + list(range(42, 47)) + list(range(51, 60))
        + [60, 61, 63, 64, 65, 67, 68, 69, 71, 72, 73, 75] + list(range(76, 96)))
SIZE = 112


def helen_files(root: Path) -> list[Path]:
    return sorted((root / "300w" / "helen" / "testset").glob("*.pts"))


def read_gt(pts_file: Path) -> np.ndarray:
    """68 x 2 points in faceval's 0-based frame (the files are 1-based, header-less)."""
    return np.loadtxt(pts_file) - 1.0


def crop_rect(gt: np.ndarray, scale: float = 1.2) -> np.ndarray:
    """GT landmark box, square, x scale: ``[x0, y0, x1, y1]`` in the 0-based point frame."""
    lo, hi = gt.min(axis=0), gt.max(axis=0)
    c = (lo + hi) / 2.0
    half = (hi - lo).max() * scale / 2.0
    return np.array([c[0] - half, c[1] - half, c[0] + half, c[1] + half])


def protocol_crop(image_path: Path, rect: np.ndarray, size: int = SIZE) -> np.ndarray:
    """``(size, size, 3)`` uint8 crop: draft decode, bilinear resample, black outside the image."""
    from PIL import Image, JpegImagePlugin

    im = JpegImagePlugin.JpegImageFile(str(image_path))
    w0, h0 = im.size
    need = max(size / (rect[2] - rect[0]), size / (rect[3] - rect[1]))
    s = next((f for f in (8, 4, 2) if 1.0 / f >= need), 1)
    scale = 1.0
    if s > 1 and im.draft("RGB", (w0 // s, h0 // s)) is not None:
        scale = 1.0 / s
    im = im.convert("RGB") if im.mode != "RGB" else im
    im.load()
    bx0, by0, bx1, by1 = ((rect + 0.5) * scale).tolist()
    iw, ih = im.size
    mx = int(math.ceil(max(1.0, (bx1 - bx0) / size))) + 2
    my = int(math.ceil(max(1.0, (by1 - by0) / size))) + 2
    rx0, ry0 = int(math.floor(bx0)) - mx, int(math.floor(by0)) - my
    rx1, ry1 = int(math.ceil(bx1)) + mx, int(math.ceil(by1)) + my
    flt = Image.Resampling.BILINEAR
    if rx0 >= 0 and ry0 >= 0 and rx1 <= iw and ry1 <= ih:
        return np.asarray(im.resize((size, size), flt, box=(bx0, by0, bx1, by1), reducing_gap=None))
    # the crop leaves the image: edge-extend for the filter, then black where the sample centre is outside
    cx0, cy0 = min(max(rx0, 0), iw - 1), min(max(ry0, 0), ih - 1)
    cx1, cy1 = max(min(rx1, iw), cx0 + 1), max(min(ry1, ih), cy0 + 1)
    sub = np.asarray(im.crop((cx0, cy0, cx1, cy1)))
    pl, pt = max(cx0 - rx0, 0), max(cy0 - ry0, 0)
    sub = np.pad(sub, ((pt, max(ry1 - cy1, 0)), (pl, max(rx1 - cx1, 0)), (0, 0)), mode="edge")
    ox, oy = cx0 - pl, cy0 - pt
    out = np.array(Image.fromarray(sub, "RGB").resize((size, size), flt, box=(bx0 - ox, by0 - oy, bx1 - ox, by1 - oy),
                                                       reducing_gap=None))
    jx = bx0 + (np.arange(size) + 0.5) * ((bx1 - bx0) / size)
    jy = by0 + (np.arange(size) + 0.5) * ((by1 - by0) / size)
    out[~((jy >= 0) & (jy < ih))] = 0
    out[:, ~((jx >= 0) & (jx < iw))] = 0
    return out


def normalise(crop: np.ndarray) -> np.ndarray:
    """``(1, 3, 112, 112)`` float32, ``(pixel / 255 - 0.5) / 0.5``."""
    return (crop.astype(np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0)).transpose(2, 0, 1)[None].copy()


def nme_of(out: np.ndarray, rect: np.ndarray, gt: np.ndarray) -> float:
    """Inter-ocular (outer corners) NME of one face; ``out`` is the 196 unit-crop coordinates."""
    pred = out.reshape(98, 2)[CONV] * (rect[2:] - rect[:2]) + rect[:2]
    return float(np.linalg.norm(pred - gt, axis=1).mean() / np.linalg.norm(gt[36] - gt[45]))


def session(model: str, threads: int) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    if threads > 0:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])


def naive(root: Path, model: str) -> dict:
    """The loop a user writes: full decode, pad, crop + resize with Pillow, one session.run per image."""
    from PIL import Image

    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    errors = []
    files = helen_files(root)
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
        out = sess.run(None, {name: x})[0].reshape(98, 2)
        pred = out[CONV] * side + np.array([x0, y0])
        errors.append(np.linalg.norm(pred - gt, axis=1).mean() / np.linalg.norm(gt[36] - gt[45]))
    return {"images": len(files), "seconds_in_process": time.perf_counter() - T0, "nme": float(np.mean(errors))}


def infer(inputs_path: str, model: str, threads: int) -> dict:
    """Open the session, run every ready input once at batch 1."""
    x = np.load(inputs_path)
    sess = session(model, threads)
    name = sess.get_inputs()[0].name
    for i in range(len(x)):
        sess.run(None, {name: x[i : i + 1]})
    return {"images": int(len(x)), "seconds_in_process": time.perf_counter() - T0}


def overlapped(root: Path, model: str, workers: int) -> dict:
    """Decode + crop in ``workers`` threads (Pillow releases the GIL), inference in the main thread."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    def work(pts_file: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        gt = read_gt(pts_file)
        rect = crop_rect(gt)
        return protocol_crop(pts_file.with_suffix(".jpg"), rect), rect, gt

    files = helen_files(root)
    pool = ThreadPoolExecutor(max_workers=workers)
    window = 4 * workers
    pending = deque(pool.submit(work, f) for f in files[:window])
    rest = iter(files[window:])
    sess = session(model, 1)  # created while the first crops decode
    name = sess.get_inputs()[0].name
    errors = []
    while pending:
        crop, rect, gt = pending.popleft().result()
        nxt = next(rest, None)
        if nxt is not None:
            pending.append(pool.submit(work, nxt))
        out = sess.run(None, {name: normalise(crop)})[0]
        errors.append(nme_of(out, rect, gt))
    pool.shutdown()
    return {"images": len(files), "seconds_in_process": time.perf_counter() - T0, "nme": float(np.mean(errors))}


def main(argv: list[str]) -> None:
    mode, arg, model = argv[0], argv[1], argv[2]
    extra = int(argv[3]) if len(argv) > 3 else None
    if mode == "naive":
        result = naive(Path(arg), model)
    elif mode == "infer":
        result = infer(arg, model, 0 if extra is None else extra)
    elif mode == "overlapped":
        result = overlapped(Path(arg), model, 2 if extra is None else extra)
    else:
        sys.exit(f"unknown mode {mode!r}: naive, infer or overlapped")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
