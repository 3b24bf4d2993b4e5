"""Issue 10: the documents follow the verdict and their figures add up. A verdict other than
`distill` gets a decision memo (why, and the volume, teacher price and project cost at which the
verdict flips, each equal to a re-run of the plan) and no proposal or contract; the contract's
value is described by its parts and the milestone amounts sum exactly to it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from distillplan.commands._inputs import eval_state_for, plan_for_file
from distillplan.commands.scaffold import scaffold
from distillplan.plan.build import PlanInputs, build_plan
from distillplan.plan.contract import split_usd
from distillplan.plan.decision import RANK
from distillplan.plan.model import Plan
from distillplan.sizing.architecture import load_architecture
from distillplan.spec.load import load_spec
from distillplan.spec.models import Spec
from tests.conftest import EXAMPLES, ROOT, git

DOCS = "distill/docs"
EXAMPLE_NAMES = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())


def _example_repo(git_repo: Path, name: str) -> Path:
    shutil.copytree(EXAMPLES / name, git_repo, dirs_exist_ok=True, ignore=shutil.ignore_patterns("distill"))
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", name)
    scaffold(git_repo / "distill.toml")
    return git_repo


@pytest.mark.parametrize("name", ["open-chat", "ticket-triage"])
def test_non_distill_verdict_gets_a_decision_memo_and_no_contract(git_repo: Path, name: str) -> None:
    """Today's main: a stay-on-frontier plan got a "distillation proposal" and a signable contract."""
    repo = _example_repo(git_repo, name)
    docs = sorted(p.name for p in (repo / DOCS).iterdir())
    assert docs == ["decision-memo.md"]
    memo = (repo / DOCS / "decision-memo.md").read_text("utf-8")
    assert "## Decision: stay-on-frontier" in memo
    assert "## What would change it" in memo
    for lever in ("| volume |", "| teacher price", "| project cost |"):
        assert lever in memo


def _plan(spec: Spec) -> Plan:
    """ticket-triage's plan for ``spec``, with the example's eval lock state."""
    arch = load_architecture(spec.student.base_model, base_dir=ROOT)
    state = eval_state_for(spec, EXAMPLES / "ticket-triage")
    return build_plan(spec, PlanInputs(architecture=arch, eval_state=state))


def test_flip_points_equal_plan_reruns() -> None:
    """ticket-triage stays on the frontier; at the memo's volume (and teacher-price multiple, and
    project cost) a re-run of the plan gives the verdict the memo names, and just short of it
    the verdict is still stay-on-frontier."""
    sf = load_spec(EXAMPLES / "ticket-triage")
    spec = sf.spec
    plan = plan_for_file(sf)
    assert plan.verdict.decision == "stay-on-frontier"
    flips = {f.lever: f for f in plan.flips}
    vol = flips["volume"]
    assert vol.value is not None and vol.becomes is not None and RANK[vol.becomes] > 0
    w = spec.workload
    assert w.tokens_per_month is not None

    def at_tokens(t: float) -> str:
        s = spec.model_copy(update={"workload": w.model_copy(update={"tokens_per_month": round(t)})})
        return _plan(s).verdict.decision

    assert at_tokens(vol.value * 1.001) == vol.becomes
    assert at_tokens(vol.value * 0.99) == "stay-on-frontier"

    price = flips["teacher_price"]
    assert price.value is not None and price.becomes is not None
    t = spec.teacher

    def at_price(k: float) -> str:
        from distillplan.catalogs.prices import teacher_prices

        entry = teacher_prices()[t.model or ""]
        s = spec.model_copy(
            update={
                "teacher": t.model_copy(
                    update={
                        "usd_per_mtok_input": entry.usd_per_mtok_input * k,
                        "usd_per_mtok_output": entry.usd_per_mtok_output * k,
                    }
                )
            }
        )
        return _plan(s).verdict.decision

    assert at_price(price.value * 1.001) == price.becomes
    assert at_price(price.value * 0.99) == "stay-on-frontier"

    cost = flips["project_cost"]
    if plan.costs.savings_usd_per_month > 0:
        assert cost.value == pytest.approx(plan.costs.savings_usd_per_month * spec.policy.payback_refuse_over_months)
    else:  # nothing is saved: no project cost, however small, pays back
        assert cost.value is None and cost.becomes is None


def test_distill_plans_have_no_flips() -> None:
    for name in ("invoice-extraction", "clinical-coding"):
        plan = plan_for_file(load_spec(EXAMPLES / name))
        assert plan.verdict.decision == "distill" and plan.flips == []


# ------------------------------------------------------------------ the contract's money


_AMOUNT = re.compile(r"^\| \d+ \| .* \| \d+% \| \$([\d,]+) \|", re.M)


@pytest.mark.parametrize("name", ["invoice-extraction", "clinical-coding"])
def test_milestones_sum_exactly_to_the_contract_value(git_repo: Path, name: str) -> None:
    """Today's main: $17,453 + $40,723 beside a $58,175 contract value."""
    repo = _example_repo(git_repo, name)
    text = (repo / DOCS / "contract.md").read_text("utf-8")
    value = int(re.search(r"Contract value: \$([\d,]+),", text).group(1).replace(",", ""))  # type: ignore[union-attr]
    amounts = [int(a.replace(",", "")) for a in _AMOUNT.findall(text)]
    assert len(amounts) >= 2
    assert sum(amounts) == value
    plan = plan_for_file(load_spec(repo))
    assert value == round(plan.costs.project_usd)


def test_contract_value_is_described_by_its_parts(git_repo: Path) -> None:
    """Today's main called a total with out-of-band driver lines "the mid estimate of the P4 band"."""
    repo = _example_repo(git_repo, "invoice-extraction")
    text = (repo / DOCS / "contract.md").read_text("utf-8")
    assert "3 at the mid estimate of their P4 band; 3 computed from their drivers, 2 of them outside" in text
    assert "(the mid estimate of the P4 band" not in text


@given(
    total=st.integers(0, 10_000_000),
    weights=st.lists(st.integers(1, 1000), min_size=1, max_size=8),
)
def test_split_usd_sums_exactly(total: int, weights: list[int]) -> None:
    shares = [w / sum(weights) for w in weights]
    amounts = split_usd(total, shares)
    assert sum(amounts) == total
    for a, s in zip(amounts, shares, strict=True):
        assert abs(a - s * total) < 1 + 1e-6


# ------------------------------------------------------------------ words and units


def test_training_summary_agrees_with_the_billed_line() -> None:
    """Today's main: open-chat showed "0.0 GPU-hours = $0" beside a $7,500 fine-tune line."""
    from distillplan.outputs.rows import training_compute

    for name in EXAMPLE_NAMES:
        plan = plan_for_file(load_spec(EXAMPLES / name))
        line = next(x for x in plan.costs.project_lines if x.name == "fine_tune_compute")
        text = training_compute(plan)
        billed = f"${round(line.usd):,}"
        assert billed in text, (name, text)
        if line.source != "driver":
            assert "bills" in text and "$0" not in text.replace(billed, "")


def test_words_in_reports_and_documents(tmp_path: Path) -> None:
    """No "(s)", no "IRR n/a a year", no "payback: no payback", no "never" where the JSON means
    "not within the horizon"; token volumes humanised (190M, not 190,000,000) in the documents."""
    from distillplan.outputs.report import render

    sys_path = tmp_path / "work"
    for name in EXAMPLE_NAMES:
        plan = plan_for_file(load_spec(EXAMPLES / name))
        text = render(plan, "text")
        for bad in ("(s)", "n/a a year", "no payback"):
            assert bad not in text, (name, bad)
        assert not re.search(r":\s+never\b", text), name  # a payback of "never" where the JSON means none
        for shown in (text, render(plan, "markdown")):  # words a CFO reads (issue 30)
            assert "$-" not in shown, name  # a negative amount is -$4,172, not $-4,172
            assert not re.search(r"(?<![\d.,])1 (replicas|GPUs|requests|tokens)\b", shown), name
            counted = r"(?<![\w.,])\d{5,} (tokens|requests|examples|rows|concurrent|GPU|hours|steps)\b"
            assert not re.search(counted, shown), (name, re.search(counted, shown))  # 299,222 tokens
        dest = sys_path / name
        shutil.copytree(EXAMPLES / name, dest, ignore=shutil.ignore_patterns("distill"))
        scaffold(dest / "distill.toml")
        for doc in (dest / DOCS).iterdir():
            body = doc.read_text("utf-8")
            for bad in ("(s)", "n/a a year", "no payback"):
                assert bad not in body, (name, doc.name, bad)
            assert not re.search(r"\d{1,3},\d{3},\d{3} tokens", body), (name, doc.name)


def test_open_chat_payback_wording() -> None:
    plan = plan_for_file(load_spec(EXAMPLES / "open-chat"))
    from distillplan.outputs.report import render

    text = render(plan, "text")
    assert plan.finance.payback_months_from_kickoff is None
    assert "not within the 24-month horizon" in text
