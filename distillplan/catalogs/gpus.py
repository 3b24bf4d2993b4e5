"""The GPU catalog (``data/gpus.toml``): one row per GPU, the only place a GPU is named.

A new GPU is one table in that file; the spec's ``hardware.gpu`` accepts exactly its keys.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from distillplan.catalogs.datafile import Row, load_rows

__all__ = ["RATE_KIND", "Gpu", "GpuQuote", "gpu_names", "load_gpus", "on_demand_median", "parse_gpus", "rate_median"]


QuoteKind = Literal["on-demand", "spot", "reserved"]
#: The kind of quote a GPU row's rate is the median of: on-demand, what a project can rent today
#: without a commitment (spot can be taken back mid-run; reserved needs a 1-3 year term).
RATE_KIND: QuoteKind = "on-demand"


@dataclass(frozen=True)
class GpuQuote:
    """One provider's price per GPU-hour, of what ``kind`` (on-demand, spot or reserved), the
    day it was read and where."""

    provider: str
    usd_per_gpu_hour: float
    read: str  # YYYY-MM-DD, or YYYY when the day was not recorded
    source: str
    kind: QuoteKind = "on-demand"

    @property
    def day(self) -> dt.date | None:
        """The day the quote was read; None when only the year is known."""
        try:
            return dt.date.fromisoformat(self.read)
        except ValueError:
            return None


@dataclass(frozen=True)
class Gpu:
    key: str
    name: str
    memory_gib: float
    bandwidth_gb_per_s: float
    bf16_tflops: float
    int8_tops: float
    usd_per_gpu_hour: float
    k8s_product_label: str
    source: str
    as_of: str
    quotes: tuple[GpuQuote, ...] = ()
    #: The sizing's decode-bandwidth and prefill-compute efficiencies (fitted on A100) are
    #: multiplied by these on this GPU kind; ``efficiency_source`` says why (gpus.toml).
    decode_efficiency_factor: float = 1.0
    prefill_efficiency_factor: float = 1.0
    efficiency_source: str = ""


Positive = Annotated[float, Field(gt=0)]
Text = Annotated[str, Field(min_length=1)]


class _QuoteRow(Row):
    provider: Text
    usd_per_gpu_hour: Positive
    read: Annotated[str, Field(pattern=r"^\d{4}(-\d{2}-\d{2})?$")]
    source: Text
    kind: QuoteKind

    @model_validator(mode="after")
    def _a_real_day(self) -> _QuoteRow:
        if len(self.read) == 10:
            dt.date.fromisoformat(self.read)  # ValueError: reported on the row
        return self


class _GpuRow(Row):
    name: Text
    memory_gib: Positive
    bandwidth_gb_per_s: Positive
    bf16_tflops: Positive
    int8_tops: Positive
    usd_per_gpu_hour: Positive
    k8s_product_label: Text
    source: Text
    as_of: Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")] | None = None
    quotes: list[_QuoteRow] = Field(default_factory=list)
    decode_efficiency_factor: Positive = 1.0
    prefill_efficiency_factor: Positive = 1.0
    efficiency_source: str = ""

    @model_validator(mode="after")
    def _dated(self) -> _GpuRow:
        rated = [q for q in self.quotes if q.kind == RATE_KIND]
        if self.as_of is None and not any(len(q.read) == 10 for q in rated):
            raise ValueError("needs as_of (YYYY-MM) or at least one on-demand quote read on a full day (YYYY-MM-DD)")
        if self.quotes and not rated:
            raise ValueError("the rate is the median of the on-demand quotes: list at least one (kind = 'on-demand')")
        if rated:
            median = rate_median(q.usd_per_gpu_hour for q in rated)
            if abs(self.usd_per_gpu_hour - median) > 0.005 + 1e-9:
                raise ValueError(
                    f"usd_per_gpu_hour ({self.usd_per_gpu_hour}) is not the median of the on-demand quotes"
                    f" ({median:.4f})"
                )
        return self


def rate_median(prices: Iterable[float]) -> float:
    """The median of ``prices`` (the on-demand quotes of a GPU row: spot and reserved quotes
    are listed for reference and never move it). ``statistics.median``'s rule, written out: the
    catalog loads on the hook path, which does not import ``statistics`` (and its ``decimal``)."""
    xs = sorted(prices)
    if not xs:
        raise ValueError("no prices to take the median of")
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def on_demand_median(quotes: Iterable[GpuQuote]) -> float:
    """The rate a GPU row carries: the median of its on-demand quotes."""
    return rate_median(q.usd_per_gpu_hour for q in quotes if q.kind == RATE_KIND)


@functools.cache
def load_gpus() -> dict[str, Gpu]:
    """The bundled GPU catalog, keyed ``a100-40gb``, ``a100-80gb``, ``h100-80gb``, ..."""
    return parse_gpus()


def parse_gpus(path: Path | None = None) -> dict[str, Gpu]:
    """The GPU catalog of ``path`` (default: the bundled ``gpus.toml``), validated: a wrong
    key, type or range is one located line (:class:`~distillplan.catalogs.datafile.DataFileError`)."""
    out = {}
    for key, row in load_rows(_GpuRow, "gpus.toml", path=path).items():
        quotes = tuple(GpuQuote(**q.model_dump()) for q in row.quotes)
        days = [q.day for q in quotes if q.day is not None and q.kind == RATE_KIND]
        # a row priced from quotes is as old as its oldest dated quote
        as_of = row.as_of or min(days).strftime("%Y-%m")
        out[key] = Gpu(key=key, **{**row.model_dump(), "quotes": quotes, "as_of": as_of})
    return out


def gpu_names() -> tuple[str, ...]:
    """The catalog's GPU keys, in file order."""
    return tuple(load_gpus())
