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
from typing import Any, TypedDict

from distillplan.errors import LockError
from distillplan.evalset.accept import EvalRow, load_predictions
from distillplan.evalset.lockfile import Baseline, StratumBaseline
from distillplan.evalset.metrics import METRICS, memoized
from distillplan.evalset.samplesize import required_examples
from distillplan.files import read_regular
from distillplan.spec.models import Eval
from distillplan.text import count

__all__ = [
    "LOCK_FIGURES",
    "SPEC_TERMS",
    "baseline_drift",
    "build_baseline",
    "least_examples",
    "measured_baseline",
    "remeasure_terms",
    "spec_baseline",
    "threshold",
]

#: Baseline fields copied from the spec's ``[eval]`` as they are: a change to any needs a re-lock.
SPEC_TERMS = (
    "metric",
    "decide_by",
    "max_gap_points",
    "max_stratum_gap_points",
    "strata_field",
    "id_field",
    "input_field",
    "reference_field",
    "min_score",
)


#: Baseline fields fixed by ``lock`` from the eval set (and the teacher's predictions), checked
#: above for consistency and at ``accept`` against the bytes. With SPEC_TERMS: every field (a test
#: holds the two lists to :class:`Baseline`'s fields, so a new field must be placed in one).
LOCK_FIGURES = (
    "source",
    "teacher_score",
    "threshold",
    "examples",
    "teacher_predictions",
    "teacher_predictions_sha256",
    "min_examples",
    "strata",
)


class _Fields(TypedDict):
    id_field: str
    input_field: str
    reference_field: str


def _fields_of(e: Eval) -> _Fields:
    return {"id_field": e.id_field, "input_field": e.input_field, "reference_field": e.reference_field}


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
                f"({count(len(idx), 'example')}); the per-stratum bound needs one: state it, or measure it with "
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
    score = memoized(METRICS[e.metric])
    t = [score(r.reference, teacher_preds[r.id]) for r in rows]
    overall = math.fsum(t) / len(t)
    strata = []
    for name, idx in (_groups(rows) if e.strata_field else {}).items():
        s = math.fsum(t[i] for i in idx) / len(idx)
        bound = None if e.max_stratum_gap_points is None else threshold(s, e.max_stratum_gap_points)
        strata.append(StratumBaseline(name, len(idx), s, bound))
    measured = Baseline(
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
        **_fields_of(e),
        strata=tuple(strata),
    )
    return replace(measured, **_floors(e, measured))  # as `lock` fixes it, so `accept` re-measures the same


def build_baseline(
    rows: Sequence[EvalRow],
    e: Eval,
    *,
    spec_display: str,
    teacher_predictions: Path | None = None,
    predictions_display: str = "",
) -> Baseline:
    """The baseline ``lock`` writes: measured from ``teacher_predictions`` or stated in the spec,
    with the contract's floors (:func:`_floors`)."""
    if teacher_predictions is None:
        stated = spec_baseline(
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
        stated = replace(stated, **_fields_of(e))
        return replace(stated, **_floors(e, stated))
    shown = predictions_display or str(teacher_predictions)
    data = read_regular(teacher_predictions, shown=shown)  # read once: scored and hashed, the same bytes
    preds = load_predictions(
        teacher_predictions, eval_ids=[r.id for r in rows], id_field=e.id_field, display_path=shown, data=data
    )
    sha = hashlib.sha256(data).hexdigest()
    return measured_baseline(rows, preds, e=e, predictions_path=shown, predictions_sha256=sha)  # floors included


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
        **_fields_of(e),
        strata=strata,
    )
    return replace(kept, **_floors(e, kept))


def baseline_drift(e: Eval, b: Baseline) -> list[str]:
    """How the locked baseline differs from what the spec's ``[eval]`` and the lock's own figures
    imply (``[]``: in step), one ``key: what`` string each.

    Every field is compared (a field added to :class:`Baseline` is compared by construction):
    the terms copied from the spec (:data:`SPEC_TERMS`, and for a spec baseline the teacher
    scores), and the figures derived from them (each threshold is the teacher score minus the
    gap; a spec baseline names no teacher file, a measured one names the file and its sha256).
    A change needs a re-lock with ``--reason``; a derived figure that does not follow was
    edited by hand."""
    out: list[str] = []
    by = {k: float(v) for k, v in (e.teacher_score_by_stratum or {}).items()}
    gap = None if e.max_stratum_gap_points is None else float(e.max_stratum_gap_points)
    spec_vals: dict[str, object] = {
        "metric": e.metric,
        "decide_by": e.decide_by,
        "max_gap_points": float(e.max_gap_points),
        "max_stratum_gap_points": gap,
        "strata_field": e.strata_field or "",
        **_fields_of(e),
        "min_score": None if e.min_score is None else float(e.min_score),
    }
    for key in SPEC_TERMS:
        if spec_vals[key] != getattr(b, key):
            out.append(f"eval.{key} is {spec_vals[key]!r} in the spec, {getattr(b, key)!r} in the lock")
    locked_before = b.min_examples is None and e.min_examples is None  # a lock written before the term
    if not locked_before and least_examples(e, b) != b.min_examples:
        out.append(f"eval.min_examples is {least_examples(e, b)!r} by the spec, {b.min_examples!r} in the lock")
    if b.source == "spec":
        if float(e.teacher_score) != b.teacher_score:
            out.append(f"eval.teacher_score is {float(e.teacher_score)!r} in the spec, {b.teacher_score!r} in the lock")
        locked = {s.name: s.teacher_score for s in b.strata if s.teacher_score is not None}
        if by != locked:
            out.append(f"eval.teacher_score_by_stratum is {by!r} in the spec, {locked!r} in the lock")
        if b.teacher_predictions or b.teacher_predictions_sha256:
            out.append('eval.baseline.teacher_predictions is set in the lock, but its source is "spec"')
    elif not b.teacher_predictions or len(b.teacher_predictions_sha256) != 64:
        out.append(
            'eval.baseline.source is "teacher-predictions" in the lock, but it names no teacher predictions '
            "file and sha256"
        )
    want = threshold(b.teacher_score, b.max_gap_points)
    if b.threshold != want:
        out.append(
            f"eval.baseline.threshold is {b.threshold!r} in the lock, but teacher score {b.teacher_score!r} "
            f"minus {b.max_gap_points!r} points is {want!r}"
        )
    for i, st in enumerate(b.strata):
        bound = None if st.teacher_score is None or b.max_stratum_gap_points is None else b.max_stratum_gap_points
        want_st = None if bound is None or st.teacher_score is None else threshold(st.teacher_score, bound)
        if st.threshold != want_st:
            out.append(
                f"eval.baseline.strata[{i}].threshold is {st.threshold!r} in the lock for stratum {st.name!r}, "
                f"but its teacher score and the stratum gap give {want_st!r}"
            )
    if b.strata and not b.strata_field:
        out.append("eval.baseline.strata are listed in the lock, but it names no strata_field")
    if sum(st.examples for st in b.strata) not in (0, b.examples) or b.examples < 1:
        out.append(f"eval.baseline.examples is {b.examples} in the lock, which its strata do not add up to")
    return out
