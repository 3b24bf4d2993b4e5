"""The plan re-run at another estimate, volume, teacher price or project cost.

One month of running (:func:`month`) is the one place the frontier bill and the student's
operating lines are computed, so every "what if" figure (the sensitivity table, the two named
volumes, the points at which the verdict flips) equals a re-run of the plan with that input
changed and everything else fixed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from distillplan.catalogs.gpus import Gpu
from distillplan.catalogs.prices import TeacherPrice
from distillplan.plan import economics as eco
from distillplan.plan.costs import CostLine, Prices, ProjectLine, Volume, student_lines
from distillplan.plan.decision import RANK, Decision, EvalState, decide, infeasible_reason
from distillplan.plan.model import Flip, SensitivityRow
from distillplan.sizing.architecture import Architecture
from distillplan.sizing.finetune import TrainingSizing
from distillplan.sizing.serving import ServingSizing, size_serving
from distillplan.spec.models import Spec

__all__ = ["VOLUME_FACTORS", "Month", "Scenario", "month", "share"]

VOLUME_FACTORS = (0.5, 1.0, 1.5)
_TOP = 1_000.0  # solves search up to 1,000x today's volume or price
_CENT = 0.01  # a saving within a cent of the target has reached it (a segment may start exactly there)


@dataclass(frozen=True)
class Month:
    frontier: float
    student_lines: list[CostLine]
    serving: ServingSizing

    @property
    def student(self) -> float:
        return sum(line.usd for line in self.student_lines)

    @property
    def saving(self) -> float:
        return self.frontier - self.student


def share(spec: Spec) -> float:
    return spec.routing.student_share if spec.routing.mode == "cache" and spec.routing.student_share else 1.0


def month(spec: Spec, arch: Architecture, gpu: Gpu, prices: Prices, vol: Volume, rate: float) -> Month:
    """One month of running at ``vol``: the frontier bill and the student's lines."""
    # The traffic runs in the hours the GPUs are billed ([hardware] hours_per_month), so the
    # average rate is the month's requests over those hours, not over 730.
    seconds = spec.hardware.hours_per_month * 3600
    peak = vol.requests_per_month * share(spec) / seconds * spec.workload.peak_to_average
    serving = size_serving(
        arch,
        gpu,
        precision=spec.student.serving_precision,
        input_tokens=vol.input_tokens_per_request,
        output_tokens=vol.output_tokens_per_request,
        peak_requests_per_second=peak,
        assumptions=spec.policy.sizing,
        p71_band=spec.policy.requests_per_second_per_gpu,
        replicas_pin=spec.hardware.replicas,
        latency_target=(spec.workload.p95_ttft_ms, spec.workload.p95_tpot_ms),
        prefix_cache_share=spec.workload.cached_input_share,
    )
    frontier = prices.bill(vol.input_tokens_per_month, vol.output_tokens_per_month)
    lines = student_lines(spec, spec.policy, frontier_usd=frontier, gpus=serving.gpus_total, usd_per_gpu_hour=rate)
    return Month(frontier, lines, serving)


@dataclass(frozen=True)
class Scenario:
    """Everything a re-run needs; ``project_at(estimate, prices)`` gives the P4 lines."""

    spec: Spec
    arch: Architecture
    gpu: Gpu
    prices: Prices
    vol: Volume
    rate: float
    project_at: Callable[[str | None, Prices], list[ProjectLine]]
    eval_state: EvalState
    required_per_stratum: int | None
    training: TrainingSizing
    teacher: TeacherPrice | None
    successor: TeacherPrice | None

    def month(self, *, volume: float = 1.0, price: float = 1.0, spec: Spec | None = None) -> Month:
        p = self.prices.scaled(price)
        return month(spec or self.spec, self.arch, self.gpu, p, self.vol.scaled(volume), self.rate)

    def sensitivity(self) -> list[SensitivityRow]:
        """Payback at each estimate x volume factor: the plan re-run with ``[budget] estimate``
        set (it moves the P4 project lines *and* the banded P8 operating lines) and the volume scaled."""
        rows = []
        for est in ("low", "mid", "high"):
            at_est = self.spec.model_copy(update={"budget": self.spec.budget.model_copy(update={"estimate": est})})
            project = sum(p.usd for p in self.project_at(est, self.prices))
            paybacks = [eco.payback_months(project, self.month(volume=f, spec=at_est).saving) for f in VOLUME_FACTORS]
            rows.append(SensitivityRow(estimate=est, project_usd=project, payback_months=paybacks))
        return rows

    def volume_where(self, monthly_saving_usd: float) -> float | None:
        """The lowest tokens/month from which the saving stays at or above ``monthly_saving_usd``
        at every higher volume (None: not up to 1,000x today's volume).

        The saving is saw-toothed in volume: linear within a GPU count, one GPU's cost lower at
        each step. So the walk goes segment by segment (a segment is a range of one GPU count):
        the answer is the last upward crossing, i.e. the crossing in a segment after which the
        next segment starts at or above the target (segment starts rise linearly, so then all do).
        """
        tokens = self.vol.tokens_per_month
        top = tokens * _TOP

        def saving(t: float) -> float:
            return self.month(volume=t / tokens).saving

        def gpus(t: float) -> float:
            return float(self.month(volume=t / tokens).serving.gpus_total)

        def next_boundary(t: float) -> float | None:
            return eco.solve_increasing(gpus, gpus(t) + 1, t, top, rel_tol=1e-9)

        first = eco.solve_increasing(saving, monthly_saving_usd, 1.0, top, rel_tol=1e-6)
        if first is None:
            return None
        seg = eco.solve_increasing(gpus, gpus(first), 1.0, first, rel_tol=1e-9) or 1.0
        for _ in range(200):  # a segment that starts at the target continues an earlier run: walk back to it
            if seg <= 1.0 or saving(seg) < monthly_saving_usd - _CENT:
                break
            seg = eco.solve_increasing(gpus, gpus(seg * (1 - 1e-9)), 1.0, seg, rel_tol=1e-9) or 1.0
        starts: list[tuple[float, float]] = []  # (boundary, saving there) of the segments walked
        since: float | None = None  # where the saving last rose to the target and has held since
        for _ in range(200):
            nb = next_boundary(seg)
            end = top if nb is None else nb * (1 - 1e-9)
            crossing = eco.solve_increasing(saving, monthly_saving_usd, seg, end, rel_tol=1e-6)
            if crossing is None:
                since = None
            elif since is None or saving(seg) < monthly_saving_usd - _CENT:
                # a segment that starts at or above the target continues the previous one's run
                since = crossing
            if crossing is not None and (nb is None or saving(nb) >= monthly_saving_usd):
                return since
            if nb is None:
                return None
            starts.append((nb, saving(nb)))
            seg = nb
            if crossing is None and len(starts) >= 2:  # jump along the linearly rising segment starts
                (b1, s1), (b2, s2) = starts[-2], starts[-1]
                if s2 <= s1:
                    return None  # the saving falls from step to step: it never stays above
                skip = int((monthly_saving_usd - s2) / (s2 - s1)) - 2
                if skip > 2:
                    jumped = next_boundary(b2 + (skip - 0.5) * (b2 - b1))
                    if jumped is not None:
                        seg = jumped
                        starts.clear()
        return None

    def decision(self, *, volume: float = 1.0, price: float = 1.0, project_usd: float | None = None) -> Decision:
        """The verdict of the plan re-run with volume and teacher prices scaled, or another project cost."""
        m = self.month(volume=volume, price=price)
        if project_usd is None:
            p = self.prices.scaled(price)
            project_usd = sum(line.usd for line in self.project_at(None, p))
        return decide(
            self.spec,
            self.spec.policy,
            tokens_per_month=self.vol.tokens_per_month * volume,
            savings_usd_per_month=m.saving,
            payback_months=eco.payback_months(project_usd, m.saving),
            eval_state=self.eval_state,
            infeasible=infeasible_reason(m.serving, self.training),
            required_per_stratum=self.required_per_stratum,
            teacher=self.teacher,
            successor=self.successor,
        ).decision

    def flips(self, now: Decision, project_usd: float, saving: float) -> list[Flip]:
        """For a verdict other than ``distill``: the volume, teacher price and project cost at
        which the verdict becomes a better one, each with everything else fixed (None: no value
        up to 1,000x today's, or no project cost does it)."""
        if now == "distill":
            return []
        target = RANK[now] + 1

        def rank_at(**kw: float) -> Callable[[float], float]:
            return lambda x: float(RANK[self.decision(**{next(iter(kw)): x})])

        out = []
        tokens = self.vol.tokens_per_month
        v = eco.solve_increasing(rank_at(volume=1.0), target, 1.0, _TOP, rel_tol=1e-4)
        out.append(
            Flip(
                lever="volume",
                value=None if v is None else v * tokens,
                unit="tokens/month",
                becomes=None if v is None else self.decision(volume=v),
            )
        )
        k = eco.solve_increasing(rank_at(price=1.0), target, 1.0, _TOP, rel_tol=1e-4)
        out.append(
            Flip(
                lever="teacher_price",
                value=None if k is None else k,
                unit="x today's teacher prices",
                becomes=None if k is None else self.decision(price=k),
                usd_per_mtok_input=None if k is None else self.prices.usd_per_mtok_input * k,
                usd_per_mtok_output=None if k is None else self.prices.usd_per_mtok_output * k,
            )
        )
        refuse = self.spec.policy.payback_refuse_over_months
        cost = saving * refuse if saving > 0 else None
        becomes = None if cost is None else self.decision(project_usd=cost)
        if becomes is not None and RANK[becomes] < target:
            cost, becomes = None, None
        out.append(Flip(lever="project_cost", value=cost, unit="USD", becomes=becomes))
        return out
