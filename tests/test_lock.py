from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from distillplan import git as gitfast
from distillplan.errors import LockError
from distillplan.evalset import fingerprint as lock
from distillplan.evalset.fingerprint import git_blob_id, hash_file, lock_eval, verify_eval
from distillplan.evalset.lockfile import (
    HEADER,
    LOCK_NAME,
    EvalEntry,
    EvalLock,
    GeneratedManifest,
    HistoryEntry,
    LockFile,
    dumps,
    read_lock,
    write_lock,
)

DAY1 = date(2026, 10, 1)
DAY2 = date(2026, 11, 27)
PINNED = "2026-10-01T12:00:00+00:00"


def git(root: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_DATE=PINNED, GIT_COMMITTER_DATE=PINNED)
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def eval_repo(git_repo: Path) -> Path:
    """The shared empty ``git_repo`` with a spec and two committed eval files."""
    root = git_repo
    (root / "distill.toml").write_text("[project]\nname = 'x'\n")
    (root / "eval").mkdir()
    (root / "eval" / "a.jsonl").write_text('{"id": 1, "reference": "yes"}\n')
    (root / "eval" / "b.jsonl").write_text('{"id": 2, "reference": "no"}\n')
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "eval")
    return root


DATASETS = ["eval/a.jsonl", "eval/b.jsonl"]


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written a moment ago count as settled (no write can share their timestamps): the
    cache may vouch for them without the test waiting out RACY_NS."""
    monkeypatch.setattr(lock, "RACY_NS", -(10**12))


def locked(root: Path, datasets: list[str] = DATASETS) -> LockFile:
    new, _ = lock_eval(root, datasets, reason=None, today=DAY1, commit=gitfast.head_commit(root))
    write_lock(root, new)
    return new


# ------------------------------------------------------------- hashing


def test_hash_file_and_blob_id_match_reference_tools(eval_repo: Path) -> None:
    p = eval_repo / "eval" / "a.jsonl"
    data = p.read_bytes()
    assert hash_file(p) == (hashlib.sha256(data).hexdigest(), len(data))
    assert git_blob_id(p) == git(eval_repo, "hash-object", "eval/a.jsonl")
    seen: list[int] = []
    assert hash_file(p, progress=seen.append)[0] == hashlib.sha256(data).hexdigest()
    assert sum(seen) == len(data)


def test_gitfast_helpers(eval_repo: Path, tmp_path: Path) -> None:
    assert gitfast.repo_root(eval_repo / "eval") == eval_repo.resolve()
    outside = tmp_path / "outside"
    outside.mkdir()
    assert gitfast.repo_root(outside) is None
    assert len(gitfast.head_commit(eval_repo)) == 40
    blobs = gitfast.index_blobs(eval_repo, ["eval/a.jsonl", "eval/nope.jsonl"])
    assert blobs == {"eval/a.jsonl": git(eval_repo, "hash-object", "eval/a.jsonl")}
    assert gitfast.dirty_paths(eval_repo, DATASETS) == set()
    (eval_repo / "eval" / "b.jsonl").write_text("changed\n")
    assert gitfast.dirty_paths(eval_repo, DATASETS) == {"eval/b.jsonl"}


def test_head_commit_empty_without_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    assert gitfast.head_commit(tmp_path) == ""


# ------------------------------------------------------------- lock and verify


def test_lock_records_entries_and_verifies_clean(eval_repo: Path) -> None:
    new, summary = lock_eval(eval_repo, DATASETS, reason=None, today=DAY1, commit=gitfast.head_commit(eval_repo))
    assert new.eval is not None
    assert summary == "locked 2 eval files"
    assert [e.path for e in new.eval.files] == DATASETS
    a = new.eval.files[0]
    assert a.git_blob == git(eval_repo, "hash-object", "eval/a.jsonl")
    assert a.size == (eval_repo / "eval/a.jsonl").stat().st_size
    lines = "".join(f'file "{e.path}" {e.sha256} {e.size}\n' for e in new.eval.files)
    text = "distillplan eval lock v2\n" + lines  # no baseline yet: `distillplan lock` binds the terms in
    assert new.eval.hash == "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    write_lock(eval_repo, new)
    assert verify_eval(eval_repo, read_lock(eval_repo), DATASETS) == []


def test_untracked_file_gets_blob_id_from_content(eval_repo: Path) -> None:
    (eval_repo / "eval" / "new.jsonl").write_text('{"id": 3}\n')
    new, _ = lock_eval(eval_repo, ["eval/new.jsonl"], reason=None, today=DAY1, commit="")
    assert new.eval is not None
    assert new.eval.files[0].git_blob == git(eval_repo, "hash-object", "eval/new.jsonl")


def test_one_byte_change_is_modified(eval_repo: Path) -> None:
    locked(eval_repo)
    p = eval_repo / "eval" / "a.jsonl"
    p.write_bytes(p.read_bytes().replace(b"yes", b"yez"))
    changes = verify_eval(eval_repo, read_lock(eval_repo), DATASETS)
    assert [(c.path, c.kind) for c in changes] == [("eval/a.jsonl", "modified")]
    assert "sha256" in changes[0].detail


def test_size_change_is_modified_without_hashing(
    eval_repo: Path, monkeypatch: pytest.MonkeyPatch, settled: None
) -> None:
    locked(eval_repo)
    (eval_repo / "eval" / "a.jsonl").write_text("longer content than before\n")
    monkeypatch.setattr(lock, "_hash_checked", _explode)
    changes = verify_eval(eval_repo, read_lock(eval_repo), DATASETS)
    assert [(c.kind, c.detail.startswith("size")) for c in changes] == [("modified", True)]


def test_added_dataset(eval_repo: Path) -> None:
    locked(eval_repo)
    (eval_repo / "eval" / "c.jsonl").write_text("{}\n")
    changes = verify_eval(eval_repo, read_lock(eval_repo), [*DATASETS, "eval/c.jsonl"])
    assert [(c.path, c.kind) for c in changes] == [("eval/c.jsonl", "added")]


def test_deleted_on_disk_and_unlisted_are_told_apart(eval_repo: Path) -> None:
    locked(eval_repo)
    (eval_repo / "eval" / "a.jsonl").unlink()
    changes = verify_eval(eval_repo, read_lock(eval_repo), DATASETS)
    assert [(c.path, c.kind) for c in changes] == [("eval/a.jsonl", "deleted")]
    assert "missing on disk" in changes[0].detail
    changes = verify_eval(eval_repo, read_lock(eval_repo), ["eval/b.jsonl"])
    assert [(c.path, c.kind) for c in changes] == [("eval/a.jsonl", "deleted")]
    assert "no longer listed" in changes[0].detail


def test_rename_is_deleted_plus_added(eval_repo: Path) -> None:
    locked(eval_repo)
    git(eval_repo, "mv", "eval/b.jsonl", "eval/renamed.jsonl")
    changes = verify_eval(eval_repo, read_lock(eval_repo), ["eval/a.jsonl", "eval/renamed.jsonl"])
    assert [(c.path, c.kind) for c in changes] == [
        ("eval/b.jsonl", "deleted"),
        ("eval/renamed.jsonl", "added"),
    ]


def test_no_lock_is_an_error(eval_repo: Path) -> None:
    with pytest.raises(LockError, match=r"distill.lock: the eval set is not locked"):
        verify_eval(eval_repo, None, DATASETS)
    with pytest.raises(LockError, match="not locked"):
        verify_eval(eval_repo, LockFile(generated=GeneratedManifest("ab", {})), DATASETS)


def test_missing_dataset_and_escaping_path(eval_repo: Path) -> None:
    with pytest.raises(LockError, match=r"eval/nope.jsonl: eval dataset not found"):
        lock_eval(eval_repo, ["eval/nope.jsonl"], reason=None, today=DAY1, commit="")
    with pytest.raises(LockError, match="must be relative to the spec folder"):
        lock_eval(eval_repo, ["/etc/passwd"], reason=None, today=DAY1, commit="")


# ------------------------------------------------------------- fast path


def _explode(*_a: object, **_k: object) -> tuple[str, int]:
    raise AssertionError("hash_file must not be called")


def test_clean_tracked_file_is_not_read(eval_repo: Path, monkeypatch: pytest.MonkeyPatch, settled: None) -> None:
    locked(eval_repo)
    monkeypatch.setattr(lock, "_hash_checked", _explode)
    assert verify_eval(eval_repo, read_lock(eval_repo), DATASETS) == []


def test_dirty_tracked_file_is_hashed(eval_repo: Path, monkeypatch: pytest.MonkeyPatch, settled: None) -> None:
    locked(eval_repo)
    p = eval_repo / "eval" / "a.jsonl"
    p.write_bytes(p.read_bytes().replace(b"yes", b"YES"))  # same size
    calls: list[Path] = []
    real = lock._hash_checked

    def spy(path: Path, **kw: Any) -> Any:
        calls.append(path)
        return real(path, **kw)

    monkeypatch.setattr(lock, "_hash_checked", spy)
    changes = verify_eval(eval_repo, read_lock(eval_repo), DATASETS)
    assert calls == [eval_repo / "eval" / "a.jsonl"]
    assert [c.kind for c in changes] == ["modified"]


def test_untracked_or_unblobbed_files_are_hashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "e.jsonl").write_text("{}\n")
    new, _ = lock_eval(tmp_path, ["e.jsonl"], reason=None, today=DAY1, commit="")
    monkeypatch.setattr(lock, "_hash_checked", _explode)
    with pytest.raises(AssertionError, match="must not be called"):
        verify_eval(tmp_path, new, ["e.jsonl"])


def test_verify_does_not_import_heavy_modules() -> None:
    code = (
        "import sys, distillplan.evalset.fingerprint, distillplan.evalset.lockfile, distillplan.git;"
        "bad = [m for m in ('git', 'jinja2', 'transformers', 'pydantic') if m in sys.modules];"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------- re-locking and history


def test_relock_unchanged_keeps_lock(eval_repo: Path) -> None:
    first = locked(eval_repo)
    again, summary = lock_eval(eval_repo, DATASETS, reason=None, today=DAY2, commit="f" * 40)
    assert summary == "eval set unchanged, lock kept"
    assert again == first


def test_relock_changed_needs_reason_then_keeps_history(eval_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(eval_repo)
    first = locked(eval_repo)
    assert first.eval is not None
    (eval_repo / "eval" / "a.jsonl").write_text('{"id": 1, "reference": "maybe"}\n')
    with pytest.raises(LockError) as err:
        lock_eval(eval_repo, DATASETS, reason=None, today=DAY2, commit="")
    assert str(err.value) == (
        "distill.lock: the eval set changed since it was locked (eval/a.jsonl modified); "
        "re-locking changes the contract: pass --reason TEXT"
    )
    new, summary = lock_eval(eval_repo, DATASETS, reason="fixed a label", today=DAY2, commit="c" * 40)
    assert summary.startswith("re-locked 2 eval files (was sha256:")
    assert new.eval is not None
    assert new.eval.hash != first.eval.hash
    assert new.eval.files[1] == first.eval.files[1]  # b untouched, reused
    assert new.eval.history == (
        HistoryEntry(first.eval.hash, DAY1, first.eval.locked_at_commit, DAY2, "fixed a label"),
    )
    write_lock(eval_repo, new)
    once = (eval_repo / LOCK_NAME).read_bytes()
    again, _ = lock_eval(eval_repo, DATASETS, reason="fixed a label", today=DAY2, commit="c" * 40)
    write_lock(eval_repo, again)
    assert (eval_repo / LOCK_NAME).read_bytes() == once
    assert verify_eval(eval_repo, read_lock(eval_repo), DATASETS) == []


def test_relock_keeps_generated_section(eval_repo: Path) -> None:
    gen = GeneratedManifest("ab" * 32, {"distill/eval/eval.yaml": "cd" * 32})
    write_lock(eval_repo, LockFile(generated=gen))
    new, _ = lock_eval(eval_repo, DATASETS, reason=None, today=DAY1, commit="")
    assert new.generated == gen


def test_lock_outside_git(tmp_path: Path) -> None:
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "x.jsonl").write_text("{}\n")
    new, _ = lock_eval(tmp_path, ["./eval/x.jsonl"], reason=None, today=DAY1, commit="")
    assert new.eval is not None
    assert new.eval.locked_at_commit == ""
    assert [(e.path, e.git_blob) for e in new.eval.files] == [("eval/x.jsonl", "")]
    write_lock(tmp_path, new)
    assert verify_eval(tmp_path, read_lock(tmp_path), ["eval/x.jsonl"]) == []
    (tmp_path / "eval" / "x.jsonl").write_text("[]\n")
    assert [c.kind for c in verify_eval(tmp_path, new, ["eval/x.jsonl"])] == ["modified"]


# ------------------------------------------------------------- the file format


def sample() -> LockFile:
    files = (
        EvalEntry("eval/z.jsonl", "1" * 64, 5, "2" * 40),
        EvalEntry('eval/we"ird\\na\tme\x7f.jsonl', "3" * 64, 0, ""),
    )
    hist = (HistoryEntry("sha256:" + "4" * 64, DAY1, "", DAY2, 'said "why"\n'),)
    return LockFile(
        EvalLock("sha256:" + "5" * 64, "6" * 40, DAY2, files, hist),
        GeneratedManifest("7" * 64, {"b.yaml": "8" * 64, "a.yaml": "9" * 64}),
    )


def test_dumps_shape_and_round_trip(tmp_path: Path) -> None:
    text = dumps(sample())
    lines = text.splitlines()
    assert lines[0] == HEADER
    assert lines[2] == "version = 2"
    assert "locked_on = 2026-11-27" in lines
    # sorted: the weird name sorts before z; generated a before b
    weird = next(i for i, ln in enumerate(lines) if "we" in ln and "path" in ln)
    assert weird < next(i for i, ln in enumerate(lines) if "z.jsonl" in ln)
    assert text.index('"a.yaml"') < text.index('"b.yaml"')
    data = tomllib.loads(text)
    assert data["eval"]["files"][0]["path"] == 'eval/we"ird\\na\tme\x7f.jsonl'
    assert data["eval"]["history"][0]["reason"] == 'said "why"\n'
    write_lock(tmp_path, sample())
    first = (tmp_path / LOCK_NAME).read_bytes()
    back = read_lock(tmp_path)
    assert back is not None
    assert dumps(back) == text
    write_lock(tmp_path, back)
    assert (tmp_path / LOCK_NAME).read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == [LOCK_NAME]  # no temp files left


def test_read_lock_absent(tmp_path: Path) -> None:
    assert read_lock(tmp_path) is None


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("version = 1\n[eval\n", r"distill.lock:2:\d+: malformed lock: "),
        ("version = 3\n", r"distill.lock: version: unsupported lock version 3"),
        ("version = 1\n[eval]\nhash = 'x'\n", r"distill.lock: eval.locked_at_commit: missing"),
        ("version = 1\nbogus = 1\n", r"distill.lock: bogus: unknown key"),
        (
            "version = 1\n[generated]\ninputs_sha256 = 'a'\nfiles = [{ path = 1, sha256 = 'b' }]\n",
            r"distill.lock: generated.files\[0\].path: expected str",
        ),
        (  # the pre-rename key of the inputs fingerprint is not read
            "version = 1\n[generated]\nspec_sha256 = 'a'\nfiles = []\n",
            r"distill.lock: generated.spec_sha256: unknown key",
        ),
    ],
)
def test_malformed_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, pattern: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / LOCK_NAME).write_text(text)
    with pytest.raises(LockError, match=pattern):
        read_lock(tmp_path)


def test_progress_line_on_a_tty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    (tmp_path / "e.jsonl").write_bytes(b"x" * 3000)
    new, _ = lock_eval(tmp_path, ["e.jsonl"], reason=None, today=DAY1, commit="")
    (tmp_path / "e.jsonl").write_bytes(b"y" * 3000)
    err = Tty()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.delenv("PRE_COMMIT", raising=False)
    monkeypatch.setenv("DISTILLPLAN_PROGRESS_DELAY", "0")  # at once (by default: after a second of work)
    monkeypatch.setattr(lock, "PROGRESS_MIN_BYTES", 1000)
    assert [c.kind for c in verify_eval(tmp_path, new, ["e.jsonl"])] == ["modified"]
    line = "\rdistillplan: hashing eval files 0/0 MiB (100%)"
    assert err.getvalue() == line + "\r" + " " * (len(line) - 1) + "\r"  # drawn, then erased
    monkeypatch.setattr(lock, "PROGRESS_MIN_BYTES", 5000)  # below the threshold: silent
    err.truncate(0)
    err.seek(0)
    verify_eval(tmp_path, new, ["e.jsonl"])
    assert err.getvalue() == ""


def test_dataset_above_the_spec_folder_uses_the_fast_path(
    eval_repo: Path, monkeypatch: pytest.MonkeyPatch, settled: None
) -> None:
    spec_dir = eval_repo / "team" / "spec"
    spec_dir.mkdir(parents=True)
    datasets = ["../../eval/a.jsonl", "./../../eval/b.jsonl"]
    new, _ = lock_eval(spec_dir, datasets, reason=None, today=DAY1, commit="")
    assert new.eval is not None
    assert [e.path for e in new.eval.files] == ["../../eval/a.jsonl", "../../eval/b.jsonl"]
    assert new.eval.files[0].git_blob == git(eval_repo, "hash-object", "eval/a.jsonl")
    monkeypatch.setattr(lock, "_hash_checked", _explode)
    assert verify_eval(spec_dir, new, datasets) == []
