"""The ``distill.toml`` models: strict, frozen, units in the field names.

Each field's ``description`` is the reference text shown by ``distillplan schema`` and in
docs/spec.md (generated from these models; a test keeps it in step). Cross-field rules report
through :func:`_problem` so the loader can show every problem of a file in one run.
"""

# No `from __future__ import annotations` here: pydantic would then evaluate every
# annotation string at class creation, which costs the pre-commit path ~10 ms.

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from distillplan.catalogs.gpus import gpu_names
from distillplan.spec.evalsize import MAX_EXAMPLES, narrowest_gap_points, normal_examples
from distillplan.spec.policy import Policy, shared_default
from distillplan.spec.registry import PROJECT_LINES, Method, Metric, Precision
from distillplan.text import count

TaskKind = Literal[
    "classification",
    "extraction",
    "formatted-generation",
    "single-turn-qa",
    "open-ended-generation",
    "agentic",
    "multi-step-reasoning",
    "code-generation",
]
NARROW_TASKS: frozenset[str] = frozenset({"classification", "extraction", "formatted-generation", "single-turn-qa"})

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_MAX_TOKENS = 10**15  # a quadrillion tokens a month is beyond any workload; bigger is a typo
_MAX_USD = 10**12

Share = Annotated[float, Field(gt=0, lt=1)]
Usd = Annotated[float, Field(ge=0, le=_MAX_USD)]
UsdPerMtok = Annotated[float, Field(gt=0, le=10_000)]
Score = Annotated[float, Field(ge=0, le=1)]
Points = Annotated[float, Field(ge=0, le=100)]

#: A path or name that reaches generated files (YAML, shell lines the docs tell people to copy,
#: Markdown) and the terminal: ASCII letters, digits and ``. _ - + @ /`` only, no component
#: starting with ``-`` (it would read as an option). Nothing here needs quoting in a shell, ends
#: a YAML line (U+2028, NEL, CR ...) or opens HTML; the outputs still quote every value.
_SAFE_PATH_CHAR = re.compile(r"[^A-Za-z0-9._+@/-]")
_SAFE_ID_CHAR = re.compile(r"[^A-Za-z0-9._:+@/-]")
#: A JSONL field name: an identifier, with ``-`` and ``.`` allowed after the first character.
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")


def _shown(v: str) -> str:
    """``v`` quoted for a message: backslash and quote escaped, cut to 60 characters (the
    problem line escapes control characters)."""
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"')[:60] + '"'


def _char_name(c: str) -> str:
    return repr(c) if c.isprintable() and ord(c) < 0x80 else f"U+{ord(c):04X}"


def safe_path(v: str, *, allowed: re.Pattern[str] = _SAFE_PATH_CHAR, what: str = ". _ - + @ /") -> str:
    """``v`` when it is a safe path or name (see ``_SAFE_PATH_CHAR``); else ValueError naming the character."""
    bad = allowed.search(v)
    if bad is not None and (bad.group() < " " or bad.group() == "\x7f"):
        raise ValueError(f"must not contain control characters (got {_shown(v)})")
    if bad is not None:
        raise ValueError(
            f"must use only ASCII letters, digits and {what} (got {_shown(v)}: "
            f"{_char_name(bad.group())} is not allowed; it would need quoting in the generated commands)"
        )
    if any(part.startswith("-") for part in v.split("/")):
        raise ValueError(f"no part of it may start with '-', which commands read as an option (got {_shown(v)})")
    return v


def _safe_path(v: str) -> str:
    return safe_path(v)


#: A path string that reaches generated files: checked by :func:`safe_path`, located per item in lists.
SafePath = Annotated[str, AfterValidator(_safe_path)]


def _field_name(v: str | None) -> str | None:
    if v is not None and not _FIELD_NAME.fullmatch(v):
        raise ValueError(
            "must be a JSONL field name: a letter or _, then letters, digits, _ . -, "
            f"at most 64 characters (got {_shown(v)})"
        )
    return v


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False, defer_build=True)


def _problem(info: ValidationInfo, key: str, message: str) -> None:
    """Record a cross-field problem at ``key`` (the full dotted key path in the file).

    The loader passes ``context={"problems": [...]}`` so that every problem of a file is
    reported in one run; without that context (library use) the problem raises at once.
    """
    ctx = info.context
    if isinstance(ctx, dict) and isinstance(ctx.get("problems"), list):
        ctx["problems"].append((key, message))
        return
    raise ValueError(f"{key}: {message}")


class Project(_Model):
    """Who the project is for and when it starts. Documents are dated from here, never the clock."""

    name: str = Field(description="Slug used in file names and as the served model name.")
    title: str = Field(min_length=1, max_length=200, description="Human title for the documents.")
    client: str = Field(default="", max_length=200, description="The party paying for the project.")
    provider: str = Field(default="", max_length=200, description="The party delivering it.")
    currency: Literal["USD"] = Field(
        default="USD", description="Currency of every amount; only USD is supported today."
    )
    start: dt.date = Field(description="Kickoff date (month 0 of the cash flows).")

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not _SLUG.fullmatch(v):  # fullmatch: `$` would accept a trailing newline
            raise ValueError("must be a slug: lowercase letters, digits and inner hyphens, at most 63 characters")
        return v


class Workload(_Model):
    """The narrow workload the student replaces the teacher on (P2.1, P3)."""

    task: TaskKind = Field(description="Kind of task; the first four are narrow (P2.1), the rest are P3 shapes.")
    modality: Literal["text", "vision-language", "audio"] = Field(default="text", description="Input modality (P3.4).")
    stakes: Literal["standard", "high"] = Field(
        default="standard", description="`high` for medical, legal, financial substantiation (P5.2)."
    )
    pattern: Literal["stable", "evolving"] = Field(
        default="stable", description="Whether the task pattern is stable (P2.1) or evolving (P3.2)."
    )
    regulated: bool = Field(default=False, description="Data residency or audit needs (P3.5).")
    teacher_not_permitted: Literal["privacy", "data-residency", "audit", "vendor-terms"] | None = Field(
        default=None,
        description="Why the frontier model may not serve this workload's production traffic (P3.5): staying on "
        "it is no option, so a refused payback or a volume below the floor does not refuse the case.",
    )
    requests_per_month: int | None = Field(
        default=None, gt=0, le=_MAX_TOKENS, description="Volume form 1: requests a month."
    )
    input_tokens_per_request: int | None = Field(
        default=None, gt=0, le=2_000_000, description="Prompt tokens a request (form 1; request shape in form 2)."
    )
    output_tokens_per_request: int | None = Field(
        default=None, gt=0, le=2_000_000, description="Completion tokens a request (form 1; request shape in form 2)."
    )
    tokens_per_month: int | None = Field(
        default=None, gt=0, le=_MAX_TOKENS, description="Volume form 2: input plus output tokens a month."
    )
    input_share: Share | None = Field(
        default=None, description="Form 2: the share of `tokens_per_month` that is input."
    )
    peak_to_average: float = Field(
        default=2.0, ge=1, le=100, description="Peak request rate over the monthly average (sizing)."
    )
    cached_input_share: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of input tokens that are prompt-cache hits (a shared system prompt), billed at the "
        "cached-input price (P6.1); the student's vLLM prefix cache skips their prefill (P7).",
    )
    p95_ttft_ms: float | None = Field(
        default=None,
        gt=0,
        le=3_600_000,
        description="Latency target: p95 time to first token, ms; replicas are sized to meet it (P7).",
    )
    p95_tpot_ms: float | None = Field(
        default=None,
        gt=0,
        le=3_600_000,
        description="Latency target: p95 time per output token after the first, ms (P7).",
    )

    @model_validator(mode="after")
    def _one_volume_form(self, info: ValidationInfo) -> "Workload":
        by_requests = self.requests_per_month is not None
        by_tokens = self.tokens_per_month is not None
        if by_requests and by_tokens:
            _problem(
                info,
                "workload.tokens_per_month",
                "give the volume one way: either requests_per_month "
                "(with tokens per request) or tokens_per_month (with input_share), not both",
            )
        elif not by_requests and not by_tokens:
            _problem(
                info,
                "workload",
                "missing volume: give requests_per_month with input_tokens_per_request "
                "and output_tokens_per_request, or tokens_per_month with input_share",
            )
        elif by_requests:
            for key in ("input_tokens_per_request", "output_tokens_per_request"):
                if getattr(self, key) is None:
                    _problem(info, f"workload.{key}", "required with requests_per_month")
            if self.input_share is not None:
                _problem(info, "workload.input_share", "goes with tokens_per_month, not requests_per_month")
        elif self.input_share is None:
            _problem(info, "workload.input_share", "required with tokens_per_month")
        elif (self.input_tokens_per_request is None) != (self.output_tokens_per_request is None):
            _problem(
                info,
                "workload.output_tokens_per_request",
                "give both tokens per request (the request shape) or neither",
            )
        return self


class Teacher(_Model):
    """The frontier model the workload runs on today (P6.1)."""

    model: str | None = Field(default=None, description="Price-book name (list: `distillplan catalog`).")
    usd_per_mtok_input: UsdPerMtok | None = Field(default=None, description="Negotiated USD per million input tokens.")
    usd_per_mtok_output: UsdPerMtok | None = Field(
        default=None, description="Negotiated USD per million output tokens."
    )
    usd_per_mtok_cached_input: UsdPerMtok | None = Field(
        default=None, description="Negotiated USD per million cached input tokens (default: the price book's)."
    )
    batch_discount: float | None = Field(
        default=None, ge=0, lt=1, description="Share the batch API takes off (default: the price book's)."
    )
    successor: str | None = Field(
        default=None,
        min_length=1,
        description="Price-book model that replaces `model` when it leaves its vendor's API before go-live: "
        "the frontier bill is priced at it (P6.1); without one such a plan cannot compute payback.",
    )
    p95_ttft_ms: float | None = Field(
        default=None,
        gt=0,
        le=3_600_000,
        description="The teacher's measured p95 time to first token, ms; above [workload] p95_ttft_ms it misses "
        "the product's latency target, which can justify distilling (P7).",
    )
    p95_tpot_ms: float | None = Field(
        default=None,
        gt=0,
        le=3_600_000,
        description="The teacher's measured p95 time per output token, ms; compared with [workload] p95_tpot_ms.",
    )
    api: Literal["openai", "anthropic", "gemini"] | None = Field(
        default=None,
        description="Vendor API the teacher is called through (batch files, router); default: the price book's vendor.",
    )
    api_model: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Model id that API takes; default: the price book's id for `model` (claude-sonnet-5-5...).",
    )

    @field_validator("model", "api_model")
    @classmethod
    def _model_id(cls, v: str | None) -> str | None:
        return None if v is None else safe_path(v, allowed=_SAFE_ID_CHAR, what=". _ - : + @ /")

    @model_validator(mode="after")
    def _priced(self, info: ValidationInfo) -> "Teacher":
        if self.model is None and (self.usd_per_mtok_input is None or self.usd_per_mtok_output is None):
            _problem(info, "teacher", "give a price-book `model`, or both usd_per_mtok_input and usd_per_mtok_output")
        cached, given = self.usd_per_mtok_cached_input, self.usd_per_mtok_input
        if cached is not None and given is not None and cached > given:
            _problem(
                info,
                "teacher.usd_per_mtok_cached_input",
                f"a cache hit ({cached:g}) costs more than an input token ({given:g}); give the cache-read price",
            )
        return self


class Student(_Model):
    """The open-weight base model, how it is trained, and how it is served."""

    base_model: SafePath = Field(
        min_length=1, description="Catalog name (hub id) or a local folder holding config.json."
    )
    method: Method = Field(default="qlora", description="Fine-tuning method.")
    serving_precision: Precision = Field(default="int8", description="Weight precision when served.")
    training_examples: int | None = Field(
        default=None,
        gt=0,
        le=100_000_000,
        description="Teacher-generated training examples (drives teacher-inference and fine-tune lines).",
    )
    tokens_per_example: int | None = Field(
        default=None,
        gt=0,
        le=2_000_000,
        description="Tokens per training example; default: input + output tokens per request.",
    )
    epochs: float = Field(default=3.0, gt=0, le=100, description="Training epochs.")
    lora_rank: int = Field(default=16, ge=1, le=1024, description="LoRA/QLoRA adapter rank.")


class Eval(_Model):
    """The locked eval set and the contracted accuracy gap (P2.3, P5, P9.2)."""

    datasets: list[SafePath] = Field(min_length=1, description="JSONL files, relative to the spec's folder.")
    metric: Metric = Field(description="How a prediction is scored.")
    teacher_score: Score = Field(description="The teacher's score on the locked set, 0-1.")
    max_gap_points: Points = Field(description="Contracted gap: teacher minus student, in percentage points.")
    strata_field: str | None = Field(default=None, description="JSONL field naming each example's stratum.")
    max_stratum_gap_points: Points | None = Field(default=None, description="Per-stratum gap bound, in points.")
    teacher_score_by_stratum: dict[str, Score] | None = Field(
        default=None,
        description="The teacher's score on each stratum, 0-1: the per-stratum baseline `lock` fixes "
        "(or measure it: `lock --teacher-predictions FILE`).",
    )
    min_score: Score | None = Field(
        default=None,
        description="The business bar, 0-1: the absolute score the student must reach besides the gap to the "
        "teacher (the contract's threshold is the higher of the two); a teacher below it can justify "
        "distilling with human-validated examples (P1.1).",
    )
    min_examples: int | None = Field(
        default=None,
        ge=0,
        le=100_000_000,
        description="Fewest examples `accept` decides on; default: the sample size the locked terms need "
        "(eval.required_examples_*: overall, and each stratum with a bound); 0: none (an underpowered test).",
    )
    pilot_predictions: str | None = Field(
        default=None,
        min_length=1,
        description="JSONL of a pilot student's predictions on part of the eval set (a few hundred, `accept`'s "
        "line format), relative to the spec: `plan` scores them, and a gap wider than max_gap_points refuses "
        "the case (P5.1).",
    )
    expected_gap_points: Points | None = Field(
        default=None,
        description="Without a pilot: the gap to the teacher a student of this base is expected to show, in "
        "points (a published result, an earlier project); wider than max_gap_points refuses the case (P5.1).",
    )
    decide_by: Literal["point-estimate", "confidence-bound"] = Field(
        default="point-estimate",
        description="What must clear each locked threshold: the student's score, or the lower end of its 95% CI.",
    )
    id_field: str = Field(default="id", min_length=1, description="JSONL field holding the example id.")
    reference_field: str = Field(
        default="reference", min_length=1, description="JSONL field holding the reference answer."
    )
    input_field: str = Field(
        default="input",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$",
        description="JSONL field holding the input the model answers (eval rows and teacher-data inputs alike).",
    )

    @field_validator("datasets")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("lists a dataset twice")
        if any(not s.strip() for s in v):
            raise ValueError("has an empty path")
        return v

    @field_validator("id_field", "reference_field", "strata_field")
    @classmethod
    def _field(cls, v: str | None) -> str | None:
        return _field_name(v)


class Routing(_Model):
    """Student-only, or the cache-and-router pattern (P5.3)."""

    mode: Literal["student-only", "cache"] = Field(default="student-only", description="Who answers.")
    student_share: Share | None = Field(
        default=None, description="`cache`: share of traffic the student answers (P5.3: 0.85-0.95)."
    )
    confidence_threshold: Score = Field(
        default=0.8, description="`cache`: router confidence below which the teacher answers."
    )

    @model_validator(mode="after")
    def _share(self, info: ValidationInfo) -> "Routing":
        if self.mode == "cache" and self.student_share is None:
            _problem(info, "routing.student_share", 'required when mode = "cache" (P5.3 suggests 0.85-0.95)')
        if self.mode == "student-only" and self.student_share is not None:
            _problem(info, "routing.student_share", 'only applies when mode = "cache"')
        return self


class Hardware(_Model):
    """Where the student is served and trained (P7)."""

    gpu: str = Field(
        default="a100-80gb",
        description="GPU from the bundled catalog (data/gpus.toml).",
        json_schema_extra=lambda schema: schema.update(enum=list(gpu_names())),
    )
    usd_per_gpu_hour: float | None = Field(
        default=None, gt=0, le=1_000, description="Your rate; default: the catalog's on-demand rate."
    )
    hours_per_month: float = Field(default=730.0, gt=0, le=744, description="Billed hours a GPU runs each month.")
    replicas: int | None = Field(
        default=None, gt=0, le=10_000, description="Pin the serving replica count instead of sizing it."
    )

    @field_validator("gpu")
    @classmethod
    def _in_catalog(cls, v: str) -> str:
        names = gpu_names()
        if v not in names:
            quoted = [f"'{n}'" for n in names]
            expected = ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]
            raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})
        return v


if TYPE_CHECKING:  # the fields are made from the registry below; mypy sees a plain model
    BudgetOverrides = _Model
else:
    BudgetOverrides = create_model(
        "BudgetOverrides",
        __base__=_Model,
        __doc__="Explicit USD for any P4 project line; wins over estimate and drivers.",
        **{line.name: (Usd | None, Field(default=None, description=f"{line.label} (P4).")) for line in PROJECT_LINES},
    )


class Budget(_Model):
    """The project cost (P4)."""

    estimate: Literal["low", "mid", "high"] = Field(
        default="mid", description="Where in each P4 band to land when no driver or override applies."
    )
    override_usd: BudgetOverrides = Field(
        default_factory=shared_default(BudgetOverrides), description="Per-line USD overrides."
    )
    human_label_hours: float | None = Field(
        default=None, gt=0, le=1_000_000, description="Driver: hours of human validation."
    )
    usd_per_label_hour: float | None = Field(
        default=None, gt=0, le=10_000, description="Driver: pay rate for human validation."
    )

    @model_validator(mode="after")
    def _drivers(self, info: ValidationInfo) -> "Budget":
        if (self.human_label_hours is None) != (self.usd_per_label_hour is None):
            _problem(info, "budget.usd_per_label_hour", "give human_label_hours and usd_per_label_hour together")
        return self


class Operations(_Model):
    """Operating lines after go-live (P8); any can be pinned."""

    gpu_hosting_usd_per_month: Usd | None = Field(default=None, description="Pin the hosting bill.")
    observability_usd_per_month: Usd | None = Field(default=None, description="Drift-detection and telemetry stack.")
    teacher_on_sample_usd_per_month: Usd | None = Field(
        default=None, description="Weekly teacher-on-sample re-evaluation (P8)."
    )
    teacher_sample_share: Share | None = Field(
        default=None, description="Share of traffic re-scored by the teacher; computes the line above."
    )
    redistillation_usd_per_year: Usd | None = Field(default=None, description="Annual re-distillation cycle (P8).")


class Finance(_Model):
    """How money over time is valued."""

    discount_rate_annual: float = Field(default=0.10, ge=0, le=1, description="Annual discount rate for NPV.")
    horizon_months: int = Field(default=24, ge=1, le=120, description="Months of cash flows from kickoff.")
    build_months: int = Field(default=2, ge=0, le=36, description="Months from kickoff to go-live.")

    @model_validator(mode="after")
    def _horizon(self, info: ValidationInfo) -> "Finance":
        if self.build_months >= self.horizon_months:
            _problem(info, "finance.build_months", f"must be shorter than horizon_months ({self.horizon_months})")
        return self


class Milestone(_Model):
    """A payment milestone of the contract (P9.2)."""

    name: str = Field(min_length=1, max_length=200)
    payment_share: Annotated[float, Field(gt=0, le=1)] = Field(description="Share of the contract value.")
    due: dt.date = Field(description="Due date.")
    acceptance: bool = Field(default=False, description="Paid on the binary acceptance test (P9.2).")


class TeacherData(_Model):
    """The teacher's training data (P1.1, P1.2): the inputs sent through the vendor's batch API."""

    batch: bool = Field(
        default=True,
        description="Generate the training data through the vendor's batch API: the P4 teacher-inference line "
        "is priced at the batch tier.",
    )
    inputs: list[SafePath] = Field(
        default_factory=list,
        description="JSONL files of training inputs (input in [eval].input_field), relative to the spec.",
    )
    system_prompt: str | None = Field(
        default=None,
        max_length=100_000,
        description="System prompt sent with every input (the one production uses); the eval task sends it too.",
    )
    max_output_tokens: int | None = Field(
        default=None,
        gt=0,
        le=1_000_000,
        description="Cap on a teacher answer; default: 4 x output_tokens_per_request, at least 256 (capped: dropped).",
    )


def _image(v: str) -> str:
    return safe_path(v, allowed=_SAFE_ID_CHAR, what=". _ - : + @ /")


#: Kubernetes label keys (an optional DNS prefix and ``/``, then a name) and values.
LabelKey = Annotated[
    str, Field(pattern=r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
]
LabelValue = Annotated[str, Field(pattern=r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")]


class Serving(_Model):
    """How the generated Kubernetes manifests run the student (serving/k8s)."""

    image: Annotated[str, AfterValidator(_image)] = Field(
        default="vllm/vllm-openai:v0.33.0",
        min_length=1,
        max_length=300,
        description="vLLM container image (default: the vLLM release current on 2026-11-28).",
    )
    node_selector: dict[LabelKey, LabelValue] | None = Field(
        default=None,
        description=(
            'Node labels the pods require, e.g. { "cloud.google.com/gke-accelerator" = "nvidia-tesla-a100" }; '
            "default: NVIDIA GPU feature-discovery's nvidia.com/gpu.product label of the GPU (SXM or PCIe)."
        ),
    )
    storage_class: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")] | None = Field(
        default=None,
        description="StorageClass of the model volume; it must offer ReadWriteMany (default: the cluster's).",
    )
    model_volume_gib: int | None = Field(
        default=None,
        gt=0,
        le=100_000,
        description="Size of the model volume; default: twice the served weights, at least 20.",
    )


class Scaffold(_Model):
    """The generated tree."""

    root: SafePath = Field(
        default="distill", min_length=1, description="Folder of the generated tree, relative to the spec."
    )
    skip: list[SafePath] = Field(default_factory=list, description="Generated paths (relative to root) not to write.")


class Compare(_Model):
    """The candidates `distillplan compare` sweeps; each axis defaults to the whole catalog."""

    students: list[SafePath] | None = Field(
        default=None,
        min_length=1,
        description="Catalog names (hub ids) or local folders holding config.json; default: every catalog student.",
    )
    precisions: list[Precision] | None = Field(
        default=None, min_length=1, description="Serving precisions; default: every one."
    )
    gpus: list[str] | None = Field(
        default=None,
        min_length=1,
        description="GPUs from the bundled catalog; default: every one.",
        json_schema_extra=lambda schema: schema.update(items={"enum": list(gpu_names()), "type": "string"}),
    )
    methods: list[Method] | None = Field(
        default=None, min_length=1, description="Fine-tuning methods; default: every one."
    )
    alternatives: int = Field(
        default=3,
        ge=0,
        le=20,
        description="Students whose best configuration the proposal lists next to the spec's own choice.",
    )

    @field_validator("students", "precisions", "methods")
    @classmethod
    def _distinct(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            if len(set(v)) != len(v):
                raise ValueError("lists a value twice")
            if any(not s.strip() for s in v):
                raise ValueError("has an empty name")
        return v

    @field_validator("gpus")
    @classmethod
    def _gpus_in_catalog(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        names = gpu_names()
        for g in v:
            if g not in names:
                raise ValueError(f"{g!r} is not in the GPU catalog ({', '.join(names)})")
        if len(set(v)) != len(v):
            raise ValueError("lists a value twice")
        return v


class Spec(_Model):
    """A whole ``distill.toml``."""

    project: Project
    workload: Workload
    teacher: Teacher
    student: Student
    eval: Eval
    routing: Routing = Field(default_factory=shared_default(Routing))
    hardware: Hardware = Field(default_factory=shared_default(Hardware))
    budget: Budget = Field(default_factory=shared_default(Budget))
    operations: Operations = Field(default_factory=shared_default(Operations))
    finance: Finance = Field(default_factory=shared_default(Finance))
    policy: Policy = Field(default_factory=shared_default(Policy))
    milestones: list[Milestone] = Field(default_factory=list)
    teacher_data: TeacherData = Field(default_factory=shared_default(TeacherData))
    serving: Serving = Field(default_factory=shared_default(Serving))
    scaffold: Scaffold = Field(default_factory=shared_default(Scaffold))
    compare: Compare = Field(default_factory=shared_default(Compare))
    #: The repository whose ``.distillplan/prices.toml`` prices this spec (set by the loader;
    #: None: the bundled price book alone). Not a key of distill.toml.
    _prices_root: Path | None = PrivateAttr(default=None)

    @property
    def prices_root(self) -> Path | None:
        return self._prices_root

    def use_prices_of(self, root: Path | None) -> None:
        """Price this spec with the price book of the repository at ``root`` (the loader calls it)."""
        self._prices_root = root

    def _check_resolvable_gaps(self, info: ValidationInfo) -> None:
        """A contracted gap the eval set can resolve (P2.3): one that needs more than MAX_EXAMPLES examples
        per stratum (or a float's worth: 1e-308 points) is refused here, with the narrowest gap allowed."""
        e = self.eval
        pairs = [(e.teacher_score, "eval.max_gap_points", e.max_gap_points)]
        if e.max_stratum_gap_points is not None:
            scores = [e.teacher_score, *(e.teacher_score_by_stratum or {}).values()]
            pairs += [(score, "eval.max_stratum_gap_points", e.max_stratum_gap_points) for score in scores]
        seen: set[str] = set()
        for score, key, gap in pairs:
            if key in seen or not (0 < gap <= score * 100 and score < 1):
                continue  # no test to size (zero gap, or a gap the teacher's score cannot hold)
            if normal_examples(score, gap / 100) > MAX_EXAMPLES:
                seen.add(key)
                _problem(
                    info,
                    key,
                    f"a gap of {count(gap, 'point')} at a teacher score of {score:g} needs more than "
                    f"{count(MAX_EXAMPLES, 'eval example')} per stratum to test (P2.3); use at least "
                    f"{count(narrowest_gap_points(score), 'point')}",
                )

    @model_validator(mode="after")
    def _cross(self, info: ValidationInfo) -> "Spec":
        if self.milestones:
            total = sum(m.payment_share for m in self.milestones)
            if abs(total - 1.0) > 1e-6:
                _problem(info, "milestones", f"payment shares must sum to 1 (they sum to {total:g})")
            for i, m in enumerate(self.milestones):
                if m.due < self.project.start:
                    _problem(info, f"milestones.{i}.due", f"is before project.start ({self.project.start})")
        if self.eval.max_stratum_gap_points is not None and self.eval.strata_field is None:
            _problem(info, "eval.max_stratum_gap_points", "needs eval.strata_field")
        if self.eval.teacher_score_by_stratum is not None and self.eval.strata_field is None:
            _problem(info, "eval.teacher_score_by_stratum", "needs eval.strata_field")
        self._check_resolvable_gaps(info)
        if self.workload.teacher_not_permitted is not None and self.routing.mode == "cache":
            _problem(
                info,
                "routing.mode",
                f'"cache" sends traffic the student is unsure of to the teacher, which '
                f"workload.teacher_not_permitted ({self.workload.teacher_not_permitted}) forbids",
            )
        for key in ("p95_ttft_ms", "p95_tpot_ms"):
            if getattr(self.teacher, key) is not None and getattr(self.workload, key) is None:
                _problem(info, f"teacher.{key}", f"needs the target it is compared with: workload.{key}")
        pol = self.policy
        if pol.payback_accept_under_months > pol.payback_refuse_over_months:
            _problem(
                info,
                "policy.payback_accept_under_months",
                f"must not be above policy.payback_refuse_over_months ({pol.payback_refuse_over_months:g})",
            )
        for name in sorted(type(pol).model_fields):
            band = getattr(pol, name)
            if "share" in name and isinstance(band, tuple) and not all(0 <= x <= 1 for x in band):
                _problem(info, f"policy.{name}", f"a share is between 0 and 1 (got [{band[0]:g}, {band[1]:g}])")
        structural = pol.volume_structural_tokens_per_month
        if pol.volume_floor_tokens_per_month > structural:
            _problem(
                info,
                "policy.volume_floor_tokens_per_month",
                f"must not be above policy.volume_structural_tokens_per_month ({structural:g})",
            )
        return self


def json_schema() -> dict[str, Any]:
    """JSON Schema of ``distill.toml`` (for editors and ``check-jsonschema``)."""
    schema = Spec.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "distill.toml"
    return schema
