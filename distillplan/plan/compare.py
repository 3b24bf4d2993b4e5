"""``compare``: every candidate (student x serving precision x GPU x fine-tuning method) planned
and ranked by payback.

A candidate's row is :func:`~distillplan.plan.build.plan_core` of the spec with the candidate
substituted (``student.base_model``, ``student.serving_precision``, ``student.method``,
``hardware.gpu``; every other key as written), so it is exactly what ``distillplan plan`` gives
for that spec. What does not change between candidates is built once: the parsed spec, the
eval lock state, one architecture per student, the GPU catalog.

Ranking (docs/students.md): feasible rows first; infeasible rows (the student does not fit the
GPU for serving or training, or the latency target cannot be met) last, with the reason. Among
the feasible, quality before money:

1. a base the catalog marks superseded (a newer base of the same line is bundled) ranks after
   every base that is not, unless a pilot (or a stated expected gap) measures it;
2. then by quality tier: a base measured by a pilot (or a stated expected gap) within the
   contracted gap is tier 0; otherwise its published quality prior (``data/students.toml``
   ``quality_prior``, MMLU 5-shot) against the best prior among the feasible rows, in steps of
   :data:`QUALITY_TIER_POINTS`: within that many points of the best is tier 0, the next band
   tier 1, and so on; a base with neither (a local folder without a pilot), or whose pilot
   misses the contracted gap, after every tier;
3. then by payback (no payback after every figure), ties by NPV (higher first), then by axis
   order.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from distillplan.catalogs.gpus import Gpu, load_gpus
from distillplan.catalogs.prices import PriceBook
from distillplan.catalogs.students import STUDENT_FILES
from distillplan.plan.build import PlanCore, PlanInputs, plan_core
from distillplan.plan.decision import EvalState, expected_gap, infeasible_reason
from distillplan.plan.model import SpecInfo
from distillplan.plan.student import facts_of
from distillplan.progress import progress
from distillplan.sizing.architecture import Architecture
from distillplan.spec.models import Spec
from distillplan.spec.registry import METHODS, PRECISIONS, Method, Precision
from distillplan.text import json_round

__all__ = [
    "FORMAT_VERSION",
    "Axes",
    "Candidate",
    "CompareRow",
    "Comparison",
    "axes_of",
    "candidate_spec",
    "compare",
    "row_of",
    "with_tiers",
]

FORMAT_VERSION = 1
#: Width of a quality tier, in MMLU points: published MMLU figures of one model move by a few
#: points between harnesses and prompt formats, so bases closer than this are not ranked apart
#: on it; cost decides between them.
QUALITY_TIER_POINTS = 5.0
_STUDENTS_LOWER = {name.lower(): name for name in STUDENT_FILES}


@dataclass(frozen=True)
class Candidate:
    student: str
    precision: Precision
    gpu: str
    method: Method


class Axes(BaseModel):
    """The swept values of each axis, in order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    students: list[str]
    precisions: list[Precision]
    gpus: list[str]
    methods: list[Method]


def _canonical(student: str) -> str:
    """A catalog hub id in its catalog spelling; a local folder as written."""
    return _STUDENTS_LOWER.get(student.lower(), student)


def axes_of(
    spec: Spec,
    *,
    students: Sequence[str] = (),
    precisions: Sequence[Precision] = (),
    gpus: Sequence[str] = (),
    methods: Sequence[Method] = (),
) -> Axes:
    """The axes: the command's values where given, else ``[compare]``'s, else the whole catalog."""
    c = spec.compare
    chosen_students = list(students) or c.students or list(STUDENT_FILES)
    return Axes(
        students=list(dict.fromkeys(_canonical(s) for s in chosen_students)),
        precisions=list(dict.fromkeys(precisions)) or c.precisions or list(PRECISIONS),
        gpus=list(dict.fromkeys(gpus)) or c.gpus or list(load_gpus()),
        methods=list(dict.fromkeys(methods)) or c.methods or list(METHODS),
    )


def own_candidate(spec: Spec) -> Candidate:
    st = spec.student
    return Candidate(_canonical(st.base_model), st.serving_precision, spec.hardware.gpu, st.method)


def candidates(spec: Spec, axes: Axes) -> list[Candidate]:
    """Every combination of the axes, and the spec's own configuration when the axes miss it."""
    out = [Candidate(*c) for c in itertools.product(axes.students, axes.precisions, axes.gpus, axes.methods)]
    own = own_candidate(spec)
    return out if own in out else [*out, own]


def candidate_spec(spec: Spec, c: Candidate) -> Spec:
    """``spec`` with the candidate substituted; every other key as written. The values were
    validated when the axes were read, so the copy is not validated again."""
    student = spec.student.model_copy(
        update={"base_model": c.student, "serving_precision": c.precision, "method": c.method}
    )
    hardware = spec.hardware.model_copy(update={"gpu": c.gpu})
    return spec.model_copy(update={"student": student, "hardware": hardware})


class CompareRow(BaseModel):
    """One candidate: where it ranks, whether it fits, what it costs and pays back."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rank: int
    student: str
    precision: Precision
    gpu: str
    method: Method
    is_spec: bool
    feasible: bool
    reason: str
    replicas: int
    tensor_parallel_size: int
    gpus_total: int
    replicas_bound: str
    ttft_p95_ms: float | None
    tpot_p95_ms: float | None
    latency_target_met: bool | None
    training_gpus: int
    student_usd_per_month: float
    savings_usd_per_month: float
    project_usd: float
    payback_months: float | None
    npv_usd: float
    decision: str
    expected_gap_points: float | None
    quality_basis: str
    quality_prior: float | None
    quality_tier: int | None
    superseded_by: str | None


class Comparison(BaseModel):
    """The versioned JSON form of ``distillplan compare`` (documented in ``docs/compare-json.md``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format_version: int
    kind: str
    spec: SpecInfo
    axes: Axes
    latency_target_p95_ttft_ms: float | None
    latency_target_p95_tpot_ms: float | None
    pinned: list[str]
    rows: list[CompareRow]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = json_round(self.model_dump(mode="json"))
        return data

    @property
    def own(self) -> CompareRow:
        return next(r for r in self.rows if r.is_spec)


def row_of(
    c: Candidate,
    core: PlanCore,
    *,
    is_spec: bool,
    expected_gap: tuple[float, str] | None = None,
    max_gap_points: float | None = None,
) -> CompareRow:
    """The row of one candidate from its plan core (rank 0 and quality tier unset until ranked).
    ``expected_gap`` is the pilot's or stated gap of this candidate's base, if any."""
    s = core.now.serving
    reason = infeasible_reason(core.now.serving, core.training)
    facts = facts_of(c.student)
    if expected_gap is not None:
        basis = "pilot" if expected_gap[1].startswith("pilot") else "stated gap"
    else:
        basis = "prior" if facts is not None else "none"
    missed = expected_gap is not None and max_gap_points is not None and expected_gap[0] > max_gap_points + 1e-9
    return CompareRow(
        rank=0,
        student=c.student,
        precision=c.precision,
        gpu=c.gpu,
        method=c.method,
        is_spec=is_spec,
        feasible=not reason,
        reason=reason,
        replicas=s.replicas,
        tensor_parallel_size=s.tensor_parallel_size,
        gpus_total=s.gpus_total,
        replicas_bound=s.replicas_bound,
        ttft_p95_ms=s.ttft_p95_ms,
        tpot_p95_ms=s.tpot_p95_ms,
        latency_target_met=s.latency_target_met,
        training_gpus=core.training.gpus,
        student_usd_per_month=core.now.student,
        savings_usd_per_month=core.now.saving,
        project_usd=core.project,
        payback_months=core.payback,
        npv_usd=core.npv,
        decision=core.verdict.decision,
        expected_gap_points=None if expected_gap is None else expected_gap[0],
        quality_basis="pilot missed the gap" if missed else basis,
        quality_prior=None if facts is None else facts.quality_prior,
        quality_tier=None,
        superseded_by=None if facts is None or not facts.superseded_by else facts.superseded_by,
    )


def with_tiers(rows: Sequence[CompareRow]) -> list[CompareRow]:
    """``rows`` with their quality tiers (module docstring, step 2)."""
    priors = [r.quality_prior for r in rows if r.feasible and r.quality_basis == "prior" and r.quality_prior]
    best = max(priors, default=None)

    def tier(r: CompareRow) -> int | None:
        if r.quality_basis in ("pilot", "stated gap"):
            return 0
        if r.quality_basis == "prior" and r.quality_prior is not None and best is not None:
            return max(0, math.floor((best - r.quality_prior) / QUALITY_TIER_POINTS + 1e-9))
        return None

    return [r.model_copy(update={"quality_tier": tier(r)}) for r in rows]


def _rank_key(indexed: tuple[int, CompareRow]) -> tuple[bool, bool, bool, int, bool, float, float, int]:
    i, r = indexed
    measured = r.quality_basis in ("pilot", "stated gap")
    return (
        not r.feasible,
        r.superseded_by is not None and not measured,
        r.quality_tier is None,
        r.quality_tier or 0,
        r.payback_months is None,
        r.payback_months if r.payback_months is not None else 0.0,
        -r.npv_usd,
        i,
    )


def _pinned(spec: Spec) -> list[str]:
    """Keys the spec pins that every candidate then shares (a rate or a count for one GPU)."""
    hw, ops = spec.hardware, spec.operations
    out = []
    if hw.usd_per_gpu_hour is not None:
        out.append(f"hardware.usd_per_gpu_hour = {hw.usd_per_gpu_hour:g}")
    if hw.replicas is not None:
        out.append(f"hardware.replicas = {hw.replicas}")
    if ops.gpu_hosting_usd_per_month is not None:
        out.append(f"operations.gpu_hosting_usd_per_month = {ops.gpu_hosting_usd_per_month:g}")
    return out


def _candidate_row(
    spec: Spec,
    c: Candidate,
    own: Candidate,
    architectures: dict[str, Architecture],
    eval_state: EvalState,
    other_state: EvalState,
    gpus: dict[str, Gpu],
    book: PriceBook | None,
) -> CompareRow:
    same_base = c.student == own.student
    cspec = candidate_spec(spec, c)
    if not same_base and spec.eval.expected_gap_points is not None:
        cspec = cspec.model_copy(update={"eval": cspec.eval.model_copy(update={"expected_gap_points": None})})
    state = eval_state if same_base else other_state
    inputs = PlanInputs(architecture=architectures[c.student], eval_state=state, book=book)
    core = plan_core(cspec, inputs, gpus=gpus)
    gap = expected_gap(cspec, state)
    return row_of(c, core, is_spec=c == own, expected_gap=gap, max_gap_points=spec.eval.max_gap_points)


def compare(
    spec: Spec,
    *,
    axes: Axes,
    architectures: dict[str, Architecture],
    eval_state: EvalState,
    book: PriceBook | None = None,
) -> Comparison:
    """Plan every candidate of ``axes`` and rank them; pure. ``architectures`` holds one
    architecture per student of the axes (and the spec's own), loaded once by the caller;
    ``book``: the price book pricing the spec (:attr:`~distillplan.plan.build.PlanInputs.book`)."""
    gpus = load_gpus()
    own = own_candidate(spec)
    rows = []
    # A pilot (or a stated expected gap) measures the spec's own base model: other bases do not inherit it.
    other_state = dataclasses.replace(eval_state, pilot=None)
    todo = candidates(spec, axes)
    with progress("planning candidates", total=len(todo), unit="candidates") as tick:  # stderr, a terminal only
        for i, c in enumerate(todo, 1):
            rows.append(_candidate_row(spec, c, own, architectures, eval_state, other_state, gpus, book))
            tick(i)
    ranked = [r for _, r in sorted(enumerate(with_tiers(rows)), key=_rank_key)]
    p = spec.project
    return Comparison(
        format_version=FORMAT_VERSION,
        kind="distillplan-compare",
        spec=SpecInfo(name=p.name, title=p.title, client=p.client, provider=p.provider, start=p.start),
        axes=axes,
        latency_target_p95_ttft_ms=spec.workload.p95_ttft_ms,
        latency_target_p95_tpot_ms=spec.workload.p95_tpot_ms,
        pinned=_pinned(spec),
        rows=[r.model_copy(update={"rank": i + 1}) for i, r in enumerate(ranked)],
    )
