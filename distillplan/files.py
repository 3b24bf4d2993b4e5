"""Files: atomic, contained writes (the only way distillplan writes into a user's repo) and the
one place that reads files shipped with distillplan (pre-commit's ``resource_text``)."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from distillplan.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = [
    "GUARD_NAME",
    "atomic_write",
    "data_path",
    "data_text",
    "exclusive",
    "is_inside",
    "leaves_folder",
    "open_regular",
    "read_regular",
    "stale_temp_files",
    "templates_dir",
    "tomllib",
]


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename,
    so a reader never sees half a file and an interrupted write leaves the old one."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    import tempfile  # deferred: the hook path writes nothing

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename durable too (POSIX)
        dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


GUARD_NAME = ".distill.lock.guard"
TEMP_SUFFIX = ".tmp"


@contextlib.contextmanager
def exclusive(folder: Path) -> Iterator[None]:
    """Hold the OS's exclusive advisory lock for ``folder``'s ``distill.lock`` while the
    block runs: every read-modify-write of the lock (``lock``, ``scaffold``) happens inside
    one, and re-reads the lock inside it, so concurrent runs queue instead of losing each
    other's updates. POSIX: ``flock`` on the folder itself (no extra file); Windows:
    ``msvcrt.locking`` on ``.distill.lock.guard``. Released when the process dies."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        fd = os.open(folder / GUARD_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
            try:
                yield
            finally:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        finally:
            os.close(fd)
        return
    import fcntl

    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


def stale_temp_files(folder: Path, names: list[str]) -> list[Path]:
    """Temporary files :func:`atomic_write` left in ``folder`` for any of ``names`` (a run
    killed between creating and renaming one)."""
    found: list[Path] = []
    for name in names:
        found += folder.glob(f".{_glob_escape(name)}.*{TEMP_SUFFIX}")
    return sorted(set(found))


def _glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


#: The most bytes read from any one input (predictions, batch results, a lock); the eval set
#: itself is capped where it is hashed. Far above any real file, far below the machine's memory.
MAX_INPUT_BYTES = 4 << 30


def open_regular(
    path: Path, *, shown: str | None = None, limit_bytes: int | None = None, follow_symlinks: bool = True
) -> BinaryIO:
    """``path`` opened for reading in binary, refusing anything but a regular file before one
    byte is read: opening a FIFO does not wait for a writer (``O_NONBLOCK``), a device such as
    ``/dev/zero`` is never read, and a file above ``limit_bytes`` is refused by its size.
    ``follow_symlinks=False`` refuses a symlink too. Raises :class:`InputError` (those refusals)
    or the ``OSError`` of the open."""
    shown = str(path) if shown is None else shown
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow_symlinks:
        if os.path.islink(path):
            raise InputError(f"{shown}: is a symlink; distillplan reads and writes regular files only here")
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"{shown}: is a folder, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{shown}: not a regular file (a pipe or a device?); only regular files are read")
        if limit_bytes is not None and st.st_size > limit_bytes:
            raise InputError(f"{shown}: {st.st_size:,} bytes, above the {limit_bytes:,}-byte limit for this input")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(
    path: Path, *, shown: str | None = None, limit_bytes: int = MAX_INPUT_BYTES, follow_symlinks: bool = True
) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit_bytes`` (see :func:`open_regular`);
    a file that grows past the limit while being read is refused too."""
    shown = str(path) if shown is None else shown
    with open_regular(path, shown=shown, limit_bytes=limit_bytes, follow_symlinks=follow_symlinks) as f:
        data = f.read(limit_bytes + 1)
    if len(data) > limit_bytes:
        raise InputError(f"{shown}: grew above the {limit_bytes:,}-byte limit for this input while being read")
    return data


def leaves_folder(rel: str) -> bool:
    """Whether the relative path ``rel`` could leave the folder it is relative to: absolute,
    a drive letter, or any ``..`` component (checked before anything is resolved)."""
    pure = PurePosixPath(rel.replace("\\", "/"))
    return pure.is_absolute() or ".." in pure.parts or bool(re.match(r"^[A-Za-z]:", rel))


def is_inside(path: Path, root: Path) -> bool:
    """Whether ``path``, with symlinks resolved, lies inside ``root``."""
    return path.resolve().is_relative_to(root.resolve())


#: the installed package's folder (what importlib.resources.files("distillplan") is for a package on disk,
#: without importing importlib.resources and zipfile on the hook path)
_PACKAGE = Path(__file__).resolve().parent


def data_path(*parts: str) -> Path:
    """Path of a bundled data file under ``distillplan/data``."""
    return _PACKAGE.joinpath("data", *parts)


def data_text(*parts: str) -> str:
    return data_path(*parts).read_text(encoding="utf-8")


@functools.cache
def templates_dir() -> Path:
    """The jinja2 templates: inside the wheel at ``distillplan/templates``; in a source
    checkout (editable install) at the repository's top-level ``templates/``."""
    packaged = _PACKAGE / "templates"
    if packaged.is_dir():
        return packaged
    source = Path(__file__).resolve().parents[1] / "templates"
    if source.is_dir():
        return source
    raise FileNotFoundError("distillplan templates are missing from this installation")
