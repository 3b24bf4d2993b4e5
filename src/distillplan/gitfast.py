"""Tiny, fast helpers over the ``git`` binary for the pre-commit path.

``distillplan check`` runs on every commit, so verifying the eval lock must not
pay for importing gitpython (or jinja2, transformers). These helpers shell out to
``git`` with NUL-separated output and return plain Python values. ``repo.py``
(gitpython) stays the place for everything richer.

Design notes:

* Every call runs ``git -C ROOT --literal-pathspecs ...`` so a dataset named
  ``eval/[a].jsonl`` is a path, never a glob.
* ``GIT_OPTIONAL_LOCKS=0``: nothing here may write ``.git/index``.
* We deliberately do **not** run ``git update-index --refresh`` before
  ``git diff-files``. ``diff-files`` already compares the stat data cached in the
  index and, for a *racily clean* entry (mtime not older than the index), re-reads
  the file to decide, so it never reports a modified file as clean. A refresh would
  only turn "stat changed, content same" files (e.g. after ``touch``) from dirty to
  clean, and it has to *write* the index: inside a ``git commit`` hook the index is
  locked (``index.lock``), so the refresh fails or races. A stat-dirty but
  content-clean file simply takes the slow path (sha256), which is still correct.
* The environment is inherited unchanged: in a commit hook ``GIT_INDEX_FILE``
  points at the index being committed, which is the one we want to compare with.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path

from distillplan.errors import RepoError

__all__ = ["commit_date", "dirty_paths", "head_commit", "index_blobs", "repo_root"]

_REGULAR_MODES = frozenset({"100644", "100755"})
_CHUNK = 500  # pathspecs per git invocation (stay far below ARG_MAX)


def _run(
    root: Path, args: Sequence[str], *, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0")
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "--literal-pathspecs", *args],
            capture_output=True,
            env=env,
            check=False,
        )
    except FileNotFoundError as e:
        raise RepoError("git: the `git` executable was not found on PATH") from e
    if check and proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = err[-1] if err else f"exit code {proc.returncode}"
        raise RepoError(f"{root}: git {args[0]} failed: {detail}")
    return proc


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def repo_root(path: Path) -> Path | None:
    """The work-tree root holding ``path`` (a file or folder), or None outside git.

    Also None when git is not installed: the caller then hashes everything.
    """
    start = path if path.is_dir() else path.parent
    try:
        proc = _run(start, ["rev-parse", "--show-toplevel"], check=False)
    except RepoError:
        return None
    out = proc.stdout.decode("utf-8", "surrogateescape").strip()
    if proc.returncode != 0 or not out:
        return None
    return Path(out).resolve()


def head_commit(root: Path) -> str:
    """The 40-hex id of ``HEAD``, or ``""`` in a repository without commits."""
    proc = _run(root, ["rev-parse", "-q", "--verify", "HEAD^{commit}"], check=False)
    return proc.stdout.decode("ascii", "replace").strip() if proc.returncode == 0 else ""


def index_blobs(root: Path, paths: Iterable[str]) -> dict[str, str]:
    """Blob ids staged (stage 0) in the index for ``paths`` (POSIX, relative to root).

    Parses ``git ls-files -s -z``: ``<mode> SP <blob> SP <stage> TAB <path> NUL``.
    Only regular files are returned: symlinks, submodules and unmerged entries are
    left out, so the caller hashes them the slow way.
    """
    wanted = sorted(set(paths))
    blobs: dict[str, str] = {}
    for chunk in _chunks(wanted):
        out = _run(root, ["ls-files", "-s", "-z", "--", *chunk]).stdout
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, _, name = record.partition(b"\t")
            mode, blob, stage = meta.decode("ascii").split(" ")
            if stage == "0" and mode in _REGULAR_MODES:
                blobs[name.decode("utf-8", "surrogateescape")] = blob
    return blobs


def dirty_paths(root: Path, paths: Iterable[str]) -> set[str]:
    """Paths whose work-tree file differs from the index (``git diff-files``).

    Uses the index stat cache: clean files are not read (racily clean ones are).
    A deleted file is dirty too.
    """
    wanted = sorted(set(paths))
    dirty: set[str] = set()
    for chunk in _chunks(wanted):
        out = _run(root, ["diff-files", "--name-only", "-z", "--", *chunk]).stdout
        dirty.update(p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p)
    return dirty


def commit_date(root: Path, rev: str) -> date:
    """The committer date of ``rev`` (in the committer's own time zone)."""
    proc = _run(root, ["show", "-s", "--format=%cI", f"{rev}^{{commit}}", "--"], check=False)
    text = proc.stdout.decode("ascii", "replace").strip()
    if proc.returncode != 0 or len(text) < 10:
        raise RepoError(f"{root}: unknown revision {rev!r}")
    return date.fromisoformat(text[:10])
