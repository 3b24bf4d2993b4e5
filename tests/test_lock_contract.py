"""Issue 10: the lock fixes what the contract promises. Bad data is refused at lock time with
file:line; the contract cites the locked content hash and each file's git blob id, no commit (so the
README's order needs no second commit), and `accept` the first commit holding the locked bytes;
the threshold table is the lock's.

Real temporary git repos holding ``examples/invoice-extraction`` without its distill.lock."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, git, run_cli

Cap = pytest.CaptureFixture[str]
EVAL = "eval/locked.jsonl"


@pytest.fixture
def fresh(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example copied into an empty repo, nothing committed, no lock (the README's start)."""
    shutil.copytree(EXAMPLES / "invoice-extraction", git_repo, dirs_exist_ok=True)
    (git_repo / "distill.lock").unlink()
    monkeypatch.chdir(git_repo)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1798761600")
    return git_repo


def _rows(repo: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (repo / EVAL).read_text("utf-8").splitlines() if line.strip()]


def _write_rows(repo: Path, rows: list[dict[str, object]]) -> None:
    (repo / EVAL).write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")


@pytest.mark.parametrize(
    "mutate, expect",
    [
        pytest.param(lambda rows: rows[3].pop("segment"), "eval/locked.jsonl:4:1: segment:", id="missing-stratum"),
        pytest.param(lambda rows: rows[5].pop("id"), "eval/locked.jsonl:6:1: id: missing id field", id="missing-id"),
        pytest.param(
            lambda rows: rows[7].update(id=rows[2]["id"]),
            "eval/locked.jsonl:8:1: id: duplicate id 'inv-0002' (first at eval/locked.jsonl:3)",
            id="duplicate-id",
        ),
        pytest.param(
            lambda rows: rows[9].pop("reference"),
            "eval/locked.jsonl:10:1: reference: missing reference field",
            id="missing-reference",
        ),
        pytest.param(
            lambda rows: rows[1].update(reference="not an object"),
            "eval/locked.jsonl:2:1: field-f1 needs a JSON object",
            id="unscorable-reference",
        ),
    ],
)
def test_lock_refuses_what_accept_would_refuse(fresh: Path, capsys: Cap, mutate: object, expect: str) -> None:
    rows = _rows(fresh)
    mutate(rows)  # type: ignore[operator]
    _write_rows(fresh, rows)
    code, out, err = run_cli("lock", capsys=capsys)
    assert code == 1, out
    assert err.startswith(expect), err
    assert len(err.strip().splitlines()) == 1
    assert not (fresh / "distill.lock").exists()


def test_lock_refuses_a_missing_dataset(fresh: Path, capsys: Cap) -> None:
    (fresh / EVAL).unlink()
    code, _, err = run_cli("lock", capsys=capsys)
    assert code == 1 and "eval/locked.jsonl: eval dataset not found" in err


def test_the_readme_order_has_no_second_commit_trap(fresh: Path, capsys: Cap) -> None:
    """The README's order (lock, scaffold, then the first commit): the contract cites the lock's
    content hash and each file's git blob id, never a commit, so committing leaves it fresh and the
    next unrelated commit passes `check` (issue 23). `accept` cites the one commit there is to cite:
    the first holding the locked bytes, the commit the blob ids lead to."""
    assert run_cli("lock", capsys=capsys)[0] == 0
    assert run_cli("scaffold", capsys=capsys)[0] == 0
    contract = fresh / "distill/docs/contract.md"
    text = contract.read_text("utf-8")
    blob = git(fresh, "hash-object", EVAL).strip()
    assert f"{EVAL} (git blob {blob})" in text and "commit " not in text.split("## 4.")[0].replace("commits", "")
    code, out, err = run_cli("check", capsys=capsys)
    assert "distill.lock: note: the lock is not committed" in out + err

    git(fresh, "add", "-A")
    git(fresh, "commit", "-q", "-m", "first")
    first = git(fresh, "rev-parse", "HEAD").strip()
    before = contract.read_bytes()
    code, out, err = run_cli("check", capsys=capsys)
    assert code == 0 and "stale" not in out + err, out + err
    assert run_cli("scaffold", "--check", capsys=capsys)[0] == 0
    (fresh / "NOTES.md").write_text("an unrelated change\n")
    git(fresh, "add", "NOTES.md")
    git(fresh, "commit", "-q", "-m", "unrelated")
    code, out, err = run_cli("check", capsys=capsys)
    assert code == 0 and "stale" not in out + err, out + err
    assert run_cli("scaffold", capsys=capsys)[0] == 0 and contract.read_bytes() == before
    assert git(fresh, "log", "--format=%H", f"--find-object={blob}").split() == [first]
    rows = _rows(fresh)
    preds = fresh / "preds.jsonl"
    preds.write_text("".join(json.dumps({"id": r["id"], "prediction": r["reference"]}) + "\n" for r in rows))
    code, out, err = run_cli("accept", "--predictions", str(preds), "--format", "json", capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["commit"] == first  # not HEAD ("unrelated")

    rows[0]["reference"] = {"currency": "EUR", "invoice_number": "1000", "total": 1.0, "vendor": "Vendor 0"}
    _write_rows(fresh, rows)
    assert run_cli("lock", "--reason", "fixed a label", capsys=capsys)[0] == 0
    assert run_cli("scaffold", capsys=capsys)[0] == 0
    relocked = contract.read_text("utf-8")
    assert blob not in relocked and git(fresh, "hash-object", EVAL).strip() in relocked
    code, out, err = run_cli("accept", "--predictions", str(preds), capsys=capsys)
    assert code == 1 and "accept scores against the committed lock" in err  # commit before accepting


def test_contract_prints_the_locked_threshold_table(fresh: Path, capsys: Cap) -> None:
    assert run_cli("lock", capsys=capsys)[0] == 0
    assert run_cli("scaffold", capsys=capsys)[0] == 0
    text = (fresh / "distill/docs/contract.md").read_text("utf-8")
    table = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("| ") and "|---" not in ln]
    rows = table[table.index("| group | examples | teacher score | threshold |") + 1 :][:5]
    assert rows == [
        "| overall | 40 | 93.00 | 90.50 |",
        "| freight | 10 | 95.00 | 90.00 |",
        "| medical | 10 | 89.00 | 84.00 |",
        "| saas | 10 | 94.00 | 89.00 |",
        "| utility | 10 | 94.00 | 89.00 |",
    ]
    assert "**0 is PASS, 4 is FAIL**" in text
    assert "its score (the point estimate)" in text


def test_check_reports_spec_terms_that_drift_from_the_lock(fresh: Path, capsys: Cap) -> None:
    assert run_cli("lock", capsys=capsys)[0] == 0
    spec = fresh / "distill.toml"
    spec.write_text(spec.read_text("utf-8").replace("medical = 0.89", "medical = 0.80"), "utf-8")
    code, _out, err = run_cli("check", capsys=capsys)
    assert code == 1
    assert "eval.teacher_score_by_stratum is" in err and "--reason" in err


def test_plan_and_check_report_bad_data_before_lock(fresh: Path, capsys: Cap) -> None:
    """Bad data surfaces before the payment milestone: `check` fails at file:line on an unlocked
    set, and `plan`'s eval check fails naming the same line."""
    rows = _rows(fresh)
    rows[3].pop("segment")
    _write_rows(fresh, rows)
    code, out, err = run_cli("check", capsys=capsys)
    assert code == 1
    assert "eval/locked.jsonl:4:1: segment:" in err
    code, out, _ = run_cli("plan", "--format", "json", capsys=capsys)
    assert code == 0
    doc = json.loads(out)
    check = next(c for c in doc["verdict"]["checks"] if c["id"] == "eval-locked")
    assert check["ok"] is False and "eval/locked.jsonl:4:1: segment:" in check["message"]


def test_validate_reports_bad_data_when_the_files_exist(fresh: Path, capsys: Cap) -> None:
    rows = _rows(fresh)
    rows[7]["id"] = rows[2]["id"]
    _write_rows(fresh, rows)
    code, _, err = run_cli("validate", capsys=capsys)
    assert code == 1
    assert err.strip() == "eval/locked.jsonl:8:1: id: duplicate id 'inv-0002' (first at eval/locked.jsonl:3)"
    code, _out, err = run_cli("validate", str(fresh.parent / fresh.name), capsys=capsys)
    assert code == 1 and f"{fresh}/eval/locked.jsonl:8:1: id: duplicate id" in err
    (fresh / EVAL).unlink()  # no eval files yet: validate checks the spec only
    assert run_cli("validate", capsys=capsys)[0] == 0
