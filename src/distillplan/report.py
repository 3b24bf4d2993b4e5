"""A :class:`~distillplan.plan_model.Plan` as a report: ``text`` (terminal, in the spirit of
``infracost breakdown``), ``json`` (the versioned form, documented in ``docs/plan-json.md``)
or ``markdown`` (a pull-request comment, in :mod:`distillplan.report_md`).

Pure and deterministic: the same plan gives the same bytes. No click here (core modules
never import it); colour is plain ANSI, and only when the caller asks for it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Literal

from distillplan.decision import fmt_tokens
from distillplan.plan_model import Plan

__all__ = ["Format", "fmt_months", "fmt_pct", "fmt_rate", "fmt_usd", "render", "table"]

Format = Literal["text", "json", "markdown"]

_ANSI = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}
_DECISION_COLOR = {
    "distill": "green",
    "route-first": "yellow",
    "lock-eval-first": "yellow",
    "stay-on-frontier": "red",
}
_HASH = re.compile(r"(sha256:)([0-9a-f]{64})")


# ----------------------------------------------------------------------------- formatting


def fmt_usd(x: float, *, cents: bool = False, sign: bool = False) -> str:
    """``$1,234`` (``-$1,234``; ``+$1,234`` with ``sign``); ``cents`` keeps two decimals."""
    body = f"${abs(x):,.2f}" if cents else f"${abs(x):,.0f}"
    if body.strip("$0.,") == "":  # a value that rounds to zero has no sign
        return body
    if x < 0:
        return "-" + body
    return ("+" + body) if sign else body


def fmt_months(m: float | None) -> str:
    return "never" if m is None else f"{m:,.1f} months"


def fmt_pct(x: float | None, digits: int = 1) -> str:
    return "none" if x is None else f"{x * 100:,.{digits}f}%"


def short_hash(text: str) -> str:
    """``sha256:`` + 64 hex digits shortened to 12 (the full hash is in the eval section)."""
    return _HASH.sub(lambda m: m.group(1) + m.group(2)[:12], text)


def fmt_gib(x: float) -> str:
    return f"{x:,.1f} GiB"


def fmt_rate(x: float) -> str:
    """A price or a rate, with cents: ``$1.99``."""
    return fmt_usd(x, cents=True)


def frontier_rows(p: Plan) -> list[list[str]]:
    """The frontier bill's input and output lines: (line, tokens x price, amount)."""
    vol, te, c = p.volume, p.teacher, p.costs
    return [
        [
            "Input",
            f"{fmt_tokens(vol.input_tokens_per_month)} tokens x {fmt_rate(te.usd_per_mtok_input)}/Mtok",
            fmt_usd(c.frontier_input_usd_per_month),
        ],
        [
            "Output",
            f"{fmt_tokens(vol.output_tokens_per_month)} tokens x {fmt_rate(te.usd_per_mtok_output)}/Mtok",
            fmt_usd(c.frontier_output_usd_per_month),
        ],
    ]


def payback_cells(p: Plan) -> list[list[str]]:
    """The sensitivity table (estimate x volume) as rows of strings, header first."""
    s = p.finance.sensitivity
    head = ["estimate", "project", *(f"volume {f:.0%}" for f in s.volume_factors)]
    rows = [[r.estimate, fmt_usd(r.project_usd), *(fmt_months(m) for m in r.payback_months)] for r in s.rows]
    return [head, *rows]


def finance_rows(p: Plan) -> list[tuple[str, str]]:
    f, c = p.finance, p.costs
    lo, hi = c.hardware_share_band
    share = c.hardware_share_of_frontier
    be = f.break_even_tokens_per_month
    rows = [
        ("Payback from go-live", fmt_months(f.payback_months)),
        (
            "Payback from kickoff",
            fmt_months(f.payback_months_from_kickoff)
            + f" ({f.build_months} build month{'s' if f.build_months != 1 else ''})",
        ),
        (
            f"NPV at {fmt_pct(f.discount_rate_annual)} a year, {f.horizon_months} months",
            fmt_usd(f.npv_usd),
        ),
        ("IRR (annual)", "over 1,000%" if f.irr_annual is not None and f.irr_annual > 10 else fmt_pct(f.irr_annual)),
        ("CFO band (P6.3)", f.cfo_band),
        ("Break-even volume", "none" if be is None else f"{fmt_tokens(be)} tokens/month"),
    ]
    if f.net_12_months_usd is not None:
        rows.append(("Net after 12 months", fmt_usd(f.net_12_months_usd)))
    if f.net_24_months_usd is not None:
        rows.append(("Net after 24 months", fmt_usd(f.net_24_months_usd)))
    if share is not None:
        inside = "within" if lo <= share <= hi else "outside"
        rows.append(
            (
                "Hardware share of frontier (P6.5)",
                f"{fmt_pct(share)} ({inside} the {fmt_pct(lo, 0)}-{fmt_pct(hi, 0)} band)",
            )
        )
    lo_r, hi_r = c.routing_savings_usd_per_month
    rows.append(("Model routing instead (P2.2)", f"saves {fmt_usd(lo_r)}-{fmt_usd(hi_r)}/month"))
    return rows


def sizing_rows(p: Plan) -> list[tuple[str, str]]:
    s = p.sizing
    return [
        (
            "Student",
            f"{s.base_model} at {s.precision} on {s.gpu_name} ({fmt_rate(s.usd_per_gpu_hour)}/h)",
        ),
        ("Parameters", f"{s.parameters / 1e9:,.2f}B"),
        ("Weights", f"{fmt_gib(s.weights_gib)} ({s.weight_bytes_note})"),
        (
            "KV cache",
            f"{s.kv_bytes_per_token:,} bytes/token, {fmt_gib(s.kv_cache_gib)}, max model length {s.max_model_len:,}",
        ),
        ("Max concurrent sequences", f"{s.max_concurrent_sequences:,}"),
        ("Fits", ("yes" if s.fits else "NO") + f": {s.fit_reason}"),
        ("Tensor parallel size", str(s.tensor_parallel_size)),
        (
            "Throughput per GPU",
            f"{s.requests_per_second_per_gpu:,.1f} requests/s, "
            f"{s.output_tokens_per_second_per_gpu:,.0f} output tokens/s ({s.bound}-bound)",
        ),
        ("Peak load", f"{s.peak_requests_per_second:,.1f} requests/s"),
        ("Replicas / GPUs", f"{s.replicas} / {s.gpus_total}"),
        ("P7.1", s.p71_note),
    ]


def training_rows(p: Plan) -> list[tuple[str, str]]:
    t = p.sizing.training
    rank = f", LoRA rank {t.lora_rank}" if t.lora_rank is not None else ""
    return [
        ("Method", f"{t.method}{rank}, {t.trainable_parameters / 1e6:,.1f}M trainable parameters"),
        ("Training tokens", fmt_tokens(t.training_tokens)),
        ("Memory", f"{fmt_gib(t.memory_gib)} on {t.gpus} GPU{'s' if t.gpus != 1 else ''}"),
        ("Compute", f"{t.gpu_hours:,.1f} GPU-hours = {fmt_usd(t.usd)}"),
        *(("Note", n) for n in t.notes),
    ]


def eval_rows(p: Plan) -> list[tuple[str, str]]:
    """Eval facts; strata smaller than the required size are marked (the verdict warns)."""
    e, g = p.eval, p.gap
    rows = [
        ("Datasets", ", ".join(e.datasets)),
        ("Locked", f"yes ({e.lock_hash})" if e.locked else "no (run `distillplan lock`)"),
        (
            "Metric",
            f"{g.metric}: teacher {g.teacher_score:g}, allowed gap {g.allowed_points:g} points, "
            f"threshold {g.acceptance_threshold:g}",
        ),
    ]
    if g.stratum_bound_points is not None:
        rows.append(("Per-stratum bound", f"{g.stratum_bound_points:g} points"))
    req = e.required_examples_per_stratum
    if req is not None:
        rows.append(("Required examples per stratum", f"{req:,}"))
    for name, n in e.examples_per_stratum.items():
        short = req is not None and n < req
        rows.append((f"Stratum {name}", f"{n:,} examples" + (" (too few)" if short else "")))
    return rows


# ----------------------------------------------------------------------------- text


def table(rows: Sequence[Sequence[str]], *, right: Sequence[int] = (), indent: int = 2) -> list[str]:
    """Rows of cells as aligned lines; columns in ``right`` are right-aligned."""
    if not rows:
        return []
    widths = [max(len(r[i]) if i < len(r) else 0 for r in rows) for i in range(max(len(r) for r in rows))]
    out = []
    for r in rows:
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(r)]
        out.append((" " * indent + "  ".join(cells)).rstrip())
    return out


class _Text:
    def __init__(self, color: bool) -> None:
        self.color = color
        self.lines: list[str] = []

    def style(self, text: str, *styles: str) -> str:
        if not self.color or not styles:
            return text
        codes = ";".join(_ANSI[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"

    def heading(self, text: str) -> None:
        self.lines += ["", self.style(text, "bold")]

    def kv(self, rows: Sequence[tuple[str, str]]) -> None:
        self.lines += table([[k + ":", v] for k, v in rows])


def render_text(p: Plan, *, color: bool = False) -> str:
    t = _Text(color)
    v, c, vol, te = p.verdict, p.costs, p.volume, p.teacher
    t.lines.append(
        t.style(f"{p.spec.title} ({p.spec.name})", "bold")
        + f"  {p.spec.client} / {p.spec.provider}, start {p.spec.start.isoformat()}"
    )
    t.lines.append("")
    head = t.style(v.decision.upper(), "bold", _DECISION_COLOR[v.decision])
    t.lines.append(f"{head}  {v.summary}")
    if v.revisit_on is not None:
        t.lines.append(f"  revisit on {v.revisit_on.isoformat()}")

    t.heading("Checks")
    rows = [
        [
            t.style("✔", "green") if ck.ok else t.style("✘", "red"),
            ck.id,
            ck.rule,
            short_hash(ck.figure),
            short_hash(ck.message),
        ]
        for ck in v.checks
    ]
    t.lines += _styled_table(
        rows, plain=[["✔" if ck.ok else "✘", *r[1:]] for ck, r in zip(v.checks, rows, strict=True)]
    )
    if v.warnings:
        t.heading("Warnings")
        t.lines += [f"  {t.style('!', 'yellow')} {w.id} ({w.rule}): {w.message}" for w in v.warnings]

    as_of = f", as of {te.as_of.isoformat()}" if te.as_of else ""
    t.heading(f"Frontier bill: {te.model or 'teacher'} ({te.source}{as_of})")
    t.lines += table([*frontier_rows(p), ["Total per month", "", fmt_usd(c.frontier_usd_per_month)]], right=(2,))
    shape = " (request shape assumed)" if vol.request_shape_assumed else ""
    t.lines.append(
        f"  {vol.requests_per_month:,.0f} requests/month x ({vol.input_tokens_per_request:,} in + "
        f"{vol.output_tokens_per_request:,} out tokens){shape}"
    )

    t.heading("Student operating lines (per month)")
    t.lines += table(
        [[ln.label, ln.formula, fmt_usd(ln.usd), ln.basis] for ln in c.student_lines]
        + [["Total per month", "", fmt_usd(c.student_usd_per_month), ""]],
        right=(2,),
    )
    if vol.student_share < 1:
        t.lines.append(f"  the student serves {vol.student_share:.0%} of traffic (cache routing, P5.3)")
    t.lines += table(
        [
            [
                "Monthly savings",
                t.style(
                    fmt_usd(c.savings_usd_per_month),
                    "green" if c.savings_usd_per_month > 0 else "red",
                ),
            ],
            [
                "Cost per million tokens",
                f"{fmt_rate(c.usd_per_mtok_before)} -> {fmt_rate(c.usd_per_mtok_after)}",
            ],
        ]
    )

    t.heading(f"Project lines ({c.estimate} estimate)")
    t.lines += table(
        [["line", "band", "chosen", "basis"]]
        + [
            [
                pl.label,
                f"{fmt_usd(pl.low_usd)}-{fmt_usd(pl.high_usd)}",
                fmt_usd(pl.usd) + ("" if pl.in_band else " *"),
                pl.basis,
            ]
            for pl in c.project_lines
        ]
        + [
            [
                "Project total",
                f"{fmt_usd(c.project_band_usd[0])}-{fmt_usd(c.project_band_usd[1])}",
                fmt_usd(c.project_usd),
                "",
            ]
        ],
        right=(2,),
    )
    if not all(pl.in_band for pl in c.project_lines):
        t.lines.append("  * outside the P4 band")

    t.heading("Finance")
    t.kv(finance_rows(p))
    t.heading("Sensitivity: payback from go-live by estimate and volume")
    t.lines += table(payback_cells(p), right=(1, 2, 3, 4))
    t.heading("Sizing (serving)")
    t.kv(sizing_rows(p))
    t.heading("Training")
    t.kv(training_rows(p))
    t.heading("Eval")
    t.kv(eval_rows(p))
    return "\n".join(t.lines) + "\n"


def _styled_table(styled: list[list[str]], *, plain: list[list[str]]) -> list[str]:
    """Align on the plain cells, then swap the styled first cell in (ANSI has no width)."""
    lines = table(plain)
    return [ln.replace(pr[0], sr[0], 1) for ln, pr, sr in zip(lines, plain, styled, strict=True)]


# ----------------------------------------------------------------------------- entry point


def render(plan: Plan, fmt: Format, *, color: bool = False) -> str:
    """The plan as ``text``, ``json`` or ``markdown``; ANSI colour only with ``color``."""
    if fmt == "json":
        return json.dumps(plan.to_json(), indent=2, sort_keys=True) + "\n"
    if fmt == "markdown":
        from distillplan.report_md import render_markdown

        return render_markdown(plan)
    if fmt == "text":
        return render_text(plan, color=color)
    raise ValueError(f"unknown report format {fmt!r} (text, json or markdown)")
