"""Nothing gets past the lock (issue 14): each attack on the eval lock found on the old main,
run against a real git repository through the real command line.

* git's index told to stop looking (``--assume-unchanged``, ``--skip-worktree``), then an edit;
* ``distill.lock`` edited so that only ``size`` and ``git_blob`` match the edited file;
* the set hash edited, or the entries edited under an unchanged set hash;
* a hostile lock naming ``/dev/zero``, a FIFO, an absolute path or a path out of the repo.

Each must make ``check`` fail and ``accept`` refuse, with one line and exit 1.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.conftest import git, run_cli

EVAL = "eval/locked.jsonl"
Cap = pytest.CaptureFixture[str]


@pytest.fixture
def locked(unlocked_invoice: Path, capsys: Cap) -> Path:
    git_repo = unlocked_invoice
    code, _, err = run_cli("lock", capsys=capsys)
    assert code == 0, err
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "lock")
    code, _, err = run_cli("check", capsys=capsys)  # verified once on this machine: the fast path is armed
    assert code == 0, err
    return git_repo


def _perfect_predictions(repo: Path, out: Path) -> Path:
    rows = [json.loads(x) for x in (repo / EVAL).read_text("utf-8").splitlines() if x.strip()]
    out.write_text("".join(json.dumps({"id": r["id"], "prediction": r["reference"]}) + "\n" for r in rows), "utf-8")
    return out


def _tamper_eval(repo: Path) -> None:
    """Drop every hard example: the same size, so only a hash can tell."""
    p = repo / EVAL
    data = p.read_bytes()
    first = data.index(b"\n") + 1
    p.write_bytes(data[:first].replace(b"a", b"b", 1) + data[first:])
    assert len(p.read_bytes()) == len(data)


def _one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def _refused(repo: Path, tmp_path: Path, capsys: Cap) -> tuple[str, str]:
    """check fails (exit 1) and accept refuses (exit 1, one line); returns both messages."""
    code, out, err = run_cli("check", capsys=capsys)
    assert code == 1, out + err
    assert "Traceback" not in err
    preds = _perfect_predictions(repo, tmp_path / "preds.jsonl")
    code, out, aerr = run_cli("accept", "--predictions", str(preds), capsys=capsys)
    assert code == 1, out
    assert "PASS" not in out
    return err, _one_line(aerr)


@pytest.mark.parametrize("flag", ["--assume-unchanged", "--skip-worktree"])
def test_index_flags_do_not_hide_an_edit(locked: Path, tmp_path: Path, capsys: Cap, flag: str) -> None:
    git(locked, "update-index", flag, EVAL)
    _tamper_eval(locked)
    assert git(locked, "diff-files", "--name-only") == ""  # git itself no longer sees the edit
    check_err, accept_err = _refused(locked, tmp_path, capsys)
    assert f"{EVAL}: modified: sha256" in check_err
    assert "does not verify" in accept_err


def test_lock_edited_to_match_size_and_blob_does_not_verify(locked: Path, tmp_path: Path, capsys: Cap) -> None:
    _tamper_eval(locked)
    git(locked, "add", EVAL)
    git(locked, "commit", "-q", "-m", "tamper")
    blob = git(locked, "rev-parse", f"HEAD:{EVAL}").strip()
    lock = locked / "distill.lock"
    text, n = re.subn(r'git_blob = "[0-9a-f]{40}"', f'git_blob = "{blob}"', lock.read_text("utf-8"))
    assert n == 1
    lock.write_text(text, "utf-8")  # size is unchanged by _tamper_eval; sha256 and hash left alone
    check_err, accept_err = _refused(locked, tmp_path, capsys)
    assert f"{EVAL}: modified: sha256" in check_err
    assert "does not verify" in accept_err


def test_set_hash_is_recomputed_from_the_entries(locked: Path, tmp_path: Path, capsys: Cap) -> None:
    lock = locked / "distill.lock"
    text = lock.read_text("utf-8")
    forged = re.sub(r'hash = "sha256:[0-9a-f]{64}"', 'hash = "sha256:' + "0" * 64 + '"', text, count=1)
    assert forged != text
    lock.write_text(forged, "utf-8")
    check_err, accept_err = _refused(locked, tmp_path, capsys)
    assert "eval.hash: does not match the locked file entries" in check_err
    assert "eval.hash: does not match the locked file entries" in accept_err


def test_entries_edited_under_the_contracted_hash(locked: Path, tmp_path: Path, capsys: Cap) -> None:
    """The attacker edits the data and re-hashes the entry, keeping the set hash the contract cites."""
    import hashlib

    _tamper_eval(locked)
    sha = hashlib.sha256((locked / EVAL).read_bytes()).hexdigest()
    lock = locked / "distill.lock"
    lock.write_text(re.sub(r'sha256 = "[0-9a-f]{64}"', f'sha256 = "{sha}"', lock.read_text("utf-8")), "utf-8")
    check_err, accept_err = _refused(locked, tmp_path, capsys)
    assert "eval.hash: does not match" in check_err
    assert "eval.hash: does not match" in accept_err


def test_accept_prints_the_hash_of_what_it_scored(locked: Path, tmp_path: Path, capsys: Cap) -> None:
    import tomllib

    preds = _perfect_predictions(locked, tmp_path / "p.jsonl")
    code, out, err = run_cli("accept", "--predictions", str(preds), "--format", "json", capsys=capsys)
    assert code == 0, err
    want = tomllib.loads((locked / "distill.lock").read_text("utf-8"))["eval"]["hash"]
    assert json.loads(out)["lock_hash"] == want


def _rehash(lock: Path, text: str) -> str:
    """``text`` (a lock) with its content hash recomputed, as an attacker with distillplan's source would."""
    from distillplan.evalset.fingerprint import content_hash
    from distillplan.evalset.lockfile import loads_lock

    ev = loads_lock(text.encode("utf-8"), str(lock)).eval
    assert ev is not None
    new_hash = content_hash(ev.files, ev.baseline)
    return re.sub(r'hash = "sha256:[0-9a-f]{64}"', f'hash = "{new_hash}"', text, count=1)


def _hostile_entry(repo: Path, path: str) -> None:
    """A self-consistent hostile lock: the entry renamed and the content hash recomputed."""
    lock = repo / "distill.lock"
    text, n = re.subn(r'path = "eval/locked.jsonl"', f"path = {json.dumps(path)}", lock.read_text("utf-8"))
    assert n == 1
    lock.write_text(_rehash(lock, text), "utf-8")
    spec = repo / "distill.toml"
    spec.write_text(spec.read_text("utf-8").replace(f'"{EVAL}"', json.dumps(path)), "utf-8")


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("/dev/zero", "relative"),
        ("../../outside.jsonl", "outside the repository"),
        ("eval/fifo", "not a regular file"),
        ("eval/dir", "folder"),  # the spec loader refuses it first
    ],
)
def test_hostile_lock_entries_are_never_read(locked: Path, capsys: Cap, target: str, why: str) -> None:
    if target == "eval/fifo":
        os.mkfifo(locked / target)  # a reader would block forever
    if target == "eval/dir":
        (locked / target).mkdir()
    (locked.parent.parent / "outside.jsonl").write_text("{}\n", "utf-8")
    _hostile_entry(locked, target)
    code, out, err = run_cli("check", capsys=capsys)
    assert code == 1, out
    assert "Traceback" not in err
    assert why in err, err


def test_malformed_lock_is_replaced_only_with_a_reason_and_kept(locked: Path, capsys: Cap) -> None:
    lock = locked / "distill.lock"
    broken = lock.read_text("utf-8").replace("[eval]", "[eval", 1)
    lock.write_text(broken, "utf-8")
    code, _, err = run_cli("lock", capsys=capsys)
    line = _one_line(err)
    assert code == 1 and "malformed lock" in line and "--reason" in line  # the advice is a path that works
    code, out, err = run_cli("lock", "--reason", "lock file damaged in a merge", capsys=capsys)
    assert code == 0, err
    assert "kept as distill.lock.malformed" in out
    assert (locked / "distill.lock.malformed").read_text("utf-8") == broken  # the old history, for a person
    assert run_cli("check", capsys=capsys)[0] == 0


def test_deleted_tracked_lock_is_not_silently_recreated(locked: Path, capsys: Cap) -> None:
    (locked / "distill.lock").unlink()
    code, _, err = run_cli("lock", capsys=capsys)
    assert code == 1 and "git tracks it" in _one_line(err)
    assert not (locked / "distill.lock").exists()
    git(locked, "checkout", "--", "distill.lock")
    assert run_cli("check", capsys=capsys)[0] == 0
