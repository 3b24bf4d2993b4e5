"""The plan (issue 3): the decision rule, the money, and their goldens."""

from __future__ import annotations

import json
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillplan.commands._inputs import plan_for_file
from distillplan.plan.build import PlanInputs, build_plan
from distillplan.plan.decision import EvalState
from distillplan.plan.model import Plan
from distillplan.sizing.architecture import load_architecture
from distillplan.spec.load import load_spec, parse_spec
from distillplan.spec.models import Spec
from tests.conftest import EXAMPLES, ROOT

GOLDEN = ROOT / "tests" / "golden" / "plans"
EXAMPLE_NAMES = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())
LOCKED = EvalState(locked=True, lock_hash="sha256:test")
ARCH = load_architecture("meta-llama/Llama-3.1-8B", base_dir=ROOT)

SEED_SPEC = """
[project]
name = "seed"
title = "The P6.2 seed example"
start = 2027-01-04

[workload]
task = "extraction"
tokens_per_month = 250_000_000
input_share = 0.5

[teacher]
usd_per_mtok_input = 200.0
usd_per_mtok_output = 200.0

[student]
base_model = "meta-llama/Llama-3.1-8B"

[eval]
datasets = ["eval.jsonl"]
metric = "accuracy"
teacher_score = 0.9
max_gap_points = 2.5

[operations]
gpu_hosting_usd_per_month = {student}
observability_usd_per_month = 0
teacher_on_sample_usd_per_month = 0
redistillation_usd_per_year = 0

[budget.override_usd]
eval_set = {project}
teacher_inference = 0
human_validation = 0
fine_tune_compute = 0
deployment = 0
eval_cycles = 0
"""


def _spec(text: str) -> Spec:
    return parse_spec(text, display="test.toml")


def _plan(spec: Spec, state: EvalState = LOCKED) -> Plan:
    return build_plan(spec, PlanInputs(architecture=ARCH, eval_state=state))


@pytest.mark.parametrize(("student", "project", "payback"), [(1_500, 35_000, 0.72), (4_000, 120_000, 2.6)])
def test_the_seed_example_p62(student: int, project: int, payback: float) -> None:
    plan = _plan(_spec(SEED_SPEC.format(student=student, project=project)))
    assert plan.costs.frontier_usd_per_month == pytest.approx(50_000)
    assert plan.costs.student_usd_per_month == pytest.approx(student)
    assert plan.costs.project_usd == pytest.approx(project)
    assert plan.finance.payback_months == pytest.approx(payback, abs=0.05)
    assert plan.finance.cfo_band == "accept"
    assert plan.verdict.decision == "distill"


def _with(spec: Spec, **workload: object) -> Spec:
    w = spec.workload.model_copy(update=workload)
    return spec.model_copy(update={"workload": w})


BASE = _spec(SEED_SPEC.format(student=1_500, project=35_000))


@settings(max_examples=40, deadline=None)
@given(st.floats(1e6, 5e10), st.floats(1.01, 4.0))
def test_payback_never_rises_when_volume_rises(tokens: float, factor: float) -> None:
    """With the GPU count fixed, payback never rises with volume. (With sizing on, it can
    rise by a hair at the volume where one more replica is added: the hosting step.)"""
    spec = load_spec(EXAMPLES / "invoice-extraction").spec
    spec = spec.model_copy(update={"hardware": spec.hardware.model_copy(update={"replicas": 4})})
    low = _plan(_with(spec, requests_per_month=int(tokens / 1650) + 1))
    high = _plan(_with(spec, requests_per_month=int(tokens * factor / 1650) + 1))
    if low.finance.payback_months is not None:
        assert high.finance.payback_months is not None
        assert high.finance.payback_months <= low.finance.payback_months + 1e-9


@settings(max_examples=40, deadline=None)
@given(st.floats(1e6, 5e10), st.floats(1.01, 4.0))
def test_with_sizing_only_the_hosting_step_can_cut_savings(tokens: float, factor: float) -> None:
    spec = load_spec(EXAMPLES / "invoice-extraction").spec
    low = _plan(_with(spec, requests_per_month=int(tokens / 1650) + 1))
    high = _plan(_with(spec, requests_per_month=int(tokens * factor / 1650) + 1))

    def hosting(p: Plan) -> float:
        return next(line.usd for line in p.costs.student_lines if line.name == "gpu_hosting")

    assert high.sizing.gpus_total >= low.sizing.gpus_total
    assert high.costs.savings_usd_per_month + hosting(high) >= low.costs.savings_usd_per_month + hosting(low) - 1e-6
    if high.sizing.gpus_total == low.sizing.gpus_total and low.finance.payback_months is not None:
        assert high.finance.payback_months is not None
        assert high.finance.payback_months <= low.finance.payback_months + 1e-9


@pytest.mark.parametrize(
    ("tokens", "decision"),
    [
        (49_000_000, "stay-on-frontier"),
        (50_000_000, "route-first"),  # P2.2: 50M-200M, both ends in
        (51_000_000, "route-first"),
        (199_000_000, "route-first"),
        (200_000_000, "route-first"),  # exactly 200M is not "above 200M" (issue 21)
        (200_000_001, "distill"),
        (201_000_000, "distill"),
    ],
)
def test_verdicts_around_the_p22_thresholds(tokens: int, decision: str) -> None:
    plan = _plan(_with(BASE, tokens_per_month=tokens))
    assert plan.finance.payback_months is not None  # the money is fine; only volume decides
    message = next(c.message for c in plan.verdict.checks if c.id == "volume")
    assert message.startswith("above 200M") == (tokens > 200_000_000)
    assert message.startswith("between 50M and 200M") == (50_000_000 <= tokens <= 200_000_000)
    assert plan.verdict.decision == decision
    volume = next(c for c in plan.verdict.checks if c.id == "volume")
    assert volume.ok is (tokens >= 50_000_000)


def test_regulated_data_may_justify_below_the_floor() -> None:
    plan = _plan(_with(BASE, tokens_per_month=20_000_000, regulated=True))
    volume = next(c for c in plan.verdict.checks if c.id == "volume")
    assert volume.ok and "P3.5" in volume.message
    assert any(w.rule == "P3.5" for w in plan.verdict.warnings)


def test_negative_saving_gives_no_payback_and_stay_on_frontier() -> None:
    spec = _spec(SEED_SPEC.format(student=60_000, project=35_000))
    plan = _plan(spec)
    assert plan.costs.savings_usd_per_month < 0
    assert plan.finance.payback_months is None
    assert plan.finance.irr_annual is None
    assert plan.finance.cfo_band == "refuse"
    assert plan.verdict.decision == "stay-on-frontier"


def test_an_unlocked_eval_means_lock_eval_first() -> None:
    plan = _plan(_with(BASE, tokens_per_month=500_000_000), EvalState())
    assert plan.verdict.decision == "lock-eval-first"
    changed = _plan(_with(BASE, tokens_per_month=500_000_000), EvalState(locked=True, changes=("modified eval.jsonl",)))
    assert changed.verdict.decision == "lock-eval-first"
    assert "modified eval.jsonl" in next(c for c in changed.verdict.checks if c.id == "eval-locked").message


def test_gap_policy_warnings() -> None:
    def gap(points: float, stakes: str = "standard", mode: str = "student-only") -> set[str]:
        text = SEED_SPEC.format(student=1_500, project=35_000).replace(
            "max_gap_points = 2.5", f"max_gap_points = {points}"
        )
        text = text.replace('task = "extraction"', f'task = "extraction"\nstakes = "{stakes}"')
        if mode == "cache":
            text += '\n[routing]\nmode = "cache"\nstudent_share = 0.9\n'
        return {w.id for w in _plan(_spec(text)).verdict.warnings}

    assert "gap-too-wide" in gap(3.5)
    assert "gap-too-tight" in gap(1.5)
    assert not {"gap-too-wide", "gap-too-tight", "gap-high-stakes"} & gap(2.5)
    assert "gap-high-stakes" in gap(2.0, "high")
    assert "gap-high-stakes" not in gap(2.0, "high", "cache")
    assert "gap-high-stakes" not in gap(1.0, "high")


def test_cache_routing_adds_the_teacher_fallback_and_zero_system_gap() -> None:
    spec = load_spec(EXAMPLES / "clinical-coding").spec
    plan = _plan(spec)
    fallback = next(line for line in plan.costs.student_lines if line.name == "teacher_fallback")
    assert fallback.usd == pytest.approx(0.1 * plan.costs.frontier_usd_per_month)
    assert plan.gap.system_gap_points == 0
    assert plan.gap.acceptance_threshold == pytest.approx(0.94)


def test_an_override_wins_over_a_driver_and_drivers_compute() -> None:
    spec = load_spec(EXAMPLES / "invoice-extraction").spec
    lines = {p.name: p for p in _plan(spec).costs.project_lines}
    assert lines["human_validation"].usd == pytest.approx(300 * 45)
    assert lines["human_validation"].source == "driver"
    # 40,000 examples x (1,400 in x $2 + 250 out x $10) / 1e6, at the batch tier (50% off)
    assert lines["teacher_inference"].usd == pytest.approx(40_000 * (1_400 * 2 + 250 * 10) / 1e6 * 0.5)
    assert lines["eval_set"].usd == pytest.approx((8_000 + 25_000) / 2)
    budget = spec.budget.model_copy(
        update={"override_usd": spec.budget.override_usd.model_copy(update={"human_validation": 999.0})}
    )
    lines = {p.name: p for p in _plan(spec.model_copy(update={"budget": budget})).costs.project_lines}
    assert (lines["human_validation"].usd, lines["human_validation"].source) == (999.0, "override")


def test_hosting_uses_the_sized_replicas() -> None:
    plan = plan_for_file(load_spec(EXAMPLES / "invoice-extraction"))
    hosting = next(line for line in plan.costs.student_lines if line.name == "gpu_hosting")
    assert plan.sizing.gpus_total >= 1
    assert hosting.usd == pytest.approx(plan.sizing.gpus_total * plan.sizing.usd_per_gpu_hour * 730)


def test_refuse_line_volume_gives_a_twelve_month_payback() -> None:
    spec = load_spec(EXAMPLES / "invoice-extraction").spec
    plan = _plan(spec)
    be = plan.finance.refuse_line_tokens_per_month
    assert be is not None
    at = _plan(_with(spec, requests_per_month=int(be / 1650 * 1.001) + 1))
    below = _plan(_with(spec, requests_per_month=int(be / 1650 * 0.95)))
    assert at.finance.payback_months is not None and at.finance.payback_months <= 12.0
    assert below.finance.payback_months is None or below.finance.payback_months > 12.0


def test_build_plan_is_deterministic() -> None:
    spec = load_spec(EXAMPLES / "clinical-coding").spec
    assert json.dumps(_plan(spec).to_json()) == json.dumps(_plan(spec).to_json())


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_golden_plan_json(name: str) -> None:
    got = plan_for_file(load_spec(EXAMPLES / name)).to_json()
    want = json.loads((GOLDEN / f"{name}.json").read_text())
    assert got == want


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_golden_plan_text(name: str) -> None:
    from distillplan.outputs.report import render

    got = render(plan_for_file(load_spec(EXAMPLES / name)), "text", color=False)
    assert got == (GOLDEN / f"{name}.txt").read_text()


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_each_example_states_its_verdict(name: str) -> None:
    decision = plan_for_file(load_spec(EXAMPLES / name)).verdict.decision
    assert f"Verdict: `{decision}`" in (EXAMPLES / name / "README.md").read_text()
    readme = (ROOT / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith(f"| [`examples/{name}`]"))
    assert row.rstrip(" |").endswith(f"`{decision}`")


def test_the_examples_cover_the_four_stories() -> None:
    verdicts = {name: plan_for_file(load_spec(EXAMPLES / name)).verdict.decision for name in EXAMPLE_NAMES}
    assert verdicts["invoice-extraction"] == "distill"
    assert verdicts["ticket-triage"] == "stay-on-frontier"  # 190M, but a 53-month payback (P6.3)
    assert verdicts["open-chat"] == "stay-on-frontier"
    assert verdicts["clinical-coding"] == "distill"
    assert verdicts["product-descriptions"] == "route-first"
    assert verdicts["claims-extraction"] == "lock-eval-first"  # the gap changed after the lock
    assert verdicts["patient-intake"] == "distill"  # on non-cost grounds: data residency (P3.5)
    assert set(verdicts.values()) == {"distill", "route-first", "lock-eval-first", "stay-on-frontier"}
    clinical = load_spec(EXAMPLES / "clinical-coding").spec
    assert (clinical.workload.stakes, clinical.routing.mode, clinical.eval.max_gap_points) == ("high", "cache", 1.0)


def test_docs_spec_reference_is_generated_from_the_models() -> None:
    from distillplan.spec.reference import END, START, spec_reference

    text = (ROOT / "docs" / "spec.md").read_text()
    block = text.split(START, 1)[1].split(END, 1)[0]
    assert block == "\n" + spec_reference()
    for section in re.findall(r"^## `\[\[?([a-z_.]+)\]\]?`", block, flags=re.M):
        assert section.split(".")[0] in Spec.model_fields


def test_threshold_sentences_quote_the_policy_in_force() -> None:
    """Every sentence that quotes a threshold is built from the policy, so a spec that moves
    the floor, the refusal line, the revisit delay, P6.4 or P7.1 reads its own figures."""
    text = SEED_SPEC.format(student=40_000, project=35_000).replace(
        "[budget.override_usd]",
        "[policy]\nvolume_floor_tokens_per_month = 80_000_000\npayback_refuse_over_months = 10\n"
        "payback_accept_under_months = 8\nrevisit_months = 9\npayback_typical_months = [1, 3]\n"
        "requests_per_second_per_gpu = [30, 90]\n\n[budget.override_usd]",
    )
    spec = _spec(text)
    low = _plan(_with(spec, tokens_per_month=60_000_000))
    volume = next(c for c in low.verdict.checks if c.id == "volume")
    assert volume.message == "below the 80M tokens/month floor: does not amortize within 10 months"
    assert low.verdict.summary.startswith("Stay on the frontier model and revisit in 9 months (P2.4)")
    regulated = _plan(_with(spec, tokens_per_month=60_000_000, regulated=True))
    assert any("below 80M tokens/month" in w.message for w in regulated.verdict.warnings)
    high = _plan(spec)
    payback = next(c for c in high.verdict.checks if c.id == "payback")
    assert "within 10 months" in payback.message or "over 10 months" in payback.message
    assert "1-3 months (P6.4)" in payback.message  # shown when the payback is outside the typical band
    assert "at 30-90 requests/second" in high.sizing.p71_note
    default = _plan(BASE)
    assert "revisit in two quarters" not in default.verdict.summary  # BASE distills
    assert "at 60-200 requests/second" in default.sizing.p71_note


def test_policy_settings_that_did_nothing_are_gone() -> None:
    """`[policy.sizing] lora_rank` was always overwritten by `student.lora_rank`: now refused."""
    from distillplan.errors import SpecError

    with pytest.raises(SpecError, match=r"policy\.sizing\.lora_rank: unknown key"):
        _spec(SEED_SPEC.format(student=1, project=1) + "\n[policy.sizing]\nlora_rank = 8\n")


def test_training_recipe_and_pod_size_are_policy_judgements_in_the_plan() -> None:
    from distillplan.outputs.render import build_context

    text = SEED_SPEC.format(student=1_500, project=35_000).replace(
        "[budget.override_usd]",
        "[policy.sizing]\nlearning_rate_adapter = [3e-4, 1e-4]\nserving_host_memory_overhead_gib = 30\n"
        "train_effective_batch_sequences = 32\nwarmup_share = 0.1\n\n[budget.override_usd]",
    )
    text = text.replace(
        'base_model = "meta-llama/Llama-3.1-8B"', 'base_model = "meta-llama/Llama-3.1-8B"\ntraining_examples = 8_000'
    )
    spec = _spec(text)
    plan = _plan(spec)
    r = plan.sizing.training.recipe
    assert r.learning_rate == 3e-4  # an 8B student takes the up-to-10B rate
    assert r.gradient_accumulation_steps == 32 // (4 * plan.sizing.training.gpus)
    steps = -(-8_000 // (4 * r.gradient_accumulation_steps * plan.sizing.training.gpus)) * spec.student.epochs
    assert r.total_steps == round(steps) and r.warmup_steps == round(0.1 * r.total_steps)
    assert r.lora_alpha == 2 * spec.student.lora_rank
    assert plan.sizing.pod_memory_gib == math.ceil(plan.sizing.weights_gib + 30)
    ctx = build_context(spec, plan, {})
    assert ctx["training"]["learning_rate"] == 3e-4 and ctx["k8s"]["memory"] == f"{plan.sizing.pod_memory_gib}Gi"


def test_a_sizing_field_the_plan_does_not_declare_fails_never_dropped() -> None:
    """One representation of the sizing figures: every field of a sizing dataclass reaches the
    plan's model by name, and a new one the model does not declare is an error, not filtered out."""
    import dataclasses as dc

    from distillplan.plan.build import _fields
    from distillplan.plan.model import SizingOut, TrainingOut
    from distillplan.sizing.serving import ServingSizing

    plan = plan_for_file(load_spec(EXAMPLES / "invoice-extraction"))
    assert plan.sizing.training.recipe.max_length > 0
    fields = {f.name for f in dc.fields(ServingSizing)} - {"gpu"}
    assert fields <= set(SizingOut.model_fields)
    Wider = dc.make_dataclass(
        "ServingSizing", [(f.name, f.type) for f in dc.fields(ServingSizing)] + [("new_figure", int)]
    )
    values = {f.name: 0 for f in dc.fields(Wider)}
    with pytest.raises(TypeError, match="ServingSizing fields not in SizingOut: new_figure"):
        _fields(Wider(**values), SizingOut)
    Training = dc.make_dataclass("TrainingSizing", [("gpu", str), ("parameters", int), ("surprise", int)])
    with pytest.raises(TypeError, match="surprise"):
        _fields(Training("g", 1, 2), TrainingOut)
