"""Nothing gets past the lock (issues 14 and 26): each attack on the eval lock found on an old
main, run against a real git repository through the real command line.

Issue 14, the bytes:

* git's index told to stop looking (``--assume-unchanged``, ``--skip-worktree``), then an edit;
* ``distill.lock`` edited so that only ``size`` and ``git_blob`` match the edited file;
* the set hash edited, or the entries edited under an unchanged set hash;
* a hostile lock naming ``/dev/zero``, a FIFO, an absolute path or a path out of the repo.

Issue 26, the agreed terms (each of these passed on the main it was filed against):

* a threshold edited in distill.lock (with and without the hash recomputed);
* a measured teacher baseline forged in the lock, with no teacher file, scaffolded and committed;
* a term changed in the spec (``reference_field = "id"``, and every other term the lock copies);
* the lock's hashes recomputed for edited eval bytes (uncommitted, then committed);
* a contract citing another hash than the committed lock's;
* git made to call edited bytes clean: a clean filter, an fsmonitor hook, an edited
  ``.git/distillplan-verified``;
* add a row, scaffold, ``lock --reason``, scaffold: the documents were taken for a person's edit.

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


# ---------------------------------------------------------------- issue 26: the agreed terms


def _zero_predictions(repo: Path, out: Path) -> Path:
    """A student that gets nothing right: scores 0.00 under field-f1."""
    rows = [json.loads(x) for x in (repo / EVAL).read_text("utf-8").splitlines() if x.strip()]
    out.write_text("".join(json.dumps({"id": r["id"], "prediction": {}}) + "\n" for r in rows), "utf-8")
    return out


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert text.count(old) == 1, (old, path)
    path.write_text(text.replace(old, new), "utf-8")


def _commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def _accept_refuses(repo: Path, preds: Path, capsys: Cap) -> str:
    code, out, err = run_cli("accept", "--predictions", str(preds), capsys=capsys)
    assert code == 1, out + err
    assert "PASS" not in out
    return _one_line(err)


def _check_fails(capsys: Cap) -> str:
    code, out, err = run_cli("check", capsys=capsys)
    assert code == 1, out + err
    assert "Traceback" not in err
    return err


def _zero_thresholds(text: str) -> str:
    """Every threshold of a lock (overall and per stratum) set to 0.0."""
    out, n = re.subn(r"(?m)^threshold = .*$", "threshold = 0.0", text)
    assert n == 5
    return out


def test_threshold_edited_in_the_lock_is_refused(locked: Path, tmp_path: Path, capsys: Cap) -> None:
    """The student scoring 0.00 passed against `threshold = 0.0`, exit 0."""
    lock = locked / "distill.lock"
    lock.write_text(_zero_thresholds(lock.read_text("utf-8")), "utf-8")
    zero = _zero_predictions(locked, tmp_path / "zero.jsonl")
    line = _accept_refuses(locked, zero, capsys)
    assert line.startswith("distill.lock: eval.hash: does not match the locked file entries and terms"), line
    assert "eval.baseline.threshold is 0.0, 0.905 in the lock committed in" in line
    assert "eval.baseline.threshold is 0.0" in _check_fails(capsys)


def test_threshold_edited_and_rehashed_is_refused(locked: Path, tmp_path: Path, capsys: Cap) -> None:
    lock = locked / "distill.lock"
    lock.write_text(_rehash(lock, _zero_thresholds(lock.read_text("utf-8"))), "utf-8")
    line = _accept_refuses(locked, _zero_predictions(locked, tmp_path / "zero.jsonl"), capsys)
    assert line.startswith(
        "distill.lock: the contract terms differ from the locked ones (eval.baseline.threshold is 0.0 in the lock, "
        "but teacher score 0.93 minus 2.5 points is 0.905; eval.baseline.strata[0].threshold is 0.0 in the lock "
        "for stratum 'freight', but its teacher score and the stratum gap give 0.9); restore them, or re-lock with "
        "`distillplan lock --reason TEXT`"
    ), line
    assert "eval.baseline.threshold is 0.0 in the lock" in _check_fails(capsys)


def test_forged_measured_baseline_without_a_teacher_file(locked: Path, tmp_path: Path, capsys: Cap) -> None:
    """`source = "teacher-predictions"`, `teacher_score = 0.02`, no teacher file, scaffolded and
    committed: check was 0 and accept PASSed."""
    lock = locked / "distill.lock"
    text = _zero_thresholds(lock.read_text("utf-8"))  # thresholds that follow from the forged scores:
    text = text.replace("threshold = 0.0", "threshold = -0.005", 1).replace("threshold = 0.0", "threshold = -0.03")
    text = re.sub(r"(?m)^teacher_score = .*$", "teacher_score = 0.02", text)
    text = text.replace('source = "spec"', 'source = "teacher-predictions"', 1)
    lock.write_text(text, "utf-8")
    zero = _zero_predictions(locked, tmp_path / "zero.jsonl")
    line = _accept_refuses(locked, zero, capsys)  # as edited: the hash no longer covers the terms
    assert "eval.baseline.source is 'teacher-predictions', 'spec' in the lock committed in" in line
    lock.write_text(_rehash(lock, text), "utf-8")  # re-hashed: the lock names no teacher file
    line = _accept_refuses(locked, zero, capsys)
    assert 'eval.baseline.source is "teacher-predictions" in the lock, but it names no teacher predictions' in line
    text = text.replace('teacher_predictions = ""', 'teacher_predictions = "teacher.jsonl"', 1)
    text = text.replace('teacher_predictions_sha256 = ""', f'teacher_predictions_sha256 = "{"ab" * 32}"', 1)
    lock.write_text(_rehash(lock, text), "utf-8")  # names a file that does not exist
    assert run_cli("scaffold", capsys=capsys)[0] == 0
    _commit_all(locked, "the forged lock, its contract regenerated")
    assert "eval.hash" in _check_fails(capsys)
    line = _accept_refuses(locked, zero, capsys)
    assert re.fullmatch(
        r"distill\.lock: eval\.hash: sha256:[0-9a-f]{8}…, committed in [0-9a-f]{12}, is neither the lock's hash nor "
        r"in its eval\.history: the lock was changed without `distillplan lock --reason`; refusing to score",
        line,
    ), line


def test_committed_measured_baseline_must_be_re_measurable(locked: Path, tmp_path: Path, capsys: Cap) -> None:
    """A measured baseline is re-measured at accept from the committed teacher file."""
    teacher = _perfect_predictions(locked, locked / "teacher.jsonl")
    args = ("lock", "--teacher-predictions", "teacher.jsonl", "--reason", "measured")
    assert run_cli(*args, capsys=capsys)[0] == 0
    _commit_all(locked, "measured baseline")
    preds = _perfect_predictions(locked, tmp_path / "p.jsonl")
    code, _, err = run_cli("accept", "--predictions", str(preds), capsys=capsys)
    assert code == 0, err
    teacher.write_text(teacher.read_text("utf-8").replace('"prediction": {', '"prediction": {"x": 1, ', 1), "utf-8")
    _commit_all(locked, "the teacher file edited after the lock")
    line = _accept_refuses(locked, preds, capsys)
    assert line.startswith("distill.lock: eval.baseline.teacher_predictions_sha256: teacher.jsonl as committed"), line
    outside = tmp_path / "elsewhere.jsonl"
    outside.write_text(teacher.read_text("utf-8"), "utf-8")
    code, _, err = run_cli("lock", "--teacher-predictions", str(outside), "--reason", "x", capsys=capsys)
    assert code == 1 and "must be a file in the repository" in _one_line(err)


@pytest.mark.parametrize(
    ("term", "value"),
    [
        ("reference_field", '"id"'),
        ("id_field", '"input"'),
        ("input_field", '"segment"'),
        ("decide_by", '"confidence-bound"'),
    ],
)
def test_a_spec_term_changed_without_a_reason_is_refused(
    locked: Path, tmp_path: Path, capsys: Cap, term: str, value: str
) -> None:
    """`reference_field = "id"` with each row's id predicted PASSed at 100.00, the lock unchanged."""
    spec = locked / "distill.toml"
    _edit(spec, 'metric = "field-f1"\n', f'metric = "field-f1"\n{term} = {value}\n')
    key = json.loads(value) if term == "id_field" else "id"
    ref = json.loads(value) if term == "reference_field" else "reference"
    preds = tmp_path / "preds.jsonl"
    rows = [json.loads(x) for x in (locked / EVAL).read_text("utf-8").splitlines() if x.strip()]
    preds.write_text("".join(json.dumps({key: r[key], "prediction": r[ref]}) + "\n" for r in rows), "utf-8")
    line = _accept_refuses(locked, preds, capsys)
    assert line.startswith(f"distill.lock: the contract terms differ from the locked ones (eval.{term} is "), line
    assert "in the spec" in line and "--reason" in line
    assert f"eval.{term} is " in _check_fails(capsys)
    before = (locked / "distill.lock").read_bytes()
    code, _, err = run_cli("lock", capsys=capsys)
    assert code == 1 and "Traceback" not in err
    assert (locked / "distill.lock").read_bytes() == before  # no new hash without a reason


def test_reference_field_id_predicting_the_ids_is_refused(
    git_repo: Path, tmp_path: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's case, on an accuracy eval: `reference_field = "id"` added to the spec and each
    row's id predicted PASSed at 100.00 with the lock's hash unchanged and no --reason."""
    import shutil

    from tests.conftest import EXAMPLES

    shutil.copytree(EXAMPLES / "ticket-triage", git_repo, dirs_exist_ok=True)
    monkeypatch.chdir(git_repo)
    assert run_cli("lock", capsys=capsys)[0] == 0
    _commit_all(git_repo, "ticket triage, locked")
    _edit(git_repo / "distill.toml", 'metric = "accuracy"\n', 'metric = "accuracy"\nreference_field = "id"\n')
    rows = [json.loads(x) for x in (git_repo / EVAL).read_text("utf-8").splitlines() if x.strip()]
    preds = tmp_path / "ids.jsonl"
    preds.write_text("".join(json.dumps({"id": r["id"], "prediction": r["id"]}) + "\n" for r in rows), "utf-8")
    line = _accept_refuses(git_repo, preds, capsys)
    assert line == (
        "distill.lock: the contract terms differ from the locked ones (eval.reference_field is 'id' in the spec, "
        "'reference' in the lock); restore them, or re-lock with `distillplan lock --reason TEXT`"
    )
    before = (git_repo / "distill.lock").read_bytes()
    code, _, err = run_cli("lock", capsys=capsys)
    assert code == 1 and "reference_field 'reference' -> 'id'" in _one_line(err)
    assert (git_repo / "distill.lock").read_bytes() == before


def test_every_baseline_field_is_bound_and_compared() -> None:
    """The class, not the instances: each field of the locked baseline is in the content hash, and
    each is either copied from the spec (compared by drift) or a figure lock fixed (checked)."""
    import dataclasses

    from distillplan.evalset.baseline import LOCK_FIGURES, SPEC_TERMS
    from distillplan.evalset.fingerprint import content_hash
    from distillplan.evalset.lockfile import Baseline, EvalEntry, StratumBaseline

    names = [f.name for f in dataclasses.fields(Baseline)]
    assert sorted(SPEC_TERMS + LOCK_FIGURES) == sorted(names)
    base = Baseline(
        "spec", "field-f1", "point-estimate", 2.5, 0.93, 0.905, 40, "segment", 5.0, strata=(StratumBaseline("a", 40),)
    )
    files = [EvalEntry("eval/x.jsonl", "0" * 64, 10)]
    h = content_hash(files, base)
    changed = {
        "source": "teacher-predictions",
        "strata": (StratumBaseline("a", 40, 0.9, 0.85),),
    }
    for f in dataclasses.fields(Baseline):
        old = getattr(base, f.name)
        new = changed.get(f.name, old + 1 if isinstance(old, (int, float)) and old is not None else f"{old}x")
        if old is None:
            new = 1.0
        assert content_hash(files, dataclasses.replace(base, **{f.name: new})) != h, f.name


def _forge_eval_edit(repo: Path) -> None:
    """Edit the eval bytes and recompute every hash the lock holds, as a tool-savvy party would."""
    import hashlib

    _tamper_eval(repo)
    data = (repo / EVAL).read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    lock = repo / "distill.lock"
    text = re.sub(r'sha256 = "[0-9a-f]{64}"', f'sha256 = "{sha}"', lock.read_text("utf-8"), count=1)
    text = re.sub(r'git_blob = "[0-9a-f]{40}"', f'git_blob = "{blob}"', text, count=1)
    lock.write_text(_rehash(lock, text), "utf-8")


def test_lock_rehashed_for_edited_eval_bytes_is_refused(locked: Path, tmp_path: Path, capsys: Cap) -> None:
    """The lock's hashes recomputed for edited eval bytes: check was ok and accept PASSed."""
    _forge_eval_edit(locked)
    preds = _perfect_predictions(locked, tmp_path / "p.jsonl")
    assert "was changed without `distillplan lock --reason`" in _check_fails(capsys)
    line = _accept_refuses(locked, preds, capsys)
    assert re.fullmatch(
        r"distill\.lock: differs from the one committed in [0-9a-f]{12}; accept scores against the committed lock: "
        r"commit it, or restore it with `git checkout -- distill\.lock`",
        line,
    ), line
    _commit_all(locked, "the edited eval set and its forged lock")
    assert "was changed without `distillplan lock --reason`" in _check_fails(capsys)
    line = _accept_refuses(locked, preds, capsys)
    assert "is neither the lock's hash nor in its eval.history" in line, line


def test_accept_scores_the_committed_bytes(locked: Path, tmp_path: Path, capsys: Cap) -> None:
    """A lock made for bytes that were never committed is refused, naming the file."""
    _tamper_eval(locked)
    assert run_cli("lock", "--reason", "relabelled a row", capsys=capsys)[0] == 0
    git(locked, "add", "distill.lock")
    git(locked, "commit", "-q", "-m", "the lock only")
    line = _accept_refuses(locked, _perfect_predictions(locked, tmp_path / "p.jsonl"), capsys)
    assert re.fullmatch(
        r"distill\.lock: the eval lock does not verify \(eval/locked\.jsonl as committed in [0-9a-f]{12} differs "
        r"from its lock entry\); refusing to score",
        line,
    ), line


@pytest.fixture
def scaffolded(locked: Path, capsys: Cap) -> Path:
    code, _, err = run_cli("scaffold", capsys=capsys)
    assert code == 0, err
    _commit_all(locked, "scaffold")
    assert run_cli("check", capsys=capsys)[0] == 0
    return locked


CONTRACT = "distill/docs/contract.md"


def _cited(repo: Path) -> str:
    m = re.search(r"content hash (sha256:[0-9a-f]{64})", (repo / CONTRACT).read_text("utf-8"))
    assert m is not None
    return m.group(1)


def test_accept_checks_the_hash_the_contract_cites(scaffolded: Path, tmp_path: Path, capsys: Cap) -> None:
    """A re-lock committed without regenerating the contract: the lock and the contract disagree."""
    _edit(scaffolded / "distill.toml", "max_gap_points = 2.5", "max_gap_points = 3.0")
    assert run_cli("lock", "--reason", "gap renegotiated", capsys=capsys)[0] == 0
    _commit_all(scaffolded, "re-lock, contract not regenerated")
    line = _accept_refuses(scaffolded, _perfect_predictions(scaffolded, tmp_path / "p.jsonl"), capsys)
    assert re.fullmatch(
        rf"{re.escape(CONTRACT)}:\d+: cites eval hash sha256:[0-9a-f]{{8}}…, but distill\.lock's is "
        r"sha256:[0-9a-f]{8}…; the contract and the lock disagree "
        r"\(a re-lock is an amendment: regenerate and sign it\)",
        line,
    ), line
    assert run_cli("scaffold", capsys=capsys)[0] == 0
    _commit_all(scaffolded, "contract regenerated")
    assert run_cli("accept", "--predictions", str(tmp_path / "p.jsonl"), capsys=capsys)[0] == 0


def _hide_edit_from_git(repo: Path, how: str) -> None:
    """Make git call an edited eval file clean, then edit it (same size)."""
    if how == "clean-filter":
        blob = git(repo, "rev-parse", f"HEAD:{EVAL}").strip()
        git(repo, "config", "filter.hide.clean", f"cat >/dev/null; git cat-file blob {blob}")
        (repo / ".gitattributes").write_text(f"{EVAL} filter=hide\n", "utf-8")
        _tamper_eval(repo)
        git(repo, "update-index", "--refresh")  # re-reads the file through the filter: "clean"
    elif how == "fsmonitor":
        hook = repo.parent / "fsmonitor-hook"
        hook.write_text("#!/bin/sh\nprintf 'token\\0'\n", "utf-8")  # v2: "nothing changed", whatever did
        hook.chmod(0o755)
        old = 1_700_000_000
        os.utime(repo / EVAL, (old, old))  # not racily clean: git marks the entry fsmonitor-valid
        git(repo, "config", "core.fsmonitor", str(hook))
        git(repo, "config", "core.fsmonitorHookVersion", "2")
        git(repo, "update-index", "--refresh", "--fsmonitor")
        git(repo, "status", "--short")
        _tamper_eval(repo)
    else:  # the old verified-pairs cache, told that the edited bytes' blob holds the locked sha256
        import tomllib

        entry = tomllib.loads((repo / "distill.lock").read_text("utf-8"))["eval"]["files"][0]
        _tamper_eval(repo)
        git(repo, "add", EVAL)
        blob = git(repo, "rev-parse", f":{EVAL}").strip()
        lock = repo / "distill.lock"
        lock.write_text(re.sub(r'git_blob = "[0-9a-f]{40}"', f'git_blob = "{blob}"', lock.read_text("utf-8")), "utf-8")
        st = (repo / EVAL).stat()
        hexpath = os.fsencode((repo / EVAL).resolve()).hex()
        forged = (
            f"{entry['sha256']} {blob} {entry['size']}\n"
            + f"{'0' * 64} v2 {entry['sha256']} {blob} {hexpath} {st.st_dev} {st.st_ino} {st.st_size} "
            + f"{st.st_mtime_ns} {st.st_ctime_ns} {st.st_ctime_ns + 10**12}\n"
        )
        with open(repo / ".git" / "distillplan-verified", "a", encoding="ascii") as f:
            f.write(forged)


@pytest.mark.parametrize("how", ["clean-filter", "fsmonitor", "verified-cache"])
def test_git_tricks_never_make_changed_bytes_locked(locked: Path, tmp_path: Path, capsys: Cap, how: str) -> None:
    """`check` and `plan` said "locked" on changed bytes; accept re-hashed and refused (kept)."""
    _hide_edit_from_git(locked, how)
    if how != "verified-cache":
        assert git(locked, "diff-files", "--name-only", EVAL) == ""  # git itself calls the file clean
    err = _check_fails(capsys)
    assert f"{EVAL}: modified: sha256" in err or f"{EVAL}: modified: git_blob" in err, err
    _, out, _ = run_cli("plan", "--format", "json", capsys=capsys)
    check = next(c for c in json.loads(out)["verdict"]["checks"] if c["id"] == "eval-locked")
    assert check["ok"] is False, check
    line = _accept_refuses(locked, _perfect_predictions(locked, tmp_path / "p.jsonl"), capsys)
    assert "does not verify" in line


def _add_row(repo: Path) -> None:
    rows = [json.loads(x) for x in (repo / EVAL).read_text("utf-8").splitlines() if x.strip()]
    extra = dict(rows[0], id="inv-new")
    with open(repo / EVAL, "a", encoding="utf-8") as f:
        f.write(json.dumps(extra) + "\n")


def test_add_row_scaffold_relock_scaffold_updates_the_documents(scaffolded: Path, capsys: Cap) -> None:
    """The documents were marked "user-modified, kept" and check passed with the contract citing the
    old hash: the run that did not generate them had dropped them from the manifest."""
    old = _cited(scaffolded)
    _add_row(scaffolded)
    assert run_cli("scaffold", capsys=capsys)[0] == 0
    assert run_cli("lock", "--reason", "one more invoice", capsys=capsys)[0] == 0
    code, out, err = run_cli("scaffold", capsys=capsys)
    assert code == 0, err
    assert "user-modified" not in out, out
    for doc in ("contract.md", "proposal.md"):
        assert f"update  distill/docs/{doc}" in out, out
    import tomllib

    new = tomllib.loads((scaffolded / "distill.lock").read_text("utf-8"))["eval"]["hash"]
    assert _cited(scaffolded) == new != old
    code, out, err = run_cli("check", capsys=capsys)
    assert code == 0, out + err


def test_check_fails_when_a_kept_contract_cites_another_hash(scaffolded: Path, capsys: Cap) -> None:
    """A person's kept edit of contract.md still has to cite the lock's hash."""
    contract = scaffolded / CONTRACT
    contract.write_text(contract.read_text("utf-8") + "\nSigned.\n", "utf-8")
    assert run_cli("scaffold", capsys=capsys)[0] == 0  # kept, recorded as the person's
    _edit(scaffolded / "distill.toml", "max_gap_points = 2.5", "max_gap_points = 3.0")
    assert run_cli("lock", "--reason", "gap renegotiated", capsys=capsys)[0] == 0
    code, out, _ = run_cli("scaffold", capsys=capsys)
    assert code == 0 and "user-modified, kept" in out
    err = _check_fails(capsys)
    assert re.search(rf"{re.escape(CONTRACT)}:\d+: cites eval hash sha256:", err), err


def test_a_lock_downgraded_to_format_1_binds_nothing(locked: Path, tmp_path: Path, capsys: Cap) -> None:
    """Format 1 hashed the files only: a lock rewritten as version 1 with zeroed thresholds keeps a
    valid format-1 hash. check and accept refuse it; `lock` upgrades it only with a reason."""
    lock = locked / "distill.lock"
    text = _zero_thresholds(lock.read_text("utf-8")).replace("version = 2", "version = 1", 1)
    text = re.sub(r"(?m)^(id_field|input_field|reference_field) = .*\n", "", text)
    import hashlib

    import tomllib

    files = tomllib.loads(text)["eval"]["files"]
    lines = "".join(f"{f['path']} {f['sha256']} {f['size']}\n" for f in files)
    v1_hash = "sha256:" + hashlib.sha256(lines.encode()).hexdigest()
    lock.write_text(re.sub(r'hash = "sha256:[0-9a-f]{64}"', f'hash = "{v1_hash}"', text, count=1), "utf-8")
    assert "version: a version 1 lock does not bind the contract's terms" in _check_fails(capsys)
    line = _accept_refuses(locked, _zero_predictions(locked, tmp_path / "zero.jsonl"), capsys)
    assert line.startswith("distill.lock: version: a version 1 lock does not bind the contract's terms"), line
    code, _, err = run_cli("lock", capsys=capsys)
    assert code == 1 and "--reason" in _one_line(err)
    code, _, err = run_cli("lock", "--reason", "lock format 2", capsys=capsys)
    assert code == 0, err
    relocked = tomllib.loads(lock.read_text("utf-8"))
    assert relocked["version"] == 2
    assert relocked["eval"]["baseline"]["threshold"] == 0.905  # from the spec, not the forged lock
    assert relocked["eval"]["history"][-1]["hash"] == v1_hash
