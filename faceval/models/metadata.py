"""Read and write ONNX model metadata (``metadata_props``), in particular the faceval spec.

Reading works with either onnxruntime or onnx installed; writing needs the ``onnx`` package
(a base dependency of faceval). Writes are atomic: a temporary file in the destination folder,
then ``os.replace``. Only the metadata entry changes: the graph, initialisers, opsets and other
metadata entries are kept as they are.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

from faceval.errors import InputError
from faceval.models.spec import METADATA_KEY, ModelSpec, spec_from_metadata

#: faceval is not on the package index, so the hint names the missing package itself.
ONNX_HINT = "the onnx package is not installed (a dependency of faceval): pip install 'onnx>=1.14'"


def import_onnx() -> Any:
    """Import onnx lazily; a missing package raises InputError with the install hint."""
    try:
        import onnx
    except ImportError:
        raise InputError(ONNX_HINT) from None
    return onnx


def load_onnx(path: str | Path) -> Any:
    """Load a ModelProto; a missing file or a non-ONNX file raises InputError naming the path."""
    onnx = import_onnx()
    path = Path(path)
    if not path.is_file():
        raise InputError("model file not found", path=path)
    try:
        return onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - protobuf raises several types
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"not an ONNX model ({first})", path=path) from None


def read_metadata(path: str | Path) -> dict[str, str]:
    """All ``metadata_props`` of a model (onnx if installed, else onnxruntime)."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        from faceval.models.session import create_session

        info = create_session(path, device="cpu")
        return dict(info.session.get_modelmeta().custom_metadata_map)
    model = load_onnx(path)
    return {p.key: p.value for p in model.metadata_props}


def read_spec(path: str | Path) -> ModelSpec | None:
    """The spec embedded under ``faceval.spec``, or None."""
    return spec_from_metadata(read_metadata(path), source=str(path))


def set_metadata(model: Any, entries: Mapping[str, str | None]) -> None:
    """Set (or, with value None, remove) entries of a ModelProto's metadata in place.

    Existing entries keep their order; a new key is appended at the end.
    """
    for key, value in entries.items():
        existing = [i for i, p in enumerate(model.metadata_props) if p.key == key]
        for i in reversed(existing[1:] if value is not None else existing):
            del model.metadata_props[i]
        if value is None:
            continue
        if existing:
            model.metadata_props[existing[0]].value = value
        else:
            entry = model.metadata_props.add()
            entry.key = key
            entry.value = value


def save_atomic(model: Any, out: str | Path) -> Path:
    """Serialise a ModelProto to ``out`` through a temp file in the same folder + os.replace."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = model.SerializeToString()
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=str(out.parent))
    try:
        if out.exists():
            os.chmod(tmp, out.stat().st_mode & 0o777)
        else:  # mkstemp creates 0600; use the usual umask-based mode
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return out


def write_spec(model_path: str | Path, spec: ModelSpec, out: str | Path | None = None) -> Path:
    """Store ``spec`` as JSON under ``faceval.spec`` in the model's metadata; return the written path.

    ``out`` defaults to rewriting ``model_path`` in place (atomically).
    """
    model = load_onnx(model_path)
    set_metadata(model, {METADATA_KEY: spec.to_json()})
    return save_atomic(model, out if out is not None else model_path)


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file (model provenance)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
