"""The teacher price book (``data/teachers.toml``): USD per million tokens, with source and date."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Literal

from distillplan.files import data_text, tomllib

Status = Literal["current", "legacy", "retired"]


@dataclass(frozen=True)
class TeacherPrice:
    """One model's list prices. ``usd_per_mtok_cached_input``: what a prompt-cache hit costs
    (None where the vendor lists no cached rate: cache hits bill as input); ``batch_discount``:
    the share the vendor's batch API takes off input and output; ``status``: ``retired`` models
    stay listed because users may still be billed for them."""

    name: str
    vendor: str
    usd_per_mtok_input: float
    usd_per_mtok_output: float
    source: str
    as_of: dt.date
    usd_per_mtok_cached_input: float | None = None
    batch_discount: float = 0.0
    status: Status = "current"


@functools.cache
def teacher_prices() -> dict[str, TeacherPrice]:
    """The price book, keyed by model name."""
    raw = tomllib.loads(data_text("teachers.toml"))
    book = {}
    for entry in raw.values():
        price = TeacherPrice(**entry)
        book[price.name] = price
    return book
