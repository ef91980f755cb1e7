"""faceval: evaluation toolkit for facial landmark and head-pose models.

The public Python API (see the README, "Python API")::

    faceval.evaluate(model, dataset, ...) -> Run      # run an ONNX model, as `faceval run`
    faceval.score(predictions, dataset, ...) -> Run   # score predictions, as `faceval score`
    faceval.load_run(path) -> Run                      # read a run file (verified)
    faceval.load_dataset(dataset) -> Annotations       # ground truth of a dataset selection
    faceval.report(runs, format=...) -> str           # tables, as `faceval report`
    faceval.gate(run, baseline, rules=...) -> GateResult

``import faceval`` imports nothing heavy (no numpy, h5py, onnxruntime, pandas, matplotlib
or scipy): the names above, and submodules such as ``faceval.datasets``, are imported on
first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> module that defines it (imported on first access)
_API = {name: "faceval.api" for name in ("evaluate", "score", "load_run", "load_dataset", "gate", "Run", "BUNDLED_MODEL")}
_API["GateResult"] = "faceval.report.gate"
_API["InputError"] = "faceval.errors"
_API["FacevalError"] = "faceval.errors"
_SUBMODULES = ("api", "datasets", "errors", "evaluation", "io", "metrics", "models", "pipeline", "report", "runs",
               "schemes")

# ``faceval.report`` is the report package, callable as faceval.api.report (see faceval/report/__init__.py):
# the import system sets the package attribute to the submodule, so a plain function could not keep the name.
__all__ = sorted([*_API, "report"])


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"faceval.{name}")
    raise AttributeError(f"module 'faceval' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API) | set(_SUBMODULES))
