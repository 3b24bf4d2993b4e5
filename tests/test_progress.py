"""Progress on stderr (issue 30): a line on a real terminal, none on a pipe, under pre-commit or
with ``--format json``, and the command's own output unchanged by it."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from distillplan import progress as prog
from distillplan.progress import progress, showing, silenced

from .conftest import git


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_line_after_the_delay_redrawn_at_most_five_times_a_second_then_erased(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PRE_COMMIT", raising=False)
    monkeypatch.delenv("DISTILLPLAN_PROGRESS", raising=False)
    monkeypatch.setenv("DISTILLPLAN_PROGRESS_DELAY", "0")
    err = Tty()
    with progress("reading x", total=3 << 20, unit="MiB", stream=err) as tick:
        tick(1 << 20)
        tick(2 << 20)  # within 0.2 s of the last redraw: not drawn
        shown = err.getvalue()
    assert shown == "\rdistillplan: reading x 1/3 MiB (33%)"
    assert err.getvalue() == shown + "\r" + " " * (len(shown) - 1) + "\r"  # erased: the next output starts clean


def test_nothing_before_the_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRE_COMMIT", raising=False)
    monkeypatch.delenv("DISTILLPLAN_PROGRESS_DELAY", raising=False)
    err = Tty()
    with progress("quick work", total=10, stream=err) as tick:
        for i in range(10):
            tick(i)
    assert prog.DELAY_SECONDS >= 0.5 and err.getvalue() == ""


@pytest.mark.parametrize(
    ("env", "json_output", "tty"),
    [
        ({"PRE_COMMIT": "1"}, False, True),
        ({"DISTILLPLAN_PROGRESS": "0"}, False, True),
        ({}, True, True),
        ({}, False, False),
    ],
)
def test_no_line_under_pre_commit_for_json_or_on_a_pipe(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], json_output: bool, tty: bool
) -> None:
    for k in ("PRE_COMMIT", "DISTILLPLAN_PROGRESS"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("DISTILLPLAN_PROGRESS_DELAY", "0")
    err = Tty() if tty else io.StringIO()
    with silenced(json_output), progress("work", stream=err) as tick:
        tick(1)
        assert not showing(err)
    assert err.getvalue() == ""


# ------------------------------------------------------------------ the real command on a real terminal


@pytest.fixture
def accept_repo(example_repo: Callable[[str], Path]) -> Path:
    """ticket-triage, locked and committed, with the reference answers as predictions (30 examples: FAIL,
    exit 4, fewer than the contract decides on; the bootstrap runs all the same)."""
    repo = example_repo("ticket-triage")
    rows = [json.loads(x) for x in (repo / "eval/locked.jsonl").read_text().splitlines() if x.strip()]
    (repo / "preds.jsonl").write_text(
        "".join(json.dumps({"id": r["id"], "prediction": r["reference"]}) + "\n" for r in rows)
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "predictions")
    return repo


def _run_on_a_terminal(repo: Path, *args: str, **env: str) -> tuple[int, str, str]:
    """Run distillplan with stderr on a pseudo-terminal (stdout a pipe): (exit code, stdout, terminal)."""
    master, slave = pty.openpty()
    full = {**os.environ, "DISTILLPLAN_PROGRESS_DELAY": "0", **env}
    if "PRE_COMMIT" not in env:
        full.pop("PRE_COMMIT", None)
    p = subprocess.Popen(
        [sys.executable, "-m", "distillplan", *args], cwd=repo, env=full, stdout=subprocess.PIPE, stderr=slave
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif p.poll() is not None:
            break
    os.close(master)
    assert p.stdout is not None
    with p.stdout:
        out = p.stdout.read().decode()
    return p.wait(timeout=60), out, seen.decode(errors="replace")


def test_accept_shows_progress_on_a_terminal_and_keeps_its_report(accept_repo: Path) -> None:
    code, out, term = _run_on_a_terminal(accept_repo, "accept", "--predictions", "preds.jsonl")
    assert code == 4, term
    assert "\rdistillplan: bootstrapping the 95% intervals" in term and "resamples" in term
    assert term.endswith("\r") and term.rsplit("\r", 2)[1].strip() == ""  # erased at the end
    assert out.startswith("FAIL") and "\r" not in out and "bootstrapping" not in out


@pytest.mark.parametrize(
    ("extra", "env"), [(("--format", "json"), {}), ((), {"PRE_COMMIT": "1"}), ((), {"DISTILLPLAN_PROGRESS": "0"})]
)
def test_no_progress_for_json_or_under_pre_commit_even_on_a_terminal(
    accept_repo: Path, extra: tuple[str, ...], env: dict[str, str]
) -> None:
    code, out, term = _run_on_a_terminal(accept_repo, "accept", "--predictions", "preds.jsonl", *extra, **env)
    assert code == 4 and "distillplan:" not in term, term
    if extra:
        assert json.loads(out)["result"] == "FAIL"


def test_no_progress_when_stderr_is_a_pipe(accept_repo: Path) -> None:
    env = {**os.environ, "DISTILLPLAN_PROGRESS_DELAY": "0"}
    env.pop("PRE_COMMIT", None)
    p = subprocess.run(
        [sys.executable, "-m", "distillplan", "accept", "--predictions", "preds.jsonl"],
        cwd=accept_repo,
        env=env,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 4 and p.stdout.startswith("FAIL") and p.stderr == "", p.stderr
