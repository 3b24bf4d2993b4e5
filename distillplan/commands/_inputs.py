"""The I/O edge of planning: what the pure :func:`~distillplan.plan.build.build_plan` and
:func:`~distillplan.plan.compare.compare` need from disk, read here and passed in as values: the
student's architecture, the eval set's lock state (its files, ``distill.lock``, a pilot's
predictions), the teacher baseline fixed in the lock, the repository's price book
(``.distillplan/prices.toml`` over the bundled one). ``plan/`` itself reads no file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from distillplan.catalogs.prices import PriceBook, price_book
from distillplan.errors import DistillError, LockError
from distillplan.evalset.accept import load_spec_eval
from distillplan.evalset.baseline import baseline_drift
from distillplan.evalset.fingerprint import verify_eval
from distillplan.evalset.lockfile import LOCK_VERSION, Baseline, read_lock
from distillplan.evalset.pilot import score_pilot
from distillplan.git import repo_root
from distillplan.plan.build import PlanInputs, build_plan
from distillplan.plan.compare import Comparison, axes_of, compare, own_candidate
from distillplan.plan.decision import EvalState
from distillplan.plan.model import Plan
from distillplan.sizing.architecture import load_architecture
from distillplan.spec.load import SpecFile, student_problem
from distillplan.spec.models import Spec
from distillplan.spec.registry import Method, Precision

__all__ = ["book_for", "compare_for_file", "eval_state_for", "locked_baseline", "plan_for_file"]


def book_for(spec: Spec) -> PriceBook:
    """The price book pricing ``spec``: the ``.distillplan/prices.toml`` of the repository the
    loader found for it (:attr:`Spec.prices_root`) over the bundled book (docs/prices.md)."""
    return price_book(spec.prices_root)


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


def plan_for_file(sf: SpecFile, *, eval_state: EvalState | None = None) -> Plan:
    """Gather the inputs of the spec file ``sf`` and plan."""
    arch = load_architecture(sf.spec.student.base_model, base_dir=sf.dir)
    state = eval_state if eval_state is not None else eval_state_for(sf.spec, sf.dir)
    inputs = PlanInputs(architecture=arch, eval_state=state, baseline=locked_baseline(sf.dir), book=book_for(sf.spec))
    return build_plan(sf.spec, inputs)


def locked_baseline(spec_dir: Path) -> Baseline | None:
    """The teacher baseline fixed in ``distill.lock`` (None: no lock, none recorded, or a lock
    that cannot be read, which :func:`eval_state_for` reports)."""
    try:
        lock = read_lock(spec_dir)
    except LockError:
        return None
    return lock.eval.baseline if lock is not None and lock.eval is not None else None


def compare_for_file(
    sf: SpecFile,
    *,
    students: Sequence[str] = (),
    precisions: Sequence[Precision] = (),
    gpus: Sequence[str] = (),
    methods: Sequence[Method] = (),
) -> Comparison:
    """Compare the candidates of the spec file ``sf``:
    the eval state is read once and each student's architecture loaded once.

    ``students`` etc. (the command's flags) replace the spec's ``[compare]`` axes; a student
    given on the command line is checked like ``student.base_model``."""
    spec = sf.spec
    root = repo_root(sf.dir) or sf.dir
    for name in students:
        why = student_problem(name, sf.dir, root)
        if why:
            raise DistillError(f"--student {name}: {why}")
    axes = axes_of(spec, students=students, precisions=precisions, gpus=gpus, methods=methods)
    names = dict.fromkeys([*axes.students, own_candidate(spec).student])
    archs = {name: load_architecture(name, base_dir=sf.dir) for name in names}
    return compare(spec, axes=axes, architectures=archs, eval_state=eval_state_for(spec, sf.dir), book=book_for(spec))
