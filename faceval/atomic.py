"""Atomic file output: write to a temporary name beside the target, then rename.

A crash or Ctrl-C mid-write never leaves a half-written file at the target path:

- the temporary file is ``.<name>.<pid>.<random>.part`` (no ``*.h5`` glob matches it); after a
  SIGKILL it stays, and :func:`remove_stale_temporaries` (called by the next run) removes those
  whose process is gone;
- SIGINT and SIGTERM that arrive while the file is written are deferred
  (:func:`deferred_signals`): the write is abandoned (nothing at the target) and the signal acted
  on right after, so a signal never lands inside an HDF5 call;
- a full disk is one :class:`InputError` "no space left on device writing TARGET".
"""

from __future__ import annotations

import errno
import os
import re
import signal
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from faceval.errors import InputError


def check_writable_target(path: Path) -> None:
    """Fail early (InputError) when ``path`` cannot be written: missing folder, or a folder in its place."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise InputError(f"cannot write {path}: folder {parent} does not exist")
    if not parent.is_dir():
        raise InputError(f"cannot write {path}: {parent} is not a folder")
    if path.exists() and path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder")


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``path`` on success.

    On any exception (including KeyboardInterrupt) the temporary file is removed
    and nothing appears at ``path``. Disk-full and permission errors become
    :class:`InputError` naming the target. SIGINT/SIGTERM during the block are deferred: the
    file is then not renamed into place and the signal is acted on when the block ends.
    """
    target = Path(path)
    check_writable_target(target)
    abandoned = False
    with deferred_signals() as pending, quiet_unraisable():
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".part",
                                            dir=target.parent or ".")
        except OSError as exc:
            raise (_write_error(target, exc) or InputError(f"cannot write {target}: {exc.strerror or exc}")) from None
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the mode a plain open() would
            yield tmp
            if pending:  # interrupted while writing: abandon, act on the signal when deferral ends
                _remove_quietly(tmp)
                abandoned = True
            else:
                os.replace(tmp, target)
        except BaseException as exc:
            _remove_quietly(tmp)
            if isinstance(exc, OSError) or no_space(exc):
                error = _write_error(target, exc)
                if error is not None:
                    raise error from None
            raise
    if abandoned:  # the signal's handler did not raise: still never pretend the file was written
        raise KeyboardInterrupt


def ensure_space(target: str | os.PathLike[str], nbytes: int) -> None:
    """InputError "no space left on device writing TARGET" unless its folder has ``nbytes`` + 1 MiB free.

    Checked before HDF5 writes: the HDF5 library copes badly with a disk that fills mid-write
    (it can crash the process when it exits).
    """
    import shutil

    target = Path(target)
    try:
        free = shutil.disk_usage(target.parent if str(target.parent) else ".").free
    except OSError:
        return
    if free < int(nbytes) + (1 << 20):
        raise InputError(f"no space left on device writing {target}")


def no_space(exc: BaseException) -> bool:
    """True for a full disk or quota (also h5py's errors, which carry the errno only in their text)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc)
    return "No space left on device" in text or "errno = 28" in text or "Disk quota exceeded" in text


def _write_error(target: Path, exc: BaseException) -> InputError | None:
    if no_space(exc):
        return InputError(f"no space left on device writing {target}")
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT):
        return InputError(f"cannot write {target}: {exc.strerror or exc}")
    return None


@contextmanager
def quiet_unraisable(*, collect: bool = False) -> Iterator[list[BaseException]]:
    """Collect, instead of printing, the errors raised while objects are finalised in the block.

    h5py reports a failed write when it frees an object (``Exception ignored in:
    'h5py._objects.ObjectID.__dealloc__'``), thousands of lines on a full disk; the write's own
    error is what the caller reports. When the block fails (or something was caught), garbage is
    collected before it ends, so the failed write's objects are freed under the hook; a block that
    succeeds skips the collection (a full ``gc.collect`` costs 5-50 ms in a process holding
    numpy, h5py and onnxruntime, paid at every checkpoint and run-file write); ``collect`` always
    collects (for clean-up blocks that run after a failure).
    """
    import gc
    import sys

    caught: list[BaseException] = []
    previous = sys.unraisablehook

    def hook(info: Any) -> None:
        if info.exc_value is not None:
            caught.append(info.exc_value)

    def excepthook(kind: Any, value: BaseException, tb: Any) -> None:  # Cython prints through it first
        caught.append(value)

    previous_excepthook = sys.excepthook
    sys.unraisablehook = hook
    sys.excepthook = excepthook
    try:
        yield caught
    except BaseException:
        gc.collect()
        raise
    else:
        if caught or collect:
            gc.collect()
    finally:
        sys.unraisablehook = previous
        sys.excepthook = previous_excepthook


_DEFERRED = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def deferred_signals() -> Iterator[list[int]]:
    """Hold SIGINT/SIGTERM for the duration of the block, then act on them (in arrival order).

    Yields the list of signals received so far, so a block can abandon its work early. The
    original handlers run when the block ends (raising ``KeyboardInterrupt`` or the CLI's
    ``Terminated``). Nested blocks hand their signals to the outer one. Outside the main
    thread, signals cannot be handled and the block runs as is.
    """
    pending: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield pending
        return
    previous: dict[int, Any] = {}

    def record(signum: int, frame: object) -> None:
        pending.append(signum)

    try:
        for sig in _DEFERRED:
            if signal.getsignal(sig) is not signal.SIG_IGN:
                previous[sig] = signal.signal(sig, record)
    except (ValueError, OSError):  # pragma: no cover - embedded interpreters
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        yield pending
        return
    try:
        yield pending
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(pending):
            _deliver(sig, previous[sig])


def _deliver(sig: int, handler: Any) -> None:
    if callable(handler):
        handler(sig, None)
    elif handler == signal.SIG_DFL:
        if sig == signal.SIGINT:
            raise KeyboardInterrupt
        os.kill(os.getpid(), sig)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


_PART = re.compile(r"^\..+\.(\d+)\.[A-Za-z0-9_]+\.part$")


def remove_stale_temporaries(folder: str | os.PathLike[str], pattern: "re.Pattern[str]" = _PART,
                             alive: Callable[[int], bool] = pid_alive) -> list[Path]:
    """Remove the temporaries in ``folder`` whose writing process is gone; returns what was removed.

    ``pattern`` must capture the writer's pid as group 1 (default: :func:`atomic_path`'s names).
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None or int(match.group(1)) == os.getpid() or alive(int(match.group(1))):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))
