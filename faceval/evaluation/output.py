"""Who writes a run file: a lock beside it, and unique default names.

``<out>.lock`` holds the pid of the run writing ``out`` (created with ``O_EXCL``, so two runs
cannot both take it). A second run with the same ``--out`` while the first is alive is refused
(exit 2); a lock whose process is gone is stale and taken over. Default names are reserved the
same way, with ``-2``, ``-3``, ... appended while a name is taken (by a finished file or a live
lock), so parallel runs of one model and dataset never share a file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from faceval.atomic import no_space, pid_alive
from faceval.errors import InputError

_FRESH_S = 5.0  # an empty lock file younger than this is being written by its owner


def lock_path(out: Path) -> Path:
    return out.with_name(out.name + ".lock")


def lock_owner(out: Path) -> int | None:
    """The pid in ``out``'s lock file, or None (no lock, or an unreadable one)."""
    try:
        text = lock_path(out).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


class OutputLock:
    """The lock on one output path; :meth:`release` removes it (when this object created it)."""

    def __init__(self, out: Path, owned: bool) -> None:
        self.out = out
        self.owned = owned

    def release(self) -> None:
        if self.owned:
            try:
                if lock_owner(self.out) == os.getpid():
                    lock_path(self.out).unlink()
            except OSError:
                pass
            self.owned = False

    def __enter__(self) -> "OutputLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _try_create(lock: Path) -> bool:
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    except OSError as exc:
        raise _lock_error(lock, exc) from None
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()}\n")
    except OSError as exc:
        try:
            lock.unlink()
        except OSError:
            pass
        raise _lock_error(lock, exc) from None
    return True


def _lock_error(lock: Path, exc: OSError) -> InputError:
    out = lock.with_name(lock.name[: -len(".lock")])
    if no_space(exc):
        return InputError(f"no space left on device writing {out}")
    return InputError(f"cannot write {out}: {exc.strerror or exc}")


def _holder(out: Path) -> int | None:
    """The live process holding ``out``'s lock (None: free or stale, and a stale lock is removed)."""
    lock = lock_path(out)
    pid = lock_owner(out)
    if pid is None:
        try:
            if time.time() - lock.stat().st_mtime < _FRESH_S:
                return -1  # just created, pid not written yet: treat as held
        except FileNotFoundError:
            return None
        except OSError:
            return -1
    elif pid == os.getpid() or pid_alive(pid):
        return pid
    try:
        lock.unlink()
    except FileNotFoundError:
        pass
    except OSError:
        return -1
    return None


def lock_output(out: Path) -> OutputLock:
    """Take ``out``'s lock; InputError (exit 2) when another live run holds it.

    A lock this process already holds is accepted (and left to its owner to release).
    """
    for _ in range(3):
        if _try_create(lock_path(out)):
            return OutputLock(out, owned=True)
        holder = _holder(out)
        if holder == os.getpid():
            return OutputLock(out, owned=False)
        if holder is not None:
            who = f"pid {holder}" if holder > 0 else "a process"
            raise InputError(f"another faceval run ({who}) is writing this file; wait for it or choose another --out",
                             path=out)
    raise InputError("cannot take the lock of this output file", path=out)


def reserve_default_output(base: Path) -> OutputLock:
    """Lock a name for a new run file: ``base`` or ``<stem>-N<suffix>``, one no file or live run has."""
    for n in range(1, 10_000):
        candidate = base if n == 1 else base.with_name(f"{base.stem}-{n}{base.suffix}")
        if candidate.exists():
            continue
        if not _try_create(lock_path(candidate)):
            if _holder(candidate) is not None or not _try_create(lock_path(candidate)):
                continue
        if candidate.exists():  # a run finished there between the check and the lock
            OutputLock(candidate, owned=True).release()
            continue
        return OutputLock(candidate, owned=True)
    raise InputError(f"cannot find a free run file name like {base}")
