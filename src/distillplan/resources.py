"""The one place that reads files shipped with distillplan (pre-commit's ``resource_text``)."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path


def data_path(*parts: str) -> Path:
    """Path of a bundled data file under ``distillplan/data``."""
    return Path(str(resources.files("distillplan").joinpath("data", *parts)))


def data_text(*parts: str) -> str:
    return data_path(*parts).read_text(encoding="utf-8")


@functools.cache
def templates_dir() -> Path:
    """The jinja2 templates: inside the wheel at ``distillplan/templates``; in a source
    checkout (editable install) at the repository's top-level ``templates/``."""
    packaged = Path(str(resources.files("distillplan").joinpath("templates")))
    if packaged.is_dir():
        return packaged
    source = Path(__file__).resolve().parents[2] / "templates"
    if source.is_dir():
        return source
    raise FileNotFoundError("distillplan templates are missing from this installation")
