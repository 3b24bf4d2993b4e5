"""The price warnings `plan`, `scaffold` and `compare` print on stderr: the only output that
depends on the day it is read (``DISTILLPLAN_TODAY`` pins it), so reports and files stay the
same bytes whatever the day."""

from __future__ import annotations

from collections.abc import Iterable

from distillplan.catalogs.gpus import load_gpus
from distillplan.commands._inputs import book_for
from distillplan.commands._io import say, today
from distillplan.plan.build import teacher_of
from distillplan.plan.model import Plan
from distillplan.plan.staleness import stale_gpu, stale_prices, stale_teacher
from distillplan.spec.load import SpecFile

__all__ = ["warn_compare_prices", "warn_prices"]


def warn_prices(display: str, plan: Plan, max_months: int) -> None:
    """One ``FILE: warning: ...`` line per price problem of ``plan``."""
    _say(display, stale_prices(plan, today(), max_months))


def warn_compare_prices(sf: SpecFile, gpus: Iterable[str]) -> None:
    """`compare`'s warnings: the spec's teacher, and every swept GPU's catalog price (unless
    the spec pins what it pays)."""
    day, months = today(), sf.spec.policy.price_staleness_months
    lines = stale_teacher(teacher_of(sf.spec, book_for(sf.spec)), day, months)
    if sf.spec.hardware.usd_per_gpu_hour is None:
        catalog = load_gpus()
        for key in gpus:
            g = catalog[key]
            lines += stale_gpu(key, g.usd_per_gpu_hour, g.as_of, day, months)
    _say(sf.display, lines)


def _say(display: str, lines: Iterable[str]) -> None:
    for line in lines:
        say(f"{display}: warning: {line}", err=True)
