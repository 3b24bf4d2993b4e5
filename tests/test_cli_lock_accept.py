"""End-to-end CLI tests for "the locked eval, the acceptance test": `distillplan lock`,
`check`, `plan` (the eval-locked check) and `accept`, run in real temporary git repos
copied from ``examples/invoice-extraction`` (its shipped distill.lock removed).

The example's eval set (eval/locked.jsonl): 40 rows, 10 per segment (utility, freight,
saas, medical), each ``reference`` an object of 4 fields; metric field-f1,
teacher_score 0.93, max_gap_points 2.5, max_stratum_gap_points 5.0.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomllib

from tests.conftest import EXAMPLES, GIT_ENV, LOCK_EPOCH, git, run_cli

EXAMPLE = "invoice-extraction"
EVAL = "eval/locked.jsonl"
SEGMENTS = ("freight", "medical", "saas", "utility")
EPOCH = LOCK_EPOCH  # 2027-01-01T00:00:00Z
EPOCH_DATE = "2027-01-01"

Cap = pytest.CaptureFixture[str]


# ------------------------------------------------------------------ helpers


def _init_repo(repo: Path) -> Path:
    """A fresh git repo at ``repo`` holding the example without its distill.lock, committed."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Test Author")
    git(repo, "config", "user.email", "author@example.com")
    git(repo, "config", "commit.gpgsign", "false")
    shutil.copytree(EXAMPLES / EXAMPLE, repo, dirs_exist_ok=True)
    (repo / "distill.lock").unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "example")
    return repo


@pytest.fixture
def repo(unlocked_invoice: Path) -> Path:
    """The example in a real git repo (no lock), as the working directory."""
    return unlocked_invoice


@pytest.fixture
def locked(repo: Path, capsys: Cap) -> Path:
    """Locked and committed: accept scores against the committed lock and eval bytes."""
    code, _out, err = run_cli("lock", capsys=capsys)
    assert code == 0, err
    _commit(repo, "lock")
    return repo


def _commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def _lock_toml(repo: Path) -> dict[str, Any]:
    return tomllib.loads((repo / "distill.lock").read_text("utf-8"))


def _one_line(err: str) -> str:
    """The single line of an error output; no traceback."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def _set_datasets(repo: Path, datasets: list[str]) -> None:
    spec = repo / "distill.toml"
    text = spec.read_text("utf-8")
    old = 'datasets = ["eval/locked.jsonl"]'
    assert old in text
    spec.write_text(text.replace(old, "datasets = " + json.dumps(datasets)), "utf-8")


def _eval_rows(repo: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (repo / EVAL).read_text("utf-8").splitlines() if x.strip()]


def _write_preds(path: Path, preds: list[tuple[str, Any]]) -> Path:
    path.write_text("".join(json.dumps({"id": i, "prediction": p}) + "\n" for i, p in preds), "utf-8")
    return path


def _predictions(repo: Path, wrong: Callable[[dict[str, Any], int], Any] | None = None) -> list[tuple[str, Any]]:
    """All-correct predictions; ``wrong(row, index_in_segment)`` may return a replacement."""
    seen: dict[str, int] = {}
    out = []
    for row in _eval_rows(repo):
        k = seen.get(row["segment"], 0)
        seen[row["segment"]] = k + 1
        pred = row["reference"]
        if wrong is not None:
            alt = wrong(row, k)
            if alt is not None:
                pred = alt
        out.append((row["id"], pred))
    return out


def _three_fields_wrong(ref: dict[str, Any]) -> dict[str, Any]:
    """Only one of the 4 fields right: field-F1 = 2*1/(4+4) = 0.25."""
    keep = sorted(ref)[0]
    return {k: (v if k == keep else f"WRONG-{k}") for k, v in ref.items()}


# ------------------------------------------------------------------ the example's shape


def test_example_eval_set_has_the_shape_the_tests_assume(repo: Path) -> None:
    rows = _eval_rows(repo)
    assert len(rows) == 40
    for seg in SEGMENTS:
        assert sum(r["segment"] == seg for r in rows) == 10
    assert all(isinstance(r["reference"], dict) and len(r["reference"]) == 4 for r in rows)
    spec = tomllib.loads((repo / "distill.toml").read_text("utf-8"))["eval"]
    assert spec["metric"] == "field-f1"
    assert spec["teacher_score"] == 0.93
    assert spec["max_gap_points"] == 2.5
    assert spec["max_stratum_gap_points"] == 5.0
    assert spec["datasets"] == [EVAL]


# ------------------------------------------------------------------ lock


def test_lock_writes_lock_with_head_commit_and_git_blob(repo: Path, capsys: Cap) -> None:
    assert not (repo / "distill.lock").exists()
    code, out, err = run_cli("lock", capsys=capsys)
    assert code == 0, err
    assert "distill.lock" in out and "locked 1 eval file" in out
    lk = _lock_toml(repo)
    ev = lk["eval"]
    head = git(repo, "rev-parse", "HEAD").strip()
    assert ev["locked_at_commit"] == head
    assert str(ev["locked_on"]) == EPOCH_DATE
    [entry] = ev["files"]
    assert entry["path"] == EVAL
    data = (repo / EVAL).read_bytes()
    assert entry["size"] == len(data)
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert entry["git_blob"] == git(repo, "rev-parse", f"HEAD:{EVAL}").strip()
    # the content hash (lock format 2): the file entries, then every term accept decides by
    base = ev["baseline"]
    lines = ["distillplan eval lock v2", f'file "{EVAL}" {entry["sha256"]} {len(data)}']
    lines += [f"term {k} {json.dumps(v)}" for k, v in base.items() if k != "strata"]
    strata = [[s["name"], s["examples"], s["teacher_score"], s["threshold"]] for s in base["strata"]]
    lines += ["stratum " + json.dumps(s) for s in strata]
    expected = hashlib.sha256(("\n".join(lines) + "\n").encode()).hexdigest()
    assert ev["hash"] == "sha256:" + expected
    assert "history" not in ev


def test_lock_twice_is_byte_identical(repo: Path, capsys: Cap) -> None:
    assert run_cli("lock", capsys=capsys)[0] == 0
    first = (repo / "distill.lock").read_bytes()
    code, out, err = run_cli("lock", capsys=capsys)
    assert code == 0, err
    assert "unchanged" in out
    assert (repo / "distill.lock").read_bytes() == first


def test_lock_same_inputs_in_two_repos_is_byte_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Cap
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    locks = []
    heads = []
    for name in ("one", "two"):
        r = _init_repo(tmp_path / name)
        monkeypatch.chdir(r)
        code, _, err = run_cli("lock", capsys=capsys)
        assert code == 0, err
        locks.append((r / "distill.lock").read_bytes())
        heads.append(git(r, "rev-parse", "HEAD").strip())
    assert heads[0] == heads[1]  # pinned author/committer dates: same commit id
    assert locks[0] == locks[1]
    assert heads[0].encode() in locks[0]
    assert b"locked_on = " + EPOCH_DATE.encode() in locks[0]


def test_lock_with_spec_folder_argument_from_elsewhere(
    repo: Path, tmp_path: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _out, err = run_cli("lock", str(repo), capsys=capsys)
    assert code == 0, err
    assert (repo / "distill.lock").is_file()
    assert not (tmp_path / "distill.lock").exists()
    assert _lock_toml(repo)["eval"]["files"][0]["path"] == EVAL


def test_lock_missing_dataset_is_one_line_error(repo: Path, capsys: Cap) -> None:
    (repo / EVAL).unlink()
    code, _out, err = run_cli("lock", capsys=capsys)
    assert code == 1
    line = _one_line(err)
    assert EVAL in line and "not found" in line
    assert not (repo / "distill.lock").exists()


# ------------------------------------------------------------------ check


def test_check_after_lock_is_ok(locked: Path, capsys: Cap) -> None:
    code, out, err = run_cli("check", capsys=capsys)
    assert code == 0, err
    assert "distill.toml: ok" in out


def test_check_without_lock_notes_it_but_passes(repo: Path, capsys: Cap) -> None:
    code, out, err = run_cli("check", capsys=capsys)
    assert code == 0, err
    assert "not locked" in out


def _check_fails(capsys: Cap) -> list[str]:
    code, out, err = run_cli("check", capsys=capsys)
    assert code == 1, (out, err)
    assert "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert lines
    return lines


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda b: b.replace(b"Vendor 0", b"Vendor X", 1), id="same-size-byte"),
        pytest.param(lambda b: b + b"\n", id="one-more-byte"),
    ],
)
def test_check_one_byte_change_is_modified(locked: Path, capsys: Cap, edit: Callable[[bytes], bytes]) -> None:
    path = locked / EVAL
    before = path.read_bytes()
    after = edit(before)
    assert after != before and sum(a != b for a, b in zip(before, after, strict=False)) <= 1
    path.write_bytes(after)
    lines = _check_fails(capsys)
    bad = [x for x in lines if "modified" in x]
    assert len(bad) == 1, lines
    assert EVAL in bad[0] and "distill.lock" in bad[0]
    assert all(EVAL not in x for x in lines if x is not bad[0])


def test_check_modified_even_when_change_is_committed(locked: Path, capsys: Cap) -> None:
    """Tracked and clean but at a different blob than locked: still modified."""
    path = locked / EVAL
    path.write_bytes(path.read_bytes().replace(b"Vendor 0", b"Vendor Y", 1))
    git(locked, "add", "-A")
    git(locked, "commit", "-q", "-m", "sneaky")
    lines = _check_fails(capsys)
    assert any(EVAL in x and "modified" in x for x in lines), lines


def test_check_added_dataset(locked: Path, capsys: Cap) -> None:
    (locked / "eval/extra.jsonl").write_text('{"id": "x-1", "segment": "saas", "reference": {"total": 1}}\n', "utf-8")
    _set_datasets(locked, [EVAL, "eval/extra.jsonl"])
    lines = _check_fails(capsys)
    bad = [x for x in lines if "added" in x]
    assert len(bad) == 1, lines
    assert "eval/extra.jsonl" in bad[0]
    assert not any(EVAL in x for x in lines)  # the locked file is still intact


def test_check_deleted_dataset(locked: Path, capsys: Cap) -> None:
    (locked / EVAL).unlink()
    lines = _check_fails(capsys)
    bad = [x for x in lines if "deleted" in x]
    assert len(bad) == 1, lines
    assert EVAL in bad[0]


def test_check_renamed_dataset_is_deleted_plus_added(locked: Path, capsys: Cap) -> None:
    git(locked, "mv", EVAL, "eval/renamed.jsonl")
    _set_datasets(locked, ["eval/renamed.jsonl"])
    lines = _check_fails(capsys)
    deleted = [x for x in lines if ": deleted" in x]
    added = [x for x in lines if ": added" in x]
    assert len(deleted) == 1 and len(added) == 1, lines
    assert EVAL in deleted[0]
    assert "eval/renamed.jsonl" in added[0]
    assert len(lines) == 2, lines


# ------------------------------------------------------------------ re-lock


def test_relock_after_change_needs_reason(locked: Path, capsys: Cap) -> None:
    before = (locked / "distill.lock").read_bytes()
    path = locked / EVAL
    path.write_bytes(path.read_bytes().replace(b"Vendor 0", b"Vendor Z", 1))
    code, _out, err = run_cli("lock", capsys=capsys)
    assert code == 1
    line = _one_line(err)
    assert "--reason" in line and EVAL in line and "modified" in line
    assert (locked / "distill.lock").read_bytes() == before

    # a blank reason is no reason
    code, _out, err = run_cli("lock", "--reason", "   ", capsys=capsys)
    assert code == 1
    assert "--reason" in _one_line(err)
    assert (locked / "distill.lock").read_bytes() == before


def test_relock_with_reason_keeps_history(locked: Path, capsys: Cap) -> None:
    old = _lock_toml(locked)["eval"]
    path = locked / EVAL
    path.write_bytes(path.read_bytes().replace(b"Vendor 0", b"Vendor Z", 1))
    git(locked, "commit", "-q", "-am", "fix a label")
    head = git(locked, "rev-parse", "HEAD").strip()
    assert head != old["locked_at_commit"]
    reason = "client   corrected\tthe label of inv-0000"
    code, out, err = run_cli("lock", "--reason", reason, capsys=capsys)
    assert code == 0, err
    assert "re-locked" in out
    new = _lock_toml(locked)["eval"]
    assert new["hash"] != old["hash"]
    assert new["locked_at_commit"] == head
    assert new["files"][0]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    [hist] = new["history"]
    assert hist["hash"] == old["hash"]
    assert hist["locked_at_commit"] == old["locked_at_commit"]
    assert hist["reason"] == "client corrected the label of inv-0000"
    assert str(hist["replaced_on"]) == EPOCH_DATE
    # and the new lock verifies
    code, out, err = run_cli("check", capsys=capsys)
    assert code == 0, err


# ------------------------------------------------------------------ plan: the eval-locked check


def _plan_json(capsys: Cap) -> dict[str, Any]:
    code, out, err = run_cli("plan", "--format", "json", capsys=capsys)
    assert code == 0, err
    return json.loads(out)


def _eval_check(plan: dict[str, Any]) -> dict[str, Any]:
    [c] = [c for c in plan["verdict"]["checks"] if c["id"] == "eval-locked"]
    return c


def test_plan_eval_locked_check_follows_the_lock(repo: Path, capsys: Cap) -> None:
    unlocked = _plan_json(capsys)
    assert _eval_check(unlocked)["ok"] is False
    assert unlocked["verdict"]["decision"] == "lock-eval-first"

    assert run_cli("lock", capsys=capsys)[0] == 0
    ok = _plan_json(capsys)
    check = _eval_check(ok)
    assert check["ok"] is True
    assert check["figure"] == _lock_toml(repo)["eval"]["hash"]
    assert ok["verdict"]["decision"] == "distill"

    path = repo / EVAL
    path.write_bytes(path.read_bytes().replace(b"Vendor 0", b"Vendor Q", 1))
    changed = _plan_json(capsys)
    check = _eval_check(changed)
    assert check["ok"] is False
    assert EVAL in check["message"]
    assert changed["verdict"]["decision"] == "lock-eval-first"


# ------------------------------------------------------------------ accept


def _accept(capsys: Cap, preds: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli("accept", "--predictions", str(preds), *extra, capsys=capsys)


def test_accept_all_correct_passes_with_negative_gap(locked: Path, tmp_path: Path, capsys: Cap) -> None:
    preds = _write_preds(tmp_path / "preds.jsonl", _predictions(locked))
    code, out, err = _accept(capsys, preds, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["format_version"] == 2
    assert doc["result"] == "PASS"
    assert doc["baseline_source"] == "spec"
    assert doc["overall"]["student_score"] == 1.0
    assert doc["overall"]["teacher_score"] == 0.93
    assert doc["overall"]["gap_points"] == pytest.approx(-7.0)
    assert doc["overall"]["ok"] is True
    assert {s["name"] for s in doc["strata"]} == set(SEGMENTS)
    assert all(s["ok"] is True for s in doc["strata"])
    assert doc["lock_hash"] == _lock_toml(locked)["eval"]["hash"]
    # the one commit cited for the lock: the oldest holding the locked eval bytes (issue 23), not HEAD
    assert doc["commit"] == git(locked, "log", "--format=%H", "--", "eval").split()[-1]
    assert doc["commit"] != git(locked, "rev-parse", "HEAD").strip()

    code, out, err = _accept(capsys, preds)
    assert code == 0, err
    assert out.startswith("PASS")


def test_accept_overall_gap_too_large_fails(locked: Path, tmp_path: Path, capsys: Cap) -> None:
    # one fully wrong row per segment: student 36/40 = 0.90 < 0.905 overall (gap 3.0 > 2.5);
    # each stratum 0.90, at or above its locked threshold (freight 0.95 - 0.05 = 0.90, the
    # others lower): only the overall bound breaks. FAIL exits 4 (1 is "cannot score").
    preds = _write_preds(tmp_path / "p.jsonl", _predictions(locked, lambda r, k: {} if k == 0 else None))
    code, out, err = _accept(capsys, preds)
    assert code == 4, (out, err)
    assert out.startswith("FAIL")
    first = out.splitlines()[0]
    assert first == "FAIL: overall score 90.00 is below the locked threshold 90.50"
    code, out, _ = _accept(capsys, preds, "--format", "json")
    assert code == 4
    doc = json.loads(out)
    assert doc["result"] == "FAIL"
    assert doc["overall"]["gap_points"] == pytest.approx(3.0)
    assert doc["overall"]["ok"] is False
    assert all(s["ok"] is True for s in doc["strata"])


def test_accept_one_stratum_too_far_fails_naming_it(locked: Path, tmp_path: Path, capsys: Cap) -> None:
    # two fully wrong "medical" rows: medical 0.80 against its own teacher 0.89 (gap 9 > 5);
    # overall 38/40 = 0.95 (gap -2 <= 2.5)
    preds = _write_preds(
        tmp_path / "p.jsonl",
        _predictions(locked, lambda r, k: {} if r["segment"] == "medical" and k < 2 else None),
    )
    code, out, err = _accept(capsys, preds)
    assert code == 4, (out, err)
    first = out.splitlines()[0]
    assert first.startswith("FAIL")
    assert "medical" in first
    assert "overall" not in first
    assert not any(s in first for s in SEGMENTS if s != "medical")
    doc = json.loads(_accept(capsys, preds, "--format", "json")[1])
    assert doc["overall"]["ok"] is True
    assert doc["overall"]["gap_points"] == pytest.approx(-2.0)
    by = {s["name"]: s for s in doc["strata"]}
    assert by["medical"]["ok"] is False
    assert by["medical"]["gap_points"] == pytest.approx(9.0)
    assert by["medical"]["threshold"] == pytest.approx(0.84)
    assert all(by[s]["ok"] is True for s in SEGMENTS if s != "medical")


def _medical_one_field_right(r: dict[str, Any], k: int) -> Any:
    return _three_fields_wrong(r["reference"]) if r["segment"] == "medical" and k == 0 else None


def test_accept_teacher_predictions_never_move_a_threshold(locked: Path, tmp_path: Path, capsys: Cap) -> None:
    """Issue 10/14: the same student PASSes with and without teacher predictions, whether the
    teacher file is perfect or garbage; the thresholds printed are the locked ones."""
    perfect = _write_preds(tmp_path / "teacher.jsonl", _predictions(locked))
    garbage = _write_preds(tmp_path / "garbage.jsonl", _predictions(locked, lambda r, k: "x"))
    # medical 9.25/10 against its locked 0.84; overall 39.25/40 against 0.905
    student = _write_preds(tmp_path / "student.jsonl", _predictions(locked, _medical_one_field_right))
    docs = []
    for extra in ([], ["--teacher-predictions", str(perfect)], ["--teacher-predictions", str(garbage)]):
        code, out, err = _accept(capsys, student, *extra, "--format", "json")
        assert code == 0, (extra, err)
        docs.append(json.loads(out))
    for doc in docs:
        assert doc["result"] == "PASS"
        assert doc["overall"]["threshold"] == pytest.approx(0.905)
        assert {s["name"]: s["threshold"] for s in doc["strata"]} == pytest.approx(
            {"freight": 0.90, "medical": 0.84, "saas": 0.89, "utility": 0.89}
        )
    assert docs[0]["overall"]["paired"] is None
    assert docs[1]["overall"]["paired"]["teacher_score"] == 1.0
    assert docs[1]["bootstrap"]["paired"] is True
    assert docs[2]["overall"]["paired"]["teacher_score"] == 0.0


def test_lock_teacher_predictions_fixes_the_baseline(locked: Path, tmp_path: Path, capsys: Cap) -> None:
    """`lock --teacher-predictions` measures the teacher per stratum with the contract's metric and
    records the file's sha256; accept then holds each stratum to its own measured teacher."""
    (locked / "teacher.jsonl").write_text(
        "".join(json.dumps({"id": i, "prediction": p}) + "\n" for i, p in _predictions(locked)), "utf-8"
    )
    code, out, err = run_cli("lock", "--teacher-predictions", "teacher.jsonl", capsys=capsys)
    assert code == 1 and "--reason" in err  # the baseline changes: a change of contract
    code, out, err = run_cli("lock", "--teacher-predictions", "teacher.jsonl", "--reason", "measured", capsys=capsys)
    assert code == 0, err
    base = _lock_toml(locked)["eval"]["baseline"]
    assert base["source"] == "teacher-predictions"
    assert base["teacher_predictions"] == "teacher.jsonl"
    assert base["teacher_predictions_sha256"] == hashlib.sha256((locked / "teacher.jsonl").read_bytes()).hexdigest()
    assert base["teacher_score"] == 1.0 and base["threshold"] == 0.975
    assert [(s["name"], s["examples"], s["teacher_score"], s["threshold"]) for s in base["strata"]] == [
        (name, 10, 1.0, 0.95) for name in SEGMENTS
    ]
    assert _lock_toml(locked)["eval"]["history"][-1]["reason"] == "measured"
    _commit(locked, "re-locked on the measured teacher baseline")
    # medical 9.25/10 < 0.95: FAIL (it passed against the spec's 0.89 - 0.05)
    student = _write_preds(tmp_path / "student.jsonl", _predictions(locked, _medical_one_field_right))
    code, out, _ = _accept(capsys, student)
    assert code == 4
    assert out.splitlines()[0] == "FAIL: stratum 'medical' score 92.50 is below the locked threshold 95.00"


def test_accept_refuses_when_spec_terms_drift_from_the_lock(locked: Path, tmp_path: Path, capsys: Cap) -> None:
    spec = locked / "distill.toml"
    spec.write_text(spec.read_text("utf-8").replace("max_gap_points = 2.5", "max_gap_points = 4.0"), "utf-8")
    preds = _write_preds(tmp_path / "p.jsonl", _predictions(locked))
    code, out, err = _accept(capsys, preds)
    assert code == 1 and out == ""
    line = _one_line(err)
    assert "eval.max_gap_points is 4.0 in the spec, 2.5 in the lock" in line and "--reason" in line


def test_accept_markdown_contains_lock_hash(locked: Path, tmp_path: Path, capsys: Cap) -> None:
    preds = _write_preds(tmp_path / "p.jsonl", _predictions(locked))
    code, out, err = _accept(capsys, preds, "--format", "markdown")
    assert code == 0, err
    h = _lock_toml(locked)["eval"]["hash"]
    assert f"`{h}`" in out
    assert out.startswith("# Acceptance record: invoice-extraction")
    assert "PASS" in out


def test_accept_refuses_when_lock_does_not_verify(locked: Path, tmp_path: Path, capsys: Cap) -> None:
    preds = _write_preds(tmp_path / "p.jsonl", _predictions(locked))
    path = locked / EVAL
    path.write_bytes(path.read_bytes().replace(b"Vendor 0", b"Vendor W", 1))
    code, out, err = _accept(capsys, preds)
    assert code == 1
    assert out == ""
    line = _one_line(err)
    assert "refus" in line and EVAL in line and "modified" in line


def test_accept_refuses_without_lock(repo: Path, tmp_path: Path, capsys: Cap) -> None:
    preds = _write_preds(tmp_path / "p.jsonl", _predictions(repo))
    code, out, err = _accept(capsys, preds)
    assert code == 1
    assert out == ""
    line = _one_line(err)
    assert "not locked" in line and "distillplan lock" in line


def _good_lines(repo: Path) -> list[str]:
    return [json.dumps({"id": i, "prediction": p}) for i, p in _predictions(repo)]


@pytest.mark.parametrize(
    "mutate, expect",
    [
        pytest.param(
            lambda ls: [*ls[:2], '{"id": "inv-0002", "prediction": ', *ls[3:]],
            (":3:", "not valid JSON"),
            id="malformed-json",
        ),
        pytest.param(lambda ls: [*ls, ls[4]], (":41:", "duplicate id 'inv-0004'"), id="duplicate-id"),
        pytest.param(
            lambda ls: [*ls, '{"id": "nope-1", "prediction": {}}'],
            (":41:", "'nope-1' is not in the locked eval set"),
            id="unknown-id",
        ),
        pytest.param(lambda ls: ls[:-3], ("3 eval ids have no prediction", "'inv-0039'"), id="missing-ids"),
        pytest.param(
            lambda ls: [*ls[:5], '{"id": "inv-0005"}', *ls[6:]],
            (":6:", "missing prediction field"),
            id="missing-prediction-field",
        ),
    ],
)
def test_accept_bad_prediction_files(
    locked: Path, tmp_path: Path, capsys: Cap, mutate: Callable[[list[str]], list[str]], expect: tuple[str, ...]
) -> None:
    lines = _good_lines(locked)
    assert len(lines) == 40
    preds = tmp_path / "bad.jsonl"
    preds.write_text("\n".join(mutate(lines)) + "\n", "utf-8")
    code, out, err = _accept(capsys, preds)
    assert code == 1, (out, err)
    assert out == ""
    line = _one_line(err)
    assert line.startswith(str(preds)), line
    for piece in expect:
        assert piece in line, line


# ------------------------------------------------------------------ the real console script


def _console_script() -> str:
    found = shutil.which("distillplan")
    if found:
        return found
    beside = Path(sys.executable).with_name("distillplan")
    assert beside.is_file(), "the distillplan console script is not installed"
    return str(beside)


def test_console_script_lock_check_accept(repo: Path, tmp_path: Path) -> None:
    exe = _console_script()
    env = {**os.environ, **GIT_ENV, "SOURCE_DATE_EPOCH": EPOCH}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([exe, *args], cwd=repo, env=env, capture_output=True, text=True, timeout=120)

    p = run("lock")
    assert p.returncode == 0, p.stderr
    assert "distill.lock: locked 1 eval file" in p.stdout
    ev = _lock_toml(repo)["eval"]
    assert ev["locked_at_commit"] == git(repo, "rev-parse", "HEAD").strip()
    assert str(ev["locked_on"]) == EPOCH_DATE
    _commit(repo, "lock")

    p = run("check")
    assert p.returncode == 0, p.stderr

    preds = _write_preds(tmp_path / "p.jsonl", _predictions(repo))
    p = run("accept", "--predictions", str(preds), "--format", "json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["result"] == "PASS"

    (repo / EVAL).write_bytes((repo / EVAL).read_bytes().replace(b"Vendor 1", b"Vendor 7", 1))
    p = run("check")
    assert p.returncode == 1
    assert "Traceback" not in p.stderr
    assert any(EVAL in x and "modified" in x for x in p.stderr.splitlines()), p.stderr
    p = run("accept", "--predictions", str(preds))
    assert p.returncode == 1
    assert "refusing to score" in _one_line(p.stderr)


def test_a_measured_baseline_survives_a_plain_relock(locked: Path, tmp_path: Path, capsys: Cap) -> None:
    """`lock` without the teacher file keeps a measured baseline on an unchanged set; on a changed
    set it asks for the file instead of silently falling back to the spec's scores."""
    (locked / "teacher.jsonl").write_text(
        "".join(json.dumps({"id": i, "prediction": p}) + "\n" for i, p in _predictions(locked)), "utf-8"
    )
    args = ("lock", "--teacher-predictions", "teacher.jsonl", "--reason", "measured")
    assert run_cli(*args, capsys=capsys)[0] == 0
    before = _lock_toml(locked)["eval"]["baseline"]
    code, _out, err = run_cli("lock", capsys=capsys)
    assert code == 0, err
    assert _lock_toml(locked)["eval"]["baseline"] == before
    path = locked / EVAL
    path.write_bytes(path.read_bytes().replace(b"Vendor 0", b"Vendor W", 1))
    code, _, err = run_cli("lock", "--reason", "fixed a label", capsys=capsys)
    assert code == 1 and "pass `--teacher-predictions FILE`" in _one_line(err)
