"""Generated trees for every example and for the training/serving variants the examples do not cover.

Shared by the template tests and the real-tool tests: each variant is (name, tree), the tree being the
bytes of every generated file (relative path -> bytes), rendered from a clean copy of an example.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
UNLOCKED: dict[str, object] = {"eval_hash": None, "files": []}
Tree = dict[str, bytes]


def render_variant(
    work: Path,
    example: str,
    edit: dict[str, dict[str, Any]] | None = None,
    plan_edit: Callable[[dict[str, Any]], None] | None = None,
) -> Tree:
    """``examples/<example>`` with spec sections updated by ``edit`` and the plan JSON by ``plan_edit``."""
    from distillplan.commands._inputs import plan_for_file
    from distillplan.commands.scaffold import tree_for
    from distillplan.plan.model import Plan
    from distillplan.spec.load import load_spec

    dest = work / example
    if not dest.exists():
        shutil.copytree(EXAMPLES / example, dest, ignore=shutil.ignore_patterns("distill.lock", "distill"))
    sf = load_spec(dest / "distill.toml")
    if edit:
        spec = sf.spec.model_copy(update={k: sf.spec.__dict__[k].model_copy(update=v) for k, v in edit.items()})
        sf = dataclasses.replace(sf, spec=spec)
    plan = plan_for_file(sf)
    if plan_edit:
        data = plan.to_json()
        plan_edit(data)
        plan = Plan.model_validate(data)
    return tree_for(sf, plan, UNLOCKED)


def _gpus(n: int) -> Callable[[dict[str, Any]], None]:
    def edit(plan: dict[str, Any]) -> None:
        from distillplan.plan.build import training_layout

        plan["sizing"]["training"].update(gpus=n, **training_layout(n))

    return edit


def all_variants(work: Path) -> dict[str, Tree]:
    """Every example as shipped, plus each training method on 1 and 4 GPUs and each serving precision."""
    names = sorted(p.parent.name for p in EXAMPLES.glob("*/distill.toml"))
    out = {name: render_variant(work / "as-shipped", name) for name in names}
    for method in ("full", "lora", "qlora"):
        for gpus in (1, 4):
            out[f"{method}-{gpus}gpu"] = render_variant(
                work / f"{method}-{gpus}", "invoice-extraction", {"student": {"method": method}}, _gpus(gpus)
            )
    for precision in ("bf16", "int8", "int4"):
        out[f"serve-{precision}"] = render_variant(
            work / f"serve-{precision}", "invoice-extraction", {"student": {"serving_precision": precision}}
        )
    for name, edit in FAMILY_VARIANTS.items():
        out[name] = render_variant(work / name, "invoice-extraction", edit)
    return out


#: Families whose generated configs differ (issue 29): Gemma 3 (no system role, a multimodal checkpoint
#: served text-only, sliding windows) with a system prompt to fold; a Qwen3 mixture of experts (thinking
#: mode off, LoRA on the attention only).
FAMILY_SYSTEM_PROMPT = "You extract invoice fields. Answer with JSON only."
FAMILY_VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "student-gemma-3-12b-it": {
        "student": {"base_model": "google/gemma-3-12b-it"},
        "teacher_data": {"system_prompt": FAMILY_SYSTEM_PROMPT},
    },
    "student-qwen3-30b-a3b": {"student": {"base_model": "Qwen/Qwen3-30B-A3B"}},
}


def files(trees: dict[str, Tree], suffix: str) -> list[tuple[str, bytes]]:
    """(variant/relative path, bytes) of every generated file whose path ends with ``suffix``."""
    return [
        (f"{n}/{rel}", data) for n, tree in trees.items() for rel, data in sorted(tree.items()) if rel.endswith(suffix)
    ]
