"""The teacher price book (``data/teachers.toml``): USD per million tokens, with source and date."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from distillplan.files import data_text, tomllib


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
