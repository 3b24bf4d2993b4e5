"""The real `pre-commit run` of this repository's hooks, in a real git repo with a real commit."""

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
    """`pre-commit run HOOK --all-files` in ``repo``, with a ``.pre-commit-config.yaml`` that
    points at this repository at its HEAD commit, as a user's repo would at a release tag.

    pre-commit's store keys a hook environment by (repository, rev), so with one
    PRE_COMMIT_HOME for the session the environment is built once and reused by every call
    (``try-repo`` builds a fresh shadow clone, and so a fresh environment, on every call).
    Uncommitted changes are therefore not what is tried: CI runs on a fresh clone, where HEAD
    is the change."""
    config = (
        "repos:\n"
        f"-   repo: {ROOT.as_posix()}\n"
        f"    rev: {_head()}\n"
        "    hooks:\n"
        "    -   id: distillplan-validate\n"
        "    -   id: distillplan-check\n"
    )
    (repo / ".pre-commit-config.yaml").write_text(config)
    git(repo, "add", ".pre-commit-config.yaml")
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home)}
    env.pop("PRE_COMMIT", None)
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", hook, "--all-files", "--color", "never"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="session")
def hook_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pre-commit store for the session: the hook environment is built once."""
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


def _readme_hooks_config() -> str:
    """docs/pre-commit.md's snippet, pointed at this repository at its HEAD commit."""
    import re

    readme = (ROOT / "docs" / "pre-commit.md").read_text(encoding="utf-8")
    block = readme.split("# The pre-commit hooks", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    rev = re.search(r"rev: (\S+)", block)
    assert rev and re.fullmatch(r"[0-9a-f]{40}", rev.group(1)), "the snippet pins a full commit id"
    return block.replace("<this repository's URL>", ROOT.as_posix()).replace(rev.group(1), _head())


def test_readme_precommit_snippet_runs_check_on_a_spec_in_a_subfolder(git_repo: Path, hook_home: Path) -> None:
    from distillplan.main import main

    folder = git_repo / "ml" / "ticket-router"  # the folder the snippet (docs/pre-commit.md) names in args
    shutil.copytree(EXAMPLES / "ticket-triage", folder)
    (folder / "distill.lock").unlink(missing_ok=True)
    assert main(["lock", str(folder)]) == 0 and main(["scaffold", str(folder)]) == 0
    (git_repo / ".pre-commit-config.yaml").write_text(_readme_hooks_config())
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "spec in a subfolder")
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(hook_home)}
    env.pop("PRE_COMMIT", None)
    run = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"],
        cwd=git_repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "distillplan check" in run.stdout and "Failed" not in run.stdout


def test_the_readme_order_commits_twice_without_a_stale_contract(git_repo: Path, hook_home: Path) -> None:
    """The walk-through's order with the real hook installed (`pre-commit install`): lock,
    scaffold, commit; then an unrelated commit. Both commits pass the hook: the contract cites
    the lock's content hash and blob ids, no commit, so the first commit does not make it stale
    (issue 23: it used to block the next commit with "contract.md: stale")."""
    from distillplan.main import main

    shutil.copytree(EXAMPLES / "invoice-extraction", git_repo, dirs_exist_ok=True)
    (git_repo / "distill.lock").unlink(missing_ok=True)
    # the spec at the root: the snippet without its args line
    config = "".join(ln for ln in _readme_hooks_config().splitlines(keepends=True) if "args:" not in ln)
    (git_repo / ".pre-commit-config.yaml").write_text(config)
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(hook_home)}
    env.pop("PRE_COMMIT", None)
    subprocess.run(
        [sys.executable, "-m", "pre_commit", "install"], cwd=git_repo, env=env, check=True, capture_output=True
    )
    assert main(["lock", str(git_repo)]) == 0 and main(["scaffold", str(git_repo)]) == 0

    def commit(message: str) -> subprocess.CompletedProcess[str]:
        subprocess.run(["git", "add", "-A"], cwd=git_repo, env=env, check=True)
        return subprocess.run(
            ["git", "commit", "-q", "-m", message], cwd=git_repo, env=env, capture_output=True, text=True, timeout=900
        )

    first = commit("lock, scaffold")
    assert first.returncode == 0, first.stdout + first.stderr
    (git_repo / "NOTES.md").write_text("an unrelated change\n")
    second = commit("unrelated")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "stale" not in second.stdout + second.stderr
    assert git(git_repo, "log", "--format=%s").split("\n")[:2] == ["unrelated", "lock, scaffold"]
