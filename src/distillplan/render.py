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
import json
import math
import posixpath
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from distillplan.resources import templates_dir
from distillplan.spec import PROJECT_LINES
from distillplan.tomlw import toml_str

if TYPE_CHECKING:  # pragma: no cover
    import jinja2

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

# Characters PyYAML refuses in a stream, or reads as line breaks inside a double-quoted
# scalar (YAML 1.1: NEL, LS, PS): written as \uXXXX escapes so the value round-trips.
_YAML_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


def _yaml_escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group(0)):04x}"


def yaml_str(value: str | None) -> str:
    """A YAML double-quoted scalar holding exactly ``value`` (``null`` for None).

    JSON strings are valid YAML double-quoted scalars; non-ASCII stays readable, and
    anything PyYAML would reject or fold (control characters, NEL, LS/PS) is escaped.
    """
    if value is None:
        return "null"
    if not isinstance(value, str):
        raise TypeError(f"yaml_str expects a string (got {type(value).__name__})")
    return _YAML_UNSAFE.sub(_yaml_escape, json.dumps(value, ensure_ascii=False))


def _yaml_float(x: float) -> str:
    if not math.isfinite(x):
        raise ValueError(f"cannot write {x!r} to YAML")
    text = repr(float(x))
    if "e" in text and "." not in text.split("e")[0]:  # PyYAML (YAML 1.1) needs the dot
        mant, exp = text.split("e")
        text = f"{mant}.0e{exp}"
    if "e" in text and text.split("e")[1][0] not in "+-":
        mant, exp = text.split("e")
        text = f"{mant}e+{exp}"
    return text


def yaml_value(value: Any) -> str:
    """Any JSON-like value as a YAML flow value: strings quoted, numbers exact."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _yaml_float(value)
    if isinstance(value, str):
        return yaml_str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(yaml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{yaml_str(str(k))}: {yaml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to YAML")


# ---------------------------------------------------------------- TOML

# toml_str lives in distillplan.tomlw (shared with the lock file writer).


# ---------------------------------------------------------------- Markdown

_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~&])")
_MD_BREAKS = re.compile(r"\s*(?:\r\n|[\n\r\x0b\x0c\x85\u2028\u2029])\s*")
_MD_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")
_MD_LEADING = re.compile(r"^([#+=-])")
_MD_ORDERED = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")


def md_text(value: Any) -> str:
    """Inline Markdown showing ``value`` literally: specials escaped, one line.

    Escapes ``\\ ` * _ [ ] < > | ~ &`` everywhere (so raw HTML, links, emphasis and
    table pipes cannot appear), and a leading ``# + = -`` or ``1.`` that would start a
    block. Line breaks become spaces; control characters are dropped.
    """
    text = "" if value is None else str(value)
    text = _MD_CONTROL.sub("", _MD_BREAKS.sub(" ", text))
    text = _MD_INLINE.sub(r"\\\1", text)
    text = _MD_ORDERED.sub(r"\1\\\2", _MD_LEADING.sub(r"\\\1", text))
    return text


def md_cell(value: Any) -> str:
    """A Markdown table cell: :func:`md_text`, never empty (an empty cell reads as missing)."""
    text = md_text(value).strip()
    return text if text else "-"


# ---------------------------------------------------------------- numbers


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def num(value: Any, decimals: int = 0) -> str:
    """``1234567.8`` -> ``1,234,568`` (``decimals`` places); ``n/a`` for None."""
    if _missing(value):
        return "n/a"
    return f"{float(value):,.{decimals}f}" if decimals else f"{round(float(value)):,}"


def usd(value: Any, decimals: int = 0, compact: bool = False) -> str:
    """``$1,234`` (``-$1,234``); ``compact`` writes ``$1.2M`` / ``$45.0k`` from a thousand up."""
    if _missing(value):
        return "n/a"
    x = float(value)
    sign = "-" if x < 0 and round(abs(x), max(decimals, 0)) != 0 else ""
    a = abs(x)
    if compact and a >= 1e6:
        return f"{sign}${a / 1e6:,.1f}M"
    if compact and a >= 1e3:
        return f"{sign}${a / 1e3:,.1f}k"
    return f"{sign}${a:,.{decimals}f}" if decimals else f"{sign}${round(a):,}"


def pct(value: Any, decimals: int = 1) -> str:
    """A fraction as a percentage: ``0.125`` -> ``12.5%``; ``n/a`` for None."""
    if _missing(value):
        return "n/a"
    return f"{float(value) * 100:.{decimals}f}%"


# ---------------------------------------------------------------- the render context

VLLM_IMAGE = "vllm/vllm-openai:v0.11.0"
Ctx = dict[str, Any]


def _by_name(lines: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {n: {"name": n, "usd": None, "basis": "not in this plan"} for n in names}
    out.update({line["name"]: line for line in lines})
    return out


def _training(spec: dict[str, Any], plan: dict[str, Any], paths: dict[str, str]) -> dict[str, Any]:
    """Hyperparameters for TRL on the A100, from the method, the student size and the plan."""
    st, sizing = spec["student"], plan["sizing"]
    method, gpus, billions = st["method"], sizing["training"]["gpus"], sizing["parameters"] / 1e9
    per_device = spec["policy"]["sizing"]["train_micro_batch_size"]  # what the memory sizing assumed
    accumulation = max(1, 16 // (per_device * gpus))  # an effective batch of about 16 sequences
    if method == "full":
        lr = 1.0e-5 if billions <= 10 else 5.0e-6
    else:  # LoRA/QLoRA take ~10x the full fine-tuning rate
        lr = 2.0e-4 if billions <= 10 else 1.0e-4
    examples = st["training_examples"]
    steps = None
    if examples:
        per_epoch = -(-examples // (per_device * accumulation * gpus))
        steps = max(1, round(per_epoch * st["epochs"]))
    vol = plan["volume"]
    command = f"trl sft --config {paths['sft_config']}"
    if gpus > 1:
        command += f" --accelerate_config {paths['accelerate_config']}"
    return {
        "method": method,
        "lora_r": st["lora_rank"],
        "lora_alpha": 2 * st["lora_rank"],
        "per_device_train_batch_size": per_device,
        "gradient_accumulation_steps": accumulation,
        "learning_rate": lr,
        "total_steps": steps,
        "warmup_steps": max(1, round(0.03 * steps)) if steps else 10,
        "save_steps": max(50, -(-steps // 10)) if steps else 500,
        "max_length": spec["policy"]["sizing"]["train_sequence_length"],
        "tokens_per_example": st["tokens_per_example"]
        or vol["input_tokens_per_request"] + vol["output_tokens_per_request"],
        "command": command,
    }


def build_context(spec: dict[str, Any], plan: dict[str, Any], lock: dict[str, str | None]) -> Ctx:
    """The plain-dict context every template renders from."""
    name = spec["project"]["name"]
    root = posixpath.normpath(spec["scaffold"]["root"].replace("\\", "/"))

    def at(rel: str) -> str:
        return posixpath.normpath(posixpath.join(root, rel))

    k8s_name = ("vllm-" + name)[:63].rstrip("-")
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
        "paths": paths,
        "training": _training(spec, plan, paths),
        "student_lines": student_lines,
        "project_lines": _by_name(costs["project_lines"], PROJECT_LINES),
        "redistillation_usd_per_year": None if reserve is None else reserve * 12,
        "milestones": [dict(m, amount_usd=m["payment_share"] * costs["project_usd"]) for m in spec["milestones"]],
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
            "cpu": "8",
            "memory": f"{int(plan['sizing']['weights_gib']) + 17}Gi",
        },
    }


# ---------------------------------------------------------------- environment

FILTERS = {
    "yaml_str": yaml_str,
    "yaml_value": yaml_value,
    "toml_str": toml_str,
    "md_text": md_text,
    "md_cell": md_cell,
    "num": num,
    "usd": usd,
    "pct": pct,
}


@functools.cache
def environment() -> jinja2.Environment:
    """The cached environment: templates from :func:`templates_dir`, undefined names fail."""
    import jinja2

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
