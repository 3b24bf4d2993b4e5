"""``distillplan catalog``: the bundled catalogs (students, GPUs, teacher prices) with sources."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from distillplan.catalogs.gpus import RATE_KIND, load_gpus
from distillplan.catalogs.licenses import LICENSES
from distillplan.catalogs.local import LocalStudent
from distillplan.catalogs.prices import PriceBook, teacher_prices
from distillplan.catalogs.sources import student_facts, student_sources
from distillplan.plan.staleness import is_stale
from distillplan.sizing.architecture import active_parameter_count, catalog_names, load_architecture
from distillplan.text import count, usd


def render_catalog(
    fmt: str,
    *,
    today: dt.date,
    max_months: int = 6,
    book: PriceBook | None = None,
    local: dict[str, LocalStudent] | None = None,
) -> str:
    """The bundled catalogs (student architectures, GPUs, teacher prices: ``book``, default the
    bundled one) with their sources and dates; a price read more than ``max_months`` before
    ``today`` (its oldest price field) is flagged stale. ``local``: the repository's own catalog
    (``catalog add``), listed after the bundled students."""
    local = local or {}
    sources = {name: row.model_dump() for name, row in student_sources().items()}
    facts = student_facts()
    archs = {n: load_architecture(n, base_dir=Path(".")) for n in catalog_names()}
    gpus = load_gpus()
    book = book if book is not None else teacher_prices()
    if fmt == "json":
        return json.dumps(
            {
                "students": [
                    {
                        "name": n,
                        "published_params": sources.get(n, {}).get("published_params"),
                        "active_params": active_parameter_count(archs[n]),
                        "model_type": archs[n].model_type,
                        "vocab_size": archs[n].vocab_size,
                        "license": facts[n].license,
                        "license_name": LICENSES[facts[n].license].name,
                        "gated": facts[n].gated,
                        "context_tokens": facts[n].context_tokens,
                        "release_date": facts[n].release_date,
                        "superseded_by": facts[n].superseded_by or None,
                        "quality_prior": facts[n].quality_prior,
                        "quality_source": facts[n].quality_source,
                        "as_of": sources.get(n, {}).get("as_of"),
                    }
                    for n in catalog_names()
                ],
                "repository_students": [{"name": n, **row.model_dump()} for n, row in local.items()],
                "gpus": [
                    {
                        "name": k,
                        "title": g.name,
                        "memory_gib": g.memory_gib,
                        "bandwidth_gb_per_s": g.bandwidth_gb_per_s,
                        "bf16_tflops": g.bf16_tflops,
                        "usd_per_gpu_hour": g.usd_per_gpu_hour,
                        "source": g.source,
                        "as_of": g.as_of,
                        "stale": is_stale(g.as_of, today, max_months),
                        "quotes": [q.__dict__ for q in g.quotes],
                    }
                    for k, g in gpus.items()
                ],
                "teachers": [
                    {
                        "name": t.name,
                        "vendor": t.vendor,
                        "usd_per_mtok_input": t.usd_per_mtok_input,
                        "usd_per_mtok_output": t.usd_per_mtok_output,
                        "usd_per_mtok_cached_input": t.usd_per_mtok_cached_input,
                        "batch_discount": t.batch_discount,
                        "status": t.status,
                        "shutdown": t.shutdown.isoformat() if t.shutdown else None,
                        "source_kind": t.source_kind,
                        "source": t.source,
                        "as_of": t.as_of.isoformat(),
                        "read": {k: v.isoformat() for k, v in t.read},
                        "cached_input_basis": t.cached_input_basis,
                        "cached_input_rule": t.cached_input_rule,
                        "stale": is_stale(t.prices_read_on(cached=True), today, max_months),
                    }
                    for t in book.values()
                ],
            },
            indent=2,
        )
    lines = [
        "Student base models (student.base_model; or a local folder with config.json): parameters (active),"
        " license, gated, context, vocabulary, released, MMLU prior, superseded by:"
    ]
    for n in catalog_names():
        params = sources.get(n, {}).get("published_params") or 0
        f, arch = facts[n], archs[n]
        active = active_parameter_count(arch)
        size = f"{params / 1e9:6.2f}B" + (f" ({active / 1e9:.2f}B active)" if active != params else "")
        lines.append(
            f"  {n:<34} {size:<22} {f.license:<10} {'gated' if f.gated else 'open':<5}"
            f" {f.context_tokens:>7,} ctx  {arch.vocab_size:>7,} vocab  {f.release_date}"
            f"  MMLU {f.quality_prior:4.1f}" + (f"  superseded by {f.superseded_by}" if f.superseded_by else "")
        )
    lines.append(
        "  MMLU prior: the base's published 5-shot MMLU (compare's quality prior without a pilot; docs/students.md)."
    )
    if local:
        lines.append("Repository catalog (.distillplan/students.toml, `distillplan catalog add PATH`):")
        for n, row in local.items():
            lines.append(
                f"  {n:<34} {row.parameters / 1e9:6.2f}B  {row.model_type:<10} {row.path}  (added {row.added})"
            )
    lines.append("")
    lines.append("GPUs (hardware.gpu):")
    for k, g in gpus.items():
        stale = ", STALE" if is_stale(g.as_of, today, max_months) else ""
        quotes = sorted(q.usd_per_gpu_hour for q in g.quotes if q.kind == RATE_KIND)
        others = len(g.quotes) - len(quotes)
        spread = (
            f", median of {count(len(quotes), RATE_KIND + ' quote')} {usd(quotes[0], 2)}-{usd(quotes[-1], 2)}"
            if quotes
            else ""
        )
        spread += f" (+{others} spot/reserved, not in the median)" if others else ""
        lines.append(
            f"  {k:<12} {g.name:<24} {g.memory_gib:>5.1f} GiB  {g.bandwidth_gb_per_s:>6,.0f} GB/s  "
            f"{usd(g.usd_per_gpu_hour, 2)}/h{spread}  (as of {g.as_of}{stale})"
        )
        lines.append(f"      {g.source}")
        for q in g.quotes:
            lines.append(
                f"        {q.provider:<13} {usd(q.usd_per_gpu_hour, 4):>8}/h {q.kind:<9} read {q.read}: {q.source}"
            )
    lines.append("")
    lines.append(
        "Teacher price book (teacher.model), USD per million tokens in / cached in / out, batch discount, status,"
        " where the price was read:"
    )
    for t in book.values():
        cached = "-" if t.usd_per_mtok_cached_input is None else usd(t.usd_per_mtok_cached_input, 3)
        cached = cached if t.cached_input_basis == "published" else f"~{cached}"
        read = t.prices_read_on(cached=True)
        stale = ", STALE" if is_stale(read, today, max_months) else ""
        shutdown = f", shuts down {t.shutdown.isoformat()}" if t.shutdown else ""
        lines.append(
            f"  {t.name:<22} {t.vendor:<10} {usd(t.usd_per_mtok_input, 2):>7} / {cached:>7}"
            f" / {usd(t.usd_per_mtok_output, 2):>7}  batch -{t.batch_discount:.0%}  {t.status + shutdown:<30}"
            f" {t.source_kind:<16} (read {read}{stale})"
        )
        lines.append(f"      {t.source}")
        if t.cached_input_rule:
            lines.append(f"      ~ {t.cached_input_rule}")
    lines.append(
        f"STALE: read more than {count(max_months, 'month')} before {today.isoformat()}"
        " ([policy] price_staleness_months). A teacher row's date is its oldest price read;"
        " ~: no published cached price, the stated rule applies."
    )
    return "\n".join(lines)
