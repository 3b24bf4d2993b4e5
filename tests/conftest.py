from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "GIT_AUTHOR_DATE": "2027-01-04T12:00:00+00:00",
    "GIT_COMMITTER_DATE": "2027-01-04T12:00:00+00:00",
}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A real, empty git repository with a pinned author and commit date."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Test Author")
    git(repo, "config", "user.email", "author@example.com")
    git(repo, "config", "commit.gpgsign", "false")
    return repo


@pytest.fixture
def example_repo(git_repo: Path) -> Callable[[str], Path]:
    """Copy an example into a fresh git repo and commit it."""

    def make(name: str) -> Path:
        shutil.copytree(EXAMPLES / name, git_repo, dirs_exist_ok=True)
        git(git_repo, "add", "-A")
        git(git_repo, "commit", "-q", "-m", f"example {name}")
        return git_repo

    return make


#: SOURCE_DATE_EPOCH of the lock tests: 2027-01-01T00:00:00Z, so lock dates are fixed.
LOCK_EPOCH = "1798761600"


@pytest.fixture
def unlocked_invoice(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The invoice example committed without its lock, as the working directory, lock dates pinned."""
    shutil.copytree(EXAMPLES / "invoice-extraction", git_repo, dirs_exist_ok=True)
    (git_repo / "distill.lock").unlink()
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "example")
    monkeypatch.chdir(git_repo)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", LOCK_EPOCH)
    return git_repo


@pytest.fixture
def chdir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    def go(path: Path) -> None:
        monkeypatch.chdir(path)

    yield go


def run_cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the real entry point in-process; return (exit code, stdout, stderr)."""
    from distillplan.main import main

    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


#: The files that take longest, longest first (each runs whole on one xdist worker, --dist=loadfile): the
#: longest-processing-time-first order, so that no long file starts last while the other worker idles. The
#: rest follow in collection order. Ranked by the summed test times of a 2-worker run (seconds, busy
#: machine): pipeline_e2e 153, real_tools 128, hostile_inputs 35, verdict_figures 33, hooks 31, kill 31,
#: served_folder 21, architecture 20, scaffold 17, concurrency 16, teacher_data 13, validate 12,
#: plan 10, exit_codes 9.
LONGEST_FIRST = (
    "test_pipeline_e2e.py",
    "test_real_tools.py",
    "test_hostile_inputs.py",
    "test_verdict_figures.py",
    "test_hooks.py",
    "test_kill.py",
    "test_served_folder.py",
    "test_architecture.py",
    "test_scaffold.py",
    "test_concurrency.py",
    "test_teacher_data.py",
    "test_validate.py",
    "test_plan.py",
    "test_exit_codes.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within a file, and among the other files, is kept


@pytest.fixture(autouse=True)
def _cache_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's cache folder (the verification cache's MAC key) is a temporary one: tests never
    write into the real home."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
