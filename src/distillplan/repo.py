"""Git access through gitpython: the repository holding a path, a file at a revision,
``HEAD``. Off the pre-commit path (``gitfast.py`` serves that); gitpython is imported
lazily so that importing this module stays cheap. Every failure is a one-line
:class:`~distillplan.errors.RepoError`."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from distillplan.errors import RepoError

if TYPE_CHECKING:
    import git

__all__ = ["file_at", "head_commit", "open_repo", "relpath_in_repo", "repo_root", "resolve_commit"]


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text[:200]


def open_repo(path: Path) -> git.Repo:
    """The repository holding ``path`` (a file or folder, searching upwards)."""
    import git

    start = path if path.is_dir() else path.parent
    try:
        return git.Repo(start.resolve(), search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise RepoError(f"{path}: not inside a git repository") from None
    except git.GitError as e:  # pragma: no cover - git missing or broken
        raise RepoError(f"{path}: git failed: {_one_line(e)}") from None


def repo_root(path: Path) -> Path:
    """The work-tree root of the repository holding ``path``."""
    repo = open_repo(path)
    if repo.working_tree_dir is None:
        raise RepoError(f"{path}: a bare repository has no work tree")
    return Path(repo.working_tree_dir).resolve()


def relpath_in_repo(path: Path) -> tuple[Path, str]:
    """(work-tree root, POSIX path of ``path`` relative to it)."""
    root = repo_root(path)
    target = path.resolve()
    if not target.is_relative_to(root):
        raise RepoError(f"{path}: outside the repository at {root}")
    return root, PurePosixPath(*target.relative_to(root).parts).as_posix()


def resolve_commit(repo: git.Repo, rev: str) -> git.Commit:
    """The commit ``rev`` names; ``RepoError`` for an unknown revision."""
    import git

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
        raise RepoError(
            f"unknown revision {rev!r} in {repo.working_tree_dir or repo.git_dir}"
        ) from None


def file_at(path: Path, rev: str) -> bytes | None:
    """The bytes of the file ``path`` (in the work tree) at revision ``rev``;
    None when the file does not exist at that revision."""
    root, rel = relpath_in_repo(path)
    repo = open_repo(root)
    commit = resolve_commit(repo, rev)
    try:
        blob = commit.tree / rel
    except KeyError:
        return None
    if blob.type != "blob":
        return None
    data: bytes = blob.data_stream.read()
    return data


def head_commit(path: Path) -> str | None:
    """The 40-hex id of ``HEAD``, or None in a repository without commits."""
    repo = open_repo(path)
    try:
        return str(repo.head.commit.hexsha)
    except ValueError:
        return None
