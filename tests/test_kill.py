"""Nothing is lost when a run is killed (issue 14): ``scaffold`` and ``lock --reason`` are
SIGKILLed at random points (seeded, bounded) on a real repository, and after every kill the
next runs are clean: ``lock`` and ``scaffold`` exit 0, no generated file is called
"user-modified" (the spec is edited again after each killed scaffold, so a file the killed
run wrote but did not record would be blamed on the user without the scaffold journal),
``check`` passes and no temporary file is left behind.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, GIT_ENV, git

KILLS = 8  # half during lock; half during scaffold, of which half inside its write phase
SEED = 14


def _env() -> dict[str, str]:
    return {**os.environ, **GIT_ENV, "SOURCE_DATE_EPOCH": "1798761600"}


def _cli(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "distillplan", *args], cwd=repo, env=_env(), capture_output=True, text=True, check=False
    )


def _retitle(repo: Path, n: int) -> None:
    spec = repo / "distill.toml"
    text, count = re.subn(
        r'^title = ".*"$', f'title = "Invoice field extraction, revision {n}"', spec.read_text("utf-8"), flags=re.M
    )
    assert count == 1
    spec.write_text(text, "utf-8")


def _kill_after(repo: Path, delay_s: float, *args: str, after_change: Path | None = None) -> None:
    """SIGKILL ``distillplan ARGS`` ``delay_s`` after its start, or, with ``after_change``,
    ``delay_s`` after that file's bytes change (to land inside the short write phase)."""
    before = after_change.read_bytes() if after_change is not None else b""
    proc = subprocess.Popen(
        [sys.executable, "-m", "distillplan", *args],
        cwd=repo,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if after_change is not None:
        deadline = time.monotonic() + 60
        while proc.poll() is None and after_change.read_bytes() == before and time.monotonic() < deadline:
            time.sleep(0.0005)
    time.sleep(delay_s)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _temp_files(repo: Path) -> list[Path]:
    return [p for p in repo.rglob(".*.tmp") if ".git" not in p.parts]


@pytest.mark.slow
def test_killed_runs_leave_the_next_run_clean(git_repo: Path) -> None:
    shutil.copytree(EXAMPLES / "invoice-extraction", git_repo, dirs_exist_ok=True)
    (git_repo / "distill.lock").unlink()
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "example")
    assert _cli(git_repo, "lock").returncode == 0
    start = time.monotonic()
    assert _cli(git_repo, "scaffold").returncode == 0
    scaffold_s = time.monotonic() - start
    start = time.monotonic()
    assert _cli(git_repo, "lock").returncode == 0
    lock_s = time.monotonic() - start
    first_written = git_repo / "distill" / "docs" / "contract.md"  # the tree is written in path order
    assert first_written.is_file()
    rng = random.Random(SEED)
    killed_with_temp = 0
    for k in range(KILLS):
        if k % 2 == 0:
            _retitle(git_repo, k)
            if k % 4 == 0:  # anywhere in the run
                _kill_after(git_repo, rng.uniform(0.0, scaffold_s), "scaffold")
            else:  # inside the write phase: after the first generated file was replaced
                _kill_after(git_repo, rng.uniform(0.0, 0.02), "scaffold", after_change=first_written)
            _retitle(git_repo, k + 1)  # the next run renders something else again
        else:
            with (git_repo / "eval" / "locked.jsonl").open("a", encoding="utf-8") as f:
                f.write(f'{{"id": "kill-{k}", "reference": {{}}, "segment": "saas"}}\n')
            _kill_after(git_repo, rng.uniform(0.0, lock_s), "lock", "--reason", f"kill {k}")
        killed_with_temp += bool(_temp_files(git_repo))
        relock = _cli(git_repo, "lock", "--reason", f"after kill {k}")
        assert relock.returncode == 0, (k, relock.stderr)
        again = _cli(git_repo, "scaffold")
        assert again.returncode == 0, (k, again.stderr)
        assert "user-modified" not in again.stdout, (k, again.stdout)
        check = _cli(git_repo, "check")
        assert check.returncode == 0, (k, check.stdout, check.stderr)
        assert not _temp_files(git_repo), k
    print(f"{KILLS} kills, {killed_with_temp} left a temporary file that the next run cleaned")


def test_an_edit_saved_while_scaffold_writes_is_kept(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A person saves a generated file after ``scaffold`` read it and before it is replaced:
    the re-check just before each replace keeps the person's bytes, and reports it."""
    import distillplan.commands.scaffold as sc
    from distillplan.files import atomic_write as real_write

    shutil.copytree(EXAMPLES / "invoice-extraction", git_repo, dirs_exist_ok=True)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "example")
    monkeypatch.chdir(git_repo)
    assert sc.scaffold(git_repo / "distill.toml").ok
    _retitle(git_repo, 1)  # every document changes: the run will replace them all
    victim = git_repo / "distill" / "docs" / "proposal.md"
    edit = victim.read_bytes() + b"\nMy own note.\n"
    calls: list[Path] = []

    def write_then_person_saves(path: Path, data: bytes | str) -> None:
        if not calls:  # the person saves while the first file is being written
            victim.write_bytes(edit)
        calls.append(path)
        real_write(path, data)

    with monkeypatch.context() as m:
        m.setattr(sc, "atomic_write", write_then_person_saves)
        result = sc.scaffold(git_repo / "distill.toml")
    assert victim.read_bytes() == edit
    assert any(f.path.endswith("docs/proposal.md") and f.status == "user-modified, kept" for f in result.files)
    again = sc.scaffold(git_repo / "distill.toml")  # the next run still treats it as the person's
    assert victim.read_bytes() == edit
    assert any(f.path.endswith("docs/proposal.md") and f.status == "user-modified, kept" for f in again.files)
