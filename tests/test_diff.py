from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from distillplan.commands.diff import diff_at, spec_at_revision
from distillplan.errors import RepoError, SpecError
from distillplan.git import file_at, head_commit
from distillplan.outputs.diff_report import render_diff
from distillplan.plan.build import plan_for_file
from distillplan.plan.decision import EvalState
from distillplan.plan.diff import PlanDiff, diff_plans
from distillplan.plan.model import Plan
from distillplan.spec.load import load_spec

from .conftest import EXAMPLES, git, run_cli
from .test_report import check_tables, plan_of

MakeRepo = Callable[[str], Path]


def edit(root: Path, old: str, new: str, *, commit: bool = False) -> None:
    spec = root / "distill.toml"
    text = spec.read_text(encoding="utf-8")
    assert old in text, old
    spec.write_text(text.replace(old, new, 1), encoding="utf-8")
    if commit:
        git(root, "commit", "-q", "-am", f"{old} -> {new}")


def delta(d: PlanDiff, section: str, name: str) -> float:
    c = d.get(section, name)
    assert c.delta is not None, (section, name)
    return c.delta


def test_no_changes(example_repo: MakeRepo) -> None:
    root = example_repo("invoice-extraction")
    d = diff_at(root, "HEAD")
    assert not d.changed and not d.verdict_changed and not d.old_absent
    assert all(c.kind == "=" for c in d.changes)
    text = render_diff(d, "text")
    assert text.rstrip().endswith("no changes")
    assert "No changes." in render_diff(d, "markdown")
    assert json.loads(render_diff(d, "json"))["changed"] is False


def test_volume_up_raises_frontier_savings_and_hosting(example_repo: MakeRepo) -> None:
    root = example_repo("invoice-extraction")
    edit(root, "requests_per_month = 6_000_000", "requests_per_month = 18_000_000")
    d = diff_at(root, "HEAD")
    assert d.old_ref == "HEAD:distill.toml" and d.new_ref.endswith("distill.toml")
    assert delta(d, "totals", "frontier_usd_per_month") == pytest.approx(2 * 31_800)
    assert delta(d, "student", "gpu_hosting") > 0  # more replicas for three times the peak
    assert delta(d, "sizing", "gpus_total") > 0
    assert delta(d, "totals", "savings_usd_per_month") > 0
    assert delta(d, "totals", "payback_months") < 0
    assert delta(d, "totals", "npv_usd") > 0
    assert d.get("student", "observability").kind == "="
    text = render_diff(d, "text")
    assert re.search(r"~ frontier spend\s+Amount: \+\$63,600 \(\$31,800 -> \$95,400\)", text)
    assert re.search(r"~ GPU hosting\s+Amount: \+\$[\d,]+ \(\$3,942 -> \$[\d,]+\)", text)
    assert "observability" not in text  # unchanged lines are not listed


def test_volume_down_has_negative_signs(example_repo: MakeRepo) -> None:
    root = example_repo("invoice-extraction")
    edit(root, "requests_per_month = 6_000_000", "requests_per_month = 3_000_000")
    d = diff_at(root, "HEAD")
    assert delta(d, "totals", "frontier_usd_per_month") == pytest.approx(-31_800 / 2)
    assert delta(d, "totals", "savings_usd_per_month") < 0
    assert delta(d, "totals", "payback_months") > 0
    assert re.search(r"~ monthly savings\s+Amount: -\$[\d,]+ \(\$[\d,]+ -> \$", render_diff(d, "text"))


def test_teacher_prices_change_the_frontier_bill(example_repo: MakeRepo) -> None:
    root = example_repo("invoice-extraction")
    edit(root, 'model = "claude-sonnet-5.5"', 'model = "claude-sonnet-5.5"\nusd_per_mtok_input = 1.5')
    d = diff_at(root, "HEAD")
    assert delta(d, "teacher", "usd_per_mtok_input") == pytest.approx(-0.5)  # $2.00 -> $1.50
    assert d.get("teacher", "usd_per_mtok_output").kind == "="
    assert delta(d, "totals", "frontier_usd_per_month") == pytest.approx(-8_400 * 0.5)  # 8.4B input tokens
    assert delta(d, "totals", "savings_usd_per_month") == pytest.approx(-8_400 * 0.5)
    assert delta(d, "project", "teacher_inference") < 0  # the driver uses teacher prices
    assert d.get("student", "gpu_hosting").kind == "="
    assert d.get("sizing", "gpus_total").kind == "="
    assert "~ input price" in render_diff(d, "text")


def test_student_change_moves_sizing_and_hosting(example_repo: MakeRepo) -> None:
    root = example_repo("invoice-extraction")
    edit(root, 'base_model = "meta-llama/Llama-3.1-8B"', 'base_model = "Qwen/Qwen2.5-14B"')
    edit(root, 'serving_precision = "int8"', 'serving_precision = "bf16"')
    d = diff_at(root, "HEAD")
    base = d.get("sizing", "base_model")
    assert (base.kind, base.old, base.new) == ("~", "meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-14B")
    assert d.get("sizing", "precision").new == "bf16"
    assert delta(d, "sizing", "gpus_total") > 0
    assert delta(d, "student", "gpu_hosting") > 0
    assert delta(d, "totals", "savings_usd_per_month") == pytest.approx(-delta(d, "student", "gpu_hosting"))
    assert d.get("totals", "frontier_usd_per_month").kind == "="
    assert "Value: meta-llama/Llama-3.1-8B -> Qwen/Qwen2.5-14B" in render_diff(d, "text")


def test_removed_and_added_lines(example_repo: MakeRepo) -> None:
    root = example_repo("clinical-coding")
    edit(root, 'mode = "cache"\nstudent_share = 0.9', 'mode = "student-only"')
    d = diff_at(root, "HEAD")
    fallback = d.get("student", "teacher_fallback")
    assert (
        fallback.kind == "-" and fallback.new is None and fallback.delta == pytest.approx(-3_360)
    )  # 10% of the $33,600 frontier bill
    assert re.search(r"- Teacher fallback \(cache routing\)\s+Amount: -\$3,360$", render_diff(d, "text"), flags=re.M)
    # The other way round, the line is added.
    back = diff_plans(plan_now(root), plan_of("clinical-coding"))
    assert back.get("student", "teacher_fallback").kind == "+"
    assert back.get("student", "teacher_fallback").delta == pytest.approx(3_360)


def plan_now(root: Path) -> Plan:
    return plan_for_file(load_spec(root), eval_state=EvalState())


def test_spec_absent_at_rev_is_all_new(git_repo: Path) -> None:
    (git_repo / "README.md").write_text("hello\n", encoding="utf-8")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "first")
    shutil.copytree(EXAMPLES / "invoice-extraction", git_repo, dirs_exist_ok=True)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "spec")
    assert spec_at_revision(git_repo / "distill.toml", "HEAD~1") == (None, "HEAD~1:distill.toml")
    d = diff_at(git_repo, "HEAD~1")
    assert d.old_absent and d.old_decision is None
    assert d.changes and all(c.kind == "+" for c in d.changes)
    assert delta(d, "totals", "frontier_usd_per_month") == pytest.approx(31_800)
    text = render_diff(d, "text")
    assert "no spec at HEAD~1:distill.toml" in text and "(new)" in text
    assert re.search(r"\+ GPU hosting\s+Amount: \+\$3,942$", text, flags=re.M)
    doc = json.loads(render_diff(d, "json"))
    assert doc["old_absent"] is True and doc["verdict"]["old"] is None
    assert all(c["old"] is None and c["change"] == "+" for c in doc["changes"])


def test_unknown_revision_is_one_line_repo_error(example_repo: MakeRepo) -> None:
    root = example_repo("invoice-extraction")
    with pytest.raises(RepoError) as e:
        diff_at(root, "no-such-branch")
    assert "unknown revision 'no-such-branch'" in str(e.value)
    assert "\n" not in str(e.value)
    with pytest.raises(RepoError, match="unknown revision"):
        diff_at(root, "HEAD~5")


def test_not_a_repo_is_repo_error(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES / "invoice-extraction", tmp_path / "x")
    with pytest.raises(RepoError, match="not inside a git repository") as e:
        diff_at(tmp_path / "x", "HEAD")
    assert "\n" not in str(e.value)


def test_invalid_spec_at_rev_is_located(example_repo: MakeRepo) -> None:
    root = example_repo("invoice-extraction")
    edit(root, "peak_to_average = 3.0", "peak_to_average = -3.0", commit=True)
    edit(root, "peak_to_average = -3.0", "peak_to_average = 3.0")
    line = next(
        i
        for i, ln in enumerate((root / "distill.toml").read_text().splitlines(), 1)
        if ln.startswith("peak_to_average")
    )
    with pytest.raises(SpecError) as e:
        diff_at(root, "HEAD")
    msg = str(e.value)
    assert msg.startswith(f"HEAD:distill.toml:{line}:")
    assert "workload.peak_to_average" in msg


def test_spec_in_a_subfolder(git_repo: Path) -> None:
    sub = git_repo / "team" / "invoices"
    shutil.copytree(EXAMPLES / "invoice-extraction", sub)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "spec")
    edit(sub, "requests_per_month = 6_000_000", "requests_per_month = 7_000_000")
    d = diff_at(sub / "distill.toml", "main")
    assert d.old_ref == "main:team/invoices/distill.toml"
    assert delta(d, "totals", "frontier_usd_per_month") > 0
    assert file_at(sub / "distill.toml", "main") == (EXAMPLES / "invoice-extraction" / "distill.toml").read_bytes()
    assert file_at(sub / "nope.toml", "main") is None
    assert head_commit(git_repo) == git(git_repo, "rev-parse", "HEAD").strip()


def test_verdict_change_and_renders(example_repo: MakeRepo) -> None:
    root = example_repo("invoice-extraction")
    edit(root, "requests_per_month = 6_000_000", "requests_per_month = 20_000")  # 33M tokens: below the floor
    d = diff_at(root, "HEAD")
    assert d.verdict_changed and d.new_decision == "stay-on-frontier"
    assert f"Verdict: {d.old_decision} -> stay-on-frontier" in render_diff(d, "text")
    md = render_diff(d, "markdown")
    tables = check_tables(md)
    assert len(tables) == 2
    totals = {r[1]: r for r in tables[0][1:]}
    assert totals["frontier spend"][0] == "~" and totals["frontier spend"][4].startswith("-$")
    assert md.startswith("### distillplan diff: `HEAD:distill.toml`")


def test_json_is_versioned_with_old_new_delta(example_repo: MakeRepo) -> None:
    root = example_repo("invoice-extraction")
    edit(root, "requests_per_month = 6_000_000", "requests_per_month = 12_000_000")
    doc = json.loads(render_diff(diff_at(root, "HEAD"), "json"))
    assert doc["format_version"] == 2 and doc["changed"] is True
    assert doc["verdict"]["old"] == doc["verdict"]["new"] and doc["verdict"]["changed"] is False
    by = {(c["section"], c["name"]): c for c in doc["changes"]}
    f = by[("totals", "frontier_usd_per_month")]
    assert (f["old"], f["new"], f["delta"], f["unit"], f["change"]) == (
        31800.0,
        63600.0,
        31800.0,
        "usd/month",
        "~",
    )
    for c in doc["changes"]:
        if isinstance(c["old"], float) and isinstance(c["new"], float):
            assert c["delta"] == pytest.approx(c["new"] - c["old"], rel=1e-6, abs=1e-6)


def test_markdown_escapes_refs() -> None:
    p = plan_of("invoice-extraction")
    d = diff_plans(p, p, old_ref="a|b:distill.toml", new_ref="distill.toml")
    md = render_diff(d, "markdown")
    check_tables(md)
    assert "a\\|b" in md.splitlines()[0]


def test_cli_diff_end_to_end(
    example_repo: MakeRepo, chdir: Callable[[Path], None], capsys: pytest.CaptureFixture[str]
) -> None:
    root = example_repo("invoice-extraction")
    edit(root, "requests_per_month = 6_000_000", "requests_per_month = 12_000_000")
    chdir(root)
    code, out, err = run_cli("diff", "HEAD", capsys=capsys)
    assert (code, err) == (0, "")
    assert out.startswith("distillplan diff HEAD:distill.toml -> distill.toml\n")
    assert re.search(r"~ frontier spend\s+Amount: \+\$31,800 \(\$31,800 -> \$63,600\)", out)
    code, out, _ = run_cli("diff", "HEAD", "--format", "json", capsys=capsys)
    assert code == 0 and json.loads(out)["format_version"] == 2
    code, _, err = run_cli("diff", "nope", capsys=capsys)
    assert code == 1 and err.strip() == f"unknown revision 'nope' in {root.resolve()}"


def test_markdown_cells_carry_units_and_labels(example_repo: MakeRepo) -> None:
    """Issue 10: the pull-request comment's cells say what they count ($/month, tokens/month,
    months) and name lines by label, never by raw key (``gpu_hosting``)."""
    root = example_repo("invoice-extraction")
    edit(root, "requests_per_month = 6_000_000", "requests_per_month = 18_000_000")
    md = render_diff(diff_at(root, "HEAD"), "markdown")
    tables = check_tables(md)
    totals = {r[1]: r for r in tables[0][1:]}
    assert totals["frontier spend"][3].endswith("/month") and totals["frontier spend"][4].endswith("/month")
    lines = {r[2]: r for r in tables[1][1:]}
    assert "GPU hosting" in lines and "gpu_hosting" not in md
    assert lines["GPU hosting"][4].endswith("/month")
    assert any(r[3].endswith("tokens/month") for r in tables[0][1:] if r[3])
