"""All git access: fast helpers over the ``git`` binary for the pre-commit path, gitpython for history.

``distillplan check`` runs on every commit, so verifying the eval lock must not
pay for importing gitpython (or jinja2, transformers). These helpers shell out to
``git`` with NUL-separated output and return plain Python values. Reading a spec or a lock
at another revision (``diff``) uses the binary too, with capped reads (:func:`blobs_at`);
gitpython is imported lazily inside the functions that still use it, so importing this module
stays cheap: all git access lives here.

Design notes:

* Every call runs ``git -C ROOT --literal-pathspecs -c core.fsmonitor= ...`` so a dataset
  named ``eval/[a].jsonl`` is a path, never a glob, and no fsmonitor hook the repository
  configures runs or tells git which files changed. Eval bytes are never judged by git's
  view of the work tree (clean filters, the index's stat cache): the lock verifies by
  hashing them in Python, and ``accept`` reads committed bytes as raw blobs (no filters).
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
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from distillplan.errors import RepoError
from distillplan.text import count

if TYPE_CHECKING:
    import git  # deferred: gitpython stays off the hook path

__all__ = [
    "blob_at",
    "blob_bytes",
    "blobs_at",
    "commit_holding",
    "commit_id",
    "dirty_paths",
    "file_at",
    "git_dir",
    "head_commit",
    "index_blobs",
    "is_revision",
    "open_repo",
    "relpath_in_repo",
    "renamed_path",
    "repo_root",
    "resolve_commit",
    "tree_entries",
    "uncommitted",
    "versions_in_history",
]

_REGULAR_MODES = frozenset({"100644", "100755"})
_CHUNK = 500  # pathspecs per git invocation (stay far below ARG_MAX)


def _run(
    root: Path, args: Sequence[str], *, check: bool = True, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0")
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "--literal-pathspecs", "-c", "core.fsmonitor=", *args],
            input=stdin,
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
    """The work-tree root holding ``path`` (a file or folder): the nearest folder at or above
    it holding ``.git`` (a folder, or the file of a worktree or submodule), or None outside git.
    The one repo-root finder; it runs no process, so the hook path can afford it."""
    start = (path if path.is_dir() else path.parent).resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def git_dir(root: Path) -> Path | None:
    """The git folder of the work tree at ``root``: ``root/.git``, or the folder a ``.git``
    file (worktree, submodule) points at; None when it cannot be read. Runs no process."""
    dot = root / ".git"
    if dot.is_dir():
        return dot
    try:
        text = dot.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    target = Path(text[len("gitdir:") :].strip())
    target = target if target.is_absolute() else root / target
    return target if target.is_dir() else None


def head_commit(root: Path) -> str:
    """The 40-hex id of ``HEAD``, or ``""`` in a repository without commits."""
    proc = _run(root, ["rev-parse", "-q", "--verify", "HEAD^{commit}"], check=False)
    return proc.stdout.decode("ascii", "replace").strip() if proc.returncode == 0 else ""


def index_blobs(root: Path, paths: Iterable[str]) -> dict[str, str]:
    """Blob ids staged (stage 0) in the index for ``paths`` (POSIX, relative to root).

    Parses ``git ls-files -s -v -z``: ``<tag> SP <mode> SP <blob> SP <stage> TAB <path> NUL``.
    Only regular files whose index entry git keeps fresh are returned (tag ``H``): an entry
    flagged ``--assume-unchanged`` (lower-case tag) or ``--skip-worktree`` (``S``) is one
    whose work-tree file git no longer compares, so ``diff-files`` would call an edited
    file clean (issue 14). Those, symlinks, submodules and unmerged entries are left out,
    so the caller hashes them the slow way.
    """
    wanted = sorted(set(paths))
    blobs: dict[str, str] = {}
    for chunk in _chunks(wanted):
        out = _run(root, ["ls-files", "-s", "-v", "-z", "--", *chunk]).stdout
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, _, name = record.partition(b"\t")
            tag, mode, blob, stage = meta.decode("ascii").split(" ")
            if tag == "H" and stage == "0" and mode in _REGULAR_MODES:
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


def uncommitted(root: Path, path: str) -> bool:
    """True when ``path`` (POSIX, relative to root) differs from ``HEAD``: untracked, staged or
    modified in the work tree (``git status --porcelain``)."""
    proc = _run(root, ["status", "--porcelain", "-z", "--untracked-files=all", "--", path], check=False)
    return proc.returncode != 0 or bool(proc.stdout.strip(b"\0"))


def tree_entries(root: Path, rev: str, paths: Iterable[str]) -> dict[str, tuple[str, str, int]]:
    """``path -> (mode, blob id, size)`` of ``paths`` (POSIX, relative to root) in the tree of
    ``rev`` (``git ls-tree -l``); a path absent there, or not a blob, is left out."""
    wanted = sorted(set(paths))
    out: dict[str, tuple[str, str, int]] = {}
    for chunk in _chunks(wanted):
        proc = _run(root, ["ls-tree", "-z", "-l", "--full-tree", rev, "--", *chunk], check=False)
        if proc.returncode != 0:
            return {}
        for record in proc.stdout.split(b"\0"):
            if not record:
                continue
            meta, _, name = record.partition(b"\t")
            parts = meta.decode("ascii", "replace").split()
            if len(parts) == 4 and parts[1] == "blob" and parts[3].isdigit():
                out[name.decode("utf-8", "surrogateescape")] = (parts[0], parts[2], int(parts[3]))
    return out


def blob_bytes(root: Path, blob: str, *, limit_bytes: int) -> bytes:
    """The raw bytes of a blob (``git cat-file blob``: no filters, no attributes), refused above
    ``limit_bytes`` before it is read."""
    if not blob or any(c not in "0123456789abcdef" for c in blob):
        raise RepoError(f"{root}: not a blob id: {blob[:80]!r}")
    size = _run(root, ["cat-file", "-s", blob]).stdout.decode("ascii", "replace").strip()
    if not size.isdigit() or int(size) > limit_bytes:
        raise RepoError(f"{root}: blob {blob[:12]} is {count(int(size), 'byte')}, above the {limit_bytes:,}-byte limit")
    data = _run(root, ["cat-file", "blob", blob]).stdout
    if len(data) != int(size):
        raise RepoError(f"{root}: blob {blob[:12]}: read {count(len(data), 'byte')} of {int(size):,}")
    return data


def versions_in_history(root: Path, path: str, *, limit_bytes: int, limit: int = 10000) -> list[tuple[str, bytes]]:
    """Every distinct version of ``path`` committed in ``HEAD``'s history, newest first, as
    (first commit seen holding it, raw bytes); versions above ``limit_bytes`` are left out.
    Two processes whatever the history's length: ``git log --raw`` and ``git cat-file --batch``."""
    log = _run(root, ["log", f"--max-count={limit}", "--format=commit %H", "--raw", "--no-abbrev", "HEAD", "--", path])
    found: dict[str, str] = {}
    commit = ""
    for line in log.stdout.decode("utf-8", "surrogateescape").splitlines():
        if line.startswith("commit "):
            commit = line[len("commit ") :]
        elif line.startswith(":"):
            meta = line.split("\t", 1)[0].split()
            if len(meta) >= 5 and meta[1] in _REGULAR_MODES and set(meta[3]) != {"0"}:
                found.setdefault(meta[3], commit)
    if not found:
        return []
    sizes = _run(root, ["cat-file", "--batch-check"], stdin="".join(f"{b}\n" for b in found).encode()).stdout
    small = []
    for row in sizes.decode("ascii", "replace").splitlines():
        parts = row.split()
        if len(parts) == 3 and parts[1] == "blob" and parts[2].isdigit() and int(parts[2]) <= limit_bytes:
            small.append(parts[0])
    if not small:
        return []
    out = _run(root, ["cat-file", "--batch"], stdin="".join(f"{b}\n" for b in small).encode()).stdout
    versions: list[tuple[str, bytes]] = []
    pos = 0
    for _ in small:
        header_end = out.index(b"\n", pos)
        oid, _kind, size = out[pos:header_end].decode("ascii").split()
        start = header_end + 1
        versions.append((found[oid], out[start : start + int(size)]))
        pos = start + int(size) + 1
    return versions


def commit_holding(root: Path, blobs: dict[str, str]) -> str:
    """The oldest commit in ``HEAD``'s history whose tree holds exactly ``blobs``
    (POSIX path relative to root -> git blob id), or ``""`` when none does (yet).

    Only commits that touch one of the paths are candidates (``git log -- paths``); the
    first of them, oldest first, whose ``ls-tree`` matches every blob is the answer.
    """
    if not blobs or any(not b for b in blobs.values()) or not head_commit(root):
        return ""
    paths = sorted(blobs)
    log = _run(root, ["log", "--format=%H", "--reverse", "HEAD", "--", *paths], check=False)
    if log.returncode != 0:
        return ""
    for commit in log.stdout.decode("ascii", "replace").split():
        out = _run(root, ["ls-tree", "-z", commit, "--", *paths], check=False).stdout
        found: dict[str, str] = {}
        for record in out.split(b"\0"):
            if record:
                meta, _, name = record.partition(b"\t")
                found[name.decode("utf-8", "surrogateescape")] = meta.decode("ascii").split(" ")[2]
        if found == blobs:
            return commit
    return ""


# --- history, through gitpython (imported lazily: never on the hook path) ---


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text[:200]


def open_repo(path: Path) -> git.Repo:
    """The repository holding ``path`` (a file or folder, searching upwards)."""
    import git  # deferred: gitpython stays off the hook path

    start = path if path.is_dir() else path.parent
    try:
        # expand_vars=False: a folder named `$HOME` is a folder, not the home directory
        return git.Repo(start.resolve(), search_parent_directories=True, expand_vars=False)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise RepoError(f"{path}: not inside a git repository") from None
    except git.GitError as e:  # pragma: no cover - git missing or broken
        raise RepoError(f"{path}: git failed: {_one_line(e)}") from None


def relpath_in_repo(path: Path) -> tuple[Path, str]:
    """(work-tree root, POSIX path of ``path`` relative to it)."""
    root = repo_root(path)
    if root is None:
        raise RepoError(f"{path}: not inside a git repository")
    target = path.resolve()
    if not target.is_relative_to(root):
        raise RepoError(f"{path}: outside the repository at {root}")
    return root, PurePosixPath(*target.relative_to(root).parts).as_posix()


def resolve_commit(repo: git.Repo, rev: str) -> git.Commit:
    """The commit ``rev`` names; ``RepoError`` for an unknown revision."""
    import git  # deferred: gitpython stays off the hook path

    if not rev or rev.startswith("-") or any(c in rev for c in "\n\r\0"):
        raise RepoError(f"unknown revision {rev!r}")
    try:
        obj = repo.rev_parse(rev)
        commit = obj.object if isinstance(obj, git.TagObject) else obj
        if not isinstance(commit, git.Commit):
            raise RepoError(f"revision {rev!r} is a {obj.type}, not a commit")
        return commit
    except RepoError:
        raise
    except (git.BadName, git.BadObject, ValueError, IndexError, git.GitError):
        raise RepoError(f"unknown revision {rev!r} in {repo.working_tree_dir or repo.git_dir}") from None


def commit_id(root: Path, rev: str) -> str:
    """The 40-hex id of the commit ``rev`` names (a branch, tag, ``HEAD~2``, an id), through the git
    binary; ``RepoError`` (one line) for a revision that does not exist or is not a commit."""
    if not rev or rev.startswith("-") or any(c in rev for c in "\n\r\0"):
        raise RepoError(f"unknown revision {rev[:80]!r}")
    proc = _run(root, ["rev-parse", "-q", "--verify", "--end-of-options", f"{rev}^{{commit}}"], check=False)
    sha = proc.stdout.decode("ascii", "replace").strip()
    if proc.returncode != 0 or len(sha) != 40:
        raise RepoError(f"unknown revision {rev[:80]!r} in {root}")
    return sha


def is_revision(root: Path, rev: str) -> bool:
    """Whether ``rev`` names a commit in the repository at ``root``."""
    try:
        commit_id(root, rev)
    except RepoError:
        return False
    return True


def blobs_at(root: Path, commit: str, rels: Sequence[str], *, limit_bytes: int) -> dict[str, bytes | None]:
    """The raw bytes of each file of ``rels`` (POSIX, relative to root) in the tree of ``commit``;
    None for a path absent there. Three processes whatever the number of files (``ls-tree``,
    ``cat-file --batch-check``, ``cat-file --batch``); a blob above ``limit_bytes`` is refused by its
    size before it is read. A symlink or a submodule at a path is refused, never followed; an
    object git cannot read (a shallow clone's boundary, a damaged repository) is one line."""

    def missing(rel: str, detail: str) -> RepoError:
        return RepoError(
            f"{root}: git object missing reading {rel} at {commit[:12]} (a shallow clone's boundary, or a damaged "
            f"repository: try `git fetch --unshallow` or `git fsck`): {detail[:120]}"
        )

    wanted = list(dict.fromkeys(rels))
    out: dict[str, bytes | None] = dict.fromkeys(wanted)
    if not wanted:
        return out
    proc = _run(root, ["ls-tree", "-z", "--full-tree", commit, "--", *wanted], check=False)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise missing(wanted[0], err[-1] if err else f"git ls-tree exit code {proc.returncode}")
    blobs: dict[str, str] = {}
    for record in proc.stdout.split(b"\0"):
        meta, _, name = record.partition(b"\t")
        rel = name.decode("utf-8", "surrogateescape")
        if rel not in out:
            continue
        mode, kind, blob = meta.decode("ascii", "replace").split(" ")
        if kind != "blob" or mode not in _REGULAR_MODES:
            raise RepoError(f"{commit[:12]}:{rel}: not a regular file in git (mode {mode})")
        blobs[rel] = blob
    if not blobs:
        return out
    order = list(blobs)
    check = _run(root, ["cat-file", "--batch-check"], stdin="".join(f"{blobs[r]}\n" for r in order).encode())
    for rel, row in zip(order, check.stdout.decode("ascii", "replace").splitlines(), strict=False):
        parts = row.split()
        if len(parts) != 3 or parts[1] != "blob" or not parts[2].isdigit():
            raise missing(rel, f"blob {blobs[rel][:12]} is not in the object store")
        if int(parts[2]) > limit_bytes:
            raise RepoError(
                f"{commit[:12]}:{rel}: {count(int(parts[2]), 'byte')}, "
                f"above the {limit_bytes:,}-byte limit for this file"
            )
    data = _run(root, ["cat-file", "--batch"], stdin="".join(f"{blobs[r]}\n" for r in order).encode()).stdout
    pos = 0
    for rel in order:
        header_end = data.index(b"\n", pos)
        size = int(data[pos:header_end].split()[2])
        start = header_end + 1
        out[rel] = data[start : start + size]
        pos = start + size + 1
    return out


def blob_at(root: Path, commit: str, rel: str, *, limit_bytes: int) -> bytes | None:
    """One file of :func:`blobs_at`."""
    return blobs_at(root, commit, [rel], limit_bytes=limit_bytes)[rel]


def file_at(path: Path, rev: str, *, limit_bytes: int = 1 << 20) -> bytes | None:
    """The bytes of the file ``path`` (in the work tree) at revision ``rev`` (the git binary, a
    capped read: ``RepoError`` above ``limit_bytes``); None when the file does not exist there."""
    root, rel = relpath_in_repo(path)
    return blob_at(root, commit_id(root, rev), rel, limit_bytes=limit_bytes)


def renamed_path(root: Path, base: str, head: str | None, rel: str) -> tuple[str, str] | None:
    """Where ``rel`` moved between commits ``base`` and ``head`` (None: the work tree and index),
    by git's rename detection: ``(path at base, path at head)`` when ``rel`` is either end of a
    rename, else None. A spec moved with ``git mv`` (or committed moved) is followed; one moved
    in the work tree but not added is not (git does not see untracked files)."""
    args = ["diff", "--no-ext-diff", "--no-textconv", "-M", "--name-status", "-z", base]
    proc = _run(root, [*args, *([head] if head else []), "--"], check=False)
    if proc.returncode != 0:
        return None
    fields = proc.stdout.split(b"\0")
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i].decode("ascii", "replace")
        if status.startswith(("R", "C")) and i + 2 < len(fields):
            old = fields[i + 1].decode("utf-8", "surrogateescape")
            new = fields[i + 2].decode("utf-8", "surrogateescape")
            if status.startswith("R") and rel in (old, new):
                return old, new
            i += 3
        else:
            i += 2
    return None
