"""Where faceval keeps its caches: one rule for the crop, model-cost and detector-box caches.

``--cache DIR`` (or ``$FACEVAL_CACHE_DIR``) names the cache folder: crops live in ``DIR`` itself,
the other kinds in ``DIR/<kind>``, so everything stays under the folder the user named. Without
either, each kind has its own folder per user: ``${XDG_CACHE_HOME:-~/.cache}/faceval/<kind>``.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The kinds of cache, and the one stored directly in a named cache folder.
KINDS = ("crops", "models", "detections")
_IN_NAMED_FOLDER = "crops"


def cache_folder(kind: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder of cache ``kind`` (one of :data:`KINDS`) for ``--cache`` ``cache_dir`` (or None)."""
    if kind not in KINDS:
        raise ValueError(f"unknown cache kind {kind!r}; known: {', '.join(KINDS)}")
    named = cache_dir if cache_dir is not None else os.environ.get("FACEVAL_CACHE_DIR") or None
    if named is not None:
        root = Path(named).expanduser()
        return root if kind == _IN_NAMED_FOLDER else root / kind
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "faceval" / kind
