"""The contract's acceptance test (P9.2): score predictions against the locked eval.

The thresholds are the lock's (:class:`~distillplan.evalset.lockfile.Baseline`, fixed by
``distillplan lock``): overall ``teacher - max_gap_points/100`` and, per stratum with a
contracted bound, that stratum's own teacher score minus ``max_stratum_gap_points/100``.
Nothing given at accept time moves a threshold. A group passes when the decision figure
clears its threshold: the student's score (``decide_by = "point-estimate"``, the default)
or the lower end of its 95% CI (``"confidence-bound"``). Scores are means of per-example
scores in [0, 1], defined in :mod:`distillplan.evalset.metrics`; the reports are in
:mod:`distillplan.outputs.accept_report`.

The 95% CI of the student's score is a percentile bootstrap over examples with a
fixed-seed ``random.Random``, stratified when there are strata (stratum sizes are fixed by
the eval design; the overall score of a resample is the sum of its stratum sums over n).
Teacher predictions given at accept time add a paired CI of the gap (teacher now minus
student, each resampled example carrying both scores), reported beside the decision only.
"""

from __future__ import annotations

import json
import math
import random
import sys
from array import array
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol

from distillplan.errors import AcceptanceError, DistillError, LocatedError
from distillplan.evalset.jsonl import loads_for, paused_gc
from distillplan.evalset.metrics import METRICS, as_object, memoized
from distillplan.files import read_regular
from distillplan.progress import Tick, progress
from distillplan.text import JSON_WHITESPACE, count

if TYPE_CHECKING:  # the hook path (validate, check) reads eval sets without the lock module
    from distillplan.evalset.lockfile import Baseline

__all__ = [
    "AcceptanceResult",
    "EvalRow",
    "GroupResult",
    "PairedGap",
    "check_references",
    "evaluate",
    "load_eval",
    "load_predictions",
    "read_jsonl",
    "unscorable",
]

_EPS = 1e-9  # gap comparisons tolerate float noise: 2.0000000000000004 <= 2.0


class EvalRow(NamedTuple):
    """One eval example (a tuple: a million are built at C speed)."""

    id: str
    reference: Any
    stratum: str | None
    path: str
    line: int


@dataclass(frozen=True)
class PairedGap:
    """Teacher predictions given at accept time: informational, never a threshold."""

    teacher_score: float
    gap_points: float
    ci_low_points: float
    ci_high_points: float


@dataclass(frozen=True)
class GroupResult:
    """Overall or one stratum. ``ok`` is None when the group does not decide (no locked threshold)."""

    name: str
    examples: int
    student_score: float
    student_ci_low: float
    student_ci_high: float
    teacher_score: float | None  # the locked baseline
    threshold: float | None  # the locked threshold
    gap_points: float | None  # (locked teacher - student) x 100
    bound_points: float | None
    ok: bool | None
    paired: PairedGap | None = None
    #: the fewest examples this group decides on (None: no minimum); fewer fail the group
    min_examples: int | None = None
    #: the contract's absolute floor (overall only; ``threshold`` is then the higher of it and the gap's)
    min_score: float | None = None

    @property
    def too_few(self) -> bool:
        return self.min_examples is not None and self.examples < self.min_examples


@dataclass(frozen=True)
class AcceptanceResult:
    metric: str
    passed: bool
    overall: GroupResult
    strata: tuple[GroupResult, ...]
    strata_field: str | None
    baseline_source: Literal["spec", "teacher-predictions"]
    decide_by: str
    seed: int
    n_boot: int
    confidence: float = 0.95


# ------------------------------------------------------------------ reading


def read_jsonl(path: Path, *, display_path: str, data: bytes | None = None) -> list[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for every non-blank line; any bad line is located.
    ``data``: the file's bytes when the caller has read (and hashed) them already."""
    try:
        raw = read_regular(path, shown=display_path) if data is None else data
    except OSError as e:
        raise AcceptanceError(f"{display_path}: cannot read: {e.strerror or e}") from None
    rows: list[tuple[int, dict[str, Any]]] = []
    append, fast = rows.append, loads_for(raw)
    lines = raw.split(b"\n")
    with paused_gc(), progress(f"reading {display_path}", total=len(lines), unit="lines") as tick:
        for n, chunk in enumerate(lines, 1):
            obj = fast(chunk)
            if type(obj) is dict:
                append((n, obj))
            else:  # not vouched for (slow), or not an object: the standard parser decides and locates
                _read_line(chunk, n, display_path, rows)
            if not n & 0x3FFF:
                tick(n)
    return rows


def _read_line(chunk: bytes, n: int, display_path: str, rows: list[tuple[int, dict[str, Any]]]) -> None:
    """A line the fast parser did not vouch for: the standard parser decides, every error located."""
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError as e:
        raise LocatedError(path=display_path, line=n, col=e.start + 1, message="not valid UTF-8") from None
    if n == 1:
        text = text.removeprefix("\ufeff")
    if not text.strip(JSON_WHITESPACE):
        return
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise LocatedError(path=display_path, line=n, col=e.colno, message=f"not valid JSON: {e.msg}") from None
    except RecursionError:
        raise LocatedError(path=display_path, line=n, message="JSON nested too deeply to read") from None
    except ValueError:  # Python's limit on integer digits (4,300 by default)
        raise LocatedError(path=display_path, line=n, message="a number with too many digits to read") from None
    if not isinstance(obj, dict):
        raise LocatedError(path=display_path, line=n, message=f"expected a JSON object, got {_kind(obj)}")
    rows.append((n, obj))


def _kind(v: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
    }.get(type(v), "a number")


def _display(path: Path, base: Path | None) -> str:
    if base is not None:
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            pass
    return str(path)


def _err(path: str, line: int, key: str, message: str) -> LocatedError:
    return LocatedError(path=path, line=line, key=key, message=message)


def _id(obj: dict[str, Any], field: str, where: str, line: int) -> str:
    if field not in obj:
        raise _err(where, line, field, "missing id field")
    v = obj[field]
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise _err(where, line, field, f"id must be a string or an integer, got {_kind(v)}")
    return str(v)  # 7 and "7" are the same id


def load_eval(
    paths: Sequence[Path],
    *,
    id_field: str = "id",
    reference_field: str = "reference",
    strata_field: str | None = None,
    display_base: Path | None = None,
    metric: str | None = None,
    contents: Sequence[bytes] | None = None,
) -> list[EvalRow]:
    """Every eval example, in file order; ids are unique across all files. With ``metric``,
    every reference is also checked to be scorable by it (:func:`check_references`).
    ``contents``: the files' bytes, in the order of ``paths``, when the caller hashed them already."""
    with paused_gc():  # a million rows: a full collection per few thousand would walk them all again
        rows = _load_eval(paths, id_field, reference_field, strata_field, display_base, contents)
    if not rows:
        raise AcceptanceError(f"{', '.join(_display(p, display_base) for p in paths) or 'eval'}: the eval set is empty")
    if metric is not None:
        check_references(rows, metric)
    return rows


def _load_eval(
    paths: Sequence[Path],
    id_field: str,
    reference_field: str,
    strata_field: str | None,
    display_base: Path | None,
    contents: Sequence[bytes] | None,
) -> list[EvalRow]:
    rows: list[EvalRow] = []
    first: dict[str, int] = {}  # id -> its row's index
    row = tuple.__new__  # EvalRow(...) without its Python-level __new__
    for i, path in enumerate(paths):
        shown = _display(path, display_base)
        data = contents[i] if contents is not None else None
        for line, obj in read_jsonl(path, display_path=shown, data=data):
            rid = obj.get(id_field)
            if type(rid) is not str:
                rid = str(rid) if type(rid) is int else _id(obj, id_field, shown, line)
            if rid in first:
                was = rows[first[rid]]
                raise _err(shown, line, id_field, f"duplicate id {rid!r} (first at {was.path}:{was.line})")
            first[rid] = len(rows)
            if reference_field not in obj:
                raise _err(shown, line, reference_field, "missing reference field")
            stratum = None
            if strata_field is not None:
                s = obj.get(strata_field)
                if isinstance(s, bool) or not isinstance(s, (str, int)):
                    got = "missing" if s is None else f"got {_kind(s)}"
                    raise _err(shown, line, strata_field, f"stratum must be a string ({got})")
                stratum = str(s)
            rows.append(row(EvalRow, (rid, obj[reference_field], stratum, shown, line)))
    return rows


def load_spec_eval(e: EvalTerms, spec_dir: Path, *, contents: Sequence[bytes] | None = None) -> list[EvalRow]:
    """:func:`load_eval` on a spec's ``[eval]`` section: its datasets (relative to ``spec_dir``),
    field names and metric; the one way lock, accept, plan and validate read the set."""
    return load_eval(
        [spec_dir / d for d in e.datasets],
        id_field=e.id_field,
        reference_field=e.reference_field,
        strata_field=e.strata_field,
        display_base=spec_dir,
        metric=e.metric,
        contents=contents,
    )


def check_references(rows: Sequence[EvalRow], metric: str) -> None:
    """A reference the metric cannot score is an error at its line (field-f1 needs objects)."""
    if metric == "field-f1":
        for r in rows:
            if as_object(r.reference) is None:
                msg = "field-f1 needs a JSON object (or a string holding one) as the reference"
                raise LocatedError(path=r.path, line=r.line, message=msg)


def load_predictions(
    path: Path,
    *,
    eval_ids: Collection[str],
    id_field: str = "id",
    prediction_field: str = "prediction",
    display_path: str | None = None,
    data: bytes | None = None,
) -> dict[str, Any]:
    """``{id: prediction}``, exactly one per eval id; anything else is an error. ``data``: the
    file's bytes when the caller has read (and hashed) them already.

    Two line formats, told apart line by line: distillplan's own ``{"<id_field>": ..., "prediction": ...}``,
    and a line of lm-evaluation-harness's ``--log_samples`` file (``samples_<task>_<time>.jsonl``), read as
    it is: the id is ``doc[<id_field>]`` (the locked row the harness ran) and the prediction is the
    harness's final answer, ``filtered_resps[0]``.

    Checked line by line (malformed, missing id or prediction field, duplicate id),
    then ids not in the eval set (the first is located), then eval ids without a
    prediction (up to 5 listed, with the count).
    """
    shown = display_path or str(path)
    known = set(eval_ids)
    preds: dict[str, Any] = {}
    first: dict[str, int] = {}
    unknown: list[tuple[int, str]] = []
    with paused_gc():
        _read_predictions(path, shown, id_field, prediction_field, data, known, preds, first, unknown)
    if unknown:
        line, pid = unknown[0]
        more = f" ({len(unknown)} unknown ids in all)" if len(unknown) > 1 else ""
        raise _err(shown, line, id_field, f"id {pid!r} is not in the locked eval set{more}")
    missing = [i for i in eval_ids if i not in preds]
    if isinstance(eval_ids, (set, frozenset)):
        missing.sort()  # a stable message whatever the hash seed
    if missing:
        listed = ", ".join(repr(i) for i in missing[:5]) + (", …" if len(missing) > 5 else "")
        raise AcceptanceError(
            f"{shown}: {count(len(missing), 'eval id')} {'have' if len(missing) > 1 else 'has'} no prediction: {listed}"
        )
    return preds


def _read_predictions(
    path: Path,
    shown: str,
    id_field: str,
    prediction_field: str,
    data: bytes | None,
    known: set[str],
    preds: dict[str, Any],
    first: dict[str, int],
    unknown: list[tuple[int, str]],
) -> None:
    for line, obj in read_jsonl(path, display_path=shown, data=data):
        if _is_harness_sample(obj):
            obj = _from_harness_sample(obj, id_field, prediction_field, shown, line)
        pid = obj.get(id_field)
        if type(pid) is not str:
            pid = str(pid) if type(pid) is int else _id(obj, id_field, shown, line)
        if pid in first:
            raise _err(shown, line, id_field, f"duplicate id {pid!r} (first at line {first[pid]})")
        first[pid] = line
        if prediction_field not in obj:
            raise _err(shown, line, prediction_field, "missing prediction field")
        if pid not in known:
            unknown.append((line, pid))
        preds[pid] = obj[prediction_field]


def _is_harness_sample(obj: dict[str, Any]) -> bool:
    return "doc" in obj and "filtered_resps" in obj and "doc_id" in obj


def _from_harness_sample(
    obj: dict[str, Any], id_field: str, prediction_field: str, where: str, line: int
) -> dict[str, Any]:
    """One lm-evaluation-harness sample as ``{id_field: ..., prediction_field: ...}``."""
    doc, resps = obj["doc"], obj["filtered_resps"]
    if not isinstance(doc, dict):
        raise _err(where, line, "doc", f"expected the harness's eval row as an object, got {_kind(doc)}")
    if id_field not in doc:
        raise _err(where, line, f"doc.{id_field}", "missing id field in the harness's eval row")
    if not isinstance(resps, list) or len(resps) != 1:
        got = count(len(resps), "answer") if isinstance(resps, list) else _kind(resps)
        raise _err(where, line, "filtered_resps", f"expected one final answer (a generate_until task), got {got}")
    return {id_field: doc[id_field], prediction_field: resps[0]}


# ------------------------------------------------------------------ bootstrap


_BELOW = [bytes(range(d)) for d in range(257)]
#: Random bytes are drawn in pieces of this many (a multiple of 4: whole 32-bit words)
_PIECE = 1 << 15


def _random_bytes(rng: random.Random, n: int) -> Iterator[bytes]:
    """``rng.randbytes(n)``, byte for byte, in pieces: the same draws (``randbytes`` is
    ``getrandbits(8n)`` little-endian, filled word by word, the last word's low bits dropped, so
    whole-word pieces and the rest give the same bytes and leave ``rng`` in the same state) at
    half the cost: one large integer of megabytes is a fresh allocation per call, and slow."""
    while n > _PIECE:
        yield rng.getrandbits(8 * _PIECE).to_bytes(_PIECE, "little")
        n -= _PIECE
    if n:
        yield rng.getrandbits(8 * n).to_bytes(n, "little")


def _binomial(n: int, num: int, den: int, rng: random.Random) -> int:
    """Exact ``Binomial(n, num/den)`` from random bytes, in C-speed byte passes.

    A uniform U < p is decided digit by digit in base 256: a byte below p's next
    digit d is a success, above it a failure, equal to it goes on to the next digit.
    """
    k = 0
    while n and num:
        d, num = divmod(num * 256, den)
        if d >= 256:
            return k + n
        below, equal = _BELOW[d], 0
        for bs in _random_bytes(rng, n):
            rest = bs.translate(None, below)  # the bytes at or above d
            k += len(bs) - len(rest)
            equal += rest.count(d)
        n = equal
    return k


class _Done:
    """Resamples drawn so far, for the progress line."""

    def __init__(self, tick: Tick | None = None) -> None:
        self.n, self.tick = 0, tick

    def __call__(self) -> None:
        self.n += 1
        if self.tick is not None:
            self.tick(self.n)


def _resample_sums(values: list[float], n_boot: int, rng: random.Random, done: _Done | None = None) -> list[float]:
    """``n_boot`` bootstrap sums of ``len(values)`` draws with replacement (exact).

    Few distinct values (accuracy: at most 3): the draw counts are one multinomial,
    sampled as a chain of binomials, commonest value first. Otherwise uniform 16-bit
    words index a table with ``table[j] = values[j % m]`` for ``j < m·⌊65536/m⌋``
    and ``inf`` (rejected) above; mapping, filtering and summing run in C. Groups over
    65,536 examples fall back to ``rng.choices``.
    """
    m = len(values)
    cats = sorted(Counter(values).items(), key=lambda vc: (-vc[1], vc[0]))
    seen = [0]
    for _, c in cats[:-1]:
        seen.append(seen[-1] + c)
    if sum(m - x for x in seen[:-1]) <= 8 * m:
        sums = []
        for _ in range(n_boot):
            left, rest, total = m, m, 0.0
            for v, c in cats[:-1]:
                k = _binomial(left, c, rest, rng)
                total, left, rest = total + v * k, left - k, rest - c
            sums.append(total + cats[-1][0] * left)
            if done is not None:
                done()
        return sums
    if m > 65536:
        sums = []
        for _ in range(n_boot):
            sums.append(sum(rng.choices(values, k=m)))
            if done is not None:
                done()
        return sums
    limit = (65536 // m) * m
    table = values * (65536 // m) + [math.inf] * (65536 - limit)
    batch = int(m * 65536 / limit * 1.02) + 64
    sums = []
    for _ in range(n_boot):
        drawn: list[float] = []
        while len(drawn) < m:
            words = array("H", rng.randbytes(2 * batch))
            if sys.byteorder == "big":  # same draws on every platform
                words.byteswap()
            drawn.extend(islice(filter(math.isfinite, map(table.__getitem__, words)), m - len(drawn)))
        sums.append(sum(drawn))
        if done is not None:
            done()
    return sums


def _percentile(sorted_xs: list[float], q: float) -> float:
    pos = q * (len(sorted_xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def _ci(samples: list[float], confidence: float) -> tuple[float, float]:
    xs = sorted(samples)
    tail = (1 - confidence) / 2
    return _percentile(xs, tail), _percentile(xs, 1 - tail)


def evaluate(
    eval_rows: Sequence[EvalRow],
    student_preds: dict[str, Any],
    *,
    baseline: Baseline,
    teacher_preds: dict[str, Any] | None = None,
    seed: int = 20250101,
    n_boot: int = 2000,
) -> AcceptanceResult:
    """Score the student and decide PASS/FAIL against the locked ``baseline`` (deterministic per seed).

    ``teacher_preds`` add a paired CI of the gap to each group; they never move a threshold.
    """
    _check_inputs(eval_rows, student_preds, teacher_preds, metric=baseline.metric, n_boot=n_boot)
    score = memoized(METRICS[baseline.metric])
    s = [score(r.reference, student_preds[r.id]) for r in eval_rows]
    t = None if teacher_preds is None else [score(r.reference, teacher_preds[r.id]) for r in eval_rows]
    groups = _groups(eval_rows, baseline)
    names = sorted(groups)
    rng = random.Random(seed)
    resamples = n_boot * len(names) * (1 if t is None else 2)
    with progress("bootstrapping the 95% intervals", total=resamples, unit="resamples") as tick:
        done = _Done(tick)
        boot = {g: _resample_sums([s[i] for i in groups[g]], n_boot, rng, done) for g in names}
        paired = (
            {} if t is None else {g: _resample_sums([t[i] - s[i] for i in groups[g]], n_boot, rng, done) for g in names}
        )
    scores = _Scores(s, t, baseline.decide_by)

    def total(d: dict[str, list[float]]) -> list[float] | None:
        return [sum(col) for col in zip(*(d[g] for g in names), strict=True)] if d else None

    overall_sums = total(boot)
    assert overall_sums is not None
    overall = scores.group(
        "overall",
        list(range(len(s))),
        overall_sums,
        total(paired),
        _Terms(
            baseline.teacher_score,
            baseline.threshold,
            baseline.max_gap_points,
            baseline.min_examples or None,  # None: a lock from before the term existed; 0: none contracted
            baseline.min_score,
        ),
    )
    locked = {b.name: b for b in baseline.strata}
    strata = tuple(
        scores.group(
            g,
            groups[g],
            boot[g],
            paired.get(g),
            _Terms(
                locked[g].teacher_score,
                locked[g].threshold,
                baseline.max_stratum_gap_points if locked[g].threshold is not None else None,
            ),
        )
        for g in (names if baseline.strata_field else ())
    )
    passed = bool(overall.ok) and all(x.ok is not False for x in strata)
    return AcceptanceResult(
        baseline.metric,
        passed,
        overall,
        strata,
        baseline.strata_field or None,
        baseline.source,
        baseline.decide_by,
        seed,
        n_boot,
    )


def _check_inputs(
    eval_rows: Sequence[EvalRow],
    student_preds: dict[str, Any],
    teacher_preds: dict[str, Any] | None,
    *,
    metric: str,
    n_boot: int,
) -> None:
    """Refuse what cannot be scored: an unknown metric, an empty set, a reference the metric cannot
    read, a missing prediction."""
    if metric not in METRICS:
        raise AcceptanceError(f"unknown metric {metric!r}; expected one of {', '.join(sorted(METRICS))}")
    if not eval_rows:
        raise AcceptanceError("the eval set is empty")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1 (got {n_boot})")
    check_references(eval_rows, metric)
    for preds, who in ((student_preds, "student"), (teacher_preds, "teacher")):
        if preds is not None and (gone := [r.id for r in eval_rows if r.id not in preds]):
            raise AcceptanceError(f"the {who}'s predictions: no prediction for id {gone[0]!r} ({len(gone):,} missing)")


def _groups(eval_rows: Sequence[EvalRow], baseline: Baseline) -> dict[str, list[int]]:
    """Row indices by stratum (one group, ``""``, unstratified); the strata and their sizes must
    be the locked baseline's."""
    stratified = bool(baseline.strata_field)
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(eval_rows):
        groups.setdefault(r.stratum if stratified and r.stratum is not None else "", []).append(i)
    locked = {b.name: b.examples for b in baseline.strata}
    if stratified and (set(groups) != set(locked) or any(len(groups[g]) != locked[g] for g in groups)):
        raise AcceptanceError(
            "the eval set's strata differ from the locked baseline; re-lock with `distillplan lock --reason TEXT`"
        )
    return groups


@dataclass(frozen=True)
class _Terms:
    """A group's locked terms: the teacher's score, the threshold, the gap bound in points, the
    fewest examples it decides on and the absolute floor on its score."""

    teacher: float | None
    threshold: float | None
    bound: float | None
    least_n: int | None = None
    floor: float | None = None


@dataclass(frozen=True)
class _Scores:
    """Per-example student (and teacher) scores, and the figure the decision compares."""

    student: list[float]
    teacher: list[float] | None
    decide_by: str

    def group(
        self, name: str, idx: list[int], sums: list[float], psums: list[float] | None, terms: _Terms
    ) -> GroupResult:
        s, t = self.student, self.teacher
        st = math.fsum(s[i] for i in idx) / len(idx)
        lo, hi = _ci([x / len(idx) for x in sums], 0.95)
        figure = lo if self.decide_by == "confidence-bound" else st
        thr = terms.threshold
        if terms.floor is not None and thr is not None:
            thr = max(thr, terms.floor)
        short = terms.least_n is not None and len(idx) < terms.least_n
        ok = None if thr is None else figure >= thr - _EPS and not short
        pg = None
        if t is not None and psums is not None:
            te = math.fsum(t[i] for i in idx) / len(idx)
            plo, phi = _ci([x / len(idx) * 100 for x in psums], 0.95)
            pg = PairedGap(te, (te - st) * 100, plo, phi)
        gap = None if terms.teacher is None else (terms.teacher - st) * 100
        return GroupResult(
            name, len(idx), st, lo, hi, terms.teacher, thr, gap, terms.bound, ok, pg, terms.least_n, terms.floor
        )


class EvalTerms(Protocol):
    """What reading an eval set needs of ``[eval]`` (the spec's ``Eval`` model)."""

    @property
    def datasets(self) -> Sequence[str]: ...
    @property
    def id_field(self) -> str: ...
    @property
    def reference_field(self) -> str: ...
    @property
    def strata_field(self) -> str | None: ...
    @property
    def metric(self) -> str: ...


def unscorable(spec_dir: Path, e: EvalTerms, *, shown_base: Path, limit_bytes: int | None = None) -> str:
    """The first problem ``accept`` would refuse the eval set for, at its file and line; ``""``
    when none (or, with ``limit_bytes``, when the files are missing or larger: not read)."""
    paths = [spec_dir / d for d in e.datasets]
    for d, p in zip(e.datasets, paths, strict=True):
        if not p.is_file():
            if limit_bytes is not None:
                return ""
            return f"{shown_base / d}: eval dataset not found (listed in [eval].datasets)"
    if limit_bytes is not None and sum(p.stat().st_size for p in paths) > limit_bytes:
        return ""
    try:
        load_spec_eval(e, spec_dir)
    except DistillError as err:
        text = str(err)
        base = shown_base.as_posix()
        return text if base in ("", ".") else f"{base}/{text}"
    return ""
