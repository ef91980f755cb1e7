"""``faceval run`` over many models in one process (a sweep).

``faceval run --model 'ckpts/*.onnx'`` (a glob, or ``--model`` given several times) evaluates
every model on the same dataset selection, one after the other, in one process: one run file
per model, each exactly what a separate ``faceval run`` of that model would write. Every model
goes through :func:`faceval.evaluation.evaluate.evaluate_model`; the models share one crop cache,
whose key is the crop spec (input size, box, scale, square, resample, dataset, data root) and not
the model, so each image is decoded once for all the models that share a crop spec and the others
read its crops. With ``use_cache=False`` the shared cache is a temporary folder removed at the end
(the user's cache is neither read nor written).
"""

from __future__ import annotations

import dataclasses
import glob
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from faceval.errors import InputError
from faceval.evaluation.evaluate import EvaluationRequest, EvaluationResult, ProgressReporter, evaluate_model


def is_sweep(models: Sequence[str | os.PathLike[str]]) -> bool:
    """True for several models, or for a model argument that is a glob pattern."""
    return len(models) > 1 or any(glob.has_magic(str(m)) for m in models)


def expand_models(patterns: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Model files of ``patterns`` in the order given (each glob's matches sorted), without repeating a path.

    Raises:
        InputError: a glob that matches no file.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    for pattern in patterns:
        text = os.path.expanduser(str(pattern))
        if glob.has_magic(text):
            hits = [Path(h) for h in sorted(glob.glob(text)) if Path(h).is_file()]
            if not hits:
                raise InputError(f"--model '{pattern}': no model file matches this pattern")
        else:
            hits = [Path(text)]
        for hit in hits:
            # the same path twice is one model; a link under another name is another model (its own run file)
            key = Path(os.path.abspath(hit))
            if key not in seen:
                seen.add(key)
                out.append(hit)
    return out


def sweep_targets(models: Sequence[Path], out_dir: Path, dataset: str) -> list[Path]:
    """``OUT_DIR/<model stem>-<dataset>.h5`` per model.

    Raises:
        InputError: two models with the same file stem (their run files would collide).
    """
    safe = "".join(c if c.isalnum() or c in "_.-" else "_" for c in dataset)
    targets: dict[Path, Path] = {}
    for model in models:
        target = out_dir / f"{model.stem}-{safe}.h5"
        if target in targets:
            raise InputError(f"models {targets[target]} and {model} would both write {target}; rename one of them")
        targets[target] = model
    return list(targets)


@dataclass
class SweepEntry:
    """One model of a sweep: its file, its run file and what ``evaluate_model`` returned."""

    model_path: Path
    out: Path
    result: EvaluationResult


@dataclass
class SweepResult:
    entries: list[SweepEntry]
    total_s: float


def evaluate_sweep(
    template: EvaluationRequest,
    models: Sequence[Path],
    targets: Sequence[Path],
    *,
    on_message: Callable[[str], None] = lambda message: None,
    progress: Callable[[Path], ProgressReporter | None] = lambda model: None,
) -> SweepResult:
    """Evaluate each model with ``template``'s settings, writing ``targets[i]`` for ``models[i]``.

    ``template.model_path``, ``out`` and ``label`` are replaced per model (the label is the model
    file's stem). The first failure stops the sweep; the run files already written stay (each is
    complete).
    """
    if len(models) != len(targets):
        raise ValueError("one target per model")
    if template.label is not None:
        raise InputError("--label names one run; a sweep labels each run by its model file's stem")
    started = time.perf_counter()
    scratch = None
    base = template
    if not template.use_cache:
        scratch = Path(tempfile.mkdtemp(prefix="faceval-sweep-crops-"))
        base = dataclasses.replace(template, use_cache=True, cache_dir=scratch)
    try:
        entries = []
        for model, target in zip(models, targets):
            on_message(f"model {len(entries) + 1} of {len(models)}: {model}")
            request = dataclasses.replace(base, model_path=Path(model), out=Path(target), label=None)
            result = evaluate_model(request, on_message=on_message, progress=progress(Path(model)))
            entries.append(SweepEntry(Path(model), Path(target), result))
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return SweepResult(entries, time.perf_counter() - started)
