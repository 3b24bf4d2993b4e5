"""One source of truth (issue 23): every example rendered, and one `lock --teacher-predictions`
case, and the teacher score and acceptance threshold read back from every output that states
them (plan JSON, the proposal, the contract, eval.yaml and `accept`) agree with distill.lock's
baseline, the one `accept` compares with. Real git repos, the real command line."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from distillplan.evalset.lockfile import read_lock
from tests.conftest import EXAMPLES, git, run_cli

Cap = pytest.CaptureFixture[str]
EXAMPLE_NAMES = sorted(p.parent.name for p in EXAMPLES.glob("*/distill.toml"))


def _repo(tmp_path: Path, name: str) -> Path:
    repo = tmp_path / name
    shutil.copytree(EXAMPLES / name, repo, ignore=shutil.ignore_patterns("distill"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", name)
    return repo


def _figures(repo: Path, capsys: Cap) -> dict[str, tuple[float, float]]:
    """(teacher score, threshold) as fractions, as each output states them."""
    code, out, err = run_cli("plan", str(repo), "--format", "json", capsys=capsys)
    assert code == 0, err
    gap = json.loads(out)["gap"]
    found = {"plan": (gap["teacher_score"], gap["acceptance_threshold"])}
    code, _, err = run_cli("scaffold", str(repo), capsys=capsys)
    assert code == 0, err
    docs = repo / "distill" / "docs"
    if (docs / "proposal.md").exists():
        m = re.search(
            r"points below the teacher's ([0-9.]+) \(threshold ([0-9.]+)\)", (docs / "proposal.md").read_text()
        )
        assert m, "the proposal states the teacher score and the threshold"
        found["proposal"] = (float(m.group(1)), float(m.group(2)))
    if (docs / "contract.md").exists():
        row = re.search(
            r"^\| overall \| [0-9,]+ \| ([0-9.]+) \| ([0-9.]+) \|$", (docs / "contract.md").read_text(), re.M
        )
        assert row, "the contract's threshold table has its overall row"
        found["contract"] = (round(float(row.group(1)) / 100, 6), round(float(row.group(2)) / 100, 6))
    task = repo / "distill" / "eval" / "eval.yaml"
    if task.exists():
        m = re.search(r"is at least ([0-9.]+)", task.read_text())
        assert m
        found["eval.yaml"] = (found["plan"][0], float(m.group(1)))  # it states the threshold only
    return found


def _agree(found: dict[str, tuple[float, float]], want: tuple[float, float]) -> None:
    for where, (teacher, threshold) in found.items():
        assert teacher == pytest.approx(want[0], abs=5e-5), (where, found)
        assert threshold == pytest.approx(want[1], abs=5e-5), (where, found)


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_example_states_one_teacher_score_and_threshold(name: str, tmp_path: Path, capsys: Cap) -> None:
    repo = _repo(tmp_path, name)
    lock = read_lock(repo)
    found = _figures(repo, capsys)
    if lock is not None and lock.eval is not None and lock.eval.baseline is not None:
        _agree(found, (lock.eval.baseline.teacher_score, lock.eval.baseline.threshold))
    else:
        _agree(found, found["plan"])


def test_a_measured_teacher_baseline_reaches_every_document(
    tmp_path: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lock --teacher-predictions` with a teacher that misses: the measured baseline (not the
    spec's [eval].teacher_score) is what the plan, the proposal, the contract, eval.yaml and
    `accept` all state."""
    repo = _repo(tmp_path, "invoice-extraction")
    monkeypatch.chdir(repo)
    rows = [json.loads(ln) for ln in (repo / "eval/locked.jsonl").read_text().splitlines() if ln.strip()]
    preds = [dict(r["reference"]) for r in rows]
    for p in preds[:5]:
        p["vendor"] = "wrong"  # 3 of 4 fields right on 5 of 40 rows
    (repo / "teacher.jsonl").write_text(
        "".join(json.dumps({"id": r["id"], "prediction": p}) + "\n" for r, p in zip(rows, preds, strict=True))
    )
    code, out, err = run_cli("lock", "--teacher-predictions", "teacher.jsonl", "--reason", "measured", capsys=capsys)
    assert code == 0, err
    lock = read_lock(repo)
    assert lock is not None and lock.eval is not None and lock.eval.baseline is not None
    base = lock.eval.baseline
    assert base.source == "teacher-predictions" and base.teacher_score < 0.99
    found = _figures(repo, capsys)
    _agree(found, (base.teacher_score, base.threshold))
    assert set(found) == {"plan", "proposal", "contract", "eval.yaml"}
    code, out, err = run_cli("plan", "--format", "json", capsys=capsys)
    assert json.loads(out)["gap"]["baseline_source"] == "teacher-predictions"
    git(repo, "add", "-A")  # accept scores against the committed lock, teacher file and contract
    git(repo, "commit", "-q", "-m", "measured baseline")
    student = repo / "student.jsonl"
    student.write_text("".join(json.dumps({"id": r["id"], "prediction": r["reference"]}) + "\n" for r in rows))
    code, out, err = run_cli("accept", "--predictions", "student.jsonl", "--format", "json", capsys=capsys)
    assert code == 0, err
    overall = json.loads(out)["overall"]
    assert overall["teacher_score"] == pytest.approx(base.teacher_score) and overall["threshold"] == pytest.approx(
        base.threshold
    )
