"""The teacher baseline fixed at lock time (P2.3, P9.2): the teacher's score overall and
per stratum, and the thresholds ``accept`` compares the student with.

Two sources, chosen at ``distillplan lock``:

* ``spec``: ``[eval].teacher_score`` overall and ``[eval].teacher_score_by_stratum`` per
  stratum, as stated in ``distill.toml``.
* ``teacher-predictions``: ``lock --teacher-predictions FILE``, scored with the contract's
  metric on the locked set; the file's sha256 is recorded.

``threshold = teacher_score - gap_points / 100``: overall with ``max_gap_points``, per
stratum with ``max_stratum_gap_points`` against that stratum's own teacher score. A
contracted per-stratum bound without a per-stratum teacher score is refused: comparing a
stratum with the overall score is not what the contract promises.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from distillplan.errors import LockError
from distillplan.evalset.accept import EvalRow, load_predictions
from distillplan.evalset.lockfile import Baseline, StratumBaseline
from distillplan.evalset.metrics import METRICS
from distillplan.evalset.samplesize import required_examples
from distillplan.spec.models import Eval

__all__ = ["baseline_drift", "build_baseline", "least_examples", "remeasure_terms", "spec_baseline", "threshold"]


def threshold(teacher_score: float, gap_points: float) -> float:
    """The lowest passing student score: ``teacher - gap/100``, rounded to 10 decimals."""
    return round(teacher_score - gap_points / 100, 10)


def _groups(rows: Sequence[EvalRow]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        if r.stratum is not None:
            out.setdefault(r.stratum, []).append(i)
    return dict(sorted(out.items()))


def spec_baseline(
    rows: Sequence[EvalRow],
    *,
    metric: str,
    teacher_score: float,
    max_gap_points: float,
    strata_field: str | None = None,
    teacher_score_by_stratum: dict[str, float] | None = None,
    max_stratum_gap_points: float | None = None,
    decide_by: str = "point-estimate",
    where: str = "distill.toml",
) -> Baseline:
    """The baseline as stated in the spec; refuses a stratum bound without a stratum score."""
    by = teacher_score_by_stratum or {}
    groups = _groups(rows) if strata_field else {}
    if unknown := sorted(set(by) - set(groups)):
        raise LockError(
            f"{where}: eval.teacher_score_by_stratum: stratum {unknown[0]!r} is not in the eval set "
            f"(strata: {', '.join(groups) or 'none'})"
        )
    strata = []
    for name, idx in groups.items():
        score = by.get(name)
        if score is None and max_stratum_gap_points is not None:
            raise LockError(
                f"{where}: eval.teacher_score_by_stratum: no teacher score for stratum {name!r} "
                f"({len(idx)} examples); the per-stratum bound needs one: state it, or measure it with "
                "`distillplan lock --teacher-predictions FILE`"
            )
        bound = None if score is None or max_stratum_gap_points is None else threshold(score, max_stratum_gap_points)
        strata.append(StratumBaseline(name, len(idx), score, bound))
    return Baseline(
        source="spec",
        metric=metric,
        decide_by=decide_by,
        max_gap_points=float(max_gap_points),
        teacher_score=float(teacher_score),
        threshold=threshold(teacher_score, max_gap_points),
        examples=len(rows),
        strata_field=strata_field or "",
        max_stratum_gap_points=None if max_stratum_gap_points is None else float(max_stratum_gap_points),
        strata=tuple(strata),
    )


def measured_baseline(
    rows: Sequence[EvalRow],
    teacher_preds: dict[str, Any],
    *,
    e: Eval,
    predictions_path: str,
    predictions_sha256: str,
) -> Baseline:
    """The baseline measured from the teacher's predictions with the contract's metric."""
    score = METRICS[e.metric]
    t = [score(r.reference, teacher_preds[r.id]) for r in rows]
    overall = math.fsum(t) / len(t)
    strata = []
    for name, idx in (_groups(rows) if e.strata_field else {}).items():
        s = math.fsum(t[i] for i in idx) / len(idx)
        bound = None if e.max_stratum_gap_points is None else threshold(s, e.max_stratum_gap_points)
        strata.append(StratumBaseline(name, len(idx), s, bound))
    return Baseline(
        source="teacher-predictions",
        metric=e.metric,
        decide_by=e.decide_by,
        max_gap_points=float(e.max_gap_points),
        teacher_score=overall,
        threshold=threshold(overall, e.max_gap_points),
        examples=len(rows),
        strata_field=e.strata_field or "",
        max_stratum_gap_points=None if e.max_stratum_gap_points is None else float(e.max_stratum_gap_points),
        teacher_predictions=predictions_path,
        teacher_predictions_sha256=predictions_sha256,
        strata=tuple(strata),
    )


def build_baseline(
    rows: Sequence[EvalRow],
    e: Eval,
    *,
    spec_display: str,
    teacher_predictions: Path | None = None,
    predictions_display: str = "",
) -> Baseline:
    """The baseline ``lock`` writes: measured from ``teacher_predictions`` or stated in the spec."""
    built = _build(
        rows,
        e,
        spec_display=spec_display,
        teacher_predictions=teacher_predictions,
        predictions_display=predictions_display,
    )
    return replace(built, **_floors(e, built))


def least_examples(e: Eval, b: Baseline) -> int:
    """The fewest examples ``accept`` decides on under ``b``'s terms: ``[eval] min_examples`` when
    given, else the sample size the overall teacher score and contracted gap need
    (:data:`~distillplan.evalset.samplesize.SAMPLE_SIZE_METHOD`, the plan's figure; P2.3)."""
    if e.min_examples is not None:
        return e.min_examples
    if not 0 < b.max_gap_points <= b.teacher_score * 100 or b.teacher_score >= 1:
        return 0
    return required_examples(teacher_score=b.teacher_score, gap_points=b.max_gap_points)


def _floors(e: Eval, b: Baseline) -> dict[str, Any]:
    """The contract's absolute terms the lock fixes besides the gap: the score floor and the fewest examples."""
    return {"min_score": None if e.min_score is None else float(e.min_score), "min_examples": least_examples(e, b)}


def _build(
    rows: Sequence[EvalRow],
    e: Eval,
    *,
    spec_display: str,
    teacher_predictions: Path | None,
    predictions_display: str,
) -> Baseline:
    if teacher_predictions is None:
        return spec_baseline(
            rows,
            metric=e.metric,
            teacher_score=e.teacher_score,
            max_gap_points=e.max_gap_points,
            strata_field=e.strata_field,
            teacher_score_by_stratum=e.teacher_score_by_stratum,
            max_stratum_gap_points=e.max_stratum_gap_points,
            decide_by=e.decide_by,
            where=spec_display,
        )
    shown = predictions_display or str(teacher_predictions)
    preds = load_predictions(
        teacher_predictions, eval_ids=[r.id for r in rows], id_field=e.id_field, display_path=shown
    )
    sha = hashlib.sha256(teacher_predictions.read_bytes()).hexdigest()
    return measured_baseline(rows, preds, e=e, predictions_path=shown, predictions_sha256=sha)


def remeasure_terms(prev: Baseline, e: Eval, *, where: str) -> Baseline:
    """A measured baseline kept on an unchanged set when ``lock`` runs without the teacher file:
    the locked teacher scores stay, the spec's gaps and decision rule give the thresholds."""
    if prev.metric != e.metric or (prev.strata_field or None) != e.strata_field:
        raise LockError(
            f"{where}: the teacher baseline was measured with metric {prev.metric!r}"
            + (f" by {prev.strata_field!r}" if prev.strata_field else "")
            + "; pass `--teacher-predictions FILE` to measure it again"
        )
    bound = e.max_stratum_gap_points
    strata = tuple(
        StratumBaseline(
            st.name,
            st.examples,
            st.teacher_score,
            None if st.teacher_score is None or bound is None else threshold(st.teacher_score, bound),
        )
        for st in prev.strata
    )
    kept = Baseline(
        source=prev.source,
        metric=prev.metric,
        decide_by=e.decide_by,
        max_gap_points=float(e.max_gap_points),
        teacher_score=prev.teacher_score,
        threshold=threshold(prev.teacher_score, e.max_gap_points),
        examples=prev.examples,
        strata_field=prev.strata_field,
        max_stratum_gap_points=None if bound is None else float(bound),
        teacher_predictions=prev.teacher_predictions,
        teacher_predictions_sha256=prev.teacher_predictions_sha256,
        strata=strata,
    )
    return replace(kept, **_floors(e, kept))


def baseline_drift(e: Eval, b: Baseline) -> list[str]:
    """How the spec's ``[eval]`` contract terms differ from the locked baseline (``[]``: in step).

    Terms the lock fixed from the spec: metric, decision rule, gaps, strata field, and (for
    a spec baseline) the teacher scores. A change needs a re-lock with ``--reason``.
    """
    out: list[str] = []

    def diff(key: str, spec_value: object, locked: object) -> None:
        if spec_value != locked:
            out.append(f"eval.{key} is {spec_value!r} in the spec, {locked!r} in the lock")

    diff("metric", e.metric, b.metric)
    diff("decide_by", e.decide_by, b.decide_by)
    diff("max_gap_points", float(e.max_gap_points), b.max_gap_points)
    stratum_gap = None if e.max_stratum_gap_points is None else float(e.max_stratum_gap_points)
    diff("max_stratum_gap_points", stratum_gap, b.max_stratum_gap_points)
    diff("strata_field", e.strata_field or "", b.strata_field)
    diff("min_score", None if e.min_score is None else float(e.min_score), b.min_score)
    if b.min_examples is not None or e.min_examples is not None:  # None in the lock: locked before the term
        diff("min_examples", least_examples(e, b), b.min_examples)
    if b.source == "spec":
        diff("teacher_score", float(e.teacher_score), b.teacher_score)
        stated = {k: float(v) for k, v in (e.teacher_score_by_stratum or {}).items()}
        locked = {s.name: s.teacher_score for s in b.strata if s.teacher_score is not None}
        diff("teacher_score_by_stratum", stated, locked)
    return out
