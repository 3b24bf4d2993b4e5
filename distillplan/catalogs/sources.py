"""``data/architectures/SOURCES.toml``: where each bundled student ``config.json`` comes from and
the model's published parameter count (``distillplan catalog``; tests/test_architecture.py).
Its own module: the hook path (``validate``, ``check``) reads student names only, not this file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator

from distillplan.catalogs.datafile import Row, load_rows
from distillplan.catalogs.students import STUDENT_FILES

__all__ = ["StudentFacts", "StudentSource", "student_facts", "student_sources"]


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


class StudentFacts(Row):
    """One entry of ``data/students.toml``: a bundled base's license, access, context, release,
    successor and quality prior (the comment at the top of the file says what each means)."""

    license: Literal["llama2", "llama3.1", "gemma", "apache-2.0", "mit"]
    gated: bool
    context_tokens: Annotated[int, Field(gt=0)]
    release_date: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    superseded_by: str
    quality_prior: Annotated[float, Field(gt=0, le=100)]
    quality_source: Text
    as_of: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]

    @field_validator("superseded_by")
    @classmethod
    def _bundled(cls, v: str) -> str:
        if v and v not in STUDENT_FILES:
            raise ValueError("must be a bundled hub id (distillplan/catalogs/students.py) or empty")
        return v


def student_facts(path: Path | None = None) -> dict[str, StudentFacts]:
    """``data/students.toml`` (or the copy at ``path``), validated, keyed by hub id."""
    return load_rows(StudentFacts, "students.toml", path=path)
