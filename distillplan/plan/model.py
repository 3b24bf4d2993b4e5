"""The plan's output models: a frozen pydantic tree whose ``to_json`` is the versioned
JSON form of ``distillplan plan`` (documented in ``docs/plan-json.md``).

Built by :func:`distillplan.plan.build.build_plan`; read by the reports, the diff and the
scaffold templates.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from distillplan.plan.costs import CostLine, ProjectLine
from distillplan.plan.decision import Verdict
from distillplan.text import json_round

__all__ = [
    "ContractOut",
    "Costs",
    "EvalOut",
    "FinanceOut",
    "Flip",
    "Gap",
    "MilestoneOut",
    "Plan",
    "Sensitivity",
    "SensitivityRow",
    "SizingOut",
    "SpecInfo",
    "TeacherOut",
    "ThresholdRow",
    "TrainingOut",
    "VolumeOut",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SpecInfo(_Frozen):
    name: str
    title: str
    client: str
    provider: str
    start: dt.date


class VolumeOut(_Frozen):
    requests_per_month: float
    input_tokens_per_month: float
    output_tokens_per_month: float
    tokens_per_month: float
    input_tokens_per_request: int
    output_tokens_per_request: int
    request_shape_assumed: bool
    student_share: float


class TeacherOut(_Frozen):
    model: str | None
    successor: str | None
    usd_per_mtok_input: float
    usd_per_mtok_output: float
    usd_per_mtok_cached_input: float | None
    cached_input_share: float
    usd_per_mtok_input_effective: float
    batch_discount: float
    status: str
    shutdown: dt.date | None
    price_source_kind: str
    source: str
    as_of: dt.date | None
    cached_input_basis: str = "unused"
    cached_input_rule: str = ""


class Costs(_Frozen):
    frontier_usd_per_month: float
    frontier_input_usd_per_month: float
    frontier_output_usd_per_month: float
    student_usd_per_month: float
    student_lines: list[CostLine]
    savings_usd_per_month: float
    project_usd: float
    project_lines: list[ProjectLine]
    project_band_usd: tuple[float, float]
    estimate: str
    usd_per_mtok_before: float
    usd_per_mtok_after: float
    hardware_share_of_frontier: float | None
    hardware_share_band: tuple[float, float]
    routing_savings_usd_per_month: tuple[float, float]


class SensitivityRow(_Frozen):
    estimate: str
    project_usd: float
    payback_months: list[float | None]


class Sensitivity(_Frozen):
    volume_factors: list[float]
    rows: list[SensitivityRow]


class FinanceOut(_Frozen):
    cash_flows_usd: list[float]
    cumulative_usd: list[float]
    frontier_cumulative_usd: list[float]
    distilled_cumulative_usd: list[float]
    payback_months: float | None
    payback_months_from_kickoff: float | None
    npv_usd: float
    irr_annual: float | None
    discount_rate_annual: float
    horizon_months: int
    build_months: int
    cfo_band: str
    zero_saving_tokens_per_month: float | None  # the volume where the monthly saving reaches 0
    refuse_line_tokens_per_month: float | None  # the volume where payback reaches the CFO refusal line
    net_12_months_usd: float | None
    net_24_months_usd: float | None
    sensitivity: Sensitivity


class Flip(_Frozen):
    """What would change a verdict other than ``distill``: the value of one lever (everything
    else fixed) at which the verdict becomes ``becomes``; None when no value does it."""

    lever: str  # "volume" | "teacher_price" | "project_cost"
    value: float | None
    unit: str
    becomes: str | None
    #: the teacher_price lever: the input and output prices per million tokens at ``value`` (else None)
    usd_per_mtok_input: float | None = None
    usd_per_mtok_output: float | None = None


class ThresholdRow(_Frozen):
    """One row of the contract's threshold table: ``overall`` first, then each stratum."""

    name: str
    examples: int | None  # None: not counted yet (before `lock`)
    teacher_score: float | None
    threshold: float | None  # None: reported, not contracted


class Gap(_Frozen):
    metric: str
    teacher_score: float
    allowed_points: float
    acceptance_threshold: float
    min_score: float | None
    contract_threshold: float
    #: where teacher_score and acceptance_threshold come from: the lock's baseline ("spec" or
    #: "teacher-predictions", as distill.lock records it), else "spec-unlocked" (the spec, not yet locked)
    baseline_source: Literal["spec", "teacher-predictions", "spec-unlocked"]
    stratum_bound_points: float | None
    system_gap_points: float  # 0 in cache routing (P5.3)
    #: the contract's threshold table: the lock's rows once locked, else what the spec states
    thresholds: list[ThresholdRow]
    #: with baseline_source "teacher-predictions": the teacher's predictions file and its sha256 ("" otherwise)
    teacher_predictions: str
    teacher_predictions_sha256: str


class RecipeOut(_Frozen):
    per_device_train_batch_size: int
    gradient_accumulation_steps: int
    learning_rate: float
    total_steps: int | None
    warmup_steps: int
    save_steps: int
    max_length: int
    lora_alpha: int | None


class TrainingOut(_Frozen):
    method: str
    training_tokens: float
    memory_gib: float
    memory_breakdown_gib: dict[str, float]
    gpus: int
    fits: bool
    fit_note: str
    gpu_hours: float
    usd: float
    lora_rank: int | None
    trainable_parameters: int
    notes: list[str]
    recipe: RecipeOut
    tokens_per_example: int  # [student] tokens_per_example, else the request's input + output tokens
    fsdp: bool  # FSDP sharding: every method on more than one GPU
    machines: int  # machines the job spans (accelerate's num_machines)
    gpus_per_machine: int


class SizingOut(_Frozen):
    base_model: str
    gpu: str
    gpu_name: str
    gpu_product_label: str
    usd_per_gpu_hour: float
    gpu_price_as_of: str
    gpu_price_basis: str
    precision: str
    parameters: int
    weights_gib: float
    weight_bytes_note: str
    kv_bytes_per_token: int
    kv_cache_gib: float
    max_model_len: int
    max_concurrent_sequences: int
    fits: bool
    fit_reason: str
    tensor_parallel_size: int
    requests_per_second_per_gpu: float
    output_tokens_per_second_per_gpu: float
    bound: str
    peak_requests_per_second: float
    replicas: int
    gpus_total: int
    p71_holds: bool
    p71_note: str
    pod_memory_gib: int
    pod_cpus: int
    vllm_max_num_seqs: int
    vllm_max_num_batched_tokens: int
    prefix_cached_tokens: int
    replicas_for_throughput: int
    replicas_for_latency: int | None
    replicas_bound: str
    latency_target_p95_ttft_ms: float | None
    latency_target_p95_tpot_ms: float | None
    latency_target_met: bool | None
    ttft_p50_ms: float | None
    ttft_p95_ms: float | None
    tpot_p50_ms: float | None
    tpot_p95_ms: float | None
    latency_note: str
    eval_max_gen_tokens: int  # eval.yaml's max_gen_toks: max_model_len holds the prompt plus this
    gpu_products: list[str]  # the node labels (nvidia.com/gpu.product) the Deployment accepts
    model_volume_gib: int  # the model volume: [serving] model_volume_gib, else twice the weights (at least 20)
    training: TrainingOut


class EvalOut(_Frozen):
    datasets: list[str]
    locked: bool
    lock_hash: str | None
    required_examples_per_stratum: int | None
    required_examples_by_stratum: dict[str, int]
    expected_gap_points: float | None
    expected_gap_source: str | None
    min_examples: int
    sample_size_method: str
    examples_per_stratum: dict[str, int]
    strata_too_few: list[str]  # strata of examples_per_stratum below the examples they need (P2.3)


class MilestoneOut(_Frozen):
    """A payment milestone of the contract (P9.2) with its whole-dollar amount."""

    name: str
    payment_share: float
    due: dt.date
    acceptance: bool
    amount_usd: int


class ContractOut(_Frozen):
    value_usd: int  # the project cost rounded to the dollar
    milestones: list[MilestoneOut]  # their amounts sum exactly to value_usd


class StudentOut(_Frozen):
    """The student's base: its architecture as sized, and (bundled bases) its license and catalog facts."""

    base_model: str
    model_type: str
    parameters: int
    active_parameters: int
    experts: int
    experts_per_token: int
    layers: int
    sliding_window: int | None
    sliding_layers: int
    text_only: bool
    max_position_embeddings: int
    vocab_size: int
    system_role: bool
    thinking_mode: bool
    lora_target_modules: list[str]
    license: str | None
    license_name: str | None
    license_url: str | None
    license_clauses: list[str]
    gated: bool | None
    context_tokens: int | None
    release_date: str | None
    superseded_by: str | None
    quality_prior: float | None
    quality_source: str | None


class Plan(_Frozen):
    format_version: int
    spec: SpecInfo
    verdict: Verdict
    student: StudentOut
    volume: VolumeOut
    teacher: TeacherOut
    costs: Costs
    finance: FinanceOut
    gap: Gap
    sizing: SizingOut
    eval: EvalOut
    contract: ContractOut
    flips: list[Flip]

    def to_json(self) -> dict[str, Any]:
        """The versioned JSON form (documented in ``docs/plan-json.md``)."""
        data: dict[str, Any] = json_round(self.model_dump(mode="json"))
        return data

    def as_stated(self) -> Plan:
        """This plan with every figure as its JSON states it (floats to 10 significant digits):
        what the documents render, so no document states a figure the JSON does not."""
        return Plan.model_validate(self.to_json())
