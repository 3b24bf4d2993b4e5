"""``data/architectures/SOURCES.toml``: where each bundled student ``config.json`` comes from and
the model's published parameter count (``distillplan catalog``; tests/test_architecture.py).
Its own module: the hook path (``validate``, ``check``) reads student names only, not this file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from distillplan.catalogs.datafile import Row, load_rows

__all__ = ["StudentSource", "student_sources"]


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
