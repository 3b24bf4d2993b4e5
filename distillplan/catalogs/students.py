"""The bundled student architectures (``data/architectures/*.json``), by hub id.

A new student is one ``config.json`` under ``data/architectures`` plus one entry here and in
``data/architectures/SOURCES.toml`` (published parameter count, source, date).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from distillplan.catalogs.datafile import Row, load_rows

__all__ = ["STUDENT_FILES", "StudentSource", "is_student_name", "student_sources"]

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


Text = Annotated[str, Field(min_length=1)]


class StudentSource(Row):
    """One entry of ``data/architectures/SOURCES.toml``: where a bundled config.json comes from
    and the model's published parameter count."""

    file: Text
    config_origin: Text
    config_copy: Text
    published_params: Annotated[int, Field(gt=0)]
    published_params_kind: Literal["hf_safetensors_total", "gguf_parameter_count", "measured_numel"]
    published_params_source: Text
    as_of: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]


def student_sources(path: Path | None = None) -> dict[str, StudentSource]:
    """``SOURCES.toml`` (or the copy at ``path``), validated, keyed by hub id."""
    return load_rows(StudentSource, "architectures", "SOURCES.toml", path=path)
