"""The closed sets of distillplan, each defined once: the P4 project lines, the serving
precisions, the fine-tuning methods and the eval metrics.

A new project line is one :class:`ProjectLineDef` in :data:`PROJECT_LINES`: the spec's
``[budget.override_usd]`` table, the policy's ``[policy.project_bands_usd]``, the plan's cost
lines and the plan-JSON documentation all follow from it. A new precision is one entry in
the ``Precision`` literal and one :class:`PrecisionDef` (its weight format); a method or a metric
one entry in its ``Literal`` and the code that goes with it (a test holds them to these sets).
GPUs are data: ``data/gpus.toml`` is their registry (:mod:`distillplan.catalogs.gpus`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = [
    "METHODS",
    "METRICS",
    "PRECISIONS",
    "PRECISION_FORMATS",
    "PROJECT_LINES",
    "PROJECT_LINE_NAMES",
    "Method",
    "Metric",
    "Precision",
    "PrecisionDef",
    "ProjectLineDef",
    "project_line",
]

Precision = Literal["bf16", "int8", "int4"]
Method = Literal["full", "lora", "qlora"]
Metric = Literal["accuracy", "exact-match", "field-f1"]

PRECISIONS: tuple[Precision, ...] = get_args(Precision)
METHODS: tuple[Method, ...] = get_args(Method)
METRICS: tuple[Metric, ...] = get_args(Metric)


@dataclass(frozen=True)
class PrecisionDef:
    """How a serving precision stores the linear layers' weights (embeddings, lm_head and
    norms stay 16-bit): bits per weight, and where the scales sit (the sizing's assumptions
    give their bytes and group size)."""

    name: Precision
    bits_per_weight: int
    scales: Literal["none", "per-channel", "per-group"]


PRECISION_FORMATS: dict[Precision, PrecisionDef] = {
    "bf16": PrecisionDef("bf16", 16, "none"),
    "int8": PrecisionDef("int8", 8, "per-channel"),  # W8A16, compressed-tensors
    "int4": PrecisionDef("int4", 4, "per-group"),  # W4A16, AWQ/GPTQ
}


@dataclass(frozen=True)
class ProjectLineDef:
    """One P4 project cost line: its key, its label, its USD band and what drives it."""

    name: str
    label: str
    band_usd: tuple[float, float]
    drivers: str
    rule: str = "P4"


PROJECT_LINES: tuple[ProjectLineDef, ...] = (
    ProjectLineDef(
        "eval_set",
        "Eval set construction or refresh",
        (8_000.0, 25_000.0),
        "cycles, stratification depth, human-label hours",
    ),
    ProjectLineDef(
        "teacher_inference",
        "Teacher inference for training data",
        (4_000.0, 20_000.0),
        "volume of teacher outputs, teacher tier",
    ),
    ProjectLineDef(
        "human_validation",
        "Human validation on hard subpopulations",
        (6_000.0, 30_000.0),
        "strata, pay rate, label volume",
    ),
    ProjectLineDef(
        "fine_tune_compute",
        "Fine-tune compute on open base model",
        (3_000.0, 12_000.0),
        "base size, epochs, hyperparameter sweep",
    ),
    ProjectLineDef(
        "deployment",
        "Production deployment and observability",
        (10_000.0, 25_000.0),
        "self-host vs managed, telemetry depth",
    ),
    ProjectLineDef(
        "eval_cycles",
        "Eval cycles against the locked threshold",
        (4_000.0, 8_000.0),
        "two to three full passes",
    ),
)
PROJECT_LINE_NAMES: tuple[str, ...] = tuple(line.name for line in PROJECT_LINES)
_BY_NAME = {line.name: line for line in PROJECT_LINES}


def project_line(name: str) -> ProjectLineDef:
    return _BY_NAME[name]
