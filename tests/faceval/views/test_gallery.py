"""Gallery: face choice, drawing (colours at the right pixels), determinism, self-contained HTML."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from faceval.errors import InputError
from faceval.views.gallery import (GT_COLOUR, PRED_COLOUR, GalleryOptions, draw_face, render_html, render_png,
                                   select_faces)
from tests.faceval.views.helpers import FAILURES, run_with_failures


def test_worst_faces_are_ranked_by_nme_and_skip_failures():
    run = run_with_failures()
    faces = select_faces(run, GalleryOptions(worst=5))
    finite = sorted(((float(v), i) for i, v in enumerate(run.nme) if np.isfinite(v)), reverse=True)
    assert [f.index for f in faces] == [i for _, i in finite[:5]]
    assert [f.rank for f in faces] == [1, 2, 3, 4, 5]


def test_chosen_samples_keep_their_order_and_may_be_failures():
    run = run_with_failures()
    ids = [str(run.sample_ids[i]) for i in (9, 3, 0)]
    faces = select_faces(run, GalleryOptions(samples=tuple(ids)))
    assert [f.sample_id for f in faces] == ids
    assert faces[1].failure_reason == FAILURES[3][0]
    with pytest.raises(InputError, match=r"sample id 'img099.jpg' is not in run 'model' \(did you mean"):
        select_faces(run, GalleryOptions(samples=("img099.jpg",)))


def test_an_empty_choice_of_samples_is_an_error_not_an_empty_gallery():
    """`--samples ,` (or `--samples ""`) used to write a gallery of 0 faces with exit 0."""
    with pytest.raises(InputError, match=r"^--samples: no sample id given"):
        select_faces(run_with_failures(), GalleryOptions(samples=()))


def test_random_faces_depend_on_the_seed_only():
    run = run_with_failures()
    a = [f.index for f in select_faces(run, GalleryOptions(random=6, seed=1))]
    assert a == [f.index for f in select_faces(run, GalleryOptions(random=6, seed=1))]
    assert a != [f.index for f in select_faces(run, GalleryOptions(random=6, seed=2))]
    assert len(set(a)) == 6 and a == sorted(a)
    b = [f.index for f in select_faces(run, GalleryOptions(random=4, seed=0, split="b"))]
    assert set(b) <= set(int(i) for i in run.splits["b"])
    with pytest.raises(InputError, match="one way"):
        select_faces(run, GalleryOptions(worst=3, random=2))


def _colour_near(img: np.ndarray, x: float, y: float, colour: tuple[int, int, int]) -> bool:
    px = img[int(round(y)), int(round(x))].astype(int)
    return bool(np.abs(px - np.asarray(colour)).max() < 40)


def test_gt_is_blue_and_prediction_orange_at_their_own_pixels():
    image = Image.new("RGB", (400, 300), (128, 128, 128))
    gt = np.array([[100.0, 100.0], [200.0, 120.0], [150.0, 200.0]])
    pred = gt + np.array([[30.0, 0.0], [0.0, 30.0], [-30.0, -20.0]])
    tile = 256
    picture = np.asarray(draw_face(image, gt, pred, tile))
    assert picture.shape == (tile, tile, 3)
    # independent mapping: the square around GT and prediction, side x 1.25, cut at integer pixels
    pts = np.vstack([gt, pred])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    side = (hi - lo).max() * 1.25
    left, top = np.floor((lo + hi) / 2 - side / 2)
    size = np.ceil(side)
    to_tile = lambda p: ((p[0] + 0.5 - left) * tile / size - 0.5, (p[1] + 0.5 - top) * tile / size - 0.5)
    for g, p in zip(gt, pred):
        assert _colour_near(picture, *to_tile(g), GT_COLOUR)
        assert _colour_near(picture, *to_tile(p), PRED_COLOUR)
        mid = (np.asarray(to_tile(g)) + np.asarray(to_tile(p))) / 2  # the error line: white
        assert picture[int(round(mid[1])), int(round(mid[0]))].min() > 180  # the photo there is grey 128
    # away from every point and line the photo is untouched grey
    assert np.abs(picture[5, 5].astype(int) - 128).max() <= 2


def _faces_and_pictures(run, n=3):
    faces = select_faces(run, GalleryOptions(worst=n))
    rng = np.random.default_rng(0)
    pictures = [draw_face(Image.fromarray(rng.integers(0, 255, (220, 220, 3), dtype=np.uint8)),
                          run.ground_truth[f.index], run.predictions[f.index], 64) for f in faces]
    return faces, pictures


def test_png_and_html_are_deterministic():
    run = run_with_failures()
    options = GalleryOptions(worst=3, tile=64)
    first = [render_png(run, *_faces_and_pictures(run), options), render_html(run, *_faces_and_pictures(run), options)]
    again = [render_png(run, *_faces_and_pictures(run), options), render_html(run, *_faces_and_pictures(run), options)]
    assert first == again
    assert first[0].startswith(b"\x89PNG")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        for name, value in attrs:
            if name in ("src", "href"):
                (self.images if tag == "img" and value.startswith("data:image/png;base64,") else self.external).append(value)


def test_html_is_self_contained_with_decodable_images_and_escaped_captions():
    run = run_with_failures()
    run.sample_ids[0] = "<b>x</b>.jpg"
    faces, pictures = _faces_and_pictures(run, 20)
    text = render_html(run, faces, pictures, GalleryOptions(worst=20, tile=64)).decode("utf-8")
    parser = _Collector()
    parser.feed(text)
    assert parser.external == []
    assert len(parser.images) == len(faces) == 20 - len(FAILURES)
    for src in parser.images:
        im = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        assert im.size == (64, 64)
    assert "&lt;b&gt;x&lt;/b&gt;.jpg" in text and "<b>x</b>" not in text
    nmes = re.findall(r"#\d+ NME (\d+\.\d\d) %", text)
    assert [float(v) for v in nmes] == [round(100 * f.nme, 2) for f in faces]
