"""Prices that are true today (issue 13): prompt caching in the frontier bill, the batch tier in
the teacher-inference line, the staleness warning, and a catalog that shows every price's date."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from distillplan.catalogs.prices import teacher_prices
from distillplan.plan.build import PlanInputs, build_plan
from distillplan.plan.decision import EvalState
from distillplan.plan.model import Plan
from distillplan.sizing.architecture import load_architecture
from distillplan.spec.load import parse_spec
from distillplan.spec.models import Spec
from tests.conftest import EXAMPLES, ROOT, run_cli

ARCH = load_architecture("meta-llama/Llama-3.1-8B", base_dir=ROOT)
INVOICE = (EXAMPLES / "invoice-extraction" / "distill.toml").read_text()


def _plan(text: str) -> Plan:
    spec: Spec = parse_spec(text, display="t.toml", base_dir=EXAMPLES / "invoice-extraction")
    return build_plan(spec, PlanInputs(architecture=ARCH, eval_state=EvalState(locked=True, lock_hash="sha256:t")))


def _with_workload(text: str, line: str) -> str:
    return text.replace("[workload]\n", f"[workload]\n{line}\n", 1)


def test_cache_hits_lower_the_frontier_bill_by_the_cached_price_arithmetic() -> None:
    base = _plan(INVOICE)
    cached = _plan(_with_workload(INVOICE, "cached_input_share = 0.6"))
    book = teacher_prices()[base.teacher.model or ""]
    assert book.usd_per_mtok_cached_input is not None
    tin = base.volume.input_tokens_per_month
    saved = tin * 0.6 * (book.usd_per_mtok_input - book.usd_per_mtok_cached_input) / 1e6
    assert base.costs.frontier_usd_per_month - cached.costs.frontier_usd_per_month == pytest.approx(saved, rel=1e-12)
    assert cached.costs.frontier_output_usd_per_month == base.costs.frontier_output_usd_per_month
    effective = 0.4 * book.usd_per_mtok_input + 0.6 * book.usd_per_mtok_cached_input
    assert cached.teacher.usd_per_mtok_input_effective == pytest.approx(effective)
    assert cached.costs.usd_per_mtok_before == pytest.approx(
        cached.costs.frontier_usd_per_month / base.volume.tokens_per_month * 1e6
    )
    # the student side: the same shared prefix is served from vLLM's prefix cache (whole
    # 16-token blocks of the 1,400-token prompt: 840 -> 832), so a GPU serves more requests
    assert (base.sizing.prefix_cached_tokens, cached.sizing.prefix_cached_tokens) == (0, 832)
    assert cached.sizing.requests_per_second_per_gpu > base.sizing.requests_per_second_per_gpu
    assert cached.sizing.gpus_total <= base.sizing.gpus_total


def test_a_pinned_cached_price_wins_and_no_cached_price_bills_hits_as_input() -> None:
    pinned = _plan(
        _with_workload(INVOICE, "cached_input_share = 1.0").replace(
            'model = "claude-sonnet-5.5"', 'model = "claude-sonnet-5.5"\nusd_per_mtok_cached_input = 1.0'
        )
    )
    assert pinned.costs.frontier_input_usd_per_month == pytest.approx(pinned.volume.input_tokens_per_month / 1e6)
    assert pinned.teacher.cached_input_basis == "distill.toml"


def test_no_published_cached_price_never_raises_the_frontier_bill() -> None:
    """Issue 25: a model without a published cached-input price bills cache hits at its input
    price times the lowest cached/input ratio its vendor publishes (P6.2: a missing price must
    not shorten the payback), and the plan says so; every published cached price is kept."""
    book = teacher_prices()
    for name in ("gpt-6.2-astra", "gemini-4-carbon"):
        entry = book[name]
        published = [
            t.usd_per_mtok_cached_input / t.usd_per_mtok_input
            for t in book.values()
            if t.vendor == entry.vendor and t.cached_input_basis == "published" and t.usd_per_mtok_cached_input
        ]
        assert entry.cached_input_basis == "vendor-lowest-ratio"
        assert entry.usd_per_mtok_cached_input == pytest.approx(entry.usd_per_mtok_input * min(published))
        plan = _plan(_with_workload(INVOICE, "cached_input_share = 0.6").replace("claude-sonnet-5.5", name))
        assert plan.teacher.cached_input_basis == "vendor-lowest-ratio" and "P6.2" in plan.teacher.cached_input_rule
        from distillplan.outputs.report import render

        said = "no cached price is published: billed at the vendor's lowest published cached/input ratio (P6.2)"
        assert said in render(plan, "text", color=False) and said in render(plan, "markdown", color=False)
        full = plan.volume.input_tokens_per_month * entry.usd_per_mtok_input / 1e6
        assert plan.costs.frontier_input_usd_per_month < full  # hits are never billed as input
        # any published cached price of the vendor, applied by ratio, gives a bill at least as high
        for ratio in published:
            assert plan.costs.frontier_input_usd_per_month <= full * (0.4 + 0.6 * ratio) + 1e-6
    # the four rows the issue names: a published cached price where one exists, the rule elsewhere
    assert book["gemini-4-argon"].cached_input_basis == book["gemini-3.8-flash"].cached_input_basis == "published"
    no_share = _plan(INVOICE.replace("claude-sonnet-5.5", "gpt-6.2-astra"))
    assert no_share.teacher.cached_input_basis == "unused" and no_share.teacher.cached_input_rule == ""


def _teacher_line(plan: Plan) -> tuple[float, str]:
    line = next(ln for ln in plan.costs.project_lines if ln.name == "teacher_inference")
    return line.usd, line.basis


def test_the_batch_tier_moves_the_teacher_inference_line() -> None:
    batch_usd, batch_basis = _teacher_line(_plan(INVOICE))
    live_usd, live_basis = _teacher_line(_plan(INVOICE + "\n[teacher_data]\nbatch = false\n"))
    discount = teacher_prices()["claude-sonnet-5.5"].batch_discount
    assert discount == 0.5
    assert batch_usd == pytest.approx(live_usd * (1 - discount))
    assert "batch prices (50% off)" in batch_basis and "live prices" in live_basis
    # 40,000 examples x (1,400 in + 250 out) at $2 / $10 per Mtok, halved
    assert live_usd == pytest.approx(40_000 * (1400 * 2.0 + 250 * 10.0) / 1e6)


def _repo(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES / "invoice-extraction", tmp_path / "x")
    return tmp_path / "x"


def test_stale_prices_warn_on_stderr_and_leave_the_report_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _repo(tmp_path)
    monkeypatch.setenv("DISTILLPLAN_TODAY", "2026-12-01")
    code, fresh_out, fresh_err = run_cli("plan", str(spec), "--format", "json", capsys=capsys)
    assert code == 0 and fresh_err == ""  # teacher read 2026-11-28, GPU quotes gathered 2026-11: fresh
    monkeypatch.setenv("DISTILLPLAN_TODAY", "2027-07-01")
    code, stale_out, stale_err = run_cli("plan", str(spec), "--format", "json", capsys=capsys)
    assert code == 0 and stale_out == fresh_out  # the plan is the same bytes whatever the day
    warning = next(ln for ln in stale_err.splitlines() if "teacher prices" in ln)
    assert "read on 2026-11-28, 7 months ago" in warning and "usd_per_mtok_input" in warning
    gpu = next(ln for ln in stale_err.splitlines() if "a100-80gb price" in ln)
    assert "($2.70/h) is from 2026-09, 10 months ago" in gpu and "[hardware] usd_per_gpu_hour" in gpu
    code, _, quiet = run_cli("plan", str(spec), "--no-stale-warning", capsys=capsys)
    assert code == 0 and quiet == ""
    monkeypatch.setenv("DISTILLPLAN_TODAY", "2027-07-01")
    (spec / "distill.toml").write_text(
        (spec / "distill.toml").read_text().replace("[hardware]\n", "[hardware]\nusd_per_gpu_hour = 2.0\n", 1)
        + "\n[policy]\nprice_staleness_months = 12\n"
    )
    code, _, err = run_cli("plan", str(spec), capsys=capsys)
    assert code == 0 and err == ""  # a pinned GPU rate, and a 12-month threshold


def test_a_retired_teacher_is_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = _repo(tmp_path)
    (spec / "distill.toml").write_text(
        (spec / "distill.toml").read_text().replace("claude-sonnet-5.5", "claude-opus-4")
    )
    _, _, err = run_cli("plan", str(spec), "--format", "json", capsys=capsys)
    assert "claude-opus-4 is retired by its vendor" in err


@pytest.mark.parametrize(
    ("as_of", "today", "stale"),
    [
        ("2026-11-28", "2027-05-28", False),  # exactly 6 calendar months
        ("2026-11-28", "2027-05-29", True),  # more than 6
        ("2026-08-31", "2027-02-28", False),  # a shorter month ends the span on its last day
        ("2026-08-31", "2027-03-01", True),
        ("2026-09", "2027-03-01", False),  # a month means its first day
        ("2026-09", "2027-03-02", True),
        ("not a date", "2030-01-01", False),
    ],
)
def test_stale_means_more_than_the_policy_s_calendar_months(as_of: str, today: str, stale: bool) -> None:
    import datetime as dt

    from distillplan.plan.staleness import is_stale

    assert is_stale(as_of, dt.date.fromisoformat(today), 6) is stale


def _warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str], model: str) -> str:
    """stderr of `plan` for the invoice example with ``model`` as the teacher."""
    spec = _repo(tmp_path / model)
    (spec / "distill.toml").write_text((spec / "distill.toml").read_text().replace("claude-sonnet-5.5", model))
    code, _, err = run_cli("plan", str(spec), "--format", "json", capsys=capsys)
    assert code == 0
    return err


def test_a_deprecated_teacher_and_third_party_prices_are_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    book = teacher_prices()
    assert book["o3"].shutdown is not None and book["o3"].shutdown.isoformat() == "2026-12-11"
    monkeypatch.setenv("DISTILLPLAN_TODAY", "2026-12-01")
    assert "the teacher o3 shuts down on 2026-12-11" in _warnings(tmp_path, capsys, "o3")
    third = next(n for n, t in book.items() if t.source_kind == "third-party")
    assert f"the teacher prices ({third}) come from third parties" in _warnings(tmp_path, capsys, third)
    assert _warnings(tmp_path, capsys, "gpt-6.2-sol") == ""  # the vendor's own page, read this month
    pinned = f'{third}"\nusd_per_mtok_input = 3.0\nusd_per_mtok_output = 15.0\n#"'
    assert _warnings(tmp_path / "pinned", capsys, pinned) == ""  # what you pay, pinned: nothing to confirm
    monkeypatch.setenv("DISTILLPLAN_TODAY", "2027-01-01")
    assert "the teacher o3 shut down on 2026-12-11" in _warnings(tmp_path / "later", capsys, "o3")


def test_the_book_has_each_vendor_s_current_tiers_read_this_month() -> None:
    """Issue 13: the flagship, mid and small tier of OpenAI, Anthropic and Google, current,
    each with its source and the day it was read; every current model's input and output
    prices are dearer for the bigger tier (a sanity check on transcription)."""
    book = teacher_prices()
    for vendor in ("OpenAI", "Anthropic", "Google"):
        current = [t for t in book.values() if t.vendor == vendor and t.status == "current"]
        assert len(current) >= 3, vendor
        assert all(t.as_of.isoformat() == "2026-11-28" and t.source for t in current)
        on_vendor_page = [t for t in current if t.source_kind != "third-party"]
        assert len(on_vendor_page) >= 2, vendor
    for t in book.values():
        assert t.usd_per_mtok_output >= t.usd_per_mtok_input > 0
        assert t.usd_per_mtok_cached_input is None or 0 < t.usd_per_mtok_cached_input < t.usd_per_mtok_input
        assert 0 <= t.batch_discount < 1
        assert t.shutdown is None or t.status != "current"


def test_catalog_shows_source_date_status_and_staleness(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISTILLPLAN_TODAY", "2026-12-01")
    code, out, _ = run_cli("catalog", "--format", "json", capsys=capsys)
    assert code == 0
    teachers = {t["name"]: t for t in json.loads(out)["teachers"]}
    assert set(teachers) == set(teacher_prices())
    for t in teachers.values():
        assert t["source"] and t["as_of"] and t["status"] in ("current", "legacy", "retired")
    assert teachers["claude-sonnet-5.5"]["stale"] is False and teachers["gpt-4.1"]["stale"] is True
    assert teachers["gpt-4.1"]["shutdown"] == "2027-01-14" and teachers["gpt-6.2-sol"]["shutdown"] is None
    assert {t["source_kind"] for t in teachers.values()} == {"vendor-page", "vendor-page-copy", "third-party"}
    current = {n for n, t in teachers.items() if t["status"] == "current"}
    assert current and all(teachers[n]["as_of"] == "2026-11-28" for n in current)
    code, text, _ = run_cli("catalog", capsys=capsys)
    assert "claude-sonnet-5.5" in text and "read 2025-08-01, STALE" in text


def test_examples_and_starter_use_current_models() -> None:
    book = teacher_prices()
    specs = [*EXAMPLES.glob("*/distill.toml"), ROOT / "distillplan" / "data" / "starter.toml"]
    for path in specs:
        model = next(ln.split('"')[1] for ln in path.read_text().splitlines() if ln.startswith("model = "))
        assert book[model].status == "current", path


def test_every_book_model_has_an_api_and_a_model_id_its_api_takes() -> None:
    """The batch files and the router call the teacher by its API id: Anthropic's ids have no
    dots since Claude 4.5 ("claude-haiku-5-5"); OpenAI and Google take the book's name."""
    from distillplan.catalogs.teacher_api import teacher_api

    for name, entry in teacher_prices().items():
        api = teacher_api(name, None, None)
        assert api.known, name
        if entry.vendor == "Anthropic" and entry.status != "retired" and entry.as_of.year >= 2026:
            assert api.model is not None and "." not in api.model, name


def test_a_teacher_gone_before_go_live_is_a_plan_warning() -> None:
    """Deterministic (a function of the spec, not of the day): the report, the JSON and the
    proposal carry it. gpt-4.1 leaves OpenAI's API on 2027-01-14; the invoice example goes
    live on 2027-03-04 (start 2027-01-04 + 2 build months)."""

    def warning(model: str) -> str | None:
        plan = _plan(INVOICE.replace("claude-sonnet-5.5", model))
        found = [w.message for w in plan.verdict.warnings if w.id == "teacher-retired"]
        return found[0] if found else None

    gone = warning("gpt-4.1")
    assert gone is not None and "leaves its vendor's API on 2027-01-14, before go-live (2027-03-04)" in gone
    assert "leaves its vendor's API on 2026-06-15, before go-live" in (warning("claude-sonnet-4") or "")
    opus4 = warning("claude-opus-4") or ""  # retired on 2026-06-15: priced at the successor Anthropic names
    assert "leaves its vendor's API on 2026-06-15" in opus4
    assert "successor claude-opus-4.8 ($5.00 / $25.00 per MTok)" in opus4
    assert warning("claude-sonnet-5.5") is None and warning("claude-opus-5") is None  # no date, or after go-live
    later = _plan(INVOICE.replace("claude-sonnet-5.5", "gpt-4.1").replace("start = 2027-01-04", "start = 2026-10-01"))
    assert not [w for w in later.verdict.warnings if w.id == "teacher-retired"]  # live 2026-12-01, before 2027-01-14


def test_the_teacher_inference_line_says_it_counts_cache_hits() -> None:
    plan = _plan(_with_workload(INVOICE, "cached_input_share = 0.6"))
    usd, basis = _teacher_line(plan)
    assert "batch prices (50% off), 60% of input tokens as cache hits" in basis
    assert usd == pytest.approx(40_000 * (1400 * (0.4 * 2.0 + 0.6 * 0.10) + 250 * 10.0) / 1e6 * 0.5)


def test_scaffold_and_compare_warn_like_plan(
    example_repo: Callable[[str], Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = example_repo("invoice-extraction")
    monkeypatch.setenv("DISTILLPLAN_TODAY", "2027-09-01")
    code, _, err = run_cli("scaffold", str(repo), "--pretend", capsys=capsys)
    assert code == 0 and "warning: the teacher prices (claude-sonnet-5.5) were read on 2026-11-28" in err
    assert "warning: the a100-80gb price" in err
    code, _, err = run_cli("scaffold", str(repo), "--pretend", "--no-stale-warning", capsys=capsys)
    assert code == 0 and err == ""
    code, _, err = run_cli("compare", str(repo), "--gpu", "h200-141gb", "--method", "qlora", capsys=capsys)
    assert code == 0 and "the teacher prices (claude-sonnet-5.5)" in err
    assert "the h200-141gb price ($5.45/h) is from 2026-08" in err and "the a100-80gb price" in err  # the spec's own
    monkeypatch.setenv("DISTILLPLAN_TODAY", "2026-12-01")
    code, _, err = run_cli("compare", str(repo), "--gpu", "h200-141gb", "--method", "qlora", capsys=capsys)
    assert code == 0 and err == ""
