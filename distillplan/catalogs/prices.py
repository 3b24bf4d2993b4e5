"""The teacher price book (``data/teachers.toml``): USD per million tokens, with source and date."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from distillplan.catalogs.datafile import Row, load_rows

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


Usd = Annotated[float, Field(ge=0)]
Text = Annotated[str, Field(min_length=1)]


class _PriceRow(Row):
    name: Text
    vendor: Text
    usd_per_mtok_input: Usd
    usd_per_mtok_output: Usd
    source: Text
    as_of: dt.date
    usd_per_mtok_cached_input: Usd | None = None
    batch_discount: Annotated[float, Field(ge=0, lt=1)] = 0.0  # a fraction: 0.5 is half off
    status: Status = "current"
    shutdown: dt.date | None = None
    source_kind: SourceKind = "vendor-page"
    successor: Text | None = None
    reasoning: bool = False

    @model_validator(mode="after")
    def _cached_not_dearer(self) -> _PriceRow:
        if self.usd_per_mtok_cached_input is not None and self.usd_per_mtok_cached_input > self.usd_per_mtok_input:
            raise ValueError(
                f"usd_per_mtok_cached_input ({self.usd_per_mtok_cached_input}) is above usd_per_mtok_input"
                f" ({self.usd_per_mtok_input}): a cache hit never costs more than input"
            )
        return self


@functools.cache
def teacher_prices() -> dict[str, TeacherPrice]:
    """The price book, keyed by model name."""
    return parse_teacher_prices()


def parse_teacher_prices(path: Path | None = None) -> dict[str, TeacherPrice]:
    """The price book of ``path`` (default: the bundled ``teachers.toml``), validated: a wrong
    key, type, range or status is one located line
    (:class:`~distillplan.catalogs.datafile.DataFileError`)."""
    book = {}
    for row in load_rows(_PriceRow, "teachers.toml", path=path).values():
        price = TeacherPrice(**row.model_dump())
        book[price.name] = price
    return book
