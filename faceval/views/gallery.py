"""``faceval gallery RUN --out F.html|F.png``: faces with ground truth and prediction drawn.

Each face is cut again from its original image (read from the data root, so the run file alone
is not enough), around the union of its GT and predicted points, and drawn with Pillow:

* ground truth: Okabe–Ito blue ``#0072B2`` filled circles;
* prediction: Okabe–Ito orange ``#E69F00`` filled squares (shape differs too, not only colour);
* a thin line from each GT point to its prediction (the point's error);
* caption: rank, NME (percent, the run's normaliser) and the sample id.

Output is deterministic: the same run, images and options give the same bytes (PNG and HTML;
the HTML embeds each face as a base64 PNG, so it is one self-contained file).
"""

from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceval.atomic import atomic_path, check_writable_target
from faceval.errors import ID_CUTOFF, InputError, closest
from faceval.views.samples import failure_reasons, rows_of, split_membership, worst_indices

GT_COLOUR = (0, 114, 178)       # Okabe–Ito blue
PRED_COLOUR = (230, 159, 0)     # Okabe–Ito orange
LINE_COLOUR = (255, 255, 255)   # error lines: white, drawn over a dark halo
HALO_COLOUR = (0, 0, 0)
GALLERY_FORMATS = (".html", ".png")
DEFAULT_WORST = 12
#: the face region: the box of GT and prediction, square, enlarged by this factor
CONTEXT_SCALE = 1.25
_SUPERSAMPLE = 2


@dataclass(frozen=True)
class GalleryFace:
    """One face of the gallery (what its caption says)."""

    index: int
    rank: int
    sample_id: str
    splits: tuple[str, ...]
    nme: float
    failure_reason: str


@dataclass(frozen=True)
class GalleryOptions:
    """How the faces are chosen and drawn. Exactly one of ``worst``, ``samples``, ``random``."""

    worst: int | None = None
    samples: tuple[str, ...] | None = None
    random: int | None = None
    seed: int = 0
    split: str | None = None
    tile: int = 256
    columns: int = 4

    def describe(self, n_faces: int) -> str:
        where = f" of {self.split}" if self.split else ""
        if self.samples is not None:
            return f"{n_faces} chosen samples"
        if self.random is not None:
            return f"{n_faces} random samples{where} (seed {self.seed})"
        return f"the {n_faces} worst images{where} by NME"


def gallery_format(path: Path) -> str:
    """``.html`` or ``.png`` from the suffix; InputError otherwise."""
    suffix = path.suffix.lower()
    if suffix not in GALLERY_FORMATS:
        raise InputError(f"unknown gallery format '{path.suffix or '(no suffix)'}'; expected .html or .png", path=path)
    return suffix


def select_faces(run, options: GalleryOptions) -> list[GalleryFace]:  # type: ignore[no-untyped-def]
    """The faces to show, in gallery order (worst first; as given; or random in id order)."""
    if run.pose_only:
        raise InputError(f"run '{run.label}' is pose-only: it has no landmarks to draw")
    chosen = [x is not None for x in (options.worst, options.samples, options.random)]
    if sum(chosen) > 1:
        raise InputError("choose the faces one way: --worst N, --samples ID,... or --random N")
    ids = [str(s) for s in run.sample_ids]
    if options.samples is not None:
        if not options.samples:
            raise InputError("--samples: no sample id given; expected ID,... (e.g. the sample_id column of "
                             "'faceval export RUN --out ids.csv')")
        position = {sid: i for i, sid in enumerate(ids)}
        unknown = [s for s in options.samples if s not in position]
        if unknown:
            raise InputError(f"sample id '{unknown[0]}' is not in run '{run.label}'{closest(unknown[0], ids, ID_CUTOFF)}; "
                             f"list them with 'faceval export RUN --out ids.csv'")
        indices = np.asarray([position[s] for s in options.samples], dtype=np.int64)
    elif options.random is not None:
        if options.random < 1:
            raise InputError(f"--random expects a number of faces >= 1, found {options.random}")
        rows = rows_of(run, options.split)
        rng = np.random.default_rng(options.seed)
        pick = rng.choice(len(rows), size=min(options.random, len(rows)), replace=False)
        indices = rows[np.sort(pick)]
    else:
        n = DEFAULT_WORST if options.worst is None else options.worst
        if n < 1:
            raise InputError(f"--worst expects a number of faces >= 1, found {n}")
        indices = worst_indices(run, n, options.split)
        if len(indices) == 0:
            raise InputError(f"run '{run.label}' has no scored image to show (every sample failed)")
    reasons = failure_reasons(run)
    members = split_membership(run)
    nme = np.asarray(run.nme, dtype=np.float64)
    return [GalleryFace(index=int(i), rank=r, sample_id=ids[int(i)], splits=members[int(i)], nme=float(nme[int(i)]),
                        failure_reason=str(reasons[int(i)])) for r, i in enumerate(indices, 1)]


# --------------------------------------------------------------------------- images

def face_images(run, faces: list[GalleryFace], data_root: Path | None) -> list["object"]:  # type: ignore[no-untyped-def]
    """Decode the original image of each face (RGB ``PIL.Image``) from the data root.

    The dataset is located through the run's ``dataset_spec`` (provenance) and loaded again;
    its ground truth must equal the run's for every face shown, so a different copy of the
    dataset under the data root is an error, not a wrong picture.
    """
    from PIL import Image

    from faceval.datasets import NO_ROOT, image_loader, load, resolve_data_root
    from faceval.datasets.registry import resolve_splits
    from faceval.pipeline.images import open_image

    spec = str(run.provenance.get("dataset_spec") or run.dataset)
    info, _, _ = resolve_splits(spec)
    root = resolve_data_root(data_root)
    if info.needs_data_root and root is None:
        recorded = run.provenance.get("data_root")
        hint = f" (the run was made with data root {recorded})" if recorded else ""
        raise InputError(f"the gallery reads each face from its original image: {NO_ROOT}{hint}")
    ann = load(spec, root)
    position = {sid: i for i, sid in enumerate(ann.sample_ids)}
    loader = None
    images = []
    for face in faces:
        if face.sample_id not in position:
            raise InputError(f"sample '{face.sample_id}' of the run is not in {spec} under data root {root}")
        row = position[face.sample_id]
        gt_run = np.asarray(run.ground_truth[face.index], dtype=np.float64)
        if not np.allclose(ann.landmarks[row], gt_run, rtol=0.0, atol=1e-6, equal_nan=True):
            raise InputError(f"sample '{face.sample_id}': the ground truth under data root {root} differs from the "
                             f"run's; is it the copy of {spec} the run was made from?")
        path = ann.image_paths[row]
        if path is not None:
            image, _, _ = open_image(path)
        elif ann.dataset == "cofw":
            loader = loader or image_loader(ann)
            image = Image.fromarray(np.asarray(loader(row), dtype=np.uint8)).convert("RGB")
        else:
            raise InputError(f"image of sample '{face.sample_id}' not found under data root {root}")
        images.append(image)
    if loader is not None and hasattr(loader, "close"):
        loader.close()
    return images


def _font(size: int):  # type: ignore[no-untyped-def]
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        return ImageFont.load_default()


def _fit(draw, text: str, font, width: int) -> str:  # type: ignore[no-untyped-def]
    """``text``, cut from the left with an ellipsis until it fits ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength("…" + text, font=font) > width:
        text = text[1:]
    return "…" + text


def face_region(gt: np.ndarray, pred: np.ndarray) -> tuple[int, int, int]:
    """``(left, top, side)`` integer pixels: the square around GT and finite predicted points."""
    pts = np.concatenate([gt[np.isfinite(gt).all(axis=1)], pred[np.isfinite(pred).all(axis=1)]])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre = (lo + hi) / 2.0
    side = max(float((hi - lo).max()) * CONTEXT_SCALE, 8.0)
    left = int(math.floor(centre[0] - side / 2.0))
    top = int(math.floor(centre[1] - side / 2.0))
    return left, top, int(math.ceil(side))


def draw_face(image, gt: np.ndarray, pred: np.ndarray, tile: int):  # type: ignore[no-untyped-def]
    """The ``tile`` x ``tile`` RGB picture of one face with GT, prediction and error lines."""
    from PIL import Image, ImageDraw

    gt = np.asarray(gt, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    left, top, side = face_region(gt, pred)
    big = tile * _SUPERSAMPLE
    crop = image.crop((left, top, left + side, top + side)).resize((big, big), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(crop)
    scale = big / side

    def to_tile(p: np.ndarray) -> tuple[float, float]:
        # pixel centres at integers in both frames
        return ((p[0] + 0.5 - left) * scale - 0.5, (p[1] + 0.5 - top) * scale - 0.5)

    r = max(3.0, big / 128.0)
    ok = np.isfinite(gt).all(axis=1) & np.isfinite(pred).all(axis=1)
    for width, colour in ((max(3, round(r * 1.25)), HALO_COLOUR), (max(2, round(r * 0.75)), LINE_COLOUR)):
        for k in np.flatnonzero(ok):
            draw.line([to_tile(gt[k]), to_tile(pred[k])], fill=colour, width=width)
    for k in np.flatnonzero(np.isfinite(pred).all(axis=1)):
        x, y = to_tile(pred[k])
        draw.rectangle([x - r, y - r, x + r, y + r], fill=PRED_COLOUR, outline=HALO_COLOUR)
    for k in np.flatnonzero(np.isfinite(gt).all(axis=1)):
        x, y = to_tile(gt[k])
        draw.ellipse([x - r, y - r, x + r, y + r], fill=GT_COLOUR, outline=HALO_COLOUR)
    return crop.resize((tile, tile), Image.Resampling.LANCZOS)


def _nme_text(face: GalleryFace) -> str:
    if face.failure_reason:
        return f"failed: {face.failure_reason}"
    return f"NME {100 * face.nme:.2f} %"


def _png_bytes(image) -> bytes:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=9)
    return buffer.getvalue()


def _title(run, options: GalleryOptions, n_faces: int) -> str:  # type: ignore[no-untyped-def]
    normalizer = run.protocol.normalizer or ""
    return f"{run.label} on {run.provenance.get('dataset_spec') or run.dataset}: {options.describe(n_faces)} " \
           f"(NME {normalizer})"


def _legend(draw, x: int, y: int, font) -> None:  # type: ignore[no-untyped-def]
    r = 6
    draw.ellipse([x, y, x + 2 * r, y + 2 * r], fill=GT_COLOUR, outline=HALO_COLOUR)
    x += 2 * r + 6
    draw.text((x, y - 1), "ground truth", fill=(0, 0, 0), font=font)
    x += int(draw.textlength("ground truth", font=font)) + 18
    draw.rectangle([x, y, x + 2 * r, y + 2 * r], fill=PRED_COLOUR, outline=HALO_COLOUR)
    x += 2 * r + 6
    draw.text((x, y - 1), "prediction", fill=(0, 0, 0), font=font)
    x += int(draw.textlength("prediction", font=font)) + 18
    draw.line([(x, y + r), (x + 24, y + r)], fill=HALO_COLOUR, width=4)
    draw.line([(x, y + r), (x + 24, y + r)], fill=LINE_COLOUR, width=2)
    draw.text((x + 30, y - 1), "error of each point", fill=(0, 0, 0), font=font)


def render_png(run, faces: list[GalleryFace], pictures: list, options: GalleryOptions) -> bytes:  # type: ignore[no-untyped-def]
    """One PNG: a title and legend strip, then the faces in a grid with two caption lines each."""
    from PIL import Image, ImageDraw

    tile, pad, caption, header = options.tile, 8, 38, 52
    columns = max(1, min(options.columns, len(faces)))
    rows = -(-len(faces) // columns)
    width = max(columns * (tile + pad) + pad, 520)
    sheet = Image.new("RGB", (width, header + rows * (tile + caption + pad) + pad), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font, small = _font(14), _font(12)
    draw.text((pad, 8), _fit(draw, _title(run, options, len(faces)), font, width - 2 * pad), fill=(0, 0, 0), font=font)
    _legend(draw, pad, 30, small)
    for n, (face, picture) in enumerate(zip(faces, pictures)):
        x = pad + (n % columns) * (tile + pad)
        y = header + (n // columns) * (tile + caption + pad)
        sheet.paste(picture, (x, y))
        draw.text((x, y + tile + 3), f"#{face.rank}  {_nme_text(face)}", fill=(0, 0, 0), font=font)
        draw.text((x, y + tile + 21), _fit(draw, face.sample_id, small, tile), fill=(60, 60, 60), font=small)
    return _png_bytes(sheet)


_HTML_STYLE = """
body { font-family: sans-serif; margin: 16px; color: #111; background: #fff; }
h1 { font-size: 18px; margin: 0 0 6px 0; }
.legend { font-size: 13px; margin-bottom: 12px; }
.legend span { display: inline-block; width: 12px; height: 12px; border: 1px solid #000; vertical-align: -2px; margin: 0 4px 0 12px; }
.legend .gt { background: #0072B2; border-radius: 50%; }
.legend .pred { background: #E69F00; }
.faces { display: flex; flex-wrap: wrap; gap: 10px; }
figure { margin: 0; width: TILEpx; }
figure img { display: block; width: TILEpx; height: TILEpx; }
figcaption { font-size: 13px; margin-top: 3px; overflow-wrap: anywhere; }
figcaption .id { color: #444; font-size: 12px; }
"""


def render_html(run, faces: list[GalleryFace], pictures: list, options: GalleryOptions) -> bytes:  # type: ignore[no-untyped-def]
    """One self-contained HTML page (each face an embedded base64 PNG; no external resource)."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(_title(run, options, len(faces)))}</title>",
        f"<style>{_HTML_STYLE.replace('TILE', str(options.tile))}</style>",
        "</head><body>",
        f"<h1>{esc(_title(run, options, len(faces)))}</h1>",
        '<div class="legend"><span class="gt"></span>ground truth<span class="pred"></span>prediction'
        " &nbsp;lines: the error of each point</div>",
        '<div class="faces">',
    ]
    for face, picture in zip(faces, pictures):
        data = base64.b64encode(_png_bytes(picture)).decode("ascii")
        splits = ", ".join(face.splits)
        parts.append(
            f'<figure><img class="face" src="data:image/png;base64,{data}" width="{options.tile}" '
            f'height="{options.tile}" alt="{esc(face.sample_id, quote=True)}">'
            f"<figcaption>#{face.rank} {esc(_nme_text(face))}<br><span class=\"id\">{esc(face.sample_id)}"
            f" [{esc(splits)}]</span></figcaption></figure>"
        )
    parts += ["</div>", "</body></html>", ""]
    return "\n".join(parts).encode("utf-8")


def write_gallery(run, out: Path, data_root: Path | None, options: GalleryOptions) -> list[GalleryFace]:  # type: ignore[no-untyped-def]
    """Choose the faces, read their images, draw them and write ``out`` (.html or .png) atomically."""
    out = Path(out)
    fmt = gallery_format(out)
    check_writable_target(out)
    if options.tile < 32 or options.columns < 1:
        raise InputError(f"expected --tile >= 32 and --columns >= 1, found {options.tile} and {options.columns}")
    faces = select_faces(run, options)
    images = face_images(run, faces, data_root)
    pictures = [draw_face(image, run.ground_truth[f.index], run.predictions[f.index], options.tile)
                for f, image in zip(faces, images)]
    payload = render_png(run, faces, pictures, options) if fmt == ".png" else render_html(run, faces, pictures, options)
    with atomic_path(out) as tmp:
        tmp.write_bytes(payload)
    return faces
