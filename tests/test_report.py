from __future__ import annotations

import json
import re
from typing import Any

import pytest
from markdown_it import MarkdownIt

from distillplan.commands._inputs import plan_for_file
from distillplan.outputs.report import render
from distillplan.plan.decision import EvalState
from distillplan.plan.model import Plan
from distillplan.spec.load import load_spec
from distillplan.text import md_cell as cell
from distillplan.text import md_table
from distillplan.text import months as fmt_months
from distillplan.text import usd as fmt_usd

from .conftest import EXAMPLES, ROOT

EXAMPLE_NAMES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "distill.toml").is_file())
ANSI = re.compile(r"\x1b\[[0-9;]*m")
UNLOCKED = EvalState()
LOCKED = EvalState(locked=True, lock_hash="sha256:" + "ab" * 32, examples_per_stratum=(("big", 5000), ("tiny", 3)))


def plan_of(name: str, state: EvalState = UNLOCKED) -> Plan:
    # Pass the eval state: examples/ may be locked or not, the report must not depend on it.
    return plan_for_file(load_spec(EXAMPLES / name), eval_state=state)


@pytest.fixture(scope="module", params=EXAMPLE_NAMES)
def plan(request: pytest.FixtureRequest) -> Plan:
    return plan_of(request.param)


def test_examples_are_found() -> None:
    assert len(EXAMPLE_NAMES) >= 4


# ----------------------------------------------------------------------------- text


def test_text_has_no_ansi_without_color(plan: Plan) -> None:
    text = render(plan, "text")
    assert "\x1b" not in text


def test_text_has_ansi_with_color_and_is_the_same_report(plan: Plan) -> None:
    colored = render(plan, "text", color=True)
    assert ANSI.search(colored)
    assert ANSI.sub("", colored) == render(plan, "text")


def test_text_leads_with_the_verdict_and_lists_every_check(plan: Plan) -> None:
    text = render(plan, "text")
    lines = text.splitlines()
    verdict_line = next(ln for ln in lines if ln.strip())
    assert plan.verdict.decision.upper() not in verdict_line  # the title comes first...
    assert lines[2].startswith(plan.verdict.decision.upper())  # ...then the verdict
    for check in plan.verdict.checks:
        mark = "✔" if check.ok else "✘"
        assert re.search(rf"{mark}\s+{re.escape(check.id)}\s+{re.escape(check.rule)}", text), check.id
    for w in plan.verdict.warnings:
        assert f"{w.id} ({w.rule})" in text


def test_text_shows_every_cost_line_with_its_amount(plan: Plan) -> None:
    text = render(plan, "text")
    for ln in plan.costs.student_lines:
        row = next(r for r in text.splitlines() if r.strip().startswith(ln.label))
        assert ln.formula in row and fmt_usd(ln.usd) in row
    for pl in plan.costs.project_lines:
        row = next(r for r in text.splitlines() if r.strip().startswith(pl.label))
        assert f"{fmt_usd(pl.low_usd)}-{fmt_usd(pl.high_usd)}" in row and fmt_usd(pl.usd) in row
    assert fmt_usd(plan.costs.frontier_usd_per_month) in text
    assert fmt_usd(plan.costs.savings_usd_per_month) in text
    assert fmt_usd(plan.costs.project_usd) in text
    assert fmt_months(plan.finance.payback_months) in text
    assert plan.finance.cfo_band in text


def test_text_invoice_figures() -> None:
    text = render(plan_of("invoice-extraction"), "text")
    assert re.search(r"Input\s+8\.4B tokens x \$2\.00/Mtok\s+\$16,800", text)
    assert re.search(r"Output\s+1\.5B tokens x \$10\.00/Mtok\s+\$15,000", text)
    assert re.search(r"Total per month\s+\$31,800", text)
    assert "$3.21 -> $0.85" in text
    assert re.search(r"Payback from go-live:\s+2\.3 months", text)
    assert re.search(r"Payback from kickoff:\s+4\.3 months", text)
    assert re.search(r"Replicas / GPUs:\s+2 / 2", text)
    assert "12.4% (outside the 1%-4% band)" in text


def test_text_amounts_are_right_aligned() -> None:
    p = plan_of("invoice-extraction")
    lines = render(p, "text").splitlines()
    start = lines.index("Student operating lines (per month)") + 1
    amounts = [
        *(fmt_usd(ln.usd) for ln in p.costs.student_lines),
        fmt_usd(p.costs.student_usd_per_month),
    ]
    rows = lines[start : start + len(amounts)]
    ends = {row.rfind(a) + len(a) for row, a in zip(rows, amounts, strict=True)}
    assert len(ends) == 1, rows


def test_text_warns_on_small_strata_and_shortens_hashes() -> None:
    p = plan_of("invoice-extraction", LOCKED)
    text = render(p, "text")
    req = p.eval.required_examples_per_stratum
    assert req is not None and 3 < req < 5000
    assert re.search(rf"1 stratum below the examples needed .*tiny 3 of {req:,}", text)
    assert "big 5,000" not in text
    assert "Stratum tiny:" in text and "(too few)" in text
    checks = text[text.index("Checks") : text.index("Frontier bill")]
    assert "sha256:abababababab " in checks + " " and "ab" * 32 not in checks
    assert "ab" * 32 in text  # the eval section keeps the full hash


def test_text_without_small_strata_has_no_strata_warning() -> None:
    state = EvalState(locked=True, lock_hash="sha256:" + "cd" * 32, examples_per_stratum=(("a", 10_000),))
    assert "eval-strata" not in render(plan_of("invoice-extraction", state), "text")


def test_money_and_months_format() -> None:
    assert fmt_usd(1234.4) == "$1,234"
    assert fmt_usd(-1234.6) == "-$1,235"
    assert fmt_usd(5, sign=True) == "+$5"
    assert fmt_usd(-0.2, sign=True) == "$0"
    assert fmt_usd(3, 2) == "$3.00"
    assert fmt_months(None) == "never" and fmt_months(2.345) == "2.3 months"


def test_render_is_deterministic(plan: Plan) -> None:
    for fmt in ("text", "json", "markdown"):
        assert render(plan, fmt) == render(plan, fmt)  # type: ignore[arg-type]


def test_unknown_format_is_refused(plan: Plan) -> None:
    with pytest.raises(ValueError, match="unknown report format"):
        render(plan, "html")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- markdown


def gfm_tables(md: str) -> list[list[list[str]]]:
    """Tables as parsed by markdown-it (GFM tables): rows of cell texts, header first."""
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    tables: list[list[list[str]]] = []
    row: list[str] | None = None
    for i, t in enumerate(tokens):
        if t.type == "table_open":
            tables.append([])
        elif t.type == "tr_open":
            row = []
        elif t.type in ("th_open", "td_open"):
            assert row is not None
            row.append(tokens[i + 1].content)
        elif t.type == "tr_close":
            assert row is not None
            tables[-1].append(row)
    return tables


def check_tables(md: str) -> list[list[list[str]]]:
    tables = gfm_tables(md)
    # Every table-looking block in the source was parsed as a table...
    assert len(tables) == len(re.findall(r"^\| ?(?:---:?|:?---)", md, flags=re.M))
    for t in tables:
        # ...and every row has exactly the header's cells (markdown-it pads short rows,
        # so count the source pipes too).
        assert all(len(r) == len(t[0]) for r in t)
    blocks = re.findall(r"(?:^\|.*\n)+", md, flags=re.M)
    for block in blocks:
        counts = {len(re.findall(r"(?<!\\)\|", ln)) for ln in block.splitlines()}
        assert len(counts) == 1, block
    return tables


def test_markdown_tables_are_well_formed(plan: Plan) -> None:
    md = render(plan, "markdown")
    tables = check_tables(md)
    assert len(tables) >= 8
    assert "\x1b" not in md
    assert md.startswith("## distillplan: ")
    assert f"**{plan.verdict.decision.upper()}**" in md


def test_markdown_carries_the_cost_figures(plan: Plan) -> None:
    md = render(plan, "markdown")
    cells = {c for t in gfm_tables(md) for r in t for c in r}
    for ln in plan.costs.student_lines:
        assert ln.label in cells and fmt_usd(ln.usd) in cells
    for pl in plan.costs.project_lines:
        assert pl.label in cells
    assert f"**{fmt_usd(plan.costs.project_usd)}**" in cells
    for check in plan.verdict.checks:
        assert check.id in cells


def test_markdown_escapes_pipes_and_newlines() -> None:
    p = plan_of("invoice-extraction")
    bad = p.verdict.checks[0].model_copy(update={"figure": "a | b", "message": "line one\nline | two"})
    p = p.model_copy(
        update={
            "verdict": p.verdict.model_copy(update={"checks": [bad, *p.verdict.checks[1:]]}),
            "spec": p.spec.model_copy(update={"title": "Pipes | and\nnewlines"}),
        }
    )
    md = render(p, "markdown")
    tables = check_tables(md)
    checks = next(t for t in tables if t[0][1:3] == ["Check", "Rule"])
    assert checks[1][3] == "a | b"
    assert checks[1][4] == "line one line | two"
    assert "Pipes \\| and newlines" in md.splitlines()[0]


def test_md_table_refuses_ragged_rows() -> None:
    with pytest.raises(ValueError, match="2 cells, header has 3"):
        md_table(["a", "b", "c"], [["1", "2"]])
    assert cell("") == "-" and cell("x\\|y") == "x\\\\\\|y"


# ----------------------------------------------------------------------------- json

DOCUMENTED = [
    "format_version",
    "verdict.decision",
    "verdict.checks[].id",
    "verdict.checks[].ok",
    "verdict.checks[].figure",
    "verdict.checks[].message",
    "verdict.warnings",
    "volume.input_tokens_per_month",
    "volume.output_tokens_per_month",
    "costs.frontier_usd_per_month",
    "costs.student_usd_per_month",
    "costs.student_lines",
    "costs.savings_usd_per_month",
    "costs.project_usd",
    "costs.project_lines[].name",
    "costs.project_lines[].low_usd",
    "costs.project_lines[].high_usd",
    "costs.project_lines[].usd",
    "costs.project_lines[].basis",
    "finance.cash_flows_usd",
    "finance.payback_months",
    "finance.payback_months_from_kickoff",
    "finance.npv_usd",
    "finance.irr_annual",
    "finance.discount_rate_annual",
    "finance.cfo_band",
    "finance.zero_saving_tokens_per_month",
    "finance.refuse_line_tokens_per_month",
    "gap.allowed_points",
    "gap.acceptance_threshold",
    "sizing.gpus_total",
    "sizing.replicas",
    "sizing.weights_gib",
    "sizing.kv_bytes_per_token",
    "sizing.training.gpu_hours",
]


def key_paths(v: Any, prefix: str = "") -> set[str]:
    out: set[str] = {prefix} if prefix else set()
    if isinstance(v, dict):
        for k, x in v.items():
            if prefix.endswith(("examples_per_stratum", "examples_by_stratum")):
                continue  # keys are data (stratum names), not schema
            out |= key_paths(x, f"{prefix}.{k}" if prefix else k)
    elif isinstance(v, list) and v and isinstance(v[0], dict):
        for x in v:
            out |= key_paths(x, prefix + "[]") - {prefix + "[]"}
    return out


def lookup(doc: Any, path: str) -> list[Any]:
    values = [doc]
    for part in path.split("."):
        many = part.endswith("[]")
        key = part.removesuffix("[]")
        values = [v[key] for v in values]
        if many:
            values = [x for v in values for x in v]
    return values


def test_json_round_trips(plan: Plan) -> None:
    text = render(plan, "json")
    assert text.endswith("}\n")
    doc = json.loads(text)
    assert doc == plan.to_json()
    assert Plan.model_validate(doc).to_json() == doc
    assert text == json.dumps(doc, indent=2, sort_keys=True) + "\n"


def test_json_has_the_documented_keys(plan: Plan) -> None:
    doc = json.loads(render(plan, "json"))
    assert doc["format_version"] == 2
    for path in DOCUMENTED:
        assert lookup(doc, path), path
    assert {c["id"] for c in doc["verdict"]["checks"]} == {
        "narrow",
        "volume",
        "eval-locked",
        "payback",
        "feasible",
    }
    assert all(isinstance(c["ok"], bool) for c in doc["verdict"]["checks"])
    assert len(doc["costs"]["project_lines"]) == 6
    assert doc["costs"]["project_usd"] == pytest.approx(sum(p["usd"] for p in doc["costs"]["project_lines"]))


def test_every_json_key_is_documented(plan: Plan) -> None:
    doc_md = (ROOT / "docs" / "plan-json.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([^`]+)` \|", doc_md, flags=re.M))
    paths = key_paths(plan.to_json())
    assert paths, "no keys"
    missing = sorted(paths - documented)
    assert not missing, f"undocumented JSON keys: {missing}"
    # and nothing documented is stale: every documented key occurs in some example's plan.
    union = set().union(*(key_paths(plan_of(n, LOCKED).to_json()) for n in EXAMPLE_NAMES))
    assert not sorted(documented - union)


def test_json_doc_tables_are_well_formed() -> None:
    check_tables((ROOT / "docs" / "plan-json.md").read_text(encoding="utf-8"))
