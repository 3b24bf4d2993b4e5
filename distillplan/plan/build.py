"""``build_plan(spec, inputs) -> Plan``: pure (no file read, no clock), so the same spec and
inputs always give the same plan. The edge, :func:`distillplan.commands._inputs.plan_for_file`,
reads the inputs from disk (the student's architecture, the eval set's lock state, the locked
teacher baseline) and calls it; the bundled catalogs (GPUs, prices) are read once and cached."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from distillplan.catalogs.gpus import RATE_KIND, Gpu, load_gpus
from distillplan.catalogs.prices import PriceBook, TeacherPrice, teacher_prices
from distillplan.errors import LockError
from distillplan.evalset.baseline import threshold
from distillplan.evalset.lockfile import Baseline
from distillplan.evalset.samplesize import SAMPLE_SIZE_METHOD, required_examples
from distillplan.plan import economics as eco
from distillplan.plan.contract import contract_of, thresholds_of
from distillplan.plan.costs import (
    Prices,
    ProjectLine,
    Volume,
    project_lines,
    volume_of,
)
from distillplan.plan.decision import (
    EvalState,
    Verdict,
    decide,
    expected_gap,
    go_live_of,
    infeasible_reason,
    retires_before_go_live,
    strata_short,
)
from distillplan.plan.model import (
    Costs,
    EvalOut,
    FinanceOut,
    Gap,
    Plan,
    RecipeOut,
    Sensitivity,
    SizingOut,
    SpecInfo,
    TeacherOut,
    TrainingOut,
    VolumeOut,
)
from distillplan.plan.student import student_out
from distillplan.plan.whatif import VOLUME_FACTORS, Month, Scenario, month, share
from distillplan.sizing.architecture import Architecture
from distillplan.sizing.finetune import TrainingSizing, machines_for, size_training, training_recipe
from distillplan.sizing.serving import ServingSizing, eval_generation_budget
from distillplan.spec.evalsize import MAX_EXAMPLES
from distillplan.spec.models import Eval, Spec
from distillplan.text import count, usd

FORMAT_VERSION = 2  # 2: break_even_tokens_per_month became zero_saving_ and refuse_line_tokens_per_month


@dataclass(frozen=True)
class PlanInputs:
    """Everything ``build_plan`` needs besides the spec, gathered at the edge."""

    architecture: Architecture
    eval_state: EvalState
    #: The teacher baseline fixed in distill.lock (what ``accept`` compares with); when present, the
    #: plan's gap carries its teacher score and threshold, so every document states the locked ones.
    baseline: Baseline | None = None
    #: The price book pricing the spec: its repository's ``.distillplan/prices.toml`` over the
    #: bundled book, read at the edge (:func:`distillplan.commands._inputs.book_for`); None: the
    #: bundled book alone (docs/prices.md).
    book: PriceBook | None = None


def teacher_prices_of(spec: Spec, book: PriceBook | None = None) -> tuple[Prices, TeacherPrice | None, str]:
    """(prices as billed, the price book's entry they come from or None, source): the spec's
    pins win over the book (``book``: see :attr:`PlanInputs.book`); the entry is the teacher's,
    or its successor's when the teacher leaves its vendor's API before go-live (:func:`successor_of`)."""
    t = spec.teacher
    entry = teacher_entry(spec, book)
    share = spec.workload.cached_input_share
    successor = successor_of(spec, entry, book)
    if successor is not None:  # the teacher leaves the API before go-live: the bill is its successor's (P6.1)
        entry = successor
    if entry is None:
        assert t.usd_per_mtok_input is not None and t.usd_per_mtok_output is not None
        prices = Prices(
            t.usd_per_mtok_input, t.usd_per_mtok_output, t.usd_per_mtok_cached_input, share, t.batch_discount or 0.0
        )
        return prices, None, "[teacher] in distill.toml"
    pins = (t.usd_per_mtok_input, t.usd_per_mtok_output, t.usd_per_mtok_cached_input, t.batch_discount)
    prices = Prices(
        entry.usd_per_mtok_input if t.usd_per_mtok_input is None else t.usd_per_mtok_input,
        entry.usd_per_mtok_output if t.usd_per_mtok_output is None else t.usd_per_mtok_output,
        entry.usd_per_mtok_cached_input if t.usd_per_mtok_cached_input is None else t.usd_per_mtok_cached_input,
        share,
        entry.batch_discount if t.batch_discount is None else t.batch_discount,
    )
    pinned = any(v is not None for v in pins)
    source = ("[teacher] prices in distill.toml over " if pinned else "") + f"{entry.vendor}: {entry.source}"
    if successor is not None:
        source = f"{t.model} leaves its API before go-live; priced at its successor {entry.name}: " + source
    return prices, entry, source


def book_of(book: PriceBook | None) -> PriceBook:
    """The price book in use: ``book`` as read at the edge (the repository's
    ``.distillplan/prices.toml`` over the bundled book), or the bundled book alone (docs/prices.md)."""
    return book if book is not None else teacher_prices()


def teacher_entry(spec: Spec, book: PriceBook | None = None) -> TeacherPrice | None:
    """The teacher's own price-book entry (None for prices given only in the spec)."""
    return book_of(book).get(spec.teacher.model) if spec.teacher.model else None


def successor_of(spec: Spec, entry: TeacherPrice | None, book: PriceBook | None = None) -> TeacherPrice | None:
    """The price-book model that bills the workload instead of the teacher, when the teacher
    leaves its vendor's API by go-live and ``[teacher] successor`` (or the price book) names
    one; None otherwise (P6.1)."""
    if entry is None or not retires_before_go_live(entry, go_live_of(spec)):
        return None
    name = spec.teacher.successor or entry.successor
    return book_of(book).get(name) if name else None


def teacher_of(spec: Spec, book: PriceBook | None = None) -> TeacherOut:
    return _teacher_out(spec, *teacher_prices_of(spec, book), book)


def _teacher_out(
    spec: Spec, prices: Prices, entry: TeacherPrice | None, source: str, book: PriceBook | None
) -> TeacherOut:
    input_pinned = spec.teacher.usd_per_mtok_input is not None and spec.teacher.usd_per_mtok_output is not None
    own = teacher_entry(spec, book)
    return TeacherOut(
        model=own.name if own else spec.teacher.model,
        successor=entry.name if entry is not None and own is not None and entry is not own else None,
        usd_per_mtok_input=prices.usd_per_mtok_input,
        usd_per_mtok_output=prices.usd_per_mtok_output,
        usd_per_mtok_cached_input=prices.usd_per_mtok_cached_input,
        cached_input_share=prices.cached_input_share,
        usd_per_mtok_input_effective=prices.usd_per_mtok_input_effective,
        batch_discount=prices.batch_discount,
        status=own.status if own else "current",
        shutdown=own.shutdown if own else None,
        price_source_kind="distill.toml" if entry is None or input_pinned else entry.source_kind,
        source=source,
        as_of=_read_on(spec, prices, entry),
        cached_input_basis=_cached_basis(spec, prices, entry),
        cached_input_rule=entry.cached_input_rule
        if entry is not None and spec.teacher.usd_per_mtok_cached_input is None and prices.cached_input_share > 0
        else "",
    )


def _cached_basis(spec: Spec, prices: Prices, entry: TeacherPrice | None) -> str:
    """Where the cached-input price the bill uses comes from (``none``: no cache share)."""
    if prices.cached_input_share == 0:
        return "unused"
    if spec.teacher.usd_per_mtok_cached_input is not None:
        return "distill.toml"
    return entry.cached_input_basis if entry is not None else "none"


def _read_on(spec: Spec, prices: Prices, entry: TeacherPrice | None) -> dt.date | None:
    """The oldest read date among the book prices the bill uses (the spec's pins are today's)."""
    if entry is None:
        return None
    t = spec.teacher
    pinned = {
        "usd_per_mtok_input": t.usd_per_mtok_input,
        "usd_per_mtok_output": t.usd_per_mtok_output,
        "usd_per_mtok_cached_input": t.usd_per_mtok_cached_input,
        "batch_discount": t.batch_discount,
    }
    used = [f for f, v in pinned.items() if v is None]
    if prices.cached_input_share == 0 and "usd_per_mtok_cached_input" in used:
        used.remove("usd_per_mtok_cached_input")
    days = [entry.read_on(f) for f in used]
    return min(days) if days else None


def _training(spec: Spec, arch: Architecture, gpu: Gpu, vol: Volume, rate: float) -> tuple[TrainingSizing, float]:
    st = spec.student
    per = st.tokens_per_example or (vol.input_tokens_per_request + vol.output_tokens_per_request)
    tokens = float(st.training_examples or 0) * per * st.epochs
    sizing = size_training(
        arch,
        gpu,
        method=st.method,
        lora_rank=st.lora_rank,
        training_tokens=tokens,
        assumptions=spec.policy.sizing,
        usd_per_gpu_hour=rate,
    )
    return sizing, tokens


@dataclass(frozen=True)
class PlanCore:
    """The figures of a plan at today's volume: what ``compare`` ranks candidates on.

    :func:`build_plan` starts from it and adds what needs re-runs (IRR, the named volumes,
    sensitivity, what would flip the verdict), so a ``compare`` row and the ``plan`` of the
    same spec share one code path."""

    gpu: Gpu
    rate: float
    teacher: TeacherOut
    prices: Prices
    vol: Volume
    now: Month
    training: TrainingSizing
    training_tokens: float
    project_lines: list[ProjectLine]
    project_at: Callable[[str | None, Prices], list[ProjectLine]]
    project: float
    payback: float | None
    flows: list[float]
    npv: float
    required: int | None
    required_by: dict[str, int]
    verdict: Verdict
    entry: TeacherPrice | None
    successor: TeacherPrice | None


def plan_core(spec: Spec, inputs: PlanInputs, *, gpus: Mapping[str, Gpu] | None = None) -> PlanCore:
    """The plan's figures at today's volume, pure; ``gpus`` is the catalog when the caller
    already holds it (``compare`` reads it once)."""
    policy = spec.policy
    arch = inputs.architecture
    gpu = (gpus or load_gpus())[spec.hardware.gpu]
    rate = spec.hardware.usd_per_gpu_hour or gpu.usd_per_gpu_hour
    prices, entry, source = teacher_prices_of(spec, inputs.book)
    teacher = _teacher_out(spec, prices, entry, source, inputs.book)
    vol = volume_of(spec)
    now = month(spec, arch, gpu, prices, vol, rate)
    training, training_tokens = _training(spec, arch, gpu, vol, rate)
    has_driver = spec.student.training_examples is not None
    ft_formula = (
        f"{training.gpu_hours:,.1f} GPU-h x {usd(rate, 2)}/h "
        f"({policy.sizing.sweep_runs} sweep runs, {training.gpus} x {gpu.name})"
    )

    def project_at(estimate: str | None, teacher_prices: Prices = prices) -> list[ProjectLine]:
        return project_lines(
            spec,
            policy,
            teacher=teacher_prices,
            fine_tune_usd=training.usd if has_driver else None,
            fine_tune_formula=ft_formula,
            estimate=estimate,
        )

    plines = project_at(None)
    project = sum(p.usd for p in plines)
    fin = spec.finance
    saving = now.saving
    payback = eco.payback_months(project, saving)
    flows = eco.cash_flows(
        project_usd=project, build_months=fin.build_months, monthly_saving_usd=saving, horizon_months=fin.horizon_months
    )
    e = spec.eval
    required = _required(e.teacher_score, e.max_stratum_gap_points or e.max_gap_points)
    required_by = required_by_stratum(e)
    verdict = decide(
        spec,
        policy,
        tokens_per_month=vol.tokens_per_month,
        savings_usd_per_month=saving,
        payback_months=payback,
        eval_state=inputs.eval_state,
        infeasible=infeasible_reason(now.serving, training),
        required_per_stratum=required,
        required_by_stratum=required_by,
        teacher=teacher_entry(spec, inputs.book),
        successor=entry if teacher.successor else None,
    )
    return PlanCore(
        gpu=gpu,
        rate=rate,
        teacher=teacher,
        prices=prices,
        vol=vol,
        now=now,
        training=training,
        training_tokens=training_tokens,
        project_lines=plines,
        project_at=project_at,
        project=project,
        payback=payback,
        flows=flows,
        npv=eco.npv(eco.monthly_rate(fin.discount_rate_annual), flows),
        required=required,
        required_by=required_by,
        verdict=verdict,
        entry=teacher_entry(spec, inputs.book),
        successor=entry if teacher.successor else None,
    )


def build_plan(spec: Spec, inputs: PlanInputs) -> Plan:
    """The whole plan for ``spec``; pure."""
    core = plan_core(spec, inputs)
    policy = spec.policy
    arch = inputs.architecture
    gpu, rate, teacher, prices, vol, now = core.gpu, core.rate, core.teacher, core.prices, core.vol, core.now
    training, training_tokens, project_at = core.training, core.training_tokens, core.project_at
    plines, project, payback, flows = core.project_lines, core.project, core.payback, core.flows
    required, verdict = core.required, core.verdict
    fin = spec.finance
    saving = now.saving
    frontier_cum = eco.cumulative([now.frontier] * fin.horizon_months)
    # What the distilled path costs each month: the frontier bill until go-live, then the
    # student's; plus the project spread over the build months (month 0 when there are none).
    build = max(fin.build_months, 1)
    distilled = [
        (now.frontier if m < fin.build_months else now.student) + (project / build if m < build else 0.0)
        for m in range(fin.horizon_months)
    ]
    irr = eco.irr_annual(flows)
    refuse = policy.payback_refuse_over_months
    e = spec.eval
    what = Scenario(
        spec,
        arch,
        gpu,
        prices,
        vol,
        rate,
        project_at,
        inputs.eval_state,
        required,
        training,
        core.entry,
        core.successor,
    )
    hosting = next((line.usd for line in now.student_lines if line.name == "gpu_hosting"), 0.0)
    mtok = vol.tokens_per_month / 1e6
    return Plan(
        format_version=FORMAT_VERSION,
        spec=SpecInfo(
            name=spec.project.name,
            title=spec.project.title,
            client=spec.project.client,
            provider=spec.project.provider,
            start=spec.project.start,
        ),
        verdict=verdict,
        student=student_out(spec.student.base_model, arch),
        volume=VolumeOut(
            requests_per_month=vol.requests_per_month,
            input_tokens_per_month=vol.input_tokens_per_month,
            output_tokens_per_month=vol.output_tokens_per_month,
            tokens_per_month=vol.tokens_per_month,
            input_tokens_per_request=vol.input_tokens_per_request,
            output_tokens_per_request=vol.output_tokens_per_request,
            request_shape_assumed=vol.request_shape_assumed,
            student_share=share(spec),
        ),
        teacher=teacher,
        costs=Costs(
            frontier_usd_per_month=now.frontier,
            frontier_input_usd_per_month=vol.input_tokens_per_month * prices.usd_per_mtok_input_effective / 1e6,
            frontier_output_usd_per_month=vol.output_tokens_per_month * prices.usd_per_mtok_output / 1e6,
            student_usd_per_month=now.student,
            student_lines=now.student_lines,
            savings_usd_per_month=saving,
            project_usd=project,
            project_lines=plines,
            project_band_usd=(sum(p.low_usd for p in plines), sum(p.high_usd for p in plines)),
            estimate=spec.budget.estimate,
            usd_per_mtok_before=now.frontier / mtok,
            usd_per_mtok_after=now.student / mtok,
            hardware_share_of_frontier=hosting / now.frontier if now.frontier > 0 else None,
            hardware_share_band=policy.hardware_share_of_frontier,
            routing_savings_usd_per_month=(
                now.frontier * policy.routing_savings_share[0],
                now.frontier * policy.routing_savings_share[1],
            ),
        ),
        finance=FinanceOut(
            cash_flows_usd=flows,
            cumulative_usd=eco.cumulative(flows),
            frontier_cumulative_usd=frontier_cum,
            distilled_cumulative_usd=eco.cumulative(distilled),
            payback_months=payback,
            payback_months_from_kickoff=eco.payback_from_kickoff_of(
                project_usd=project,
                build_months=fin.build_months,
                monthly_saving_usd=saving,
                horizon_months=fin.horizon_months,
            ),
            npv_usd=core.npv,
            irr_annual=irr,
            discount_rate_annual=fin.discount_rate_annual,
            horizon_months=fin.horizon_months,
            build_months=fin.build_months,
            cfo_band=eco.cfo_band(
                payback, accept_under_months=policy.payback_accept_under_months, refuse_over_months=refuse
            ),
            zero_saving_tokens_per_month=what.volume_where(0.0),
            refuse_line_tokens_per_month=what.volume_where(project / refuse),
            net_12_months_usd=eco.net_after(flows, 12) if fin.horizon_months >= 12 else None,
            net_24_months_usd=eco.net_after(flows, 24) if fin.horizon_months >= 24 else None,
            sensitivity=Sensitivity(volume_factors=list(VOLUME_FACTORS), rows=what.sensitivity()),
        ),
        gap=_gap(spec, inputs.baseline),
        sizing=_sizing_out(spec, gpu, rate, now.serving, training, training_tokens, vol),
        eval=EvalOut(
            datasets=list(e.datasets),
            locked=inputs.eval_state.locked,
            lock_hash=inputs.eval_state.lock_hash,
            required_examples_per_stratum=required,
            required_examples_by_stratum=core.required_by,
            expected_gap_points=None if (gap := expected_gap(spec, inputs.eval_state)) is None else gap[0],
            expected_gap_source=None if gap is None else gap[1],
            min_examples=_min_examples(e, inputs.baseline),
            sample_size_method=SAMPLE_SIZE_METHOD,
            examples_per_stratum=dict(inputs.eval_state.examples_per_stratum),
            strata_too_few=[k for k, _, _ in strata_short(inputs.eval_state, required, core.required_by)],
        ),
        contract=contract_of(project, spec.milestones),
        flips=what.flips(verdict.decision, project, saving),
    )


def required_by_stratum(e: Eval) -> dict[str, int]:
    """Examples each stratum needs, sized with that stratum's own teacher score and the stratum
    bound (P2.3): a stratum the teacher scores lower needs more. Empty without both."""
    if e.teacher_score_by_stratum is None or e.max_stratum_gap_points is None:
        return {}
    out = {k: _required(score, e.max_stratum_gap_points) for k, score in sorted(e.teacher_score_by_stratum.items())}
    return {k: n for k, n in out.items() if n is not None}


@functools.lru_cache(maxsize=64)
def _required(teacher_score: float, gap_points: float) -> int | None:
    """Examples per stratum (P2.3). Pure and ~6 ms (an exact binomial search), and the same for
    every candidate of a ``compare``: cached."""
    if not 0 < gap_points <= teacher_score * 100 or teacher_score >= 1:
        return None
    try:
        return required_examples(teacher_score=teacher_score, gap_points=gap_points)
    except ValueError:  # validate refuses such a gap in the spec: here the score is the lock's measured one
        raise LockError(
            f"distill.lock: the locked teacher score {teacher_score:g} with a gap of {count(gap_points, 'point')} "
            f"needs more than {count(MAX_EXAMPLES, 'eval example')} per stratum (P2.3); widen the gap and re-lock with "
            "`distillplan lock --reason TEXT`"
        ) from None


def _gpu_price_basis(spec: Spec, gpu: Gpu) -> str:
    """Where the hourly GPU rate comes from, in words a CFO can check."""
    if spec.hardware.usd_per_gpu_hour:
        return "[hardware] usd_per_gpu_hour in distill.toml"
    if not gpu.quotes:
        return f"the GPU catalog ({gpu.source})"
    rated = [q for q in gpu.quotes if q.kind == RATE_KIND]  # spot and reserved quotes are listed, not counted
    rates = sorted(q.usd_per_gpu_hour for q in rated)
    days = sorted(q.day for q in rated if q.day is not None)
    undated = len(rates) - len(days)
    return (
        f"median of {len(rates)} cloud providers' on-demand quotes "
        f"({usd(rates[0], 2)}-{usd(rates[-1], 2)} per GPU-hour, "
        f"read {days[0].isoformat()} to {days[-1].isoformat()}{f', {undated} undated' if undated else ''}; "
        "`distillplan catalog` lists them)"
    )


#: Sizing fields the plan states elsewhere: ``gpu`` (the plan's ``sizing.gpu`` is the catalog key,
#: the sizings' the GPU's name: ``sizing.gpu_name``) and the training's ``parameters`` (the same
#: count as ``sizing.parameters``). Every other field of the sizing dataclasses is a field of the
#: plan's model with the same name: :func:`_fields` fails on one that is not.
_STATED_ELSEWHERE = {"ServingSizing": {"gpu"}, "TrainingSizing": {"gpu", "parameters"}}


def _fields(obj: Any, model: type[BaseModel]) -> dict[str, Any]:
    """A sizing dataclass's fields as the plan model's keyword arguments: every field, by name,
    except those :data:`_STATED_ELSEWHERE`; a field the model does not declare is an error, never
    dropped (one representation of each sizing figure)."""
    omit = _STATED_ELSEWHERE[type(obj).__name__]
    values = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.name not in omit}
    unknown = sorted(set(values) - set(model.model_fields))
    if unknown:
        raise TypeError(f"{type(obj).__name__} fields not in {model.__name__}: {', '.join(unknown)}")
    return values


def training_layout(gpus: int) -> dict[str, Any]:
    """How a training job of ``gpus`` GPUs is laid out: FSDP for every method on more than one GPU
    (a LoRA base too large for one GPU is too large for each GPU of plain data parallelism), the
    machines it spans and the GPUs on each."""
    machines = machines_for(gpus)
    return {"fsdp": gpus > 1, "machines": machines, "gpus_per_machine": gpus // machines}


#: NVIDIA GPU feature-discovery `nvidia.com/gpu.product` values of the PCIe card beside each SXM catalog
#: label: the Deployment's node affinity accepts either form factor (the sizing holds within a few percent).
PCIE_PRODUCT_LABELS = {
    "NVIDIA-A100-SXM4-40GB": "NVIDIA-A100-PCIE-40GB",
    "NVIDIA-A100-SXM4-80GB": "NVIDIA-A100-80GB-PCIe",
    "NVIDIA-H100-80GB-HBM3": "NVIDIA-H100-PCIe",
}


def _sizing_out(
    spec: Spec, gpu: Gpu, rate: float, s: ServingSizing, t: TrainingSizing, tokens: float, vol: Volume
) -> SizingOut:
    """The serving and training sizings as the plan shows them (same field names)."""
    st, a = spec.student, spec.policy.sizing
    recipe = training_recipe(
        method=st.method,
        parameters=t.parameters,
        gpus=t.gpus,
        examples=st.training_examples,
        epochs=st.epochs,
        lora_rank=st.lora_rank,
        a=a,
    )
    training = _fields(t, TrainingOut)
    product = gpu.k8s_product_label
    return SizingOut(
        base_model=st.base_model,
        gpu=gpu.key,
        gpu_name=gpu.name,
        gpu_product_label=product,
        usd_per_gpu_hour=rate,
        gpu_price_as_of="(distill.toml)" if spec.hardware.usd_per_gpu_hour else gpu.as_of,
        gpu_price_basis=_gpu_price_basis(spec, gpu),
        **_fields(s, SizingOut),
        pod_memory_gib=math.ceil(s.weights_gib + a.serving_host_memory_overhead_gib),
        pod_cpus=a.serving_cpus,
        eval_max_gen_tokens=eval_generation_budget(
            vol.input_tokens_per_request, vol.output_tokens_per_request, s.max_model_len
        ),
        gpu_products=[product] + ([PCIE_PRODUCT_LABELS[product]] if product in PCIE_PRODUCT_LABELS else []),
        model_volume_gib=spec.serving.model_volume_gib or max(20, math.ceil(2 * s.weights_gib)),
        training=TrainingOut(
            training_tokens=tokens,
            **{**training, "notes": list(t.notes)},
            recipe=RecipeOut(**dataclasses.asdict(recipe)),
            tokens_per_example=st.tokens_per_example or vol.input_tokens_per_request + vol.output_tokens_per_request,
            **training_layout(t.gpus),
        ),
    )


def _gap(spec: Spec, baseline: Baseline | None) -> Gap:
    """The contract's quality terms: once locked, every term is the lock's (the metric, the teacher
    score, the gap and stratum bounds, the threshold, the floor: what ``accept`` compares with, even
    when the spec has drifted from them, which the verdict's eval-locked check reports), else the
    spec's; the overall bar is the higher of that threshold and the absolute floor ``min_score``."""
    e = spec.eval
    metric: str
    if baseline is None:
        metric, teacher, allowed, bound, floor = (
            e.metric,
            e.teacher_score,
            e.max_gap_points,
            e.max_stratum_gap_points,
            e.min_score,
        )
        threshold_now = threshold(e.teacher_score, e.max_gap_points)
    else:
        metric, teacher, allowed, bound, floor = (
            baseline.metric,
            baseline.teacher_score,
            baseline.max_gap_points,
            baseline.max_stratum_gap_points,
            baseline.min_score,
        )
        threshold_now = baseline.threshold
    return Gap(
        metric=metric,
        teacher_score=teacher,
        allowed_points=allowed,
        acceptance_threshold=threshold_now,
        min_score=floor,
        contract_threshold=max(threshold_now, floor or 0.0),
        baseline_source=baseline.source if baseline else "spec-unlocked",
        stratum_bound_points=bound,
        system_gap_points=0.0 if spec.routing.mode == "cache" else allowed,
        thresholds=thresholds_of(e, baseline),
        teacher_predictions=baseline.teacher_predictions if baseline else "",
        teacher_predictions_sha256=baseline.teacher_predictions_sha256 if baseline else "",
    )


def _min_examples(e: Eval, baseline: Baseline | None) -> int:
    """The fewest examples ``accept`` decides on: the lock's once locked (0 for a lock written
    before the term existed: no minimum), else ``[eval] min_examples``, else the sample size the
    overall terms need (P2.3); 0: none."""
    if baseline is not None:
        return baseline.min_examples or 0
    if e.min_examples is not None:
        return e.min_examples
    return _required(e.teacher_score, e.max_gap_points) or 0
