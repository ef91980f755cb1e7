"""The one JSON clean-up: numpy values, paths, protocols and non-finite numbers to plain JSON.

:func:`to_jsonable` turns a value into dicts, lists, str, int, float, bool and None (recursively);
with ``finite=True`` (the default) an infinite or NaN float becomes ``None``, as JSON has no
infinity. :func:`json_default` is the ``json.dumps(default=...)`` hook for the same types.
"""

from __future__ import annotations

import math
from pathlib import PurePath
from typing import Any


def to_jsonable(value: Any, *, finite: bool = True) -> Any:
    """Plain JSON data of ``value`` (numpy scalars/arrays, tuples, paths, objects with ``to_dict``).

    ``finite=True``: non-finite floats become None. Anything else unknown becomes ``str(value)``.
    """
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if (not finite or math.isfinite(value)) else None
    if isinstance(value, dict):
        return {str(k): to_jsonable(v, finite=finite) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, finite=finite) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    to_dict = getattr(type(value), "to_dict", None)
    if callable(to_dict):
        return to_jsonable(value.to_dict(), finite=finite)
    import numpy as np

    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist(), finite=finite)
    if isinstance(value, np.generic):
        return to_jsonable(value.item(), finite=finite)
    return str(value)


def json_default(value: Any) -> Any:
    """Convert numpy scalars and arrays, paths and protocols for ``json.dumps(default=...)``."""
    import numpy as np

    if isinstance(value, (np.generic, np.ndarray, PurePath)) or callable(getattr(type(value), "to_dict", None)):
        return to_jsonable(value, finite=False)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
