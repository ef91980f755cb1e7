"""A model's cost (parameters, MACs, FLOPs at batch 1), counted once per model and cached.

Counting needs the ``onnx`` package (:func:`faceval.models.inspect.inspect_model`), whose import
alone costs about a second: ``faceval run`` therefore never counts. It records the cost in the run
file only when the per-user cache already holds it (a JSON read, keyed by the model's sha256);
otherwise the run file has none and a report that asks for it (``--model-columns params,flops``)
counts it lazily with :func:`fill_model_costs`: from the model file the run recorded
(``provenance.model_path``), only when that file still has the recorded sha256, and caches it for
the next time. A model file that is gone or changed gives no number (an empty cell) and a warning,
never another model's cost.

Cache: ``<cache>/models/<sha256>.json`` (``--cache`` or ``$FACEVAL_CACHE_DIR``), else
``${XDG_CACHE_HOME:-~/.cache}/faceval/models`` (:mod:`faceval.cachedirs`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from faceval.errors import InputError

if TYPE_CHECKING:
    from faceval.runs.data import RunData

#: The ``model_info`` keys of a cost.
COST_KEYS = ("params", "macs", "flops")


@dataclass(frozen=True)
class ModelCost:
    """Parameters, multiply-accumulates and FLOPs at batch 1 (None where unknown)."""

    params: int | None = None
    macs: int | None = None
    flops: int | None = None

    def to_dict(self) -> dict[str, int | None]:
        return {"params": self.params, "macs": self.macs, "flops": self.flops}


def model_cost_dir(cache_dir: Path | None) -> Path:
    """Where model costs are cached: ``<cache>/models`` (``--cache`` or ``$FACEVAL_CACHE_DIR``),
    else ``${XDG_CACHE_HOME:-~/.cache}/faceval/models`` (per user)."""
    from faceval.cachedirs import cache_folder

    return cache_folder("models", cache_dir)


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def cached_model_cost(sha256: str, cache_dir: Path | None = None) -> ModelCost | None:
    """The cost cached for the model of this sha256, or None (never counts, never imports onnx)."""
    store = model_cost_dir(cache_dir) / f"{sha256}.json"
    try:
        data = json.loads(store.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    return ModelCost(_int_or_none(data.get("params")), _int_or_none(data.get("macs")), _int_or_none(data.get("flops")))


def model_cost(model_path: Path, sha256: str, cache_dir: Path | None = None, *, compute: bool = True) -> ModelCost | None:
    """The model's cost: from the cache, else counted (``compute``; imports onnx) and cached.

    ``sha256`` must be the model file's: it is the cache key. None when not cached and not
    computable (no ``onnx``, an unreadable model).
    """
    cost = cached_model_cost(sha256, cache_dir)
    if cost is not None or not compute:
        return cost
    try:
        from faceval.models.inspect import inspect_model

        details = inspect_model(model_path)
    except InputError:
        return None
    cost = ModelCost(_int_or_none(details.get("params")), _int_or_none(details.get("macs")),
                     _int_or_none(details.get("flops")))
    store = model_cost_dir(cache_dir) / f"{sha256}.json"
    try:
        store.parent.mkdir(parents=True, exist_ok=True)
        from faceval.atomic import write_text_atomic

        write_text_atomic(store, json.dumps(cost.to_dict()))
    except (OSError, InputError):
        pass
    return cost


def _has_cost(info: object) -> bool:
    return isinstance(info, dict) and any(_int_or_none(info.get(k)) is not None for k in ("params", "flops"))


@dataclass(frozen=True)
class FilledRuns:
    """The runs (copies where a cost was added) and what could not be filled, one line each."""

    runs: list["RunData"]
    warnings: list[str]


def fill_model_costs(runs: Sequence["RunData"], cache_dir: Path | None = None) -> FilledRuns:
    """The runs with the cost in the ``model_info`` of those that lack it (the inputs are not changed).

    The cost is counted from the run's recorded model file (``provenance.model_path``) only when
    that file's sha256 still equals ``provenance.model_sha256``; otherwise the run stays without a
    cost and a warning names the run and why.
    """
    import copy

    from faceval.runs.provenance import sha256_file

    warnings: list[str] = []
    hashes: dict[str, str | None] = {}
    out: list["RunData"] = []
    for run in runs:
        out.append(run)
        if _has_cost(run.model_info):
            continue
        prov = run.provenance if isinstance(run.provenance, dict) else {}
        path, sha = prov.get("model_path"), prov.get("model_sha256")
        if not isinstance(path, str) or not isinstance(sha, str) or not sha:
            continue  # not made by `faceval run` (e.g. `faceval score`): no model to count
        cost = cached_model_cost(sha, cache_dir)
        if cost is None:
            if path not in hashes:
                try:
                    hashes[path] = sha256_file(path) if Path(path).is_file() else None
                except OSError:
                    hashes[path] = None
            if hashes[path] is None:
                warnings.append(f"run '{run.label}': model cost unknown, its model file {path} is gone")
                continue
            if hashes[path] != sha:
                warnings.append(f"run '{run.label}': model cost unknown, its model file {path} has changed since "
                                "the run (sha256 differs)")
                continue
            cost = model_cost(Path(path), sha, cache_dir)
            if cost is None:
                warnings.append(f"run '{run.label}': model cost unknown (cannot count {path}: is onnx installed?)")
                continue
        info = dict(run.model_info) if isinstance(run.model_info, dict) else {}
        info.update({k: v for k, v in cost.to_dict().items() if v is not None})
        filled = copy.copy(run)  # shallow: a lazily read run stays lazy (its arrays are not read)
        filled.model_info = info
        out[-1] = filled
    return FilledRuns(out, warnings)
