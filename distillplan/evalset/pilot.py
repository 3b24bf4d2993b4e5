"""A pilot student's predictions on part of the eval set (P5.1): the gap it shows, before the
project is committed to. Read at the edge by ``plan``; a subset of the eval ids is fine (a few
hundred predictions), each line in ``accept``'s own format (``{"<id_field>": ..., "prediction": ...}``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from distillplan.errors import LocatedError
from distillplan.evalset.accept import EvalRow, read_jsonl
from distillplan.evalset.metrics import METRICS

__all__ = ["score_pilot"]


def score_pilot(
    rows: Sequence[EvalRow], path: Path, *, display_path: str, metric: str, id_field: str
) -> tuple[int, float]:
    """(examples scored, mean score) of the pilot predictions in ``path`` against the eval set's
    references, with the contract's metric. Every problem is one located line."""
    by_id = {r.id: r for r in rows}
    score = METRICS[metric]
    seen: dict[str, int] = {}
    scores: list[float] = []
    for line, obj in read_jsonl(path, display_path=display_path):
        pid = obj.get(id_field)
        if not isinstance(pid, str | int) or isinstance(pid, bool):
            raise LocatedError(path=display_path, line=line, key=id_field, message="missing or not a string id")
        pid = str(pid)
        if pid in seen:
            raise LocatedError(
                path=display_path, line=line, key=id_field, message=f"duplicate id {pid!r} (first at line {seen[pid]})"
            )
        seen[pid] = line
        if pid not in by_id:
            raise LocatedError(path=display_path, line=line, key=id_field, message=f"id {pid!r} is not in the eval set")
        if "prediction" not in obj:
            raise LocatedError(path=display_path, line=line, key="prediction", message="missing prediction field")
        scores.append(score(by_id[pid].reference, obj["prediction"]))
    if not scores:
        raise LocatedError(path=display_path, line=1, message="no pilot predictions")
    return len(scores), math.fsum(scores) / len(scores)
