"""The locked eval set (P2.3): hash the eval files, lock them, verify them.

The lock's format is in :mod:`distillplan.evalset.lockfile`. The hash the contract cites is
:func:`content_hash`: the eval files' bytes and every term ``accept`` decides by (a version 1
lock hashed the files only: :func:`set_hash`).

``git_blob`` is git's blob id of the file (sha1 of ``b"blob <size>\\0" + bytes``), computed
here from the bytes read, or ``""`` outside git. Nothing git says about the work tree is
trusted: a file is skipped only per the verification cache below.

This module is on the pre-commit path: it imports only the standard library,
``errors``, ``gitfast`` and ``lockfile`` (never gitpython, jinja2 or transformers).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import posixpath
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import fields, replace
from datetime import date
from pathlib import Path, PurePosixPath

from distillplan import git as gitfast
from distillplan.errors import LockError, RepoError, quote_value
from distillplan.evalset.lockfile import (
    LOCK_NAME,
    MAX_LOCK_BYTES,
    TERMS_ADDED_IN_FORMAT_2,
    Baseline,
    Change,
    EvalEntry,
    EvalLock,
    HistoryEntry,
    LockFile,
    display_path,
    loads_lock,
    read_lock,
)
from distillplan.files import is_inside, leaves_folder
from distillplan.progress import progress, showing
from distillplan.text import count

__all__ = [
    "MAX_SCORED_BYTES",
    "check_set_hash",
    "committed_eval",
    "content_hash",
    "entry_file",
    "git_blob_id",
    "hash_file",
    "lock_eval",
    "lock_hash",
    "norm_dataset",
    "read_regular",
    "set_hash",
    "unrecorded_change",
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


@contextmanager
def _hash_progress(total: int) -> Iterator[Progress | None]:
    """``hashing eval files 512/1,024 MiB`` on a terminal (:mod:`distillplan.progress`) when there are more
    than ``PROGRESS_MIN_BYTES`` to hash; else None (the unobserved hash is the fastest)."""
    if total <= PROGRESS_MIN_BYTES or not showing():
        yield None
        return
    done = 0
    with progress("hashing eval files", total=total, unit="MiB") as tick:

        def add(n: int) -> None:
            nonlocal done
            done += n
            tick(done)

        yield add


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
                raise LockError(f"{shown}: {count(st.st_size, 'byte')}, above the {limit_bytes:,}-byte limit")
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


# ---------------------------------------------------------------- the verification cache
#
# ``check`` runs on every commit and must not re-read a large eval set each time, but nothing
# but this process's own reading may vouch for bytes: not git's index (a clean filter, an
# fsmonitor hook, ``--assume-unchanged`` make git call an edited file clean), not the lock (a
# file anyone can edit). So a file is skipped only when this machine hashed it before *and* it
# has not been written since: the cache maps (resolved path, device, inode, size, mtime_ns,
# ctime_ns) to the sha256 and blob id read then. Any write changes ctime, which no user-space
# call can set back. A line whose timestamps are within RACY_NS of when it was recorded is not
# trusted (a write in the same clock tick keeps them). Every line carries an HMAC-SHA256 under a
# key kept outside the repository (in the user's cache folder, mode 0600), so an edited
# ``.git/distillplan-verified``, or one shipped inside someone else's ``.git``, vouches for
# nothing. No key (a read-only home): no cache, every file is read.

_VERIFIED_NAME = "distillplan-verified"
_VERIFIED_MAX_BYTES = 1 << 20
_KEY_NAME = "verify.key"
#: timestamps this close to the recording time may be shared by a later write (coarse clocks)
RACY_NS = 2_000_000_000
_StatKey = tuple[str, int, int, int, int, int]


def _verified_file(spec_dir: Path) -> Path | None:
    root = gitfast.repo_root(spec_dir)
    folder = gitfast.git_dir(root) if root is not None else None
    return folder / _VERIFIED_NAME if folder is not None else None


def _key_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "distillplan"


def _mac_key() -> bytes | None:
    """The machine's secret for the cache's MACs, created once (0600); None when unavailable."""
    folder = _key_folder()
    path = folder / _KEY_NAME
    try:
        with open(path, "rb") as f:
            key = f.read(64)
        if len(key) == 32:
            return key
    except OSError:
        pass
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{_KEY_NAME}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, os.urandom(32))
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # first writer wins; a concurrent run reads the winner's key
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        with open(path, "rb") as f:
            key = f.read(64)
    except OSError:
        return None
    return key if len(key) == 32 else None


def _stat_key(path: Path, st: os.stat_result) -> _StatKey:
    return (os.fsencode(path.resolve()).hex(), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _mac(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode("ascii"), hashlib.sha256).hexdigest()


def _read_verified(spec_dir: Path) -> dict[_StatKey, tuple[str, str]]:
    """Cache lines whose MAC verifies and whose timestamps are safely older than their recording."""
    path = _verified_file(spec_dir)
    key = _mac_key() if path is not None else None
    if path is None or key is None:
        return {}
    try:
        with open(path, "rb") as f:
            text = f.read(_VERIFIED_MAX_BYTES).decode("ascii", "replace")
    except OSError:
        return {}
    out: dict[_StatKey, tuple[str, str]] = {}
    for line in text.splitlines():
        mac, _, body = line.partition(" ")
        parts = body.split(" ")
        if len(parts) != 10 or parts[0] != "v2" or not hmac.compare_digest(mac, _mac(key, body)):
            continue
        _, sha, blob, hexpath, *nums = parts
        try:
            dev, ino, size, mtime, ctime, recorded = (int(n) for n in nums)
        except ValueError:
            continue
        if max(mtime, ctime) < recorded - RACY_NS:
            out[(hexpath, dev, ino, size, mtime, ctime)] = (sha, blob)
    return out


def _remember_verified(spec_dir: Path, seen: Iterable[tuple[_StatKey, str, str, int]]) -> None:
    """Append cache lines (best effort: losing one only costs a re-read). ``seen``: (stat key
    taken before reading, sha256, blob id, the time just before the read)."""
    path = _verified_file(spec_dir)
    key = _mac_key() if path is not None else None
    if path is None or key is None:
        return
    lines = []
    for (hexpath, dev, ino, size, mtime, ctime), sha, blob, recorded in seen:
        body = f"v2 {sha} {blob or '-'} {hexpath} {dev} {ino} {size} {mtime} {ctime} {recorded}"
        lines.append(f"{_mac(key, body)} {body}\n")
    if not lines:
        return
    try:
        if path.exists() and path.stat().st_size > _VERIFIED_MAX_BYTES // 2:
            path.unlink()  # a bounded cache: start over
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, "".join(lines).encode("ascii"))  # one write: lines from concurrent runs do not interleave
        finally:
            os.close(fd)
    except OSError:
        pass


def _hash_checked(path: Path, *, blob: bool, progress: Progress | None) -> tuple[str, int, str, _StatKey | None, int]:
    """sha256, size and blob id of ``path``, with the stat key to cache them under: None when the
    file changed while it was read (then nothing is cached)."""
    recorded = time.time_ns()
    before = os.stat(path)
    if blob:
        sha, size, blob_id = _hash_stream(path, blob=True, progress=progress)
    else:
        sha, size = hash_file(path, progress=progress)
        blob_id = ""
    after = os.stat(path)
    key_before, key_after = _stat_key(path, before), _stat_key(path, after)
    return sha, size, blob_id, (key_before if key_before == key_after and size == before.st_size else None), recorded


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
    """Modified / deleted among locked entries; files this machine hashed and that were not
    written since (the cache above) are not read again."""
    lock_shown = display_path(spec_dir / LOCK_NAME)
    verified = _read_verified(spec_dir)
    changes: list[Change] = []
    to_hash: list[tuple[EvalEntry, int]] = []
    for e in entries:
        path = entry_file(spec_dir, e.path, lock_shown=lock_shown)
        st = _regular_stat(path, e.path, lock_shown)
        if st is None:
            changes.append(Change(e.path, "deleted", "locked, but missing on disk"))
            continue
        if st.st_size != e.size:
            changes.append(Change(e.path, "modified", f"size {e.size:,} -> {count(st.st_size, 'byte')}"))
        elif verified.get(_stat_key(path, st)) != (e.sha256, e.git_blob or "-"):
            to_hash.append((e, st.st_size))
    seen: list[tuple[_StatKey, str, str, int]] = []
    with _hash_progress(sum(size for _, size in to_hash)) as bar:
        for e, _ in to_hash:
            sha, size, blob, key, recorded = _hash_checked(spec_dir / e.path, blob=bool(e.git_blob), progress=bar)
            if (sha, size) != (e.sha256, e.size):
                changes.append(Change(e.path, "modified", f"sha256 {e.sha256[:12]}… -> {sha[:12]}…"))
            elif blob != e.git_blob:  # the lock's blob id is not the one of the locked bytes: edited by hand
                changes.append(Change(e.path, "modified", f"git_blob {e.git_blob[:12]}… in the lock -> {blob[:12]}…"))
            elif key is not None:
                seen.append((key, sha, blob, recorded))
    _remember_verified(spec_dir, seen)
    return changes


def content_hash(entries: Iterable[EvalEntry], baseline: Baseline | None) -> str:
    """The content hash a version 2 lock records and the contract cites: the eval files (path,
    sha256, size) and every term ``accept`` decides by (each field of the baseline, its strata).

    ``"sha256:" + sha256`` of the UTF-8 lines ``"distillplan eval lock v2"``, then
    ``file <json path> <sha256> <size>`` sorted by path, then ``term <key> <json value>`` for every
    :class:`Baseline` field but ``strata`` in declaration order (a term added to format 2 later,
    :data:`TERMS_ADDED_IN_FORMAT_2`, only when set), then ``stratum <json [name,
    examples, teacher_score, threshold]>`` in lock order. A field added to the baseline is bound
    by construction."""
    lines = ["distillplan eval lock v2"]
    lines += [f"file {json.dumps(e.path)} {e.sha256} {e.size}" for e in sorted(entries, key=_path_key)]
    if baseline is not None:
        for f in fields(baseline):
            value = getattr(baseline, f.name)
            if f.name == "strata" or (value is None and f.name in TERMS_ADDED_IN_FORMAT_2):
                continue  # a term added later is bound once set: locks written before it keep their hash
            lines.append(f"term {f.name} {json.dumps(value, sort_keys=True)}")
        lines += ["stratum " + json.dumps([s.name, s.examples, s.teacher_score, s.threshold]) for s in baseline.strata]
    return "sha256:" + hashlib.sha256(("\n".join(lines) + "\n").encode("utf-8")).hexdigest()


def lock_hash(lock: LockFile | None, ev: EvalLock) -> str:
    """The hash ``ev`` must carry for its lock's format version."""
    if lock is not None and lock.version == 1:
        return _set_hash(ev.files)
    return content_hash(ev.files, ev.baseline)


def check_set_hash(spec_dir: Path, ev: EvalLock, lock: LockFile | None = None) -> None:
    """The hash is always recomputed from the entries and the terms: a lock whose ``hash`` does
    not match them was edited by hand, and the contract cites ``hash``. The message names what
    differs from the committed lock when git has one."""
    want = lock_hash(lock, ev)
    if ev.hash != want:
        what = _edits(spec_dir, ev)
        raise LockError(
            f"{display_path(spec_dir / LOCK_NAME)}: eval.hash: does not match the locked file entries and terms "
            f"(recomputed {_short(want)}{'; ' + what if what else ''}); the lock was edited by hand: "
            "restore it from git"
        )


def committed_eval(spec_dir: Path) -> tuple[str, EvalLock | None]:
    """``(commit, [eval] of distill.lock as committed in HEAD)``; ``("", None)`` outside git, or
    when HEAD holds no readable lock. Raw blob bytes: no filters, no work-tree state."""
    root = gitfast.repo_root(spec_dir)
    if root is None:
        return "", None
    try:
        rel = posixpath.normpath(posixpath.join(spec_dir.resolve().relative_to(root).as_posix(), LOCK_NAME))
        head = gitfast.head_commit(root)
        entry = gitfast.tree_entries(root, head, [rel]).get(rel) if head else None
        if entry is None:
            return head, None
        committed = loads_lock(gitfast.blob_bytes(root, entry[1], limit_bytes=MAX_LOCK_BYTES), LOCK_NAME)
    except (ValueError, RepoError, LockError):
        return "", None
    return head, committed.eval


def _edits(spec_dir: Path, ev: EvalLock) -> str:
    """The first key of ``ev`` that differs from the committed lock's, as ``key is X, Y in the
    committed lock``; ``""`` when there is no committed lock to compare with."""
    head, old = committed_eval(spec_dir)
    if old is None:
        return ""
    where = f"in the lock committed in {head[:12]}"
    if old.files != ev.files:
        return f"eval.files differ from those {where}"
    a, b = ev.baseline, old.baseline
    if a is None or b is None:
        return ""
    for f in fields(a):
        if getattr(a, f.name) != getattr(b, f.name):
            return f"eval.baseline.{f.name} is {_brief(getattr(a, f.name))}, {_brief(getattr(b, f.name))} {where}"
    return ""


def _brief(v: object) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def unrecorded_change(spec_dir: Path, ev: EvalLock) -> str:
    """A problem when a version of distill.lock committed in ``HEAD``'s history carries a hash (or a
    history entry) that ``ev`` neither has nor records in its history: the lock was changed, and
    re-hashed, without ``distillplan lock --reason``. ``""`` when none, or outside git."""
    root = gitfast.repo_root(spec_dir)
    if root is None:
        return ""
    known = {ev.hash, *(h.hash for h in ev.history)}
    try:
        rel = posixpath.normpath(posixpath.join(spec_dir.resolve().relative_to(root).as_posix(), LOCK_NAME))
        versions = (
            gitfast.versions_in_history(root, rel, limit_bytes=MAX_LOCK_BYTES) if gitfast.head_commit(root) else []
        )
    except (ValueError, RepoError):
        return ""
    for commit, data in versions:
        try:
            old = loads_lock(data, LOCK_NAME).eval
        except LockError:
            continue  # an unreadable lock agreed nothing
        if old is None or old.baseline is None:
            continue  # no thresholds: nothing accept could have scored against
        if missing := [h for h in (old.hash, *(h.hash for h in old.history)) if h not in known]:
            return (
                f"{display_path(spec_dir / LOCK_NAME)}: eval.hash: {_short(missing[0])}, committed in {commit[:12]}, "
                "is neither the lock's hash nor in its eval.history: the lock was changed without "
                "`distillplan lock --reason`"
            )
    return ""


def verify_eval(spec_dir: Path, lock: LockFile | None, dataset_paths: list[str]) -> list[Change]:
    """How the eval files listed in the spec differ from the lock; ``[]`` when intact.

    ``added``: listed but not locked. ``deleted``: locked but missing on disk, or no
    longer listed (the detail says which). ``modified``: size or sha256 differ. A rename
    is one deleted plus one added. With no lock (or no ``[eval]`` in it) this raises
    LockError("distill.lock: the eval set is not locked; ...") rather than returning
    changes: an unlocked eval is not a diff, it is a missing precondition (P2.3).

    Fast path: a file this machine hashed before, not written since (same path, device,
    inode, size, mtime and ctime; see the verification cache above), is not read. The hash
    is always recomputed from the entries and the terms.
    """
    if lock is None or lock.eval is None:
        raise LockError(f"{display_path(spec_dir / LOCK_NAME)}: the eval set is not locked; run `distillplan lock`")
    check_set_hash(spec_dir, lock.eval, lock)
    listed = {_norm(spec_dir, p) for p in dataset_paths}
    locked = {e.path: e for e in lock.eval.files}
    changes = [
        Change(p, "deleted", "locked, but no longer listed in [eval].datasets") for p in locked if p not in listed
    ]
    changes += [Change(p, "added", "listed in [eval].datasets, but not locked") for p in listed if p not in locked]
    changes += _scan(spec_dir, [locked[p] for p in sorted(listed & locked.keys())])
    return sorted(changes)


def _new_entries(spec_dir: Path, paths: list[str]) -> list[EvalEntry]:
    """Hash ``paths`` (sha256 and, in git, the blob id, both from the bytes read here)."""
    in_git = gitfast.repo_root(spec_dir) is not None
    sizes = {p: (spec_dir / p).stat().st_size for p in paths}
    out = []
    seen: list[tuple[_StatKey, str, str, int]] = []
    with _hash_progress(sum(sizes.values())) as bar:
        for p in paths:
            sha, size, blob, key, recorded = _hash_checked(spec_dir / p, blob=in_git, progress=bar)
            out.append(EvalEntry(p, sha, size, blob))
            if key is not None:
                seen.append((key, sha, blob or "-", recorded))
    _remember_verified(spec_dir, seen)
    return out


def lock_eval(
    spec_dir: Path, dataset_paths: list[str], *, reason: str | None, today: date, commit: str
) -> tuple[LockFile, str]:
    """The new lock (not written: call ``write_lock``) and a one-line summary.

    Unchanged set: the lock is kept (only empty ``git_blob`` ids of files locked outside git,
    now in a repository, are filled in). The hash is the files' only (no baseline yet):
    ``distillplan lock`` binds the terms in with :func:`content_hash`. Changed set: needs
    ``reason``; the old lock moves to history.
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
        ev = EvalLock(content_hash(entries, None), commit, today, tuple(entries))
        return replace(old, eval=ev), f"locked {_files(entries)}"
    changes = verify_eval(spec_dir, old, paths)
    if not changes:
        unblobbed = [e.path for e in prev.files if not e.git_blob]
        if unblobbed and gitfast.repo_root(spec_dir) is not None:  # locked outside git, now in one
            fresh = {e.path: e for e in _new_entries(spec_dir, unblobbed)}
            files = tuple(
                replace(e, git_blob=fresh[e.path].git_blob)
                if e.path in fresh and fresh[e.path].sha256 == e.sha256
                else e
                for e in prev.files
            )
            return replace(old, eval=replace(prev, files=files)), "eval set unchanged, lock kept"
        return old, "eval set unchanged, lock kept"
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
    ev = EvalLock(content_hash(entries, prev.baseline), commit, today, tuple(entries), (*prev.history, past))
    return replace(old, eval=ev), f"re-locked {_files(entries)} (was {_short(prev.hash)})"


def _files(entries: list[EvalEntry]) -> str:
    return count(len(entries), "eval file")


def _short(h: str) -> str:
    return h[: len("sha256:") + 8] + "…"
