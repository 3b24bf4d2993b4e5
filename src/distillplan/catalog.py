"""Bundled facts that are not architectures: the teacher price book.

GPUs live in :mod:`distillplan.sizing` and architectures in :mod:`distillplan.architecture`;
all three read their data through :mod:`distillplan.resources`.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
from dataclasses import dataclass

from distillplan.resources import data_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


#: Bundled student architectures: hub id -> file under data/architectures (without .json).
STUDENT_FILES: dict[str, str] = {
    "meta-llama/Llama-2-7b-hf": "llama-2-7b-hf",
    "meta-llama/Llama-2-13b-hf": "llama-2-13b-hf",
    "meta-llama/Llama-3.1-8B": "llama-3.1-8b",
    "mistralai/Mistral-7B-v0.3": "mistral-7b-v0.3",
    "Qwen/Qwen2.5-7B": "qwen2.5-7b",
    "Qwen/Qwen2.5-14B": "qwen2.5-14b",
    "google/gemma-2-9b": "gemma-2-9b",
    "microsoft/Phi-3-medium-4k-instruct": "phi-3-medium-4k-instruct",
}
_STUDENTS_LOWER = {name.lower(): name for name in STUDENT_FILES}


def is_student_name(name: str) -> bool:
    """True when ``name`` is a bundled student hub id (case-insensitive). Reads no file."""
    return name.lower() in _STUDENTS_LOWER


@dataclass(frozen=True)
class TeacherPrice:
    name: str
    vendor: str
    usd_per_mtok_input: float
    usd_per_mtok_output: float
    source: str
    as_of: dt.date


@functools.cache
def teacher_prices() -> dict[str, TeacherPrice]:
    """The price book, keyed by model name."""
    raw = tomllib.loads(data_text("teachers.toml"))
    book = {}
    for entry in raw.values():
        price = TeacherPrice(**entry)
        book[price.name] = price
    return book


def render_catalog(fmt: str) -> str:
    """The bundled catalogs (student architectures, GPUs, teacher prices) with sources."""
    import json

    from distillplan.architecture import catalog_names
    from distillplan.sizing import load_gpus

    sources = tomllib.loads(data_text("architectures", "SOURCES.toml"))
    gpus = load_gpus()
    book = teacher_prices()
    if fmt == "json":
        return json.dumps(
            {
                "students": [
                    {
                        "name": n,
                        "published_params": sources.get(n, {}).get("published_params"),
                        "as_of": sources.get(n, {}).get("as_of"),
                    }
                    for n in catalog_names()
                ],
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
                    }
                    for k, g in gpus.items()
                ],
                "teachers": [
                    {
                        "name": t.name,
                        "vendor": t.vendor,
                        "usd_per_mtok_input": t.usd_per_mtok_input,
                        "usd_per_mtok_output": t.usd_per_mtok_output,
                        "source": t.source,
                        "as_of": t.as_of.isoformat(),
                    }
                    for t in book.values()
                ],
            },
            indent=2,
        )
    lines = ["Student base models (student.base_model; or a local folder with config.json):"]
    for n in catalog_names():
        params = sources.get(n, {}).get("published_params")
        lines.append(f"  {n:<40} {params / 1e9:6.2f}B parameters" if params else f"  {n}")
    lines.append("")
    lines.append("GPUs (hardware.gpu):")
    for k, g in gpus.items():
        lines.append(
            f"  {k:<12} {g.name:<24} {g.memory_gib:>4.0f} GiB  {g.bandwidth_gb_per_s:>6,.0f} GB/s  "
            f"${g.usd_per_gpu_hour:.2f}/h  (as of {g.as_of})"
        )
    lines.append("")
    lines.append("Teacher price book (teacher.model), USD per million tokens in / out:")
    for t in book.values():
        lines.append(
            f"  {t.name:<18} {t.vendor:<10} ${t.usd_per_mtok_input:>6.2f} / ${t.usd_per_mtok_output:>6.2f}"
            f"  {t.source} (as of {t.as_of})"
        )
    return "\n".join(lines)
