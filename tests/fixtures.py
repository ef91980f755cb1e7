"""Synthetic fixtures in the real on-disk formats, shared by every test module.

Import as ``from tests.fixtures import build_300w_tree`` (pytest runs with --import-mode=importlib).
All landmark arguments are 0-based pixel coordinates (the in-memory convention); the writers apply
each format's own convention (1-based ``.pts`` and COFW, as-stored WFLW and AFLW2000).

Builders:
    template_300w()                          real 68-point face (einstein.pts), 0-based
    random_faces(n, scheme, seed)            (n, K, 2) plausible faces (template + random similarity)
    build_300w_tree(root, samples, with_images)
    write_image(path, width, height, seed)
    wflw_records(n_images, faces_per_image, seed) / write_wflw_list / write_wflw_attribute_list
    build_wflw_tree(root, test_records, train_records, with_images, attribute_lists)
    write_cofw_mat(path, split, landmarks, occluded, boxes_xywh, images)
    write_aflw2000_mat(path, landmarks, pose_ypr_degrees) / build_aflw2000_tree(root, records, with_images)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from faceval.io.pts import read_pts, write_pts

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO_ROOT / "faceval" / "data" / "sample"
WFLW_ATTRIBUTE_FILES = ("largepose", "expression", "illumination", "makeup", "occlusion", "blur")
WFLW_FLAG_FOR_FILE = dict(zip(WFLW_ATTRIBUTE_FILES, range(6)))


# --------------------------------------------------------------------------- landmarks and images

def template_300w() -> np.ndarray:
    """A real 68-point face (the bundled einstein.pts), 0-based."""
    return read_pts(SAMPLE_DIR / "einstein.pts", 68)


def random_faces(n: int, scheme: str = "300w", seed: int = 0, size: float = 200.0,
                 image_size: int = 320) -> np.ndarray:
    """``(n, K, 2)`` plausible faces: a template under random scale, rotation and shift.

    ``scheme`` is ``300w`` (68), ``wflw`` (98: 68 template points resampled), ``cofw`` (29) or
    ``aflw`` (19); the non-68 templates are point subsets or interpolations (shape-plausible only).
    """
    rng = np.random.default_rng(seed)
    base = template_300w()
    base = (base - base.mean(axis=0)) / np.ptp(base, axis=0).max()
    if scheme == "wflw":
        t = np.linspace(0, 67, 98)
        base = np.stack([np.interp(t, np.arange(68), base[:, d]) for d in range(2)], axis=1)
    elif scheme == "cofw":
        base = base[np.linspace(17, 67, 29).astype(int)]
    elif scheme == "aflw":
        base = base[np.linspace(17, 67, 19).astype(int)]
    faces = np.empty((n,) + base.shape)
    for i in range(n):
        angle = rng.uniform(-0.3, 0.3)
        scale = size * rng.uniform(0.7, 1.0)
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        centre = image_size / 2 + rng.uniform(-0.05, 0.05, size=2) * image_size
        faces[i] = base @ rot.T * scale + centre
    return faces


def write_image(path: Path, width: int = 64, height: int = 64, seed: int = 0) -> Path:
    """A small random RGB image; the format follows the suffix (.jpg, .png, .ppm ...)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def _image_size_for(landmarks: np.ndarray, margin: int = 16) -> tuple[int, int]:
    finite = np.asarray(landmarks)[np.isfinite(landmarks).all(axis=-1)]
    if finite.size == 0:
        return 64, 64
    x_max, y_max = finite.max(axis=0)
    return int(max(64, np.ceil(x_max) + margin)), int(max(64, np.ceil(y_max) + margin))


# --------------------------------------------------------------------------- 300W

def build_300w_tree(root: Path, samples: Mapping[str, np.ndarray] | None = None, with_images: bool = True) -> Path:
    """Write a 300W tree under ``root/300w/``; return ``root`` (the data root).

    Args:
        root: the data root (``faceval.datasets.load("300w...", root)`` reads it).
        samples: sample id (e.g. ``"helen/testset/a.jpg"``, ``"300W/01_Indoor/indoor_001.png"``) ->
            ``(68, 2)`` 0-based landmarks. Written as official 1-based ``.pts`` beside the image.
            None: three random helen test faces.
        with_images: also write a small image (format from the id's extension) big enough to hold
            the landmarks; False writes only the ``.pts`` files.
    """
    root = Path(root)
    if samples is None:
        faces = random_faces(3)
        samples = {f"helen/testset/face_{i}.jpg": faces[i] for i in range(3)}
    for k, (sid, landmarks) in enumerate(samples.items()):
        image = root / "300w" / sid
        image.parent.mkdir(parents=True, exist_ok=True)
        write_pts(image.with_suffix(".pts"), np.asarray(landmarks, dtype=np.float64))
        if with_images:
            width, height = _image_size_for(landmarks)
            write_image(image, width, height, seed=k)
    return root


# --------------------------------------------------------------------------- WFLW

def wflw_records(n_images: int = 4, faces_per_image: Sequence[int] = (1, 2), seed: int = 0,
                 event: str = "0--Parade") -> list[dict]:
    """Synthetic WFLW records ``{"image", "landmarks" (98,2), "box" (4,), "flags" (6,) int}``.

    Image ``j`` gets ``faces_per_image[j % len]`` faces (consecutive lines, as in the real lists);
    flags are random 0/1 with a fixed seed.
    """
    rng = np.random.default_rng(seed)
    records = []
    for j in range(n_images):
        image = f"{event}/{event.split('--')[0]}_{event.split('--')[-1]}_img_{j}.jpg"
        count = faces_per_image[j % len(faces_per_image)]
        faces = random_faces(count, "wflw", seed=seed * 1000 + j, size=100, image_size=320)
        for face in faces:
            box = np.concatenate([face.min(axis=0) - 5, face.max(axis=0) + 5])
            records.append({"image": image, "landmarks": face, "box": box,
                            "flags": rng.integers(0, 2, size=6)})
    return records


def _coords(landmarks: np.ndarray) -> str:
    return " ".join(f"{v:.6f}" for v in np.asarray(landmarks, dtype=np.float64).reshape(-1))


def write_wflw_list(path: Path, records: Iterable[dict]) -> Path:
    """A full WFLW list: 196 coordinates, rectangle, six flags, image path (207 tokens)."""
    lines = []
    for r in records:
        box = " ".join(str(int(round(v))) for v in r["box"])
        flags = " ".join(str(int(f)) for f in r["flags"])
        lines.append(f"{_coords(r['landmarks'])} {box} {flags} {r['image']}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


def write_wflw_attribute_list(path: Path, records: Iterable[dict]) -> Path:
    """An attribute list: 196 coordinates + image path (197 tokens)."""
    lines = [f"{_coords(r['landmarks'])} {r['image']}" for r in records]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="ascii")
    return path


def build_wflw_tree(root: Path, test_records: list[dict] | None = None, train_records: list[dict] | None = None,
                    with_images: bool = True, attribute_lists: bool = True) -> Path:
    """Write ``root/wflw/`` in the official layout; return ``root``.

    ``attribute_lists`` also writes the six ``list_98pt_test_<attr>.txt`` files derived from the
    flags (as the official ones are).
    """
    root = Path(root)
    base = root / "wflw"
    ann = base / "WFLW_annotations"
    test_records = wflw_records() if test_records is None else test_records
    write_wflw_list(ann / "list_98pt_rect_attr_train_test" / "list_98pt_rect_attr_test.txt", test_records)
    if train_records is not None:
        write_wflw_list(ann / "list_98pt_rect_attr_train_test" / "list_98pt_rect_attr_train.txt", train_records)
    if attribute_lists:
        for name, col in WFLW_FLAG_FOR_FILE.items():
            write_wflw_attribute_list(ann / "list_98pt_test" / f"list_98pt_test_{name}.txt",
                                      [r for r in test_records if int(r["flags"][col]) == 1])
    if with_images:
        for k, image in enumerate(sorted({r["image"] for r in test_records + (train_records or [])})):
            write_image(base / "WFLW_images" / image, 320, 320, seed=k)
    return root


# --------------------------------------------------------------------------- COFW (MATLAB v7.3)

def _matlab_header() -> bytes:
    text = (f"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: "
            f"{time.strftime('%a %b %d %H:%M:%S %Y', time.gmtime(0))} HDF5 schema 1.00 .").encode("ascii")
    return text.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"


def write_cofw_mat(path: Path, split: str, landmarks: np.ndarray, occluded: np.ndarray,
                   boxes_xywh: np.ndarray, images: Sequence[np.ndarray] | None = None,
                   extra_splits: Mapping[str, tuple] | None = None) -> Path:
    """Write a COFW v7.3 ``.mat`` as MATLAB does: 512-byte user block with the MATLAB header,
    matrices stored transposed, images as a cell array of object references into ``#refs#``.

    Args:
        split: ``test`` (``IsT``/``phisT``/``bboxesT``) or ``train`` (``...Tr``).
        landmarks: ``(N, 29, 2)`` 0-based (written 1-based).
        occluded: ``(N, 29)`` bool (written as 0/1 flags).
        boxes_xywh: ``(N, 4)`` as stored: 1-based x, y and w, h.
        images: N ``(H, W, 3)`` or ``(H, W)`` uint8 arrays (default: 48x40 random RGB).
    """
    import h5py

    suffix = {"test": "T", "train": "Tr"}[split]
    landmarks = np.asarray(landmarks, dtype=np.float64)
    n = len(landmarks)
    if images is None:
        rng = np.random.default_rng(0)
        images = [rng.integers(0, 256, size=(48, 40, 3), dtype=np.uint8) for _ in range(n)]
    phis = np.concatenate([landmarks[:, :, 0] + 1, landmarks[:, :, 1] + 1, np.asarray(occluded, dtype=np.float64)],
                          axis=1)
    with h5py.File(path, "w", userblock_size=512) as f:
        refs_group = f.create_group("#refs#")
        refs = np.empty((1, n), dtype=h5py.ref_dtype)
        for i, image in enumerate(images):
            ds = refs_group.create_dataset(f"img{i}", data=np.asarray(image, dtype=np.uint8).T)
            ds.attrs["MATLAB_class"] = np.bytes_("uint8")
            refs[0, i] = ds.ref
        cell = f.create_dataset(f"Is{suffix}", data=refs, dtype=h5py.ref_dtype)
        cell.attrs["MATLAB_class"] = np.bytes_("cell")
        for name, value in ((f"phis{suffix}", phis), (f"bboxes{suffix}", np.asarray(boxes_xywh, dtype=np.float64))):
            ds = f.create_dataset(name, data=value.T)
            ds.attrs["MATLAB_class"] = np.bytes_("double")
    with open(path, "r+b") as handle:
        handle.write(_matlab_header())
    return path


def cofw_arrays(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random ``(landmarks 0-based, occluded, boxes_xywh 1-based)`` for ``n`` COFW faces."""
    rng = np.random.default_rng(seed)
    landmarks = random_faces(n, "cofw", seed=seed, size=30, image_size=44)
    occluded = rng.random((n, 29)) < 0.2
    lo = landmarks.min(axis=1)
    hi = landmarks.max(axis=1)
    boxes = np.concatenate([lo + 1, hi - lo], axis=1)
    return landmarks, occluded, boxes


# --------------------------------------------------------------------------- AFLW2000-3D

def write_aflw2000_mat(path: Path, landmarks: np.ndarray, pose_ypr_degrees: Sequence[float]) -> Path:
    """An AFLW2000-3D ``.mat`` (MATLAB v5) with ``pt3d_68``, ``pt2d``, ``Pose_Para`` and ``roi``.

    ``landmarks`` ``(68, 2)`` are stored as given in ``pt3d_68[:2]`` (z = 0); ``Pose_Para`` holds
    pitch, yaw, roll in radians (converted from the given yaw, pitch, roll degrees).
    """
    from scipy.io import savemat

    landmarks = np.asarray(landmarks, dtype=np.float64)
    yaw, pitch, roll = np.radians(np.asarray(pose_ypr_degrees, dtype=np.float64))
    pt3d = np.vstack([landmarks.T, np.zeros((1, 68))])
    pt2d = -np.ones((2, 21))
    pt2d[:, :19] = landmarks[np.linspace(17, 67, 19).astype(int)].T
    roi = np.concatenate([landmarks.min(axis=0), landmarks.max(axis=0)])[None]
    savemat(str(path), {"pt3d_68": pt3d, "pt2d": pt2d, "roi": roi,
                        "Pose_Para": np.array([[pitch, yaw, roll, 0.0, 0.0, 0.0, 1.0]])})
    return path


def build_aflw2000_tree(root: Path, records: Mapping[str, tuple[np.ndarray, Sequence[float]]],
                        with_images: bool = True) -> Path:
    """Write ``root/aflw2000/AFLW2000/<name>.{jpg,mat}``; records: ``image00002.jpg`` -> (landmarks, yaw/pitch/roll)."""
    base = Path(root) / "aflw2000" / "AFLW2000"
    base.mkdir(parents=True, exist_ok=True)
    for k, (name, (landmarks, pose)) in enumerate(records.items()):
        write_aflw2000_mat(base / (Path(name).stem + ".mat"), landmarks, pose)
        if with_images:
            write_image(base / name, 120, 120, seed=k)
    return Path(root)
