"""The contract's terms as plan figures: the whole-dollar milestone amounts (P9.2) and the
threshold table (the lock's once locked, else what the spec states). Pure: the lock's baseline
is passed in. The documents render these; they compute none of them."""

from __future__ import annotations

from collections.abc import Sequence

from distillplan.evalset.baseline import threshold
from distillplan.evalset.lockfile import Baseline
from distillplan.plan.model import ContractOut, MilestoneOut, ThresholdRow
from distillplan.spec.models import Eval, Milestone

__all__ = ["contract_of", "split_usd", "thresholds_of"]


def split_usd(total_usd: int, shares: Sequence[float]) -> list[int]:
    """Whole-dollar amounts, one per payment share, that sum exactly to ``total_usd``: each
    share's amount rounded down, the dollars left over going to the largest remainders (ties:
    earlier first)."""
    raw = [s * total_usd for s in shares]
    out = [int(x // 1) for x in raw]
    left = total_usd - sum(out)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - out[i]), i))
    for i in order[: max(left, 0)]:
        out[i] += 1
    return out


def contract_of(project_usd: float, milestones: Sequence[Milestone]) -> ContractOut:
    """The contract value (the project cost rounded to the dollar) and each milestone's amount."""
    value = round(project_usd)
    amounts = split_usd(value, [m.payment_share for m in milestones])
    return ContractOut(
        value_usd=value,
        milestones=[
            MilestoneOut(
                name=m.name, payment_share=m.payment_share, due=m.due, acceptance=m.acceptance, amount_usd=amount
            )
            for m, amount in zip(milestones, amounts, strict=True)
        ],
    )


def thresholds_of(e: Eval, baseline: Baseline | None) -> list[ThresholdRow]:
    """The contract's threshold table, ``overall`` first: the lock's rows (what ``accept``
    compares with), or, before ``lock``, the spec's scores and the thresholds they give."""
    if baseline is not None:
        rows = [
            ThresholdRow(
                name="overall",
                examples=baseline.examples,
                teacher_score=baseline.teacher_score,
                threshold=baseline.threshold,
            )
        ]
        return rows + [
            ThresholdRow(name=s.name, examples=s.examples, teacher_score=s.teacher_score, threshold=s.threshold)
            for s in baseline.strata
        ]
    bound = e.max_stratum_gap_points
    rows = [
        ThresholdRow(
            name="overall",
            examples=None,
            teacher_score=e.teacher_score,
            threshold=threshold(e.teacher_score, e.max_gap_points),
        )
    ]
    return rows + [
        ThresholdRow(name=k, examples=None, teacher_score=v, threshold=None if bound is None else threshold(v, bound))
        for k, v in sorted((e.teacher_score_by_stratum or {}).items())
    ]
