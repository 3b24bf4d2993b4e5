"""The one jinja2 environment for the generated tree, and the escaping filters.

Templates render from a plain dict (``spec``, ``plan``, ``lock``, ``paths``, ``chart``),
never from Python objects. Every user string reaches a generated file through one of
the named filters below; no template or module builds YAML or Markdown by string
concatenation of user input (copier's ``jinja_env``).

jinja2 is imported here only, and lazily: ``distillplan check`` / ``validate`` never
import this module on the fast path.
"""

from __future__ import annotations

import functools
import hashlib
import posixpath
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from distillplan import __version__
from distillplan.evalset.baseline import threshold
from distillplan.evalset.metrics import METRIC_RULES
from distillplan.files import templates_dir
from distillplan.spec.registry import PROJECT_LINE_NAMES
from distillplan.text import md_cell, md_text, num, pct, tokens, toml_str, usd, yaml_comment, yaml_str, yaml_value

if TYPE_CHECKING:  # pragma: no cover
    import jinja2  # deferred: `check` imports this module's callers, never jinja2

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

VLLM_IMAGE = "vllm/vllm-openai:v0.11.0"
Ctx = dict[str, Any]


def dns_label(text: str) -> str:
    """A Kubernetes name (an RFC 1123 label, at most 63 characters) for ``text``, which is
    a slug already: kept as is when it fits; else cut, with 8 hex of its sha256 appended,
    so two long names that differ only at the end stay two names."""
    if len(text) <= 63:
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return text[: 63 - 9].rstrip("-") + "-" + digest


def _by_name(lines: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {n: {"name": n, "usd": None, "basis": "not in this plan"} for n in names}
    out.update({line["name"]: line for line in lines})
    return out


def _training(spec: dict[str, Any], plan: dict[str, Any], paths: dict[str, str]) -> dict[str, Any]:
    """The TRL settings: the plan's recipe (its judgements are policy settings) and the command."""
    st, sizing = spec["student"], plan["sizing"]
    training, recipe = sizing["training"], sizing["training"]["recipe"]
    command = f"trl sft --config {paths['sft_config']}"
    if training["gpus"] > 1:
        command += f" --accelerate_config {paths['accelerate_config']}"
    return {
        "method": st["method"],
        "lora_r": st["lora_rank"],
        **recipe,
        "tokens_per_example": st["tokens_per_example"]
        or plan["volume"]["input_tokens_per_request"] + plan["volume"]["output_tokens_per_request"],
        "command": command,
    }


def count(n: int, noun: str) -> str:
    """``1 replica``, ``2 replicas``: no "(s)" in a document."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def split_usd(total_usd: int, milestones: list[dict[str, Any]]) -> list[int]:
    """Whole-dollar milestone amounts that sum exactly to ``total_usd``: each share's amount
    rounded down, the dollars left over going to the largest remainders (ties: earlier first)."""
    raw = [m["payment_share"] * total_usd for m in milestones]
    out = [int(x // 1) for x in raw]
    left = total_usd - sum(out)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - out[i]), i))
    for i in order[: max(left, 0)]:
        out[i] += 1
    return out


def _parts(lines: list[dict[str, Any]], estimate: str) -> str:
    """What the contract value is made of, by how each P4 line was chosen."""
    est = [x for x in lines if x["source"] == "estimate"]
    drv = [x for x in lines if x["source"] == "driver"]
    ovr = [x for x in lines if x["source"] == "override"]
    parts = []
    if est:
        parts.append(f"{len(est)} at the {estimate} estimate of {'its' if len(est) == 1 else 'their'} P4 band")
    if drv:
        out = sum(1 for x in drv if not x["in_band"])
        flag = f", {out} of them outside {'its' if len(drv) == 1 else 'their'} P4 band" if out else ""
        parts.append(f"{len(drv)} computed from {'its driver' if len(drv) == 1 else 'their drivers'}{flag}")
    if ovr:
        parts.append(f"{len(ovr)} set in `[budget.override_usd]`")
    return "; ".join(parts)


def _thresholds(spec: dict[str, Any], lock: dict[str, Any]) -> dict[str, Any]:
    """The contract's threshold table: the lock's, or (before ``lock``) what the spec states."""
    e = spec["eval"]
    b = lock.get("baseline")
    if b is not None:
        rows = [{"name": "overall", **{k: b[k] for k in ("examples", "teacher_score", "threshold")}}]
        rows += [dict(s) for s in b["strata"]]
        return {
            "locked": True,
            "rows": rows,
            "source": b["source"],
            "file": b["teacher_predictions"],
            "sha256": b["teacher_predictions_sha256"],
        }
    by = e["teacher_score_by_stratum"] or {}
    bound = e["max_stratum_gap_points"]
    rows = [
        {
            "name": "overall",
            "examples": None,
            "teacher_score": e["teacher_score"],
            "threshold": threshold(e["teacher_score"], e["max_gap_points"]),
        }
    ]
    rows += [
        {"name": k, "examples": None, "teacher_score": v, "threshold": None if bound is None else threshold(v, bound)}
        for k, v in sorted(by.items())
    ]
    return {"locked": False, "rows": rows, "source": "spec", "file": "", "sha256": ""}


def build_context(spec: dict[str, Any], plan: dict[str, Any], lock: dict[str, Any]) -> Ctx:
    """The plain-dict context every template renders from."""
    name = spec["project"]["name"]
    root = posixpath.normpath(spec["scaffold"]["root"].replace("\\", "/"))

    def at(rel: str) -> str:
        return posixpath.normpath(posixpath.join(root, rel))

    k8s_name = dns_label("vllm-" + name)
    paths = {
        "root": root,
        "eval_config": at("eval/eval.yaml"),
        "sft_config": at("training/sft.yaml"),
        "accelerate_config": at("training/accelerate.yaml"),
        "vllm_config": at("serving/vllm.yaml"),
        "k8s_dir": at("serving/k8s") + "/",
        "train_data_dir": at("training/data"),
        "train_data": at("training/data/train.jsonl"),
        "train_output": at("training/output"),
        "predictions": "predictions.jsonl",
        "model_dir": f"/models/{name}",
        "service_url": f"http://{k8s_name}:8000/v1",
    }
    costs, fin = plan["costs"], plan["finance"]
    student_lines = _by_name(
        costs["student_lines"],
        ("gpu_hosting", "observability", "teacher_on_sample", "redistillation_reserve"),
    )
    reserve = student_lines["redistillation_reserve"]["usd"]
    labels = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": "inference",
        "app.kubernetes.io/managed-by": "distillplan",
    }
    return {
        "spec": spec,
        "plan": plan,
        "lock": lock,
        "thresholds": _thresholds(spec, lock),
        "metric_rule": METRIC_RULES[spec["eval"]["metric"]],
        "version": __version__,
        "paths": paths,
        "training": _training(spec, plan, paths),
        "student_lines": student_lines,
        "project_lines": _by_name(costs["project_lines"], PROJECT_LINE_NAMES),
        "redistillation_usd_per_year": None if reserve is None else reserve * 12,
        "contract_usd": round(costs["project_usd"]),
        "milestones": [
            dict(m, amount_usd=a)
            for m, a in zip(spec["milestones"], split_usd(round(costs["project_usd"]), spec["milestones"]), strict=True)
        ],
        "project_parts": _parts(costs["project_lines"], costs["estimate"]),
        "chart": {
            "months": list(range(len(fin["frontier_cumulative_usd"]))),
            "frontier": [round(x) for x in fin["frontier_cumulative_usd"]],
            "distilled": [round(x) for x in fin["distilled_cumulative_usd"]],
        },
        "k8s": {
            "name": k8s_name,
            "labels": labels,
            "selector": {k: labels[k] for k in ("app.kubernetes.io/name", "app.kubernetes.io/component")},
            "image": VLLM_IMAGE,
            "config_dir": "/etc/vllm",
            "config_path": "/etc/vllm/vllm.yaml",
            "model_claim": f"{name}-model",
            "cpu": str(plan["sizing"]["pod_cpus"]),
            "memory": f"{plan['sizing']['pod_memory_gib']}Gi",
        },
    }


# ---------------------------------------------------------------- environment

FILTERS: dict[str, Callable[..., str]] = {
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
