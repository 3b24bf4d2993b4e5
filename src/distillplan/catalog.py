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
