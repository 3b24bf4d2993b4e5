"""The one commit distillplan cites for a locked eval set: the oldest commit in ``HEAD``'s
history whose tree holds the locked eval files' exact bytes (their git blob ids in
``distill.lock``). ``accept`` prints it; the generated documents cite no commit at all (only
the content hash and the blob ids), so committing them never makes them stale: there is no
second commit to make after the first.

On the pre-commit path: the git binary only (no gitpython).
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from distillplan.errors import RepoError
from distillplan.evalset.lockfile import LockFile
from distillplan.git import commit_holding, repo_root

__all__ = ["eval_commit"]


def eval_commit(spec_dir: Path, lock: LockFile | None) -> str:
    """The oldest commit in ``HEAD``'s history holding the locked eval files' exact bytes;
    ``""`` until one exists, without a locked set, or outside git."""
    ev = lock.eval if lock is not None else None
    root = repo_root(spec_dir)
    if ev is None or root is None:
        return ""
    try:
        base = spec_dir.resolve().relative_to(root)
    except ValueError:
        return ""
    blobs = {posixpath.normpath((base / e.path).as_posix()): e.git_blob for e in ev.files}
    try:
        return commit_holding(root, blobs)
    except RepoError:
        return ""
