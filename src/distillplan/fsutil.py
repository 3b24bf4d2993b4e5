"""Atomic, contained file writes: the only way distillplan writes into a user's repo."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path, PurePosixPath


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename,
    so a reader never sees half a file and an interrupted write leaves the old one."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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


def find_repo_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding ``.git`` (no git import)."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def leaves_folder(rel: str) -> bool:
    """Whether the relative path ``rel`` could leave the folder it is relative to: absolute,
    a drive letter, or any ``..`` component (checked before anything is resolved)."""
    pure = PurePosixPath(rel.replace("\\", "/"))
    return pure.is_absolute() or ".." in pure.parts or bool(re.match(r"^[A-Za-z]:", rel))


def is_inside(path: Path, root: Path) -> bool:
    """Whether ``path``, with symlinks resolved, lies inside ``root``."""
    return path.resolve().is_relative_to(root.resolve())
