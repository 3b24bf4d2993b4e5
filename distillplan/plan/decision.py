"""The decision rule (P2), the losing shapes (P3) and the gap policy (P5) -> a verdict."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from distillplan.catalogs.prices import TeacherPrice
from distillplan.sizing.finetune import TrainingSizing
from distillplan.sizing.serving import ServingSizing
from distillplan.spec.models import NARROW_TASKS, Spec
from distillplan.spec.policy import Policy
from distillplan.text import count, tokens, usd

Decision = Literal["distill", "route-first", "lock-eval-first", "stay-on-frontier"]
#: Weakest to strongest: more volume, with everything else fixed, never lowers the rank.
RANK: dict[str, int] = {"stay-on-frontier": 0, "route-first": 1, "lock-eval-first": 2, "distill": 3}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Check(_Frozen):
    id: str
    rule: str
    ok: bool
    figure: str
    message: str


class Warning(_Frozen):
    id: str
    rule: str
    message: str


class Driver(_Frozen):
    """A reason to distill that is not money: it can carry the case when the money alone refuses it."""

    id: str
    rule: str
    message: str


class Verdict(_Frozen):
    decision: Decision
    summary: str
    checks: list[Check]
    warnings: list[Warning]
    drivers: list[Driver]
    revisit_on: dt.date | None


@dataclass(frozen=True)
class EvalState:
    """What the planner knows of the eval set (gathered at the edge, passed in)."""

    files_missing: tuple[str, ...] = ()
    locked: bool = False
    lock_hash: str | None = None
    changes: tuple[str, ...] = ()  # "modified eval/x.jsonl", ...
    examples_per_stratum: tuple[tuple[str, int], ...] = ()
    data_problem: str = ""  # the first problem `accept` would refuse the set for (file:line)
    pilot: tuple[int, float] | None = None  # (examples, mean score) of [eval] pilot_predictions


def _revisit_words(months: int) -> str:
    """``two quarters`` for the playbook's 6 months (P2.4); ``N months`` otherwise."""
    return "two quarters" if months == 6 else count(months, "month")


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months, on the month's last day when it is shorter."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def go_live_of(spec: Spec) -> dt.date:
    """The day the student goes live: kickoff plus the build months."""
    return add_months(spec.project.start, spec.finance.build_months)


def retires_before_go_live(teacher: TeacherPrice, go_live: dt.date) -> bool:
    """The vendor's announced shutdown of ``teacher`` falls on or before ``go_live``: the
    frontier bill the saving is measured against will have ended by the time there is one."""
    return teacher.shutdown is not None and teacher.shutdown <= go_live


def infeasible_reason(serving: ServingSizing, training: TrainingSizing) -> str:
    """Why the student cannot run the workload as configured, ``""`` when it can (P7): the
    request does not fit its context window, the weights and KV cache do not fit the GPUs,
    training does not fit, or the latency target cannot be met at any replica count. The one
    feasibility rule: ``plan`` decides by it and ``compare`` marks its rows by it."""
    if not serving.fits:
        return serving.fit_reason
    if not training.fits:
        return "training " + training.fit_note
    if serving.latency_target_met is False:
        return serving.latency_note
    return ""


def decide(
    spec: Spec,
    policy: Policy,
    *,
    tokens_per_month: float,
    savings_usd_per_month: float,
    payback_months: float | None,
    eval_state: EvalState,
    infeasible: str,
    required_per_stratum: int | None = None,
    required_by_stratum: Mapping[str, int] | None = None,
    teacher: TeacherPrice | None = None,
    successor: TeacherPrice | None = None,
) -> Verdict:
    """The verdict (P2): the checks in order, the warnings, the non-cost drivers, the decision
    and its summary."""
    band = volume_band(policy, tokens_per_month)
    quality = _quality_check(spec, eval_state)
    checks = [
        _narrow_check(spec),
        _volume_check(spec, policy, tokens_per_month, band),
        _eval_check(eval_state),
        _payback_check(spec, policy, payback_months, savings_usd_per_month, teacher, successor),
        *([quality] if quality is not None else []),
        _feasible_check(infeasible),
    ]
    warnings = _warnings(spec, policy, band=band)
    warnings += _teacher_warnings(spec, teacher, successor)
    warnings += _strata_warnings(spec, eval_state, required_per_stratum, required_by_stratum or {})
    drivers = non_cost_drivers(spec)
    ok = {c.id: c.ok for c in checks}
    decision = _decision(ok, band=band, regulated=spec.workload.regulated, drivers=bool(drivers))
    summary = _summary(spec, policy, decision, checks, drivers, tokens_per_month)
    revisit = add_months(spec.project.start, policy.revisit_months) if decision == "stay-on-frontier" else None
    return Verdict(
        decision=decision, summary=summary, checks=checks, warnings=warnings, drivers=drivers, revisit_on=revisit
    )


VolumeBand = Literal["below", "within", "above"]


def volume_band(policy: Policy, tokens_per_month: float) -> VolumeBand:
    """Where the volume lies against the P2.2 floor and the structural line."""
    if tokens_per_month < policy.volume_floor_tokens_per_month:
        return "below"
    return "within" if tokens_per_month <= policy.volume_structural_tokens_per_month else "above"


def _narrow_check(spec: Spec) -> Check:
    w = spec.workload
    narrow_task = w.task in NARROW_TASKS
    narrow = narrow_task and w.pattern == "stable"
    why = [] if narrow_task else [f"{w.task} is a P3 shape, not a narrow task"]
    if w.pattern != "stable":
        why.append("the task pattern is evolving (P3.2)")
    return Check(
        id="narrow",
        rule="P2.1",
        ok=narrow,
        figure=f"task = {w.task}, pattern = {w.pattern}",
        message="narrow, stable workload" if narrow else "not narrow: " + "; ".join(why),
    )


def _volume_check(spec: Spec, policy: Policy, tokens_per_month: float, band: VolumeBand) -> Check:
    regulated = spec.workload.regulated
    floor, structural = policy.volume_floor_tokens_per_month, policy.volume_structural_tokens_per_month
    vmsg = {
        "below": f"below the {tokens(floor)} tokens/month floor: does not amortize within "
        f"{count(policy.payback_refuse_over_months, 'month')}",
        "within": f"between {tokens(floor)} and {tokens(structural)}: defensible, weigh model routing first",
        "above": f"above {tokens(structural)}: the volume condition holds",
    }[band]
    if band == "below" and regulated:
        vmsg += "; regulated data (P3.5) can justify self-hosting below the floor"
    elif band == "within" and regulated:
        vmsg = (
            f"between {tokens(floor)} and {tokens(structural)}: defensible; routing to another frontier model "
            "does not answer regulated data (P3.5)"
        )
    ok = tokens_per_month >= floor or regulated
    return Check(id="volume", rule="P2.2", ok=ok, figure=f"{tokens(tokens_per_month)} tokens/month", message=vmsg)


def _eval_check(eval_state: EvalState) -> Check:
    if eval_state.files_missing:
        emsg = "eval dataset missing: " + ", ".join(eval_state.files_missing)
    elif eval_state.data_problem:
        emsg = "the eval set cannot be scored: " + eval_state.data_problem
    elif eval_state.changes:
        emsg = "the eval lock does not verify: " + "; ".join(eval_state.changes)
    elif not eval_state.locked:
        emsg = "the eval set is not locked (run `distillplan lock`)"
    else:
        emsg = f"locked ({eval_state.lock_hash})"
    ok = eval_state.locked and not eval_state.changes and not eval_state.files_missing and not eval_state.data_problem
    return Check(id="eval-locked", rule="P2.3", ok=ok, figure=eval_state.lock_hash or "unlocked", message=emsg)


def _payback_check(
    spec: Spec,
    policy: Policy,
    payback_months: float | None,
    savings_usd_per_month: float,
    teacher: TeacherPrice | None,
    successor: TeacherPrice | None,
) -> Check:
    refuse = policy.payback_refuse_over_months
    go_live = go_live_of(spec)
    bill_ends = teacher is not None and successor is None and retires_before_go_live(teacher, go_live)
    pays = payback_months is not None and payback_months <= refuse and not bill_ends
    if bill_ends:
        assert teacher is not None and teacher.shutdown is not None
        pmsg = (
            f"the teacher {teacher.name} leaves its vendor's API on {teacher.shutdown.isoformat()}, before go-live "
            f"({go_live.isoformat()}): the bill the saving is measured against will have ended, so payback is not "
            "computable (P6.1); name the price-book model that replaces it in [teacher] successor"
        )
        pfig = "not computable: the teacher retires before go-live"
    elif payback_months is None:
        pmsg = "the student costs as much or more to run than the teacher: nothing is saved to pay the project back"
        pfig = f"saving {usd(savings_usd_per_month)}/month"
    else:
        low, high = policy.payback_typical_months
        typical = f"; typical for justified workloads: {low:g}-{count(high, 'month')} (P6.4)"
        pmsg = (
            f"pays back within {count(refuse, 'month')}"
            if pays
            else f"payback over {count(refuse, 'month')} is refused (P6.3)"
        ) + (typical if not low <= payback_months <= high else "")
        pfig = f"{payback_months:.1f} months"
    return Check(id="payback", rule="P6.3", ok=pays, figure=pfig, message=pmsg)


def _quality_check(spec: Spec, eval_state: EvalState) -> Check | None:
    """P5.1 against a pilot's measured gap or a stated one; None when neither is given."""
    gap = expected_gap(spec, eval_state)
    if gap is None:
        return None
    allowed = spec.eval.max_gap_points
    ok = gap[0] <= allowed + 1e-9
    return Check(
        id="quality",
        rule="P5.1",
        ok=ok,
        figure=f"{gap[0]:.1f} points ({gap[1]})",
        message=f"within the contracted {allowed:g}-point gap"
        if ok
        else f"wider than the contracted {allowed:g}-point gap: the student is not expected to pass the "
        "locked eval, and past 3 points trust impact outweighs the savings (P5.1)",
    )


def _feasible_check(infeasible: str) -> Check:
    feasible = not infeasible
    return Check(
        id="feasible",
        rule="P7",
        ok=feasible,
        figure="serves the workload" if feasible else "cannot serve the workload",
        message="the student fits its context window, the GPU and the latency target"
        if feasible
        else f"{infeasible}; `distillplan compare` lists the students and GPUs that can",
    )


def _strata_warnings(
    spec: Spec, eval_state: EvalState, required_per_stratum: int | None, by: Mapping[str, int]
) -> list[Warning]:
    """P2.3: the strata of the locked set with fewer examples than detecting the bound needs."""
    small = strata_short(eval_state, required_per_stratum, by)
    if not small:
        return []
    bound = spec.eval.max_stratum_gap_points or spec.eval.max_gap_points
    listed = ", ".join(f"{k} {n:,} of {m:,}" for k, n, m in small)
    own = "; each stratum sized with its own teacher score" if by else ""
    return [
        Warning(
            id="eval-strata",
            rule="P2.3",
            message=f"{count(len(small), 'stratum', 'strata')} below the examples needed to detect "
            f"a student {count(bound, 'point')} below the teacher with 80% power (one-sided exact binomial test at "
            f"2.5%{own}): {listed}",
        )
    ]


def strata_short(
    eval_state: EvalState, required_per_stratum: int | None, by: Mapping[str, int]
) -> list[tuple[str, int, int]]:
    """(stratum, examples, examples needed) of each stratum of the locked set below the examples
    needed to detect its bound (P2.3): its own figure in ``by``, else ``required_per_stratum``."""
    out = []
    for k, n in eval_state.examples_per_stratum:
        need = by.get(k, required_per_stratum)
        if need and n < need:
            out.append((k, n, need))
    return out


def _decision(ok: Mapping[str, bool], *, band: VolumeBand, regulated: bool, drivers: bool) -> Decision:
    """Ordered stay-on-frontier < route-first < lock-eval-first < distill, and monotone in volume
    with everything else fixed: a refused payback stays on the frontier in every volume band
    (payback only improves with volume), and routing to another frontier model is no answer
    for regulated data (P3.5), so a regulated workload never gets route-first.
    A student that cannot serve the workload (P7) is no answer at any volume: the verdict
    refuses it, whatever the money says. A non-cost driver (the frontier model not permitted,
    too slow, or below the business bar) carries the case when the money alone refuses it, and
    routing to another frontier model answers none of them. ``ok``: check id -> whether it holds
    (a check not made, ``quality`` without a gap, holds)."""
    money_ok = ok["volume"] and ok["payback"]
    if not ok["narrow"] or not ok["feasible"] or not ok.get("quality", True) or not (money_ok or drivers):
        return "stay-on-frontier"
    if band != "above" and not regulated and not drivers:
        return "route-first"
    if not ok["eval-locked"]:
        return "lock-eval-first"
    return "distill"


def _summary(
    spec: Spec,
    policy: Policy,
    decision: Decision,
    checks: list[Check],
    drivers: list[Driver],
    tokens_per_month: float,
) -> str:
    """One sentence for the verdict, naming the failed checks and any non-cost grounds."""
    ok = {c.id: c.ok for c in checks}
    money_ok = ok["volume"] and ok["payback"]
    eval_ok = ok["eval-locked"]
    failed = [c for c in checks if not c.ok]
    money_failed = "; ".join(f"{c.id}: {c.message}" for c in failed if c.id in ("volume", "payback"))
    grounds = "; ".join(d.message for d in drivers)
    summary = {
        "distill": "Distill: every condition holds (P2)."
        if money_ok
        else f"Distill on non-cost grounds: {grounds}. The money alone says stay on the frontier ({money_failed}).",
        "route-first": f"Route first: at {tokens(tokens_per_month)} tokens/month model routing saves "
        f"{policy.routing_savings_share[0]:.0%}-{policy.routing_savings_share[1]:.0%} of spend sooner; "
        "distillation is defensible later (P2.2).",
        "lock-eval-first": "Lock the eval set first, distill second (P2.3)."
        + ("" if money_ok else f" Distilling rests on non-cost grounds: {grounds}; the money alone refuses it."),
        "stay-on-frontier": f"Stay on the frontier model and revisit in {_revisit_words(policy.revisit_months)} "
        "(P2.4): " + "; ".join(f"{c.id}: {c.message}" for c in failed if c.id != "eval-locked"),
    }[decision]
    if decision == "route-first" and not eval_ok:
        summary += " Lock the eval set before either (P2.3)."
    if decision == "distill" and money_ok and drivers:
        summary += f" Besides the money: {grounds}."
    if decision == "stay-on-frontier" and drivers:
        summary += f". Non-cost grounds do not carry a case that fails these: {grounds}."
        if spec.workload.teacher_not_permitted is not None:
            summary = "Do not distill" + summary.removeprefix("Stay on the frontier model")
            summary += " Neither path serves this workload as specified."
    return summary


def expected_gap(spec: Spec, state: EvalState) -> tuple[float, str] | None:
    """(points, source) of the gap the student is expected to show: the pilot's measured gap
    (teacher score minus the pilot's score on the eval rows it answered), else the stated
    ``[eval] expected_gap_points``; None when neither is given."""
    if state.pilot is not None:
        n, score = state.pilot
        return (spec.eval.teacher_score - score) * 100, f"pilot: {count(n, 'prediction')} scoring {score:.1%}"
    if spec.eval.expected_gap_points is not None:
        return spec.eval.expected_gap_points, "stated: [eval] expected_gap_points"
    return None


def non_cost_drivers(spec: Spec) -> list[Driver]:
    """The reasons to distill that are not money, from the spec (a pure function of it):

    * ``teacher-not-permitted`` (P3.5): ``[workload] teacher_not_permitted`` says the frontier
      model may not serve the traffic (privacy, data residency, audit, vendor terms);
    * ``teacher-too-slow`` (P7): the teacher's measured p95 latency (``[teacher] p95_ttft_ms`` /
      ``p95_tpot_ms``) is above the workload's target; the student is sized to meet it;
    * ``teacher-below-bar`` (P1.1): the teacher scores below the business bar ``[eval] min_score``;
      human-validated examples on the segments it gets wrong are how the student reaches the bar.
    """
    w, t, e = spec.workload, spec.teacher, spec.eval
    out: list[Driver] = []
    if w.teacher_not_permitted is not None:
        out.append(
            Driver(
                id="teacher-not-permitted",
                rule="P3.5",
                message=f"the frontier model is not permitted for this workload ({w.teacher_not_permitted}): "
                "staying on it is no option",
            )
        )
    slow = [
        f"p95 {what} {mine:g} ms over the {target:g} ms target"
        for what, mine, target in (("TTFT", t.p95_ttft_ms, w.p95_ttft_ms), ("TPOT", t.p95_tpot_ms, w.p95_tpot_ms))
        if mine is not None and target is not None and mine > target
    ]
    if slow:
        out.append(
            Driver(
                id="teacher-too-slow",
                rule="P7",
                message=f"the teacher misses the product's latency target ({', '.join(slow)}); the self-hosted "
                "student is sized to meet it",
            )
        )
    if e.min_score is not None and e.teacher_score < e.min_score:
        out.append(
            Driver(
                id="teacher-below-bar",
                rule="P1.1",
                message=f"the teacher scores {e.teacher_score:.1%}, below the business bar of {e.min_score:.1%} "
                "([eval] min_score): a student trained with human-validated examples on the segments the teacher "
                "gets wrong is the way to the bar",
            )
        )
    return out


def _teacher_warnings(spec: Spec, teacher: TeacherPrice | None, successor: TeacherPrice | None) -> list[Warning]:
    """A teacher its vendor retired, or shuts down before the student goes live, leaves the
    bill the saving is measured against (P6.1): the plan says what it priced instead (the
    successor), or that its payback is refused. ``teacher``: the price-book entry (None for
    prices given in the spec). A pure function of the spec."""
    go_live = go_live_of(spec)
    if teacher is None:
        return []
    if retires_before_go_live(teacher, go_live):
        assert teacher.shutdown is not None
        when = f"leaves its vendor's API on {teacher.shutdown.isoformat()}, before go-live ({go_live.isoformat()})"
    elif teacher.status == "retired":
        when = "is retired by its vendor (still billed where a cloud hosts it)"
    else:
        return []
    then = (
        f"the bill is priced at its successor {successor.name} ({usd(successor.usd_per_mtok_input, 2)} / "
        f"{usd(successor.usd_per_mtok_output, 2)} per MTok)"
        if successor is not None
        else "the frontier bill the saving is measured against ends; plan against the model that replaces it "
        "([teacher] successor)"
    )
    return [Warning(id="teacher-retired", rule="P6.1", message=f"the teacher {teacher.name} {when}: {then}")]


def _warnings(spec: Spec, policy: Policy, *, band: str) -> list[Warning]:
    w, gap = spec.workload, spec.eval.max_gap_points
    out: list[Warning] = []
    shapes = {
        "open-ended-generation": ("P3.1", "open-ended generation: the long tail is too sparse to distill"),
        "agentic": ("P3.1", "agentic planning over arbitrary tools is open-ended"),
        "multi-step-reasoning": ("P3.3", "strict reasoning depth: students end up confidently wrong"),
        "code-generation": ("P3.3", "complex code generation needs reasoning depth"),
    }
    if w.task in shapes:
        rule, msg = shapes[w.task]
        out.append(Warning(id="shape", rule=rule, message=msg))
    if w.pattern == "evolving":
        out.append(Warning(id="evolving", rule="P3.2", message="an evolving task pattern pays a re-distillation tax"))
    if w.modality != "text":
        out.append(
            Warning(id="modality", rule="P3.4", message=f"{w.modality} distillation lags text by about a generation")
        )
    if w.regulated:
        out.append(
            Warning(
                id="regulated",
                rule="P3.5",
                message="regulated data: self-hosting can justify the case below "
                f"{tokens(policy.volume_floor_tokens_per_month)} tokens/month",
            )
        )
    lo, hi = policy.gap_defensible_points
    cache = spec.routing.mode == "cache"
    if w.stakes == "high" and gap > policy.gap_high_stakes_points and not cache:
        out.append(
            Warning(
                id="gap-high-stakes",
                rule="P5.2",
                message=f"high stakes: a {gap:g}-point gap exceeds {policy.gap_high_stakes_points:g}; "
                "hold to it or use cache routing",
            )
        )
    elif gap > hi:
        out.append(
            Warning(
                id="gap-too-wide",
                rule="P5.1",
                message=f"a {gap:g}-point gap is above {hi:g}: trust impact outweighs the savings",
            )
        )
    elif gap < lo and w.stakes != "high":
        out.append(
            Warning(
                id="gap-too-tight",
                rule="P5.1",
                message=f"a {gap:g}-point gap is below {lo:g}: over-engineered for the cost gain",
            )
        )
    if cache and spec.routing.student_share is not None:
        slo, shi = policy.cache_student_share
        if not slo <= spec.routing.student_share <= shi:
            out.append(
                Warning(
                    id="cache-share",
                    rule="P5.3",
                    message=f"student share {spec.routing.student_share:.0%} is outside {slo:.0%}-{shi:.0%}",
                )
            )
    if band == "within" and not w.regulated:
        out.append(Warning(id="routing", rule="P2.2", message="weigh model routing first: it ships faster"))
    return out
