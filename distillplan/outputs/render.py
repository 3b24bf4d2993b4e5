"""The one jinja2 environment for the generated tree, and the escaping filters.

Templates render the typed plan (as its JSON states it), the typed spec, the lock's
hashes, and names and paths derived from them: every figure is the plan's, none is computed
here. Every user string reaches a generated file through one of
the named filters below; no template or module builds YAML or Markdown by string
concatenation of user input (copier's ``jinja_env``).

jinja2 is imported here only, and lazily: ``distillplan check`` / ``validate`` never
import this module on the fast path.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import posixpath
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from distillplan import __version__
from distillplan.evalset.metrics import METRIC_RULES
from distillplan.files import templates_dir
from distillplan.plan.costs import CostLine, ProjectLine
from distillplan.plan.model import FinanceOut, Gap, Plan
from distillplan.spec.models import Spec
from distillplan.spec.registry import PROJECT_LINE_NAMES
from distillplan.text import (
    count,
    md_cell,
    md_text,
    num,
    pct,
    tokens,
    toml_str,
    usd,
    yaml_comment,
    yaml_str,
    yaml_value,
)

if TYPE_CHECKING:  # pragma: no cover
    import jinja2  # deferred: `check` imports this module's callers, never jinja2

    from distillplan.catalogs.prices import PriceBook

__all__ = [
    "build_context",
    "environment",
    "md_cell",
    "md_text",
    "num",
    "pct",
    "render",
    "toml_str",
    "usd",
    "yaml_str",
    "yaml_value",
]

# ---------------------------------------------------------------- YAML

# ---------------------------------------------------------------- TOML

# toml_str lives in distillplan.text (shared with the lock file writer).


# ---------------------------------------------------------------- Markdown

# ---------------------------------------------------------------- numbers


# ---------------------------------------------------------------- the render context

Ctx = dict[str, Any]


def dns_label(text: str) -> str:
    """A Kubernetes name (an RFC 1123 label, at most 63 characters) for ``text``, which is
    a slug already: kept as is when it fits; else cut, with 8 hex of its sha256 appended,
    so two long names that differ only at the end stay two names."""
    if len(text) <= 63:
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return text[: 63 - 9].rstrip("-") + "-" + digest


def _by_name(lines: Sequence[CostLine | ProjectLine], names: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {n: {"name": n, "usd": None, "basis": "not in this plan"} for n in names}
    out.update({line.name: line for line in lines})
    return out


def _training(spec: Spec, plan: Plan, paths: dict[str, str]) -> Ctx:
    """The TRL settings: the plan's recipe and layout, and the command that runs them."""
    training = plan.sizing.training
    command = f"trl sft --config {shlex.quote(paths['sft_config'])}"
    if training.gpus > 1:
        command += f" --accelerate_config {shlex.quote(paths['accelerate_config'])}"
    if training.machines > 1:
        # Arguments trl does not know go to `accelerate launch`: each machine its own rank.
        command += f" --machine_rank <0..{training.machines - 1}> --main_process_ip <address of machine 0>"
    return {
        "method": training.method,
        "lora_r": spec.student.lora_rank,
        **dict(training.recipe),
        "tokens_per_example": training.tokens_per_example,
        "command": command,
        "fsdp": training.fsdp,
        # accelerate: num_processes counts every process of every machine.
        "machines": training.machines,
        "gpus_per_machine": training.gpus_per_machine,
    }


#: Series colours of the proposal chart (Mermaid's default palette draws the first line near-invisible).
CHART_COLOURS = {"frontier": "#d62728", "distilled": "#1f77b4"}


def _nice_ceiling(x: float) -> float:
    """The smallest round step (1, 1.2, 1.5, 2 ... 8) x 10^k at or above ``x``: an axis maximum with round ticks."""
    if x <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(x))
    return float(next(m * power for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * power >= x))


def _chart(fin: FinanceOut) -> Ctx:
    """Cumulative cost in thousands of USD at the end of each month: point m is the total after m months
    from kickoff (m = 0: nothing spent yet), so the lines cross where payback-from-kickoff says."""
    frontier = [0.0, *fin.frontier_cumulative_usd]
    distilled = [0.0, *fin.distilled_cumulative_usd]
    top = _nice_ceiling(max(frontier + distilled) / 1000)
    return {
        "months": list(range(len(frontier))),
        "frontier": [round(x / 1000, 1) for x in frontier],
        "distilled": [round(x / 1000, 1) for x in distilled],
        "y_max": int(top) if top.is_integer() else top,
        "colours": CHART_COLOURS,
    }


def _router(spec: Spec, book: PriceBook | None) -> Ctx:
    """The LiteLLM model names and the teacher's LiteLLM model string (``<api>/<model id>``);
    ``book``: the price book pricing the spec (its repository's price file over the bundled book)."""
    from distillplan.catalogs.teacher_api import API_KEY_ENV, teacher_api

    t = spec.teacher
    api = teacher_api(t.model, t.api, t.api_model, book)
    name = spec.project.name
    return {
        "student": name,
        "teacher": f"{name}-teacher",
        # Unknown API (negotiated prices, no price-book model): OpenAI-compatible, as most gateways are.
        "teacher_model": f"{api.api or 'openai'}/{api.model or 'set-teacher-api_model'}",
        "teacher_key_env": API_KEY_ENV[api.api or "openai"],
    }


def _eval_task(spec: Spec, plan: Plan) -> Ctx:
    """The lm-evaluation-harness task of the locked set: a Jinja prompt from the input field."""
    ev = spec.eval
    reference = ev.reference_field
    plain = reference.isidentifier()
    target = "{{" + reference + ("|tojson" if ev.metric == "field-f1" else "") + "}}" if plain else ""
    system_prompt = spec.teacher_data.system_prompt
    doc_to_text = "{{" + ev.input_field + "}}"
    if system_prompt and not plan.student.system_role:
        # No system turn in this family's chat template (Gemma): the prompt leads the user turn, as in
        # train.jsonl (teacher-data collect folds it the same way) and as Gemma 3's template would fold it.
        doc_to_text, system_prompt = jinja_literal(system_prompt + "\n\n") + doc_to_text, None
    return {
        "name": spec.project.name.replace("-", "_") + "_locked",
        "doc_to_text": doc_to_text,
        "doc_to_target": target,
        # The system prompt the teacher answered (and the student trained) under: the harness sends a
        # task's `description` as the system message (lm_eval 0.4 fewshot_context; with
        # --system_instruction it would be joined to it). The harness renders `description` as a
        # Jinja template, so it is one Jinja string literal that renders to exactly the prompt.
        "description": None if not system_prompt else jinja_literal(system_prompt),
        # Room for the longest answer; vllm.yaml's max-model-len holds the prompt plus this (the plan's figure).
        "max_gen_toks": plan.sizing.eval_max_gen_tokens,
    }


def jinja_literal(text: str) -> str:
    """A Jinja template that renders to exactly ``text``: one string-literal expression (Jinja
    reads its escapes as Python's unicode-escape does, after escaping non-ASCII itself), so
    ``{{``, ``{%`` or quotes in ``text`` are never taken for template syntax."""
    return "{{ " + json.dumps(text, ensure_ascii=False) + " }}"


def _parts(lines: Sequence[ProjectLine], estimate: str) -> str:
    """What the contract value is made of, by how each P4 line was chosen (words only)."""
    est = [x for x in lines if x.source == "estimate"]
    drv = [x for x in lines if x.source == "driver"]
    ovr = [x for x in lines if x.source == "override"]
    parts = []
    if est:
        parts.append(f"{len(est)} at the {estimate} estimate of {'its' if len(est) == 1 else 'their'} P4 band")
    if drv:
        out = sum(1 for x in drv if not x.in_band)
        flag = f", {out} of them outside {'its' if len(drv) == 1 else 'their'} P4 band" if out else ""
        parts.append(f"{len(drv)} computed from {'its driver' if len(drv) == 1 else 'their drivers'}{flag}")
    if ovr:
        parts.append(f"{len(ovr)} set in `[budget.override_usd]`")
    return "; ".join(parts)


def _thresholds(gap: Gap) -> Ctx:
    """The contract's threshold table: the plan's rows and where they come from."""
    return {
        "locked": gap.baseline_source != "spec-unlocked",
        "rows": gap.thresholds,
        "source": "spec" if gap.baseline_source == "spec-unlocked" else gap.baseline_source,
        "file": gap.teacher_predictions,
        "sha256": gap.teacher_predictions_sha256,
    }


def build_context(spec: Spec, plan: Plan, lock: dict[str, Any], book: PriceBook | None = None) -> Ctx:
    """The context every template renders from: the typed spec, the typed plan as its JSON
    states it (:meth:`Plan.as_stated`), the lock's hashes, and paths and names (no figure is
    computed here: every figure is the plan's); ``book``: the price book pricing the spec."""
    plan = plan.as_stated()
    name = spec.project.name
    root = posixpath.normpath(spec.scaffold.root.replace("\\", "/"))

    def at(rel: str) -> str:
        return posixpath.normpath(posixpath.join(root, rel))

    k8s_name = dns_label("vllm-" + name)
    paths = {
        "root": root,
        "eval_config": at("eval/eval.yaml"),
        "eval_dir": at("eval"),
        "eval_results": at("eval/results"),
        "sft_config": at("training/sft.yaml"),
        "accelerate_config": at("training/accelerate.yaml"),
        "vllm_config": at("serving/vllm.yaml"),
        "router_config": at("serving/router/config.yaml"),
        "k8s_dir": at("serving/k8s") + "/",
        "train_data_dir": at("training/data"),
        "train_data": at("training/data/train.jsonl"),
        "train_output": at("training/output"),
        "predictions": "predictions.jsonl",
        # merge.py writes the weights alone here (config, tokenizer, safetensors; for full fine-tuning too:
        # the training output also holds optimizer checkpoints, which never reach the model volume).
        "merged_model": at("training/output/merged"),
        "served_model": at("training/output/merged" if plan.sizing.precision == "bf16" else "training/output/served"),
        "recipe": at("training/recipe.yaml"),
        "merge_script": at("training/merge.py"),
        "models_mount": "/models",
        "model_dir": f"/models/{name}",
        "service_url": f"http://{k8s_name}:8000/v1",
    }
    costs = plan.costs
    student_lines = _by_name(
        costs.student_lines,
        ("gpu_hosting", "observability", "teacher_on_sample", "redistillation_reserve"),
    )
    reserve = next((line.usd for line in costs.student_lines if line.name == "redistillation_reserve"), None)
    labels = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": "inference",
        "app.kubernetes.io/managed-by": "distillplan",
    }
    return {
        "spec": spec,
        "plan": plan,
        "lock": lock,
        "thresholds": _thresholds(plan.gap),
        "metric_rule": METRIC_RULES[spec.eval.metric],
        "version": __version__,
        "paths": paths,
        "training": _training(spec, plan, paths),
        "eval_task": _eval_task(spec, plan),
        "router": _router(spec, book),
        "student_lines": student_lines,
        "project_lines": _by_name(costs.project_lines, PROJECT_LINE_NAMES),
        "redistillation_usd_per_year": None if reserve is None else reserve * 12,
        "contract_usd": plan.contract.value_usd,
        "milestones": plan.contract.milestones,
        "project_parts": _parts(costs.project_lines, costs.estimate),
        "chart": _chart(plan.finance),
        "k8s": _k8s(spec, plan, name, k8s_name, labels),
    }


def _k8s(spec: Spec, plan: Plan, name: str, k8s_name: str, labels: dict[str, str]) -> Ctx:
    """Names, image, placement and the model volume of the Kubernetes manifests."""
    serving, sizing = spec.serving, plan.sizing
    return {
        "name": k8s_name,
        "labels": labels,
        "selector": {k: labels[k] for k in ("app.kubernetes.io/name", "app.kubernetes.io/component")},
        "image": serving.image,
        "node_selector": serving.node_selector,
        "gpu_products": sizing.gpu_products,
        "storage_class": serving.storage_class,
        "model_volume_gib": sizing.model_volume_gib,
        "loader_name": (name[:50].rstrip("-") + "-model-loader"),
        "config_dir": "/etc/vllm",
        "config_path": "/etc/vllm/vllm.yaml",
        "model_claim": f"{name}-model",
        "cpu": str(sizing.pod_cpus),
        "memory": f"{sizing.pod_memory_gib}Gi",
    }


# ---------------------------------------------------------------- environment


def py_str(value: str) -> str:
    """A Python string literal holding exactly ``value`` (JSON's escaping is valid Python)."""
    if not isinstance(value, str):
        raise TypeError(f"py_str expects a string (got {type(value).__name__})")
    return json.dumps(value, ensure_ascii=True)


FILTERS: dict[str, Callable[..., str]] = {
    "sh": shlex.quote,  # one shell word: every value pasted into a command the documents show
    "py_str": py_str,
    "yaml_str": yaml_str,
    "yaml_value": yaml_value,
    "toml_str": toml_str,
    "md_text": md_text,
    "comment": yaml_comment,
    "md_cell": md_cell,
    "num": num,
    "usd": usd,
    "pct": pct,
    "tokens": tokens,
    "count": count,
}


@functools.cache
def environment() -> jinja2.Environment:
    """The cached environment: templates from :func:`templates_dir`, undefined names fail."""
    import jinja2  # deferred: `check` imports this module's callers, never jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


def render(template: str, context: Mapping[str, Any]) -> str:
    """Render one template (a path under ``templates/``) with a plain-dict context."""
    return environment().get_template(template).render(**context)
