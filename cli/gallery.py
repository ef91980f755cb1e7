"""``faceval gallery RUN --out worst.html|worst.png``: faces with GT and prediction drawn."""

from __future__ import annotations

from pathlib import Path

import click

from faceval_cli.common import data_root_option, info


@click.command("gallery")
@click.argument("run_path", metavar="RUN", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="worst.html (one self-contained page) or worst.png (one picture).")
@click.option("--worst", type=int, default=None, help="The N images with the highest NME (default 12).")
@click.option("--samples", default=None, help="Comma-separated sample ids to show, in this order.")
@click.option("--random", "random_n", type=int, default=None, help="N samples drawn at random (see --seed).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --random.")
@click.option("--split", default=None, help="Choose the worst or random faces within this split.")
@click.option("--tile", type=int, default=256, show_default=True, help="Size of each face picture, pixels.")
@click.option("--columns", type=int, default=4, show_default=True, help="Faces per row (PNG).")
@data_root_option
def command(run_path: Path, out: Path, worst: int | None, samples: str | None, random_n: int | None, seed: int,
            split: str | None, tile: int, columns: int, data_root: Path | None) -> None:
    """Draw faces of a run, cut from the original images under the data root: GT (blue circles),
    prediction (orange squares), a line per point between them; NME and sample id below each."""
    from faceval.runs.runfile import read_run
    from faceval.views.gallery import GalleryOptions, gallery_format, write_gallery

    gallery_format(out)  # an unknown suffix fails before anything is read
    chosen = None if samples is None else tuple(s.strip() for s in samples.split(",") if s.strip())
    options = GalleryOptions(worst=worst, samples=chosen, random=random_n, seed=seed, split=split,
                             tile=tile, columns=columns)
    run = read_run(run_path)
    if run.pose_only:
        from faceval.errors import InputError

        raise InputError(f"run '{run.label}' is pose-only: it has no landmarks to draw", path=run_path)
    faces = write_gallery(run, out, data_root, options)
    info(f"wrote {len(faces)} face{'' if len(faces) == 1 else 's'} to {out}")
