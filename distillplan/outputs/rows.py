"""The rows a plan report shows, built once for the terminal report and the Markdown comment:
each row is plain text from :mod:`distillplan.text`; the two renderers only lay them out."""

from __future__ import annotations

import re
from collections.abc import Sequence

from distillplan.errors import one_line
from distillplan.plan.model import Plan, SizingOut
from distillplan.text import count, gib, months, pct, tokens, usd

__all__ = [
    "eval_rows",
    "finance_rows",
    "flip_rows",
    "frontier_rows",
    "payback_cells",
    "short_hash",
    "sizing_rows",
    "table",
    "training_compute",
    "training_rows",
]

_HASH = re.compile(r"(sha256:)([0-9a-f]{64})")


def short_hash(text: str) -> str:
    """``sha256:`` + 64 hex digits shortened to 12 (the full hash is in the eval section)."""
    return _HASH.sub(lambda m: m.group(1) + m.group(2)[:12], text)


def _cache_note(p: Plan) -> str:
    te = p.teacher
    if not te.cached_input_share:
        return ""
    if te.usd_per_mtok_cached_input is None:
        return f" ({te.cached_input_share:.0%} cache hits, billed as input: no cached price for {te.model})"
    rule = (
        "; no cached price is published: billed at the vendor's lowest published cached/input ratio (P6.2)"
        if te.cached_input_basis == "vendor-lowest-ratio"
        else ""
    )
    return (
        f" ({te.cached_input_share:.0%} cache hits at {usd(te.usd_per_mtok_cached_input, 2)},"
        f" the rest at {usd(te.usd_per_mtok_input, 2)}{rule})"
    )


def frontier_rows(p: Plan) -> list[list[str]]:
    """The frontier bill's input and output lines: (line, tokens x price, amount)."""
    vol, te, c = p.volume, p.teacher, p.costs
    return [
        [
            "Input",
            f"{tokens(vol.input_tokens_per_month)} tokens x {usd(te.usd_per_mtok_input_effective, 2)}/Mtok"
            + _cache_note(p),
            usd(c.frontier_input_usd_per_month),
        ],
        [
            "Output",
            f"{tokens(vol.output_tokens_per_month)} tokens x {usd(te.usd_per_mtok_output, 2)}/Mtok",
            usd(c.frontier_output_usd_per_month),
        ],
    ]


def payback_cells(p: Plan) -> list[list[str]]:
    """The sensitivity table (estimate x volume) as rows of strings, header first."""
    s = p.finance.sensitivity
    head = ["estimate", "project", *(f"volume {f:.0%}" for f in s.volume_factors)]
    rows = [
        [r.estimate, usd(r.project_usd), *("no saving" if m is None else months(m) for m in r.payback_months)]
        for r in s.rows
    ]
    return [head, *rows]


def finance_rows(p: Plan) -> list[tuple[str, str]]:
    f, c = p.finance, p.costs
    lo, hi = c.hardware_share_band
    share = c.hardware_share_of_frontier
    zero, refuse = f.zero_saving_tokens_per_month, f.refuse_line_tokens_per_month
    rows = [
        (
            "Payback from go-live",
            "none: the student does not cost less to run" if f.payback_months is None else months(f.payback_months),
        ),
        (
            "Payback from kickoff",
            (
                f"not within the {f.horizon_months}-month horizon"
                if f.payback_months_from_kickoff is None
                else months(f.payback_months_from_kickoff)
            )
            + f" ({count(f.build_months, 'build month')})",
        ),
        (
            f"NPV at {pct(f.discount_rate_annual)} a year, {count(f.horizon_months, 'month')}",
            usd(f.npv_usd),
        ),
        (
            "IRR (annual)",
            "none: the cash flows never change sign"
            if f.irr_annual is None
            else "over 1,000%"
            if f.irr_annual > 10
            else pct(f.irr_annual),
        ),
        ("CFO band (P6.3)", f.cfo_band),
        ("Volume where the saving is zero", _volume(zero)),
        ("Volume at the payback refusal line", _volume(refuse)),
    ]
    if f.net_12_months_usd is not None:
        rows.append(("Net after 12 months", usd(f.net_12_months_usd)))
    if f.net_24_months_usd is not None:
        rows.append(("Net after 24 months", usd(f.net_24_months_usd)))
    if share is not None:
        inside = "within" if lo <= share <= hi else "outside"
        rows.append(
            (
                "Hardware share of frontier (P6.5)",
                f"{pct(share)} ({inside} the {pct(lo, 0)}-{pct(hi, 0)} band)",
            )
        )
    lo_r, hi_r = c.routing_savings_usd_per_month
    rows.append(("Model routing instead (P2.2)", f"saves {usd(lo_r)}-{usd(hi_r)}/month"))
    return rows


def _volume(v: float | None) -> str:
    return "none up to 1,000x today's volume" if v is None else f"{tokens(v)} tokens/month"


def flip_rows(p: Plan) -> list[tuple[str, str]]:
    """What would change a verdict other than distill: one lever at a time, a re-run of the plan."""
    out = []
    for f in p.flips:
        if f.lever == "volume":
            at = "no volume up to 1,000x today's" if f.value is None else f"{tokens(f.value)} tokens/month or more"
            out.append((f"Volume (today {tokens(p.volume.tokens_per_month)})", at))
        elif f.lever == "teacher_price":
            at = (
                "no price up to 1,000x today's"
                if f.value is None or f.usd_per_mtok_input is None or f.usd_per_mtok_output is None
                else f"{f.value:,.2f}x today's ({usd(f.usd_per_mtok_input, 2)} / "
                f"{usd(f.usd_per_mtok_output, 2)} per Mtok) or more"
            )
            out.append(("Teacher price", at))
        else:
            at = "no project cost alone" if f.value is None else f"{usd(f.value)} or less"
            out.append((f"Project cost (today {usd(p.costs.project_usd)})", at))
        if f.becomes is not None:
            out[-1] = (out[-1][0], out[-1][1] + f": {f.becomes}")
    return out


def _gpu_price_from(s: SizingOut) -> str:
    """Where the GPU price comes from: the spec, or the catalog row and the month it was read."""
    if s.gpu_price_as_of == "(distill.toml)":
        return "pinned in distill.toml"
    return f"catalog price as of {s.gpu_price_as_of}"


def sizing_rows(p: Plan) -> list[tuple[str, str]]:
    s = p.sizing
    return [
        (
            "Student",
            f"{s.base_model} at {s.precision} on {s.gpu_name} ({usd(s.usd_per_gpu_hour, 2)}/h, {_gpu_price_from(s)})",
        ),
        ("Parameters", f"{s.parameters / 1e9:,.2f}B"),
        ("Weights", f"{gib(s.weights_gib)} ({s.weight_bytes_note})"),
        (
            "KV cache",
            f"{s.kv_bytes_per_token:,} bytes/token, {gib(s.kv_cache_gib)}, max model length {s.max_model_len:,}",
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
        ("Replicas / GPUs", f"{s.replicas} / {s.gpus_total} ({s.replicas_bound} binds)"),
        ("Latency", s.latency_note),
        (
            "vLLM scheduler",
            f"max_num_seqs {s.vllm_max_num_seqs:,}, max_num_batched_tokens {s.vllm_max_num_batched_tokens:,}",
        ),
        *(
            [
                (
                    "Prefix cache",
                    f"{s.prefix_cached_tokens:,} of {count(p.volume.input_tokens_per_request, 'input token')} a request"
                    " reused, not prefilled ([workload] cached_input_share, whole 16-token blocks)",
                )
            ]
            if s.prefix_cached_tokens
            else []
        ),
        ("P7.1", s.p71_note),
    ]


def training_compute(p: Plan) -> str:
    """The training compute as sized, and what the fine-tune line bills (the same figure only
    when the line is the driver): never "0 GPU-hours, $0" beside a billed line."""
    t = p.sizing.training
    line = next(x for x in p.costs.project_lines if x.name == "fine_tune_compute")
    if line.source == "driver":
        return f"{t.gpu_hours:,.1f} GPU-hours = {usd(line.usd)} (the fine-tune compute line)"
    billed = f"the fine-tune compute line bills {usd(line.usd)} ({line.basis})"
    if t.training_tokens <= 0:
        return f"not sized ([student] training_examples is not set); {billed}"
    return f"sized at {t.gpu_hours:,.1f} GPU-hours = {usd(t.usd)}; {billed}"


def training_rows(p: Plan) -> list[tuple[str, str]]:
    t = p.sizing.training
    rank = f", LoRA rank {t.lora_rank}" if t.lora_rank is not None else ""
    return [
        ("Method", f"{t.method}{rank}, {t.trainable_parameters / 1e6:,.1f}M trainable parameters"),
        ("Training tokens", tokens(t.training_tokens)),
        ("Memory", f"{gib(t.memory_gib)} per GPU on {count(t.gpus, 'GPU')}"),
        ("Fits", ("yes" if t.fits else "NO") + f": {t.fit_note}"),
        ("Compute", training_compute(p)),
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
            f"{g.metric}: teacher {g.teacher_score:g}, allowed gap {count(g.allowed_points, 'point')}, "
            f"threshold {g.acceptance_threshold:g}",
        ),
    ]
    if g.stratum_bound_points is not None:
        rows.append(("Per-stratum bound", count(g.stratum_bound_points, "point")))
    req = e.required_examples_per_stratum
    if req is not None:
        rows.append(
            (
                "Required examples per stratum",
                f"{req:,} (one-sided exact binomial test at 2.5%, 80% power, teacher score known)",
            )
        )
    for name, n in e.examples_per_stratum.items():
        need = e.required_examples_by_stratum.get(name, req)
        short = name in e.strata_too_few
        own = f" of {need:,} for its teacher score" if name in e.required_examples_by_stratum else ""
        rows.append((f"Stratum {one_line(name)}", f"{count(n, 'example')}{own}" + (" (too few)" if short else "")))
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
