"""Error types that carry the CLI exit code a user should see.

Exit codes (see README): 0 success, 1 gate regression, 2 usage or input error,
3 runtime failure (model or provider), 130 interrupted, 143 terminated.
"""

from __future__ import annotations


class FacevalError(Exception):
    """An expected failure with a one-line, user-facing message."""

    exit_code = 3

    def __init__(self, message: str, *, path: object | None = None, line: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f":{line}"
            where += ": "
        super().__init__(f"{where}{message}")
        self.path = path
        self.line = line


class InputError(FacevalError):
    """Bad user input: a missing or malformed file, an unknown name, a bad flag value (exit 2)."""

    exit_code = 2


class RuntimeFailure(FacevalError):
    """A model or execution-provider failure (exit 3)."""

    exit_code = 3


# Sample ids are paths: any two share '/', 'test', '.jpg' and digits, which alone give a
# difflib ratio near 0.5 ('images/test/image_0238.png' vs 'helen/testset/3051542838_1.jpg' is 0.5).
# A suggestion for an id is made only when the ids are really alike (a typo, a renamed folder).
ID_CUTOFF = 0.8


def closest(name: str, choices: "list[str] | tuple[str, ...]", cutoff: float = 0.5) -> str:
    """Return ' (did you mean 'x'?)' for the closest choice, or '' when none is close (ratio < ``cutoff``)."""
    import difflib

    match = difflib.get_close_matches(name, list(choices), n=1, cutoff=cutoff)
    return f" (did you mean '{match[0]}'?)" if match else ""


class Terminated(BaseException):
    """Raised from the SIGTERM handler so that cleanup code runs (exit 143)."""
