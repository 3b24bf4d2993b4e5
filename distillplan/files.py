"""Files: atomic, contained writes (the only way distillplan writes into a user's repo) and the
one place that reads files shipped with distillplan (pre-commit's ``resource_text``)."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from importlib import resources
from pathlib import Path, PurePosixPath

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
    "stale_temp_files",
    "templates_dir",
    "tomllib",
]


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename,
    so a reader never sees half a file and an interrupted write leaves the old one."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
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


def leaves_folder(rel: str) -> bool:
    """Whether the relative path ``rel`` could leave the folder it is relative to: absolute,
    a drive letter, or any ``..`` component (checked before anything is resolved)."""
    pure = PurePosixPath(rel.replace("\\", "/"))
    return pure.is_absolute() or ".." in pure.parts or bool(re.match(r"^[A-Za-z]:", rel))


def is_inside(path: Path, root: Path) -> bool:
    """Whether ``path``, with symlinks resolved, lies inside ``root``."""
    return path.resolve().is_relative_to(root.resolve())


def data_path(*parts: str) -> Path:
    """Path of a bundled data file under ``distillplan/data``."""
    return Path(str(resources.files("distillplan").joinpath("data", *parts)))


def data_text(*parts: str) -> str:
    return data_path(*parts).read_text(encoding="utf-8")


@functools.cache
def templates_dir() -> Path:
    """The jinja2 templates: inside the wheel at ``distillplan/templates``; in a source
    checkout (editable install) at the repository's top-level ``templates/``."""
    packaged = Path(str(resources.files("distillplan").joinpath("templates")))
    if packaged.is_dir():
        return packaged
    source = Path(__file__).resolve().parents[1] / "templates"
    if source.is_dir():
        return source
    raise FileNotFoundError("distillplan templates are missing from this installation")
