"""``distillplan monitor [SPEC] --samples FILE...``: the weekly teacher-on-sample comparison
(P8.2) against the thresholds and the segment mix fixed in ``distill.lock``.

Exit codes (a scheduled job reads them): 0 within contract (every week and segment shown
within its bound), 5 undecided (no breach, but some week's segment had too few rows to decide:
the contract is not shown held there), 4 breach (the segments are named; the same code as a
FAILed ``accept``), 1 unusable input (the lock, the spec or a samples file: every problem located
``file:line``; ``accept``'s "cannot score"), 2 usage, 3 internal error."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from distillplan.commands._inputs import plan_for_file
from distillplan.commands._io import EXIT_OK, say
from distillplan.commands.check import lock_display
from distillplan.errors import AcceptanceError, SpecError
from distillplan.evalset import monitor as mon
from distillplan.evalset.fingerprint import verify_eval
from distillplan.evalset.lockfile import Baseline, display_path, read_lock
from distillplan.evalset.samples import SampleReader
from distillplan.outputs.monitor_report import BudgetRow, MixRow, MonitorResult, UnseenSegment, render
from distillplan.plan.model import Plan
from distillplan.spec.load import SpecFile, load_spec

__all__ = ["EXIT_BREACH", "EXIT_UNDECIDED", "MAX_PROBLEMS", "monitor", "run"]

EXIT_BREACH = 4  # scored, and a segment breaches; 1 means the input could not be used
EXIT_UNDECIDED = 5  # scored, no breach, but a cell had too few rows to decide
MAX_PROBLEMS = 20
WEEKS_PER_MONTH = 52 / 12

DETECT_METHOD = (
    "the smallest weekly sample per segment at which, under the exact binomial distribution, a segment "
    "agreeing with the teacher on every row is shown within the bound (95% Wilson interval) and a segment "
    "at twice the bound is flagged with 80% power"
)


@dataclass(frozen=True)
class Mix:
    """The locked eval set's segment mix and the bound each segment is held to."""

    shares: dict[str, float]
    bound_points: dict[str, float]
    bound_source: dict[str, str]


def _mix(b: Baseline) -> Mix:
    total = sum(s.examples for s in b.strata) or 1
    shares = {s.name: s.examples / total for s in b.strata}
    bound, source = {}, {}
    for s in b.strata:
        if b.max_stratum_gap_points is not None and s.threshold is not None:
            bound[s.name], source[s.name] = b.max_stratum_gap_points, "max_stratum_gap_points"
        else:
            bound[s.name], source[s.name] = b.max_gap_points, "max_gap_points"
    return Mix(shares, bound, source)


def _budget(plan: Plan, mix: Mix) -> tuple[float, float, int, tuple[BudgetRow, ...]]:
    line = next(x for x in plan.costs.student_lines if x.name == "teacher_on_sample")
    v, t = plan.volume, plan.teacher
    per_request = (
        v.input_tokens_per_request * t.usd_per_mtok_input + v.output_tokens_per_request * t.usd_per_mtok_output
    ) / 1e6
    per_week = int(line.usd / per_request / WEEKS_PER_MONTH) if per_request > 0 else 0
    rows = tuple(
        BudgetRow(
            seg,
            share,
            int(per_week * share),
            mon.examples_to_detect(mix.bound_points[seg]),
            mix.bound_points[seg],
        )
        for seg, share in sorted(mix.shares.items())
    )
    return line.usd, per_request, per_week, rows


def monitor(sf: SpecFile, samples: list[Path]) -> MonitorResult:
    """Read ``samples`` (streamed), score them and decide every (week, segment) cell."""
    lock_name = lock_display(sf)
    lk = read_lock(sf.dir)
    if lk is None or lk.eval is None or lk.eval.baseline is None:
        raise AcceptanceError(
            f"{lock_name}: no locked eval set with a teacher baseline; run `distillplan lock` before monitoring"
        )
    if changes := verify_eval(sf.dir, lk, list(sf.spec.eval.datasets)):
        listed = "; ".join(f"{c.path} {c.kind}" for c in changes[:3])
        raise AcceptanceError(f"{lock_name}: the eval lock does not verify ({listed}); refusing to monitor")
    b = lk.eval.baseline
    mix = _mix(b)
    reader = SampleReader(samples, display=display_path)
    agg = mon.aggregate(reader, b.metric)
    if reader.problems:
        probs = sorted(reader.problems)
        shown = probs[:MAX_PROBLEMS]
        if len(probs) > MAX_PROBLEMS:
            last = shown[-1]
            shown[-1] = type(last)(
                last.path,
                last.line,
                last.col,
                last.key,
                f"{last.message} (and {len(probs) - MAX_PROBLEMS} more problems)",
            )
        raise SpecError(shown)
    if reader.rows == 0:
        raise AcceptanceError(f"{', '.join(display_path(p) for p in samples)}: no sampled rows")
    known = set(mix.shares)
    cells: list[mon.CellResult] = []
    mix_rows: list[MixRow] = []
    unseen: dict[str, int] = {}
    for week in sorted({w for w, _ in agg.cells}):
        segs = sorted(s for w, s in agg.cells if w == week)
        total = mon.Cell()
        week_n = sum(agg.cells[(week, s)].n for s in segs)
        for seg in segs:
            c = agg.cells[(week, seg)]
            total.merge(c)
            mix_rows.append(MixRow(week, seg, c.n, c.n / week_n, mix.shares.get(seg)))
            if seg not in known:
                unseen[seg] = unseen.get(seg, 0) + c.n
            bound = mix.bound_points.get(seg, b.max_gap_points)
            cells.append(mon.decide(week, seg, c, bound, mix.bound_source.get(seg, "max_gap_points")))
        cells.append(mon.decide(week, "overall", total, b.max_gap_points, "max_gap_points"))
    usd_month, per_request, per_week, budget = _budget(plan_for_file(sf), mix)
    return MonitorResult(
        project=sf.spec.project.name,
        metric=b.metric,
        lock_hash=lk.eval.hash,
        files=tuple(display_path(p) for p in samples),
        rows=reader.rows,
        cells=tuple(cells),
        mix=tuple(mix_rows),
        unseen=tuple(
            UnseenSegment(s, n, "{}:{}".format(*agg.first_seen[s])) for s, n in sorted(unseen.items()) if known
        ),
        budget_usd_per_month=usd_month,
        teacher_usd_per_request=per_request,
        budget_examples_per_week=per_week,
        budget=budget,
        detect_method=DETECT_METHOD,
    )


def sample_files(samples: list[Path]) -> list[Path]:
    """Each given file, or a folder's ``*.jsonl`` files sorted by name (name them in time order)."""
    out: list[Path] = []
    for p in samples:
        if p.is_dir():
            found = sorted(p.glob("*.jsonl"))
            if not found:
                raise AcceptanceError(f"{display_path(p)}: no *.jsonl files in this folder")
            out += found
        else:
            out.append(p)
    return out


def run(spec: str | Path, *, samples: list[Path], fmt: str) -> int:
    result = monitor(load_spec(spec), sample_files(samples))
    say(render(result, fmt).rstrip("\n"))
    return {"within": EXIT_OK, "undecided": EXIT_UNDECIDED, "breach": EXIT_BREACH}[result.state]
