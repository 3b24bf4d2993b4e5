"""``build_plan(spec, inputs) -> Plan``: pure (no I/O, no clock), so the same spec always
gives the same plan. :func:`plan_for_file` gathers the inputs at the edge (the student's
architecture, the eval lock state) and calls it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillplan.catalogs.gpus import RATE_KIND, Gpu, load_gpus
from distillplan.catalogs.prices import PriceBook, TeacherPrice, price_book
from distillplan.errors import DistillError, LockError
from distillplan.evalset.accept import load_spec_eval
from distillplan.evalset.baseline import baseline_drift
from distillplan.evalset.fingerprint import verify_eval
from distillplan.evalset.lockfile import LOCK_VERSION, Baseline, read_lock
from distillplan.evalset.pilot import score_pilot
from distillplan.evalset.samplesize import SAMPLE_SIZE_METHOD, required_examples
from distillplan.plan import economics as eco
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
from distillplan.sizing.architecture import Architecture, load_architecture
from distillplan.sizing.finetune import TrainingSizing, size_training, training_recipe
from distillplan.sizing.serving import ServingSizing
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


def teacher_prices_of(spec: Spec) -> tuple[Prices, TeacherPrice | None, str]:
    """(prices as billed, the price book's entry they come from or None, source): the spec's
    pins win over the book; the entry is the teacher's, or its successor's when the teacher
    leaves its vendor's API before go-live (:func:`successor_of`)."""
    t = spec.teacher
    entry = teacher_entry(spec)
    share = spec.workload.cached_input_share
    successor = successor_of(spec, entry)
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


def book_of(spec: Spec) -> PriceBook:
    """The price book pricing ``spec``: its repository's ``.distillplan/prices.toml`` over the
    bundled book (docs/prices.md)."""
    return price_book(spec.prices_root)


def teacher_entry(spec: Spec) -> TeacherPrice | None:
    """The teacher's own price-book entry (None for prices given only in the spec)."""
    return book_of(spec).get(spec.teacher.model) if spec.teacher.model else None


def successor_of(spec: Spec, entry: TeacherPrice | None) -> TeacherPrice | None:
    """The price-book model that bills the workload instead of the teacher, when the teacher
    leaves its vendor's API by go-live and ``[teacher] successor`` (or the price book) names
    one; None otherwise (P6.1)."""
    if entry is None or not retires_before_go_live(entry, go_live_of(spec)):
        return None
    name = spec.teacher.successor or entry.successor
    return book_of(spec).get(name) if name else None


def teacher_of(spec: Spec) -> TeacherOut:
    return _teacher_out(spec, *teacher_prices_of(spec))


def _teacher_out(spec: Spec, prices: Prices, entry: TeacherPrice | None, source: str) -> TeacherOut:
    input_pinned = spec.teacher.usd_per_mtok_input is not None and spec.teacher.usd_per_mtok_output is not None
    own = teacher_entry(spec)
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
    prices, entry, source = teacher_prices_of(spec)
    teacher = _teacher_out(spec, prices, entry, source)
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
        teacher=teacher_entry(spec),
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
        entry=teacher_entry(spec),
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
        sizing=_sizing_out(spec, gpu, rate, now.serving, training, training_tokens),
        eval=EvalOut(
            datasets=list(e.datasets),
            locked=inputs.eval_state.locked,
            lock_hash=inputs.eval_state.lock_hash,
            required_examples_per_stratum=required,
            required_examples_by_stratum=core.required_by,
            expected_gap_points=None if (gap := expected_gap(spec, inputs.eval_state)) is None else gap[0],
            expected_gap_source=None if gap is None else gap[1],
            min_examples=e.min_examples
            if e.min_examples is not None
            else _required(e.teacher_score, e.max_gap_points) or 0,
            sample_size_method=SAMPLE_SIZE_METHOD,
            examples_per_stratum=dict(inputs.eval_state.examples_per_stratum),
        ),
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


def _sizing_out(spec: Spec, gpu: Gpu, rate: float, s: ServingSizing, t: TrainingSizing, tokens: float) -> SizingOut:
    """The serving and training sizings as the plan shows them (same field names)."""
    serving = {k: v for k, v in dataclasses.asdict(s).items() if k in SizingOut.model_fields and k != "gpu"}
    training = {k: v for k, v in dataclasses.asdict(t).items() if k in TrainingOut.model_fields}
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
    return SizingOut(
        base_model=st.base_model,
        gpu=gpu.key,
        gpu_name=gpu.name,
        gpu_product_label=gpu.k8s_product_label,
        usd_per_gpu_hour=rate,
        gpu_price_as_of="(distill.toml)" if spec.hardware.usd_per_gpu_hour else gpu.as_of,
        gpu_price_basis=_gpu_price_basis(spec, gpu),
        **serving,
        pod_memory_gib=math.ceil(s.weights_gib + a.serving_host_memory_overhead_gib),
        pod_cpus=a.serving_cpus,
        training=TrainingOut(
            training_tokens=tokens,
            **{**training, "notes": list(t.notes)},
            recipe=RecipeOut(**dataclasses.asdict(recipe)),
        ),
    )


# ----------------------------------------------------------------------------- the edge


def eval_state_for(spec: Spec, spec_dir: Path) -> EvalState:
    """Read the eval set's lock state from disk (the only I/O of planning). The set is read with
    the loader ``accept`` uses, so a set it would refuse is reported here, at its file and line."""
    missing = tuple(d for d in spec.eval.datasets if not (spec_dir / d).is_file())
    counts, problem, pilot = ((), "", None) if missing else _read_set(spec, spec_dir)
    try:
        lock = read_lock(spec_dir)
    except LockError as e:
        return EvalState(files_missing=missing, changes=(str(e),), data_problem=problem, pilot=pilot)
    if lock is None or lock.eval is None:
        return EvalState(files_missing=missing, data_problem=problem, pilot=pilot)
    try:
        changes = verify_eval(spec_dir, lock, list(spec.eval.datasets))
    except LockError as e:
        return EvalState(files_missing=missing, changes=(str(e),), data_problem=problem, pilot=pilot)
    terms = (
        ["the lock records no teacher baseline (run `distillplan lock`)"]
        if lock.eval.baseline is None
        else [f"{d} (re-lock with --reason)" for d in baseline_drift(spec.eval, lock.eval.baseline)]
    )
    if lock.version < LOCK_VERSION:
        terms.append(f"a version {lock.version} lock does not bind the contract's terms (re-lock with --reason)")
    return EvalState(
        files_missing=missing,
        locked=True,
        lock_hash=lock.eval.hash,
        changes=tuple(f"{c.kind} {c.path}" for c in changes) + tuple(terms),
        examples_per_stratum=counts,
        data_problem=problem,
        pilot=pilot,
    )


_COUNT_LIMIT_BYTES = 64 * 2**20


def _read_set(spec: Spec, spec_dir: Path) -> tuple[tuple[tuple[str, int], ...], str, tuple[int, float] | None]:
    """Examples per stratum, the first problem ``accept`` would refuse the set for (``""``:
    none), and the pilot's (examples, score) when ``[eval] pilot_predictions`` is given. The
    counts are skipped above 64 MiB to keep `plan` fast (``lock`` always reads the whole set);
    a pilot is always scored. A pilot that cannot be read is an error at its file and line."""
    e = spec.eval
    paths = [spec_dir / d for d in e.datasets]
    big = sum(p.stat().st_size for p in paths) > _COUNT_LIMIT_BYTES
    if big and e.pilot_predictions is None:
        return (), "", None
    try:
        rows = load_spec_eval(e, spec_dir)
    except DistillError as err:
        return (), str(err), None
    pilot = None
    if e.pilot_predictions is not None:
        pilot = score_pilot(
            rows,
            spec_dir / e.pilot_predictions,
            display_path=e.pilot_predictions,
            metric=e.metric,
            id_field=e.id_field,
        )
    if big:
        return (), "", pilot
    counts: dict[str, int] = {}
    for r in rows:
        key = r.stratum if e.strata_field and r.stratum is not None else "all"
        counts[key] = counts.get(key, 0) + 1
    return tuple(sorted(counts.items())), "", pilot


def plan_for_file(sf: Any, *, eval_state: EvalState | None = None) -> Plan:
    """Gather the inputs of the spec file ``sf`` (a :class:`~distillplan.spec.load.SpecFile`) and plan."""
    arch = load_architecture(sf.spec.student.base_model, base_dir=sf.dir)
    state = eval_state if eval_state is not None else eval_state_for(sf.spec, sf.dir)
    return build_plan(sf.spec, PlanInputs(architecture=arch, eval_state=state, baseline=locked_baseline(sf.dir)))


def locked_baseline(spec_dir: Path) -> Baseline | None:
    """The teacher baseline fixed in ``distill.lock`` (None: no lock, none recorded, or a lock
    that cannot be read, which :func:`eval_state_for` reports)."""
    try:
        lock = read_lock(spec_dir)
    except LockError:
        return None
    return lock.eval.baseline if lock is not None and lock.eval is not None else None


def _gap(spec: Spec, baseline: Baseline | None) -> Gap:
    """The contract's quality terms: once locked, the lock's teacher score and threshold (the ones
    ``accept`` compares with), else the spec's; the overall bar is the higher of that threshold and
    the absolute floor ``[eval] min_score``."""
    e = spec.eval
    threshold_now = baseline.threshold if baseline else round(e.teacher_score - e.max_gap_points / 100, 10)
    return Gap(
        metric=e.metric,
        teacher_score=baseline.teacher_score if baseline else e.teacher_score,
        allowed_points=e.max_gap_points,
        acceptance_threshold=threshold_now,
        min_score=e.min_score,
        contract_threshold=max(threshold_now, e.min_score or 0.0),
        baseline_source=baseline.source if baseline else "spec-unlocked",
        stratum_bound_points=e.max_stratum_gap_points,
        system_gap_points=0.0 if spec.routing.mode == "cache" else e.max_gap_points,
    )
