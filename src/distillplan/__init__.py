"""distillplan: plan an LLM distillation project from one ``distill.toml``.

The library API (imported lazily so that ``import distillplan`` stays cheap)::

    from distillplan import load_spec, plan_for_file
    plan = plan_for_file(load_spec("examples/invoice-extraction"))
    plan.verdict.decision, plan.finance.payback_months, plan.to_json()
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = {
    "Spec": "distillplan.spec",
    "load_spec": "distillplan.loader",
    "parse_spec": "distillplan.loader",
    "SpecFile": "distillplan.loader",
    "Plan": "distillplan.plan_model",
    "PlanInputs": "distillplan.plan",
    "build_plan": "distillplan.plan",
    "plan_for_file": "distillplan.plan",
    "DistillError": "distillplan.errors",
    "SpecError": "distillplan.errors",
}
__all__ = ["__version__", *sorted(_API)]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'distillplan' has no attribute {name!r}")
