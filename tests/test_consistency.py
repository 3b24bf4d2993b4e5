"""One source of truth (issue 23): every example rendered, and one `lock --teacher-predictions`
case, and the figures read back from every output that states them agree: the teacher score and
acceptance threshold (plan JSON, the proposal, the contract, eval.yaml, `accept`) with
distill.lock's baseline, the one `accept` compares with; the contract value and the milestones
(amounts, shares, dates) between distill.toml, plan JSON and the contract; `accept`'s result
(PASS/FAIL, exit code, the thresholds and minimum it decided by) with the plan, the contract
and eval.yaml; `monitor`'s result (state, exit code, metric, lock hash, bounds, budget line)
with the plan and the contract. Real git repos, the real command line, real parsers."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import tomllib

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
    plan = json.loads(out)
    gap = plan["gap"]
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
        # it states the bar accept decides by: the gap's threshold, or [eval].min_score when higher
        assert float(m.group(1)) == pytest.approx(gap["contract_threshold"], abs=5e-5)
        if gap["contract_threshold"] == gap["acceptance_threshold"]:
            found["eval.yaml"] = (found["plan"][0], float(m.group(1)))  # it states the threshold only
    _milestones_agree(repo, plan)
    return found


def _money(text: str) -> int:
    return int(text.replace("$", "").replace(",", ""))


def _milestones_agree(repo: Path, plan: dict[str, Any]) -> None:
    """The contract value and every milestone (name, share, amount, due, paid on acceptance): the
    plan's are distill.toml's with whole-dollar amounts summing to the value, and the contract
    states exactly the plan's."""
    spec = tomllib.loads((repo / "distill.toml").read_text("utf-8"))
    contract = plan["contract"]
    ms = contract["milestones"]
    assert contract["value_usd"] == round(plan["costs"]["project_usd"])
    assert [(m["name"], m["payment_share"], m["due"], m["acceptance"]) for m in ms] == [
        (m["name"], m["payment_share"], m["due"].isoformat(), m.get("acceptance", False))
        for m in spec.get("milestones", [])
    ]
    if ms:
        assert sum(m["amount_usd"] for m in ms) == contract["value_usd"]
        for m in ms:  # each within a dollar of its share
            assert abs(m["amount_usd"] - m["payment_share"] * contract["value_usd"]) < 1
    docs = repo / "distill" / "docs"
    if (docs / "proposal.md").exists():
        text = (docs / "proposal.md").read_text()
        m = re.search(r"^- Project cost: (\$[0-9,]+) ", text, re.M)
        assert m and _money(m.group(1)) == contract["value_usd"]
        bar = re.search(r"^\| business bar \| an overall score of at least ([0-9.]+): .*, ([0-9.]+) \|", text, re.M)
        gap = plan["gap"]
        assert (bar is None) == (gap["min_score"] is None)
        assert bar is None or (float(bar.group(1)), float(bar.group(2))) == pytest.approx(
            (gap["min_score"], gap["contract_threshold"]), abs=5e-5
        )
    if not (docs / "contract.md").exists():
        return
    text = (docs / "contract.md").read_text()
    m = re.search(r"^Contract value: (\$[0-9,]+),", text, re.M)
    assert m and _money(m.group(1)) == contract["value_usd"]
    rows = re.findall(r"^\| (\d+) \| (.+?) \| (\d+)% \| (\$[0-9,]+) \| (\S+) \| (yes|no) \|$", text, re.M)
    assert [(r[1], int(r[2]), _money(r[3]), r[4], r[5] == "yes") for r in rows] == [
        (m["name"], round(m["payment_share"] * 100), m["amount_usd"], m["due"], m["acceptance"]) for m in ms
    ]


def _agree(found: dict[str, tuple[float, float]], want: tuple[float, float]) -> None:
    for where, (teacher, threshold) in found.items():
        assert teacher == pytest.approx(want[0], abs=5e-5), (where, found)
        assert threshold == pytest.approx(want[1], abs=5e-5), (where, found)


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 9)


def _eval_rows(repo: Path) -> list[dict[str, Any]]:
    spec = tomllib.loads((repo / "distill.toml").read_text("utf-8"))
    return [
        json.loads(ln)
        for ds in spec["eval"]["datasets"]
        for ln in (repo / ds).read_text("utf-8").splitlines()
        if ln.strip()
    ]


def _results_agree(repo: Path, capsys: Cap) -> None:
    """`accept` on a student that answers every locked row with its reference, and `monitor` on
    one sampled week of those rows, agree with the plan, the contract and eval.yaml: the result
    with the exit code and the text, the thresholds and minimum decided by with the plan's, the
    metric, lock hash, bounds and budget line with the plan's and the contract's."""
    git(repo, "add", "-A")  # accept scores against the committed lock and contract
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "scaffold")
    code, out, err = run_cli("plan", str(repo), "--format", "json", capsys=capsys)
    plan = json.loads(out)
    gap, contract_md = plan["gap"], repo / "distill" / "docs" / "contract.md"
    spec = tomllib.loads((repo / "distill.toml").read_text("utf-8"))
    ids, ref, strata = (
        spec["eval"].get("id_field", "id"),
        spec["eval"].get("reference_field", "reference"),
        spec["eval"].get("strata_field"),
    )
    rows = _eval_rows(repo)
    student = repo / "student.jsonl"
    student.write_text("".join(json.dumps({ids: r[ids], "prediction": r[ref]}) + "\n" for r in rows))
    code, out, err = run_cli("accept", str(repo), "--predictions", str(student), "--format", "json", capsys=capsys)
    verified = next(c["ok"] for c in plan["verdict"]["checks"] if c["id"] == "eval-locked")
    if not verified:  # the plan reports the lock does not bind the spec: accept refuses to score, on one line
        assert code == 1 and err.count("\n") == 1 and "distill.lock" in err, (code, err)
        return
    assert code in (0, 4), err
    acc = json.loads(out)
    assert (code == 0) == (acc["result"] == "PASS")
    tcode, text, _ = run_cli("accept", str(repo), "--predictions", str(student), capsys=capsys)
    assert tcode == code and text.startswith(acc["result"] + ":"), text
    assert acc["metric"] == gap["metric"] and acc["lock_hash"] == plan["eval"]["lock_hash"]
    o = acc["overall"]
    assert o["teacher_score"] == pytest.approx(gap["teacher_score"])
    assert o["threshold"] == pytest.approx(gap["contract_threshold"])  # the bar, min_score included
    assert o["min_score"] == gap["min_score"] and o["min_examples"] == (plan["eval"]["min_examples"] or None)
    decided = [(g["name"], g["examples"], _r(g["teacher_score"]), _r(g["threshold"])) for g in [o, *acc["strata"]]]
    table = [(r["name"], r["examples"], _r(r["teacher_score"]), _r(r["threshold"])) for r in gap["thresholds"]]
    table[0] = (o["name"], table[0][1], table[0][2], _r(gap["contract_threshold"]))
    assert decided == table
    task = (repo / "distill" / "eval" / "eval.yaml").read_text()
    stated = re.search(r"is at least ([0-9.]+)", task)
    assert stated and float(stated.group(1)) == pytest.approx(o["threshold"], abs=5e-5)
    if contract_md.exists():
        text = contract_md.read_text()
        assert f"content hash {plan['eval']['lock_hash']}" in text
        rows_md = re.findall(r"^\| (\S+) \| ([0-9,]+) \| ([0-9.]+|—) \| ([0-9.]+|report only) \|$", text, re.M)
        assert [(n, int(e.replace(",", ""))) for n, e, *_ in rows_md] == [(g[0], g[1]) for g in table]
        for (_, _, teacher, thr), want in zip(rows_md, gap["thresholds"], strict=True):
            t_want, thr_want = want["teacher_score"], want["threshold"]
            assert (teacher == "—") == (t_want is None) and (thr == "report only") == (thr_want is None)
            assert t_want is None or float(teacher) == pytest.approx(t_want * 100, abs=5e-3)
            assert thr_want is None or float(thr) == pytest.approx(thr_want * 100, abs=5e-3)
        if gap["min_score"] is not None and gap["contract_threshold"] > gap["acceptance_threshold"]:
            assert f"the higher of the two, {gap['contract_threshold'] * 100:.2f} points" in text
        least = re.search(r"decides on at least ([0-9,]+) examples", text)
        assert (least is None) == (plan["eval"]["min_examples"] == 0)
        assert least is None or int(least.group(1).replace(",", "")) == plan["eval"]["min_examples"]
    # monitor: one week of sampled traffic, the student answering as the teacher
    samples = repo / "samples.jsonl"
    samples.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"s{i}",
                    "timestamp": f"2027-03-01T{i // 60 % 24:02d}:{i % 60:02d}:00Z",
                    "segment": str(r.get(strata) or "all") if strata else "all",
                    "student": r[ref],
                    "teacher": r[ref],
                }
            )
            + "\n"
            for i, r in enumerate(rows)
        )
    )
    code, out, err = run_cli("monitor", str(repo), "--samples", str(samples), "--format", "json", capsys=capsys)
    mon = json.loads(out)
    assert code == {"within": 0, "undecided": 5, "breach": 4}[mon["state"]], (code, mon["state"], err)
    tcode, text, _ = run_cli("monitor", str(repo), "--samples", str(samples), capsys=capsys)
    word = {"within": "WITHIN CONTRACT:", "undecided": "UNDECIDED:", "breach": "BREACH:"}[mon["state"]]
    assert tcode == code and text.rstrip("\n").splitlines()[-1].startswith(word), text
    assert mon["metric"] == gap["metric"] and mon["eval_lock_hash"] == plan["eval"]["lock_hash"]
    bounds = {c["segment"]: c["bound_points"] for c in mon["cells"]}
    mon_overall_bound = bounds.pop("overall")
    assert mon_overall_bound == gap["allowed_points"]
    locked = {r["name"] for r in gap["thresholds"][1:] if r["threshold"] is not None}
    for seg, bound in bounds.items():
        want = gap["stratum_bound_points"] if seg in locked and gap["stratum_bound_points"] is not None else None
        assert bound == (want if want is not None else gap["allowed_points"]), seg
    operations = repo / "distill" / "docs" / "operations.md"
    if operations.exists():
        m = re.search(
            r"against the contracted bound: ([0-9.]+) points? overall(?:, ([0-9.]+) points? per )?",
            operations.read_text(),
        )
        assert m and float(m.group(1)) == mon_overall_bound
        assert (m.group(2) is None) == (gap["stratum_bound_points"] is None)
        assert m.group(2) is None or all(b == float(m.group(2)) for s, b in bounds.items() if s in locked)
    line = next(x for x in plan["costs"]["student_lines"] if x["name"] == "teacher_on_sample")
    assert mon["budget"]["teacher_on_sample_usd_per_month"] == pytest.approx(line["usd"])
    if contract_md.exists():
        row = re.search(
            r"^\| teacher-on-sample re-evaluation \| weekly \| (\$[0-9,]+) a month \|$", contract_md.read_text(), re.M
        )
        assert row and _money(row.group(1)) == round(line["usd"])


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_example_states_one_teacher_score_and_threshold(name: str, tmp_path: Path, capsys: Cap) -> None:
    repo = _repo(tmp_path, name)
    lock = read_lock(repo)
    found = _figures(repo, capsys)
    if lock is not None and lock.eval is not None and lock.eval.baseline is not None:
        _agree(found, (lock.eval.baseline.teacher_score, lock.eval.baseline.threshold))
    else:
        _agree(found, found["plan"])
    _results_agree(repo, capsys)


def test_a_measured_teacher_baseline_reaches_every_document(
    tmp_path: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lock --teacher-predictions` with a teacher that misses: the measured baseline (not the
    spec's [eval].teacher_score) is what the plan, the proposal, the contract, eval.yaml and
    `accept` all state. A business bar ([eval] min_score) above the measured threshold is the
    overall bar `accept` decides by, and the one eval.yaml and the contract state."""
    repo = _repo(tmp_path, "invoice-extraction")
    monkeypatch.chdir(repo)
    spec = (repo / "distill.toml").read_text("utf-8")
    (repo / "distill.toml").write_text(spec.replace("[eval]\n", "[eval]\nmin_score = 0.955\n", 1), "utf-8")
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
    assert set(found) == {"plan", "proposal", "contract"}  # eval.yaml states the bar, min_score here (checked)
    code, out, err = run_cli("plan", "--format", "json", capsys=capsys)
    gap = json.loads(out)["gap"]
    assert gap["baseline_source"] == "teacher-predictions"
    assert gap["min_score"] == 0.955 and gap["contract_threshold"] == 0.955 > gap["acceptance_threshold"]
    _results_agree(repo, capsys)
    student = repo / "student.jsonl"
    student.write_text("".join(json.dumps({"id": r["id"], "prediction": r["reference"]}) + "\n" for r in rows))
    code, out, err = run_cli("accept", "--predictions", "student.jsonl", "--format", "json", capsys=capsys)
    assert code == 0, err
    overall = json.loads(out)["overall"]
    assert base.min_score == 0.955
    assert overall["teacher_score"] == pytest.approx(base.teacher_score)
    assert overall["threshold"] == pytest.approx(max(base.threshold, base.min_score))
