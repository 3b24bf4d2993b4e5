"""The playbook's thresholds and bands (P-numbers: docs/playbook.md), every one a default that ``[policy]``
in ``distill.toml`` can override. This module holds those figures, except the P4 project
bands, which stand with their lines in :mod:`distillplan.spec.registry`."""

# No `from __future__ import annotations` here: pydantic would then evaluate every
# annotation string at class creation, which costs the pre-commit path ~10 ms.

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, create_model, model_validator

from distillplan.spec.guardrails import parse_condition
from distillplan.spec.registry import PROJECT_LINES

M = TypeVar("M", bound=BaseModel)


def shared_default(cls: type[M]) -> Callable[[], M]:
    """A default section, built once without validation (defaults are valid by construction)
    and shared between specs (the models are frozen). Building defaults by validation would
    compile each section's validator, and constructing them anew costs every spec of a run."""
    built: list[M] = []

    def factory() -> M:
        if not built:
            built.append(cls.model_construct())
        return built[0]

    return factory


def _ordered(band: tuple[float, float]) -> tuple[float, float]:
    if band[0] > band[1]:
        raise ValueError(f"band must be [low, high] with low <= high (got [{band[0]:g}, {band[1]:g}])")
    return band


class NotANumber:
    """A string or boolean given for a policy number: fails pydantic's number check."""

    def __init__(self, value: object) -> None:
        self.value = value


#: The largest magnitude any policy number may have: far above every real figure (a quadrillion
#: tokens, dollars or sequences), far below where the plan's arithmetic overflows (``1e308``).
MAX_POLICY_NUMBER = 1e15


class _Section(BaseModel):
    """A policy table: strict types (``true`` is no integer, ``"6"`` no number), finite numbers
    no larger than :data:`MAX_POLICY_NUMBER`; ``_key`` is the table's dotted key in the spec."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False, defer_build=True)
    _key: ClassVar[str] = "policy"

    @model_validator(mode="before")
    @classmethod
    def _numbers_are_numbers(cls, data: Any) -> Any:
        """A policy number is a TOML number, never the string "6" nor true (issue 14):
        such values are passed on as None, which pydantic reports as the wrong type."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for name, f in cls.model_fields.items():
            if f.annotation in (int, float) and isinstance(out.get(name), str | bool):
                out[name] = NotANumber(out[name])
        return out

    @model_validator(mode="after")
    def _bounded(self, info: ValidationInfo) -> Any:
        """Every number at most :data:`MAX_POLICY_NUMBER` in size, located at its key."""
        for name in type(self).model_fields:
            value = getattr(self, name)
            for x in value if isinstance(value, tuple) else (value,):
                if isinstance(x, int | float) and not isinstance(x, bool) and abs(x) > MAX_POLICY_NUMBER:
                    shown = f"{x:g}" if isinstance(x, float) else f"{x:.3g}"
                    message = f"must be at most {MAX_POLICY_NUMBER:g} (got {shown})"
                    ctx = info.context
                    if isinstance(ctx, dict) and isinstance(ctx.get("problems"), list):
                        ctx["problems"].append((f"{self._key}.{name}", message))
                    else:
                        raise ValueError(f"{self._key}.{name}: {message}")
                    break
        return self


#: ``[low, high]``, both >= 0.
Band = Annotated[
    tuple[Annotated[float, Field(ge=0)], Annotated[float, Field(ge=0)]], Field(strict=False), AfterValidator(_ordered)
]


class SizingAssumptions(_Section):
    """Every sizing judgement, with its default. Embedded in the policy as ``[policy.sizing]``.

    Each field says what it assumes in its ``description``."""

    _key: ClassVar[str] = "policy.sizing"

    gpu_memory_utilization: float = Field(
        0.9, gt=0, le=1, description="Fraction of GPU memory vLLM may use (vLLM's default --gpu-memory-utilization)."
    )
    activation_reserve_gib: float = Field(
        2.0, ge=0, description="Per-GPU memory vLLM keeps outside weights and KV: profile-run activations, CUDA graphs."
    )
    kv_cache_bytes_per_element: int = Field(
        2, ge=1, le=4, description="KV cache element size; 2 = bf16/fp16, vLLM's default --kv-cache-dtype auto."
    )
    prefill_efficiency_bf16: float = Field(
        0.70,
        gt=0,
        le=1,
        description="Fraction of dense bf16 peak on prompt tokens at bf16 (fitted: ~28.6k-token TTFT, vLLM V1, A100).",
    )
    prefill_efficiency_int8: float = Field(
        0.70,
        gt=0,
        le=1,
        description="Same at int8: W8A16 kernels dequantise to bf16, so the bf16 peak is the roof.",
    )
    prefill_efficiency_int4: float = Field(
        0.70,
        gt=0,
        le=1,
        description="Same at int4 (W4A16, Marlin kernels on Ampere/Hopper).",
    )
    decode_compute_efficiency_int8: float = Field(
        0.3,
        gt=0,
        le=1,
        description="Fraction of dense bf16 peak on decode tokens' matmuls at int8 (W8A16 at batch; fitted).",
    )
    decode_compute_efficiency_int4: float = Field(
        0.15,
        gt=0,
        le=1,
        description="Same at int4 (W4A16 Marlin dequantises each tile per step at batch; fitted).",
    )
    decode_efficiency_bf16: float = Field(
        0.68,
        gt=0,
        le=1,
        description="Achieved fraction of peak HBM bandwidth per decode step at bf16 (fitted: Qwen2.5 speed table).",
    )
    decode_efficiency_int8: float = Field(
        0.56,
        gt=0,
        le=1,
        description="Same at int8 (W8A16): the kernels reach well under bf16's fraction at small batch (fitted).",
    )
    decode_efficiency_int4: float = Field(
        0.46,
        gt=0,
        le=1,
        description="Same at int4 (W4A16 GPTQ/AWQ Marlin): the smallest fraction of the three (fitted).",
    )
    target_utilization: float = Field(
        0.7,
        gt=0,
        le=1,
        description="Run replicas at this fraction of modelled capacity: headroom for peaks and variance.",
    )
    max_num_seqs: int = Field(
        256,
        ge=1,
        description="vLLM max_num_seqs (written to vllm.yaml): V1's server default on A100 (1024 on H100).",
    )
    max_num_batched_tokens: int = Field(
        2048,
        ge=16,
        description="vLLM max_num_batched_tokens, the step's token budget (written to vllm.yaml): V1's A100 default.",
    )
    min_concurrent_sequences: int = Field(
        16, ge=1, description="A replica must hold this many max_model_len requests in KV, else decode is wasted."
    )
    min_kv_cache_tokens: int = Field(
        131072,
        ge=1,
        description="...or this many KV tokens when that is fewer (long prompts): one GPU serves them, no forced TP.",
    )
    step_overlap: float = Field(
        0.6,
        ge=0,
        lt=1,
        description="Share of the smaller of a step's reads and its compute hidden under the larger (fitted: V1 run).",
    )
    first_token_overhead_ms: float = Field(
        4.2,
        ge=0,
        description="Engine time per request before its first token beyond the step model (fitted: V1 idle TTFT).",
    )
    tp_allreduce_share: float = Field(
        0.38,
        ge=0,
        le=0.5,
        description="TP all-reduce time per token and unit of ring volume / a GPU's compute per token (fitted: TP 8).",
    )
    max_model_len_multiple: int = Field(
        256,
        ge=1,
        description="max_model_len = input + the eval's budget (2 x output) rounded up to this, capped at the context.",
    )
    int8_scale_bytes_per_channel: int = Field(
        2, ge=0, description="int8 (W8A16) weights: one fp16 scale per output channel of each linear layer."
    )
    int4_group_size: int = Field(
        128, ge=1, description="int4 (W4A16, GPTQ/AWQ) weights: one scale and zero point per group of this many inputs."
    )
    int4_group_overhead_bytes: int = Field(
        4, ge=0, description="Bytes per int4 group (fp16 scale + fp16 zero); embeddings/lm_head stay 16-bit."
    )
    training_mfu: float = Field(
        0.4, gt=0, le=1, description="Model FLOPs utilisation of fine-tuning (fraction of dense bf16 peak)."
    )
    adapter_flops_factor: float = Field(
        4.0, gt=0, description="LoRA/QLoRA FLOPs per parameter per token: no weight-gradient matmuls (full is 6)."
    )
    qlora_slowdown: float = Field(
        1.3, ge=1, description="QLoRA step-time multiplier for dequantising NF4 weights in forward and backward."
    )
    qlora_constant_bits_per_parameter: float = Field(
        0.127, ge=0, description="NF4 constants with double quantisation (QLoRA paper, Dettmers et al. 2023)."
    )
    sweep_runs: int = Field(
        3, ge=1, description="Hyperparameter sweep: full training runs paid for (P4: base size, epochs, sweep)."
    )
    train_effective_batch_sequences: int = Field(
        16, ge=1, description="Sequences per optimizer step (micro-batch x accumulation x GPUs) in the TRL recipe."
    )
    learning_rate_full: tuple[float, float] = Field(
        (1e-5, 5e-6),
        strict=False,  # a TOML array; the numbers stay strict
        description="Full fine-tuning learning rate up to 10B parameters, and above (distillplan's default).",
    )
    learning_rate_adapter: tuple[float, float] = Field(
        (2e-4, 1e-4),
        strict=False,  # a TOML array; the numbers stay strict
        description="LoRA/QLoRA learning rate up to 10B parameters, and above (QLoRA paper: 2e-4 for 7B/13B).",
    )
    warmup_share: float = Field(0.03, ge=0, lt=1, description="Share of the training steps spent warming up.")
    lora_alpha_per_rank: int = Field(2, ge=1, description="LoRA alpha as a multiple of the rank.")
    serving_host_memory_overhead_gib: float = Field(
        17.0,
        ge=0,
        description="Host RAM a vLLM pod needs beyond the weights (CUDA context, CPU swap, tokenizer, Python).",
    )
    serving_cpus: int = Field(8, ge=1, description="CPU cores requested per vLLM pod.")
    train_micro_batch_size: int = Field(
        4, ge=1, description="Sequences per GPU per micro-batch when sizing training activations."
    )
    train_sequence_length: int = Field(
        2048, ge=1, description="Tokens per training sequence when sizing training activations."
    )
    gradient_checkpointing: bool = Field(
        True, description="Training keeps one layer input per layer and recomputes the rest (the scaffold's setting)."
    )
    logits_bytes_per_vocab_entry: float = Field(
        10.0,
        ge=0,
        description="Training logits: bf16 logits + fp32 upcast + fp32 loss gradient per token per vocabulary entry.",
    )
    qlora_extra_activation_bytes_per_hidden: float = Field(
        15.0,
        ge=0,
        description="QLoRA (bitsandbytes) keeps ~15 x hidden bytes more per token per layer (fitted: LitGPT pairs).",
    )
    allocator_reserve_gib: float = Field(
        3.5,
        ge=0,
        description="PyTorch caching-allocator memory reserved beyond the peak allocated (fitted: torchtune peaks).",
    )
    cuda_context_gib: float = Field(
        0.5, ge=0, description="CUDA context and kernels per GPU process, outside PyTorch's allocator."
    )

    def decode_efficiency(self, precision: str) -> float:
        """The decode-bandwidth efficiency for ``precision`` (bf16, int8, int4)."""
        return float(getattr(self, f"decode_efficiency_{precision}"))

    def decode_compute_efficiency(self, precision: str) -> float:
        """The compute efficiency of decode tokens: the prefill's at bf16, its own at int8/int4."""
        if precision == "bf16":
            return self.prefill_efficiency("bf16")
        return float(getattr(self, f"decode_compute_efficiency_{precision}"))

    def prefill_efficiency(self, precision: str) -> float:
        """The prefill-compute efficiency for ``precision`` (bf16, int8, int4)."""
        return float(getattr(self, f"prefill_efficiency_{precision}"))


if TYPE_CHECKING:  # the fields are made from the registry below; mypy sees a plain section
    ProjectBands = _Section
else:
    ProjectBands = create_model(
        "ProjectBands",
        __base__=_Section,
        __doc__="P4: USD band of each project cost line.",
        **{
            line.name: (Band, Field(default=line.band_usd, description=f"{line.rule}: {line.label}."))
            for line in PROJECT_LINES
        },
    )
    ProjectBands._key = "policy.project_bands_usd"


def _condition(text: str) -> str:
    parse_condition(text)  # ValueError, located at the list item by pydantic
    return text


class Guardrails(_Section):
    """Conditions that fail `distillplan diff` (exit 6) in a pull request, owned by the repository.

    The base revision's guardrails judge a change, so a pull request cannot switch off its own."""

    _key: ClassVar[str] = "policy.guardrails"

    fail_on: list[Annotated[str, Field(max_length=200), AfterValidator(_condition)]] = Field(
        default_factory=list,
        max_length=50,
        description="Conditions that fail `distillplan diff`: verdict-change, payback-months>N, "
        "run-rate-increase>N% or >$N, budget-increase>N% or >$N, contract-change, lock-change-without-reason.",
    )


class Policy(_Section):
    """Every threshold the verdict uses, with its P-number."""

    volume_floor_tokens_per_month: float = Field(
        default=50e6, gt=0, description="P2.2: below this, stay on the frontier model."
    )
    volume_structural_tokens_per_month: float = Field(
        default=200e6, gt=0, description="P2.2: above this, distillation is the structural answer."
    )
    routing_savings_share: Band = Field(
        default=(0.30, 0.50), description="P2.2: share of inference spend model routing saves."
    )
    gap_defensible_points: Band = Field(default=(2.0, 3.0), description="P5.1: defensible accuracy gap, points.")
    gap_high_stakes_points: float = Field(default=1.0, ge=0, description="P5.2: gap bound for high-stakes workloads.")
    cache_student_share: Band = Field(default=(0.85, 0.95), description="P5.3: share the router sends to the student.")
    payback_accept_under_months: float = Field(
        default=9.0, gt=0, le=600, description="P6.3: CFOs accept payback under this."
    )
    payback_refuse_over_months: float = Field(default=12.0, gt=0, description="P6.3: CFOs refuse payback over this.")
    payback_typical_months: Band = Field(
        default=(3.0, 7.0), description="P6.4: typical payback of justified workloads."
    )
    hardware_share_of_frontier: Band = Field(
        default=(0.01, 0.04), description="P6.5: hardware bill over frontier spend."
    )
    requests_per_second_per_gpu: Band = Field(
        default=(60.0, 200.0), description="P7.1: one A100 serves a 13B student at this rate."
    )
    project_bands_usd: ProjectBands = Field(
        default_factory=shared_default(ProjectBands), description="P4 project cost bands."
    )
    teacher_on_sample_usd_per_month: Band = Field(
        default=(400.0, 1_200.0), description="P8: weekly teacher-on-sample re-evaluation."
    )
    redistillation_usd_per_year: Band = Field(
        default=(20_000.0, 60_000.0), description="P8: annual full re-distillation cycle."
    )
    observability_usd_per_month: float = Field(
        default=300.0,
        ge=0,
        description=(
            "distillplan's default for the telemetry bill "
            "(P8 puts drift detection in the observability stack; no figure given)."
        ),
    )
    price_staleness_months: int = Field(
        default=6,
        ge=1,
        le=120,
        description="distillplan's own (P6.1 prices from a dated book): warn when a plan's prices are older.",
    )
    revisit_months: int = Field(default=6, gt=0, le=120, description="P2.4: revisit a refused case in two quarters.")
    sizing: SizingAssumptions = Field(
        default_factory=shared_default(SizingAssumptions), description="Stated assumptions of the A100 sizing model."
    )
    guardrails: Guardrails = Field(
        default_factory=shared_default(Guardrails),
        description=(
            "distillplan's own: conditions that fail `distillplan diff` in a pull request (docs/pull-requests.md)."
        ),
    )


def band_value(band: tuple[float, float], estimate: str) -> float:
    """The value of ``band`` at ``estimate`` (low, mid = midpoint, high)."""
    low, high = band
    return {"low": low, "mid": (low + high) / 2, "high": high}[estimate]
