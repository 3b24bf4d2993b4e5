"""The real `pre-commit try-repo` against this repository's hooks, in a real git repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, GIT_ENV, ROOT, git

pytestmark = pytest.mark.slow
INVALID = ROOT / "tests" / "cases" / "invalid"


def _head() -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def _pre_commit(repo: Path, hook: str, home: Path) -> subprocess.CompletedProcess[str]:
    """`pre-commit try-repo` at this repository's HEAD commit: with a fixed ref the hook
    environment is built once per PRE_COMMIT_HOME and reused (without --ref, try-repo makes a
    new shadow clone, and so a new environment, on every call). Uncommitted changes are
    therefore not what is tried: CI runs on a fresh clone, where HEAD is the change."""
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home)}
    env.pop("PRE_COMMIT", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "try-repo",
            str(ROOT),
            hook,
            "--ref",
            _head(),
            "--all-files",
            "--color",
            "never",
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def hook_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pre-commit cache for the module: the hook environment is built once."""
    return tmp_path_factory.mktemp("pre-commit-home")


def test_validate_hook_passes_then_fails_with_the_located_line(git_repo: Path, hook_home: Path) -> None:
    shutil.copytree(EXAMPLES / "ticket-triage", git_repo / "triage")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "spec")
    ok = _pre_commit(git_repo, "distillplan-validate", hook_home)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "distillplan validate" in ok.stdout and "Passed" in ok.stdout

    bad = (INVALID / "bad-enum-gpu" / "distill.toml").read_text()
    (git_repo / "triage" / "distill.toml").write_text(bad)
    git(git_repo, "add", "-A")
    failed = _pre_commit(git_repo, "distillplan-validate", hook_home)
    assert failed.returncode == 1
    assert "Failed" in failed.stdout
    assert "triage/distill.toml:36:7: hardware.gpu: must be one of" in failed.stdout
    assert "Traceback" not in failed.stdout


def test_check_hook_fails_when_a_locked_eval_file_changes(git_repo: Path, hook_home: Path) -> None:
    shutil.copytree(EXAMPLES / "open-chat", git_repo, dirs_exist_ok=True)
    (git_repo / "distill.lock").unlink(missing_ok=True)
    from distillplan.main import main

    cwd = Path.cwd()
    os.chdir(git_repo)
    try:
        assert main(["lock"]) == 0
    finally:
        os.chdir(cwd)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "locked")
    ok = _pre_commit(git_repo, "distillplan-check", hook_home)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    with (git_repo / "eval" / "locked.jsonl").open("a") as f:
        f.write('{"id": "extra", "reference": "x"}\n')
    git(git_repo, "add", "-A")
    failed = _pre_commit(git_repo, "distillplan-check", hook_home)
    assert failed.returncode == 1
    assert "eval/locked.jsonl: modified" in failed.stdout
