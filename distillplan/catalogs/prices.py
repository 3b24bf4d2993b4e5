"""The teacher price book (``data/teachers.toml``): USD per million tokens, with source and date."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Literal

from distillplan.files import data_text, tomllib

Status = Literal["current", "legacy", "retired"]
SourceKind = Literal["vendor-page", "vendor-page-copy", "third-party"]


@dataclass(frozen=True)
class TeacherPrice:
    """One model's list prices. ``usd_per_mtok_cached_input``: what a prompt-cache hit costs
    (None where the vendor lists no cached rate: cache hits bill as input); ``batch_discount``:
    the share the vendor's batch API takes off input and output; ``status``: ``retired`` models
    stay listed because users may still be billed for them; ``shutdown``: the day the vendor
    has announced the model leaves its API; ``source_kind``: whether the input and output
    prices were read on the vendor's page, a third party's copy of it, or third parties only;
    ``successor``: the price-book model the vendor names as the replacement, which prices the
    bill when the model leaves the API before the student goes live;
    ``reasoning``: a reasoning model (OpenAI's o-series): its API refuses ``temperature`` and
    counts its reasoning tokens in ``max_completion_tokens``, so its requests are written without one."""

    name: str
    vendor: str
    usd_per_mtok_input: float
    usd_per_mtok_output: float
    source: str
    as_of: dt.date
    usd_per_mtok_cached_input: float | None = None
    batch_discount: float = 0.0
    status: Status = "current"
    shutdown: dt.date | None = None
    source_kind: SourceKind = "vendor-page"
    successor: str | None = None
    reasoning: bool = False


@functools.cache
def teacher_prices() -> dict[str, TeacherPrice]:
    """The price book, keyed by model name."""
    raw = tomllib.loads(data_text("teachers.toml"))
    book = {}
    for entry in raw.values():
        price = TeacherPrice(**entry)
        book[price.name] = price
    return book
