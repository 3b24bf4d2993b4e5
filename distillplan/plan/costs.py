"""Cost lines: the frontier bill (P6.1), the student's operating lines (P8), the project
lines (P4). Each line carries its formula and basis so a reader can redo the sum."""

from __future__ import annotations

from dataclasses import dataclass, replace

from pydantic import BaseModel, ConfigDict

from distillplan.spec.models import Spec
from distillplan.spec.policy import Policy, band_value
from distillplan.spec.registry import PROJECT_LINES
from distillplan.text import count, usd

HOURS_NOTE = "h/month"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CostLine(_Frozen):
    """A monthly operating line of the student."""

    name: str
    label: str
    usd: float
    formula: str
    basis: str
    pinned: bool


class ProjectLine(_Frozen):
    """A one-off project line (P4) with its band and how its value was chosen."""

    name: str
    label: str
    low_usd: float
    high_usd: float
    usd: float
    basis: str
    source: str  # "estimate" | "override" | "driver"
    in_band: bool


@dataclass(frozen=True)
class Volume:
    """Monthly volume in both forms, derived once from ``[workload]``."""

    requests_per_month: float
    input_tokens_per_month: float
    output_tokens_per_month: float
    input_tokens_per_request: int
    output_tokens_per_request: int
    request_shape_assumed: bool

    @property
    def tokens_per_month(self) -> float:
        return self.input_tokens_per_month + self.output_tokens_per_month

    def scaled(self, factor: float) -> Volume:
        return Volume(
            self.requests_per_month * factor,
            self.input_tokens_per_month * factor,
            self.output_tokens_per_month * factor,
            self.input_tokens_per_request,
            self.output_tokens_per_request,
            self.request_shape_assumed,
        )


#: Request shape assumed when the volume is given as tokens per month without one.
DEFAULT_REQUEST_TOKENS = 1_000


def volume_of(spec: Spec) -> Volume:
    w = spec.workload
    if w.requests_per_month is not None:
        assert w.input_tokens_per_request is not None and w.output_tokens_per_request is not None
        r = float(w.requests_per_month)
        return Volume(
            r,
            r * w.input_tokens_per_request,
            r * w.output_tokens_per_request,
            w.input_tokens_per_request,
            w.output_tokens_per_request,
            False,
        )
    assert w.tokens_per_month is not None and w.input_share is not None
    tin = w.tokens_per_month * w.input_share
    tout = w.tokens_per_month - tin
    if w.input_tokens_per_request is not None and w.output_tokens_per_request is not None:
        i, o, assumed = w.input_tokens_per_request, w.output_tokens_per_request, False
    else:
        i = max(1, round(DEFAULT_REQUEST_TOKENS * w.input_share))
        o, assumed = max(1, DEFAULT_REQUEST_TOKENS - i), True
    return Volume(w.tokens_per_month / (i + o), tin, tout, i, o, assumed)


@dataclass(frozen=True)
class Prices:
    """The teacher's prices as billed: a ``cached_input_share`` of the input tokens are
    prompt-cache hits at ``usd_per_mtok_cached_input`` (P6.1 with caching); the batch API
    takes ``batch_discount`` off input and output."""

    usd_per_mtok_input: float
    usd_per_mtok_output: float
    usd_per_mtok_cached_input: float | None = None
    cached_input_share: float = 0.0
    batch_discount: float = 0.0

    @property
    def usd_per_mtok_input_effective(self) -> float:
        """The input price averaged over cache hits and misses."""
        cached = self.usd_per_mtok_input if self.usd_per_mtok_cached_input is None else self.usd_per_mtok_cached_input
        return (1 - self.cached_input_share) * self.usd_per_mtok_input + self.cached_input_share * cached

    def bill(self, input_tokens: float, output_tokens: float) -> float:
        return (input_tokens * self.usd_per_mtok_input_effective + output_tokens * self.usd_per_mtok_output) / 1e6

    def scaled(self, factor: float) -> Prices:
        """Every price times ``factor`` (what-if: the teacher's price moves)."""
        cached = None if self.usd_per_mtok_cached_input is None else self.usd_per_mtok_cached_input * factor
        return replace(
            self,
            usd_per_mtok_input=self.usd_per_mtok_input * factor,
            usd_per_mtok_output=self.usd_per_mtok_output * factor,
            usd_per_mtok_cached_input=cached,
        )

    def batch(self) -> Prices:
        """The batch tier: ``batch_discount`` off every price, caching as live."""
        return self.scaled(1 - self.batch_discount)


def student_lines(
    spec: Spec,
    policy: Policy,
    *,
    frontier_usd: float,
    gpus: int,
    usd_per_gpu_hour: float,
) -> list[CostLine]:
    """The student's monthly operating lines (P8), each pinnable under ``[operations]``."""
    ops, hw, est = spec.operations, spec.hardware, spec.budget.estimate
    share = spec.routing.student_share if spec.routing.mode == "cache" else 1.0
    assert share is not None
    lines: list[CostLine] = []
    if ops.gpu_hosting_usd_per_month is not None:
        lines.append(
            CostLine(
                name="gpu_hosting",
                label="GPU hosting",
                usd=ops.gpu_hosting_usd_per_month,
                formula="pinned",
                basis="[operations] gpu_hosting_usd_per_month",
                pinned=True,
            )
        )
    else:
        hosting = gpus * usd_per_gpu_hour * hw.hours_per_month
        lines.append(
            CostLine(
                name="gpu_hosting",
                label="GPU hosting",
                usd=hosting,
                formula=f"{count(gpus, 'GPU')} x {usd(usd_per_gpu_hour, 2)}/h x {hw.hours_per_month:g} {HOURS_NOTE}",
                basis=f"{hw.gpu}; GPU count from sizing" + (" (replicas pinned)" if hw.replicas else ""),
                pinned=hw.replicas is not None,
            )
        )
    obs = ops.observability_usd_per_month
    lines.append(
        CostLine(
            name="observability",
            label="Observability and drift detection",
            usd=obs if obs is not None else policy.observability_usd_per_month,
            formula="pinned" if obs is not None else "policy default",
            basis="[operations] observability_usd_per_month"
            if obs is not None
            else "distillplan default; P8 puts drift detection in the observability stack",
            pinned=obs is not None,
        )
    )
    if ops.teacher_on_sample_usd_per_month is not None:
        tos, formula, basis, pinned = ops.teacher_on_sample_usd_per_month, "pinned", "[operations]", True
    elif ops.teacher_sample_share is not None:
        tos = ops.teacher_sample_share * frontier_usd * share
        formula = f"{ops.teacher_sample_share:.1%} of student traffic x teacher price"
        basis, pinned = "P8 weekly teacher-on-sample, from [operations] teacher_sample_share", False
    else:
        band = policy.teacher_on_sample_usd_per_month
        tos, formula, pinned = band_value(band, est), f"{est} of {usd(band[0])}-{usd(band[1])}", False
        basis = "P8 weekly teacher-on-sample re-evaluation band"
    lines.append(
        CostLine(
            name="teacher_on_sample",
            label="Teacher-on-sample re-evaluation",
            usd=tos,
            formula=formula,
            basis=basis,
            pinned=pinned,
        )
    )
    if ops.redistillation_usd_per_year is not None:
        yearly, formula, pinned = ops.redistillation_usd_per_year, "pinned / 12", True
        basis = "[operations] redistillation_usd_per_year"
    else:
        band = policy.redistillation_usd_per_year
        yearly, pinned = band_value(band, est), False
        formula = f"{est} of {usd(band[0])}-{usd(band[1])} a year / 12"
        basis = "P8 annual re-distillation cycle (P8.1: a new teacher every 3-9 months)"
    lines.append(
        CostLine(
            name="redistillation_reserve",
            label="Re-distillation reserve",
            usd=yearly / 12,
            formula=formula,
            basis=basis,
            pinned=pinned,
        )
    )
    if spec.routing.mode == "cache":
        lines.append(
            CostLine(
                name="teacher_fallback",
                label="Teacher fallback (cache routing)",
                usd=(1 - share) * frontier_usd,
                formula=f"{1 - share:.0%} of traffic x teacher price",
                basis="P5.3 cache-and-router: the teacher answers what the router does not send to the student",
                pinned=False,
            )
        )
    return lines


def project_lines(
    spec: Spec,
    policy: Policy,
    *,
    teacher: Prices,
    fine_tune_usd: float | None,
    fine_tune_formula: str,
    estimate: str | None = None,
) -> list[ProjectLine]:
    """The six P4 lines: an override wins, then a driver, then the band at ``estimate``."""
    est = estimate or spec.budget.estimate
    bands = policy.project_bands_usd
    overrides = spec.budget.override_usd
    drivers: dict[str, tuple[float, str]] = {}
    st = spec.student
    if st.training_examples is not None:
        per = st.tokens_per_example
        vol = volume_of(spec)
        if per is None:
            tin, tout = vol.input_tokens_per_request, vol.output_tokens_per_request
        else:
            share = vol.input_tokens_per_request / (vol.input_tokens_per_request + vol.output_tokens_per_request)
            tin, tout = round(per * share), per - round(per * share)
        batch = spec.teacher_data.batch and teacher.batch_discount > 0
        priced = teacher.batch() if batch else teacher
        cost = priced.bill(st.training_examples * tin, st.training_examples * tout)
        tier = f"batch prices ({teacher.batch_discount:.0%} off)" if batch else "live prices"
        if teacher.cached_input_share and teacher.usd_per_mtok_cached_input is not None:
            # the examples share the workload's prompt prefix, so the cache hits as in production
            tier += f", {teacher.cached_input_share:.0%} of input tokens as cache hits"
        drivers["teacher_inference"] = (
            cost,
            f"driver: {count(st.training_examples, 'example')} x ({tin:,} in + {tout:,} out tokens) at teacher {tier}",
        )
    if spec.budget.human_label_hours is not None and spec.budget.usd_per_label_hour is not None:
        drivers["human_validation"] = (
            spec.budget.human_label_hours * spec.budget.usd_per_label_hour,
            f"driver: {spec.budget.human_label_hours:,g} h x {usd(spec.budget.usd_per_label_hour, 2)}/h",
        )
    if fine_tune_usd is not None:
        drivers["fine_tune_compute"] = (fine_tune_usd, f"driver: {fine_tune_formula}")
    lines = []
    for line in PROJECT_LINES:
        name = line.name
        low, high = getattr(bands, name)
        override = getattr(overrides, name)
        if override is not None:
            value, basis, source = override, "[budget.override_usd]", "override"
        elif name in drivers:
            value, basis = drivers[name]
            source = "driver"
        else:
            value, basis, source = band_value((low, high), est), f"P4 band, {est} estimate", "estimate"
        lines.append(
            ProjectLine(
                name=name,
                label=line.label,
                low_usd=low,
                high_usd=high,
                usd=value,
                basis=basis,
                source=source,
                in_band=low - 0.5 <= value <= high + 0.5,
            )
        )
    return lines
