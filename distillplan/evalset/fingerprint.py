"""The locked eval set (P2.3): hash the eval files, lock them, verify them.

The lock's format is in :mod:`distillplan.evalset.lockfile`. The set hash is
``"sha256:" + sha256("".join(f"{path} {sha256} {size}\\n" for every entry sorted by path))``.

``git_blob`` is git's blob id of the file (sha1 of ``b"blob <size>\\0" + bytes``), or
``""`` outside git. ``verify_eval`` uses it to skip reading clean tracked files.

This module is on the pre-commit path: it imports only the standard library,
``errors``, ``gitfast`` and ``lockfile`` (never gitpython, jinja2 or transformers).
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date
from pathlib import Path, PurePosixPath

from distillplan import git as gitfast
from distillplan.errors import LockError, RepoError, quote_value
from distillplan.evalset.lockfile import (
    LOCK_NAME,
    Change,
    EvalEntry,
    EvalLock,
    HistoryEntry,
    LockFile,
    display_path,
    read_lock,
)
from distillplan.files import is_inside, leaves_folder

__all__ = [
    "MAX_SCORED_BYTES",
    "check_set_hash",
    "entry_file",
    "git_blob_id",
    "hash_file",
    "lock_eval",
    "norm_dataset",
    "read_regular",
    "set_hash",
    "verify_eval",
]

CHUNK_BYTES = 1 << 20
PROGRESS_MIN_BYTES = 256 << 20
Progress = Callable[[int], None]


# ---------------------------------------------------------------- hashing


def hash_file(path: Path, *, progress: Progress | None = None) -> tuple[str, int]:
    """``(sha256 hex, size)`` of a file, streamed (``hashlib.file_digest`` when available)."""
    with open(path, "rb", buffering=0) as f:
        if progress is None and hasattr(hashlib, "file_digest"):
            digest = hashlib.file_digest(f, "sha256")
            return digest.hexdigest(), f.tell()
    sha256, size, _ = _hash_stream(path, blob=False, progress=progress)
    return sha256, size


def git_blob_id(path: Path) -> str:
    """git's blob id: ``sha1(b"blob %d\\0" % size + content)``, streamed."""
    return _hash_stream(path, blob=True, progress=None)[2]


def _hash_stream(path: Path, *, blob: bool, progress: Progress | None) -> tuple[str, int, str]:
    """One pass over the file: sha256, size and (when ``blob``) the git blob id."""
    buf = bytearray(CHUNK_BYTES)
    view = memoryview(buf)
    sha256 = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        sha1 = None
        if blob:
            sha1 = hashlib.sha1(b"blob %d\0" % os.fstat(f.fileno()).st_size, usedforsecurity=False)
        size = 0
        while n := f.readinto(buf):
            sha256.update(view[:n])
            if sha1 is not None:
                sha1.update(view[:n])
            size += n
            if progress is not None:
                progress(n)
    return sha256.hexdigest(), size, sha1.hexdigest() if sha1 is not None else ""


class _ProgressLine:
    """``\\rdistillplan: hashing eval files 512/1024 MiB`` on stderr, at most 5 times a second."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.shown = total, 0, 0.0

    def __call__(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.shown >= 0.2 or self.done >= self.total:
            self.shown = now
            sys.stderr.write(f"\rdistillplan: hashing eval files {self.done >> 20}/{self.total >> 20} MiB")
            sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()


def _progress_for(total: int) -> _ProgressLine | None:
    return _ProgressLine(total) if total > PROGRESS_MIN_BYTES and sys.stderr.isatty() else None


def set_hash(entries: Iterable[EvalEntry]) -> str:
    """The set hash of eval entries (see the module docstring)."""
    return _set_hash(entries)


def _set_hash(entries: Iterable[EvalEntry]) -> str:
    lines = "".join(f"{e.path} {e.sha256} {e.size}\n" for e in sorted(entries, key=_path_key))
    return "sha256:" + hashlib.sha256(lines.encode("utf-8")).hexdigest()


def _path_key(e: EvalEntry) -> str:
    return e.path


# ---------------------------------------------------------------- lock / verify


def norm_dataset(spec_dir: Path, p: str) -> str:
    """A dataset path as the lock records it (see ``_norm``)."""
    return _norm(spec_dir, p)


MAX_SCORED_BYTES = 4 << 30  # accept holds the eval set in memory to score what it hashed


def read_regular(path: Path, *, limit_bytes: int) -> bytes:
    """The bytes of a regular file, refusing devices, FIFOs and files above ``limit_bytes``."""
    shown = display_path(path)
    try:  # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat refuses it next
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise LockError(f"{shown}: not a regular file; only regular files are read")
            if st.st_size > limit_bytes:
                raise LockError(f"{shown}: {st.st_size} bytes, above the {limit_bytes}-byte limit")
            data = f.read(limit_bytes + 1)
    except OSError as e:
        raise LockError(f"{shown}: cannot read: {e.strerror or e}") from None
    if len(data) > limit_bytes:
        raise LockError(f"{shown}: grew above the {limit_bytes}-byte limit while being read")
    return data


def _norm(spec_dir: Path, p: str) -> str:
    """A dataset path as POSIX, relative to the spec folder (``../`` allowed: the spec
    loader keeps datasets inside the repository); absolute paths are refused."""
    posix = posixpath.normpath(PurePosixPath(p.replace("\\", "/")).as_posix())
    if posixpath.isabs(posix) or Path(p).is_absolute():
        raise LockError(
            f"{display_path(spec_dir / p)}: eval dataset path must be relative to the spec folder (got {p!r})"
        )
    return posix


def _git_view(spec_dir: Path, paths: Iterable[str]) -> dict[str, str]:
    """Index blob ids of ``paths`` (spec-relative) that are tracked and clean in git, with an
    index entry git keeps fresh (not ``--assume-unchanged`` nor ``--skip-worktree``)."""
    root = gitfast.repo_root(spec_dir)
    if root is None:
        return {}
    try:
        base = spec_dir.resolve().relative_to(root).as_posix()
    except ValueError:
        return {}
    by_rel = {posixpath.normpath(posixpath.join(base, p)): p for p in paths}
    by_rel = {r: p for r, p in by_rel.items() if r != ".." and not r.startswith("../")}
    if not by_rel:
        return {}
    try:
        blobs = gitfast.index_blobs(root, by_rel)
        dirty = gitfast.dirty_paths(root, blobs) if blobs else set()
    except RepoError:  # the fast path is an optimization: hash instead
        return {}
    return {by_rel[r]: b for r, b in blobs.items() if r not in dirty}


# ---------------------------------------------------------------- verified pairs
#
# A lock entry's ``git_blob`` is a claim the lock makes, and the lock is a file anyone can
# edit: a lock whose ``size`` and ``git_blob`` were changed to match edited content (its
# ``sha256`` and set hash left alone) must not verify. So the fast path skips reading a file
# only when this machine has itself seen bytes with the entry's sha256 *and* that blob id
# (hashed here while git's fresh index named the blob). Those pairs are facts about bytes, so
# they are kept, one ``sha256 blob size`` a line, in ``.git/distillplan-verified`` (never
# committed, never shared). A fresh clone reads every eval file once.

_VERIFIED_NAME = "distillplan-verified"
_VERIFIED_MAX_BYTES = 1 << 20


def _verified_file(spec_dir: Path) -> Path | None:
    root = gitfast.repo_root(spec_dir)
    folder = gitfast.git_dir(root) if root is not None else None
    return folder / _VERIFIED_NAME if folder is not None else None


def _read_verified(spec_dir: Path) -> set[tuple[str, str, int]]:
    path = _verified_file(spec_dir)
    if path is None:
        return set()
    try:
        with open(path, "rb") as f:
            text = f.read(_VERIFIED_MAX_BYTES).decode("ascii", "replace")
    except OSError:
        return set()
    out: set[tuple[str, str, int]] = set()
    for line in text.splitlines():
        parts = line.split(" ")
        if len(parts) == 3 and parts[2].isdigit():
            out.add((parts[0], parts[1], int(parts[2])))
    return out


def _remember_verified(spec_dir: Path, pairs: Iterable[tuple[str, str, int]]) -> None:
    """Append verified pairs (best effort: losing one only costs a re-read)."""
    text = "".join(f"{sha} {blob} {size}\n" for sha, blob, size in pairs if sha and blob)
    path = _verified_file(spec_dir)
    if not text or path is None:
        return
    try:
        if path.exists() and path.stat().st_size > _VERIFIED_MAX_BYTES // 2:
            path.unlink()  # a bounded cache: start over
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, text.encode("ascii"))  # one write: lines from concurrent runs do not interleave
        finally:
            os.close(fd)
    except OSError:
        pass


def entry_file(spec_dir: Path, rel: str, *, lock_shown: str) -> Path:
    """The file a lock entry names, refused unless it is inside the repository (or, outside
    git, the spec's folder): a hostile lock may list ``/dev/zero`` or ``../../etc/passwd``."""
    if leaves_folder(rel) and not rel.startswith("../"):
        raise LockError(f"{lock_shown}: eval.files: path {_quote(rel)} must be relative to the spec folder")
    path = spec_dir / rel
    top = gitfast.repo_root(spec_dir) or spec_dir.resolve()
    if not is_inside(path, top):
        raise LockError(f"{lock_shown}: eval.files: path {_quote(rel)} leads outside the repository")
    return path


def _quote(text: str) -> str:
    return quote_value(text)


def _regular_stat(path: Path, rel: str, lock_shown: str) -> os.stat_result | None:
    """``stat`` of a locked file; None when missing; LockError when not a regular file."""
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        raise LockError(f"{display_path(path)}: cannot read: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise LockError(f"{lock_shown}: eval.files: {_quote(rel)} is not a regular file; only regular files are locked")
    return st


def _scan(spec_dir: Path, entries: list[EvalEntry]) -> list[Change]:
    """Modified / deleted among locked entries; clean tracked files seen before are never read."""
    lock_shown = display_path(spec_dir / LOCK_NAME)
    clean = _git_view(spec_dir, [e.path for e in entries if e.git_blob])
    verified = _read_verified(spec_dir) if clean else set()
    changes: list[Change] = []
    to_hash: list[tuple[EvalEntry, int]] = []
    for e in entries:
        st = _regular_stat(entry_file(spec_dir, e.path, lock_shown=lock_shown), e.path, lock_shown)
        if st is None:
            changes.append(Change(e.path, "deleted", "locked, but missing on disk"))
            continue
        if st.st_size != e.size:
            changes.append(Change(e.path, "modified", f"size {e.size} -> {st.st_size} bytes"))
        elif clean.get(e.path) != e.git_blob or (e.sha256, e.git_blob, e.size) not in verified:
            to_hash.append((e, st.st_size))
    bar = _progress_for(sum(size for _, size in to_hash))
    seen: list[tuple[str, str, int]] = []
    try:
        for e, _ in to_hash:
            sha, size = hash_file(spec_dir / e.path, progress=bar)
            if (sha, size) != (e.sha256, e.size):
                changes.append(Change(e.path, "modified", f"sha256 {e.sha256[:12]}… -> {sha[:12]}…"))
            elif clean.get(e.path):  # git's fresh index names the blob of the bytes just read
                seen.append((sha, clean[e.path], size))
    finally:
        if bar is not None:
            bar.close()
    _remember_verified(spec_dir, seen)
    return changes


def check_set_hash(spec_dir: Path, ev: EvalLock) -> None:
    """The set hash is always recomputed from the entries: a lock whose ``hash`` does not
    match its files was edited by hand, and the contract cites ``hash``."""
    if ev.hash != _set_hash(ev.files):
        raise LockError(
            f"{display_path(spec_dir / LOCK_NAME)}: eval.hash: does not match the locked file entries "
            f"(recomputed {_short(_set_hash(ev.files))}); the lock was edited by hand: restore it from git"
        )


def verify_eval(spec_dir: Path, lock: LockFile | None, dataset_paths: list[str]) -> list[Change]:
    """How the eval files listed in the spec differ from the lock; ``[]`` when intact.

    ``added``: listed but not locked. ``deleted``: locked but missing on disk, or no
    longer listed (the detail says which). ``modified``: size or sha256 differ. A rename
    is one deleted plus one added. With no lock (or no ``[eval]`` in it) this raises
    LockError("distill.lock: the eval set is not locked; ...") rather than returning
    changes: an unlocked eval is not a diff, it is a missing precondition (P2.3).

    Fast path: a file tracked in the git index (not flagged assume-unchanged or
    skip-worktree), clean per ``git diff-files`` and with the same size, whose index blob
    id equals the locked ``git_blob``, is not read, provided this machine has already seen
    that sha256 and blob id together (see the verified pairs above). The set hash is
    always recomputed from the entries.
    """
    if lock is None or lock.eval is None:
        raise LockError(f"{display_path(spec_dir / LOCK_NAME)}: the eval set is not locked; run `distillplan lock`")
    check_set_hash(spec_dir, lock.eval)
    listed = {_norm(spec_dir, p) for p in dataset_paths}
    locked = {e.path: e for e in lock.eval.files}
    changes = [
        Change(p, "deleted", "locked, but no longer listed in [eval].datasets") for p in locked if p not in listed
    ]
    changes += [Change(p, "added", "listed in [eval].datasets, but not locked") for p in listed if p not in locked]
    changes += _scan(spec_dir, [locked[p] for p in sorted(listed & locked.keys())])
    return sorted(changes)


def _new_entries(spec_dir: Path, paths: list[str]) -> list[EvalEntry]:
    """Hash ``paths``; a tracked clean file takes its blob id from the index."""
    clean = _git_view(spec_dir, paths)
    in_git = gitfast.repo_root(spec_dir) is not None
    sizes = {p: (spec_dir / p).stat().st_size for p in paths}
    bar = _progress_for(sum(sizes.values()))
    out = []
    try:
        for p in paths:
            need_blob = in_git and p not in clean
            sha, size, blob = _hash_stream(spec_dir / p, blob=need_blob, progress=bar)
            out.append(EvalEntry(p, sha, size, clean.get(p, blob)))
    finally:
        if bar is not None:
            bar.close()
    _remember_verified(spec_dir, [(e.sha256, e.git_blob, e.size) for e in out])
    return out


def lock_eval(
    spec_dir: Path, dataset_paths: list[str], *, reason: str | None, today: date, commit: str
) -> tuple[LockFile, str]:
    """The new lock (not written: call ``write_lock``) and a one-line summary.

    Unchanged set: the lock is kept (only empty ``git_blob`` ids of now tracked, clean
    files are filled in). Changed set: needs ``reason``; the old lock moves to history.
    The ``[generated]`` section is carried over untouched.
    """
    paths = sorted({_norm(spec_dir, p) for p in dataset_paths})
    for p in paths:
        if not (spec_dir / p).is_file():
            raise LockError(f"{display_path(spec_dir / p)}: eval dataset not found (listed in [eval].datasets)")
    old = read_lock(spec_dir) or LockFile()
    prev = old.eval
    if prev is None:
        entries = _new_entries(spec_dir, paths)
        ev = EvalLock(_set_hash(entries), commit, today, tuple(entries))
        return replace(old, eval=ev), f"locked {_files(entries)}, {_short(ev.hash)}"
    changes = verify_eval(spec_dir, old, paths)
    if not changes:
        clean = _git_view(spec_dir, [e.path for e in prev.files if not e.git_blob])
        files = tuple(replace(e, git_blob=clean.get(e.path, e.git_blob)) for e in prev.files)
        return replace(old, eval=replace(prev, files=files)), "eval set unchanged, lock kept"
    if not reason or not reason.strip():
        listed = ", ".join(f"{c.path} {c.kind}" for c in changes[:3])
        more = f", and {len(changes) - 3} more" if len(changes) > 3 else ""
        raise LockError(
            f"{display_path(spec_dir / LOCK_NAME)}: the eval set changed since it was "
            f"locked ({listed}{more}); re-locking changes the contract: "
            "pass --reason TEXT"
        )
    touched = {c.path for c in changes}
    kept = [e for e in prev.files if e.path in paths and e.path not in touched]
    entries = sorted(kept + _new_entries(spec_dir, [p for p in paths if p in touched]), key=_path_key)
    past = HistoryEntry(prev.hash, prev.locked_on, prev.locked_at_commit, today, " ".join(reason.split()))
    ev = EvalLock(_set_hash(entries), commit, today, tuple(entries), (*prev.history, past))
    return (
        replace(old, eval=ev),
        f"re-locked {_files(entries)}, {_short(ev.hash)} (was {_short(prev.hash)})",
    )


def _files(entries: list[EvalEntry]) -> str:
    return f"{len(entries)} eval file{'' if len(entries) == 1 else 's'}"


def _short(h: str) -> str:
    return h[: len("sha256:") + 8] + "…"
