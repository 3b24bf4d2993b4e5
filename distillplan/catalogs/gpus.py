"""The GPU catalog (``data/gpus.toml``): one row per GPU, the only place a GPU is named.

A new GPU is one table in that file; the spec's ``hardware.gpu`` accepts exactly its keys.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from distillplan.files import data_text, tomllib

__all__ = ["Gpu", "GpuQuote", "gpu_names", "load_gpus"]


@dataclass(frozen=True)
class GpuQuote:
    """One provider's on-demand price per GPU-hour, the day it was read and where."""

    provider: str
    usd_per_gpu_hour: float
    read: str  # YYYY-MM-DD, or YYYY when the day was not recorded
    source: str

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


@functools.cache
def load_gpus() -> dict[str, Gpu]:
    """The bundled GPU catalog, keyed ``a100-40gb``, ``a100-80gb``, ``h100-80gb``, ..."""
    table = tomllib.loads(data_text("gpus.toml"))
    out = {}
    for key, row in table.items():
        quotes = tuple(GpuQuote(**q) for q in row.get("quotes", ()))
        days = [q.day for q in quotes if q.day is not None]
        # a row priced from quotes is as old as its oldest dated quote
        as_of = row.get("as_of") or min(days).strftime("%Y-%m")
        out[key] = Gpu(key=key, **{**row, "quotes": quotes, "as_of": as_of})
    return out


def gpu_names() -> tuple[str, ...]:
    """The catalog's GPU keys, in file order."""
    return tuple(load_gpus())
