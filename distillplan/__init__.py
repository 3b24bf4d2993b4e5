"""distillplan: plan an LLM distillation project from one ``distill.toml``.

The library API (imported lazily so that ``import distillplan`` stays cheap)::

    from distillplan import load_spec
    from distillplan import plan_for_file
    plan = plan_for_file(load_spec("examples/invoice-extraction"))
    plan.verdict.decision, plan.finance.payback_months, plan.to_json()

    from distillplan import compare_for_file
    ranked = compare_for_file(load_spec("examples/invoice-extraction"), gpus=["h100-80gb"])
    ranked.rows[0], ranked.own.rank, ranked.to_json()
"""

from __future__ import annotations

# Nothing is imported at run time: `python -m distillplan` imports this package before
# __main__.py sets its ^C handler, so this module is kept to microseconds (typing alone costs
# ~18 ms, a window in which ^C would print a traceback). The annotation below is for mypy only.
MYPY = False
if MYPY:  # pragma: no cover
    from typing import Any

__version__ = "0.1.0"

_API = {
    "Spec": "distillplan.spec.models",
    "load_spec": "distillplan.spec.load",
    "parse_spec": "distillplan.spec.load",
    "SpecFile": "distillplan.spec.load",
    "Plan": "distillplan.plan.model",
    "PlanInputs": "distillplan.plan.build",
    "build_plan": "distillplan.plan.build",
    "plan_for_file": "distillplan.commands._inputs",
    "Comparison": "distillplan.plan.compare",
    "compare_for_file": "distillplan.commands._inputs",
    "DistillError": "distillplan.errors",
    "SpecError": "distillplan.errors",
}
__all__ = ["__version__", *sorted(_API)]


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'distillplan' has no attribute {name!r}")
