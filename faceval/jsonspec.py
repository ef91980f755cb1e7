"""The shape shared by the model spec and the detector spec: a frozen dataclass with a JSON form.

:class:`JsonSpec` is a mixin for ``@dataclass(frozen=True)`` classes whose every field has a JSON
form (:class:`faceval.models.spec.ModelSpec`, :class:`faceval.detection.spec.DetectorSpec`). The
subclass names what it is (``kind``, for messages) and gives its field checks as the static method
``validate_fields``; the mixin gives validation on construction, ``from_dict``, ``with_overrides``,
``to_dict``, ``to_json`` and reading a JSON spec file. What the fields are and how each is checked
stays with the subclass.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, ClassVar, Mapping, TypeVar

from faceval.errors import InputError, closest

S = TypeVar("S", bound="JsonSpec")


class JsonSpec:
    """Mixin: construction-time validation and the JSON form of a frozen spec dataclass."""

    #: what the spec is called in messages ("model spec", "detector spec")
    kind: ClassVar[str]

    @staticmethod
    def validate_fields(data: dict[str, Any], source: str) -> dict[str, Any]:
        """Validate and normalise the fields present in ``data``; InputError naming ``source`` and the field."""
        raise NotImplementedError

    @classmethod
    def reject_unknown_fields(cls, data: Mapping[str, Any], source: str) -> None:
        """InputError naming the unknown fields of ``data``, the closest known name and every known one."""
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        unknown = [k for k in data if k not in names]
        if unknown:
            raise InputError(
                f"unknown {cls.kind} field{'s' if len(unknown) > 1 else ''} {', '.join(repr(k) for k in unknown)}"
                f"{closest(str(unknown[0]), names)}; known fields: {', '.join(names)}",
                path=source,
            )

    def __post_init__(self) -> None:
        # Normalise and validate programmatic construction too (``ModelSpec(mean=0.5)``).
        checked = self.validate_fields({f.name: getattr(self, f.name) for f in dataclasses.fields(self)},  # type: ignore[arg-type]
                                    type(self).__name__)
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_dict(cls: type[S], data: Mapping[str, Any], *, source: str | None = None) -> S:
        """Build from a JSON-like mapping; unknown fields and wrong types raise InputError.

        ``source`` (a file path, ``"ONNX metadata"`` ...; default: the kind) is named in messages.
        """
        if not isinstance(data, Mapping):
            raise InputError(f"a {cls.kind} must be a JSON object, got {type(data).__name__}", path=source)
        source = source or cls.kind
        cls.reject_unknown_fields(data, source)
        return cls(**cls.validate_fields(dict(data), source))

    def with_overrides(self: S, _source: str = "overrides", **overrides: Any) -> S:
        """A copy with the given fields replaced; ``None`` values are ignored (flag not given)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        self.reject_unknown_fields(given, _source)
        return type(self)(**self.validate_fields({**self.to_dict(), **self.validate_fields(given, _source)}, _source))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field (lists for tuples), for metadata, cache keys and run files."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def to_json(self) -> str:
        """Compact JSON string with sorted keys (what goes into ONNX metadata and identity keys)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def load_file(cls: type[S], path: str | Path) -> S:
        """Read a JSON spec file; a missing file, bad JSON (``path:line:``), unknown fields or wrong
        types raise InputError naming the file."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{cls.kind} file not found", path=path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc.msg} (column {exc.colno})", path=path, line=exc.lineno) from None
        except UnicodeDecodeError:
            raise InputError("not a UTF-8 text file", path=path) from None
        return cls.from_dict(data, source=str(path))
