"""Every failure located (issue 14): the user's and the machine's errors that the old main
called "a bug" (exit 3), each now one line naming what is wrong, exit 1, no traceback;
and ^C is exit 130 with one line.

Real repositories, real files, real git (a shallow clone, a deleted object), real streams
(a closed stdout, ``/dev/full``). Permission cases are skipped when running as root, who
can read anything.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, GIT_ENV, git, run_cli

Cap = pytest.CaptureFixture[str]
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def repo(unlocked_invoice: Path) -> Path:
    return unlocked_invoice


def _one_line(code: int, err: str) -> str:
    assert "Traceback" not in err
    assert "internal error" not in err, err
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def _env() -> dict[str, str]:
    return {**os.environ, **GIT_ENV, "SOURCE_DATE_EPOCH": "1798761600"}


def test_generated_root_is_a_file(repo: Path, capsys: Cap) -> None:
    (repo / "distill").write_text("not a folder\n", "utf-8")
    code, _, err = run_cli("scaffold", capsys=capsys)
    assert _one_line(code, err).startswith("distill/")


def test_generated_target_is_a_folder(repo: Path, capsys: Cap) -> None:
    (repo / "distill" / "eval" / "eval.yaml").mkdir(parents=True)
    code, _, err = run_cli("scaffold", capsys=capsys)
    assert _one_line(code, err).startswith("distill/eval/eval.yaml: is not a regular file")


def test_absurd_source_date_epoch(repo: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "9" * 20)
    code, _, err = run_cli("lock", capsys=capsys)
    assert _one_line(code, err).startswith("SOURCE_DATE_EPOCH: ")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "x", "prediction": ' + "9" * 5000 + "}", "a number with too many digits"),
        ('{"id": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ],
    ids=["5000-digit-number", "json-nested-100000-deep"],
)
def test_hostile_predictions(repo: Path, tmp_path: Path, capsys: Cap, line: str, message: str) -> None:
    assert run_cli("lock", capsys=capsys)[0] == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "lock")  # accept scores against the committed lock
    preds = tmp_path / "preds.jsonl"
    preds.write_text(line + "\n", "utf-8")
    code, _, err = run_cli("accept", "--predictions", str(preds), capsys=capsys)
    got = _one_line(code, err)
    assert got.startswith(f"{preds}:1:") and message in got


def test_deeply_nested_spec(repo: Path, capsys: Cap) -> None:
    spec = repo / "distill.toml"
    spec.write_text(spec.read_text("utf-8") + "\nx = " + "{a=" * 2000 + "1" + "}" * 2000 + "\n", "utf-8")
    code, _, err = run_cli("validate", capsys=capsys)
    assert _one_line(code, err) == "distill.toml:1:1: tables or arrays nested too deeply to read"


def test_spec_above_the_size_cap(repo: Path, capsys: Cap) -> None:
    spec = repo / "distill.toml"
    spec.write_text(spec.read_text("utf-8") + "".join(f"k{i} = {i}\n" for i in range(120_000)), "utf-8")
    assert spec.stat().st_size > 1 << 20
    code, _, err = run_cli("validate", capsys=capsys)
    assert _one_line(code, err) == ("distill.toml:1:1: is larger than 1,048,576 bytes (1 MiB), the limit for a spec")


def test_many_problems_are_capped(repo: Path, capsys: Cap) -> None:
    spec = repo / "distill.toml"
    spec.write_text(spec.read_text("utf-8") + "".join(f"k{i} = {i}\n" for i in range(500)), "utf-8")
    code, _, err = run_cli("validate", capsys=capsys)
    lines = err.splitlines()
    assert code == 1 and len(lines) == 50
    assert lines[-1].endswith(": and 451 more problems")


def test_over_long_path_argument(repo: Path, capsys: Cap) -> None:
    code, _, err = run_cli("plan", "a" * 300, capsys=capsys)
    assert "File name too long" in _one_line(code, err)


@pytest.mark.parametrize("redirect", [">&-", "> /dev/full"])
def test_closed_or_full_stdout(repo: Path, redirect: str) -> None:
    if redirect.endswith("/dev/full") and not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    cmd = f"{sys.executable} -m distillplan plan {redirect}"
    proc = subprocess.run(["sh", "-c", cmd], cwd=repo, env=_env(), capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def _second_commit(repo: Path) -> None:
    spec = repo / "distill.toml"
    spec.write_text(spec.read_text("utf-8").replace("requests_per_month = 6_000_000", "requests_per_month = 7_000_000"))
    git(repo, "commit", "-q", "-am", "more volume")


def test_diff_across_a_shallow_clone_boundary(
    repo: Path, tmp_path: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch
) -> None:
    _second_commit(repo)
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    monkeypatch.chdir(clone)
    code, _, err = run_cli("diff", "HEAD~1", capsys=capsys)
    line = _one_line(code, err)
    assert "unknown revision" in line or "git object missing" in line


def test_diff_with_a_corrupt_object(repo: Path, capsys: Cap) -> None:
    _second_commit(repo)
    blob = git(repo, "rev-parse", "HEAD~1:distill.toml").strip()
    (repo / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    code, _, err = run_cli("diff", "HEAD~1", capsys=capsys)
    assert "git object missing reading distill.toml" in _one_line(code, err)


def test_diff_in_a_folder_named_like_a_variable(tmp_path: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "$HOME" / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    shutil.copytree(EXAMPLES / "invoice-extraction", repo, dirs_exist_ok=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "example")
    _second_commit(repo)
    monkeypatch.chdir(repo)
    code, out, err = run_cli("diff", "HEAD~1", capsys=capsys)
    assert code == 0, err
    assert "5 changes" in out


@pytest.mark.skipif(AS_ROOT, reason="root reads and writes anything")
def test_unreadable_spec(repo: Path, capsys: Cap) -> None:
    (repo / "distill.toml").chmod(0)
    code, _, err = run_cli("plan", capsys=capsys)
    assert _one_line(code, err).startswith("distill.toml:1:1: cannot read")


@pytest.mark.skipif(AS_ROOT, reason="root reads and writes anything")
def test_read_only_generated_folder(repo: Path, capsys: Cap) -> None:
    (repo / "distill").mkdir()
    (repo / "distill").chmod(0o555)
    try:
        code, _, err = run_cli("scaffold", capsys=capsys)
        assert "Permission denied" in _one_line(code, err)
    finally:
        (repo / "distill").chmod(0o755)


@pytest.mark.slow
def test_interrupt_is_130_and_one_line(repo: Path) -> None:
    """^C at a random moment of a ``plan`` run, from the end of Python's own start-up (which
    runs before any distillplan code and prints its own traceback) to the end of the run."""
    cmd = [sys.executable, "-m", "distillplan", "plan"]
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    startup_s = time.monotonic() - start
    start = time.monotonic()
    subprocess.run(cmd, cwd=repo, env=_env(), capture_output=True, check=True)
    run_s = time.monotonic() - start
    rng = random.Random(14)
    codes: dict[int, int] = {}
    for _ in range(30):
        proc = subprocess.Popen(cmd, cwd=repo, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(2 * startup_s, run_s))
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate()
        codes[proc.returncode] = codes.get(proc.returncode, 0) + 1
        assert "Traceback" not in err, err
        assert proc.returncode in (0, 130, -signal.SIGINT), (proc.returncode, err)  # -2: during shutdown
        if proc.returncode == 130:
            assert err.strip() == "distillplan: interrupted", err
    assert codes.get(130, 0) > 0, codes


def test_root_above_the_spec_folder_inside_the_repo_is_allowed_by_both(
    git_repo: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``validate`` accepts ``root = "../gen"`` inside the repository, so ``scaffold`` writes it
    (the old main refused it at scaffold time in an 11-line message)."""
    sub = git_repo / "sub"
    shutil.copytree(EXAMPLES / "invoice-extraction", sub)
    (sub / "distill.lock").unlink()
    spec = sub / "distill.toml"
    spec.write_text(spec.read_text("utf-8") + '\n[scaffold]\nroot = "../gen"\n', "utf-8")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "example")
    monkeypatch.chdir(git_repo)
    assert run_cli("validate", "sub", capsys=capsys)[0] == 0
    code, _, err = run_cli("scaffold", "sub", capsys=capsys)
    assert code == 0, err
    assert (git_repo / "gen" / "serving" / "vllm.yaml").is_file()
    code, _, err = run_cli("check", "sub", capsys=capsys)
    assert code == 0, err


def test_an_interrupt_a_library_reraised_as_its_own_error_is_still_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """pydantic-core turns a KeyboardInterrupt raised while it builds a schema into a SchemaError (no
    chain, the interrupt only in its text): a ^C the console's handler saw still ends as 130, one line,
    and so does any error whose chain holds a KeyboardInterrupt. Without a ^C, an error is still a bug."""
    from distillplan import main as entry

    monkeypatch.setattr(entry, "_sigint_seen", False)

    def library_that_swallows() -> int:
        try:
            entry._on_sigint(signal.SIGINT, None)  # what the console's SIGINT handler does
        except KeyboardInterrupt:
            raise RuntimeError("Error building serializer: KeyboardInterrupt") from None
        return 0

    assert entry.guarded(library_that_swallows, []) == 130
    assert capsys.readouterr().err.strip() == "distillplan: interrupted"
    monkeypatch.setattr(entry, "_sigint_seen", False)

    def chained() -> int:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as e:
            raise ValueError("wrapped") from e

    assert entry.guarded(chained, []) == 130

    def plain_bug() -> int:
        raise ValueError("a real bug")

    assert entry.guarded(plain_bug, []) == 3
    assert "internal error" in capsys.readouterr().err
