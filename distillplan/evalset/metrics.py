"""Per-example scores in [0, 1] for the acceptance test (P9.2).

* ``accuracy`` / ``exact-match``: 1 when ``norm(reference) == norm(prediction)``.
  ``norm`` of a string: NFKC, casefold, NFKC again, whitespace runs collapsed to one
  space and stripped. Any other value: canonical JSON (sorted keys, integral floats as
  ints), so ``5``, ``5.0`` and ``" 5 "`` all match.
* ``field-f1`` (extraction): both sides are JSON objects (or strings holding one),
  flattened to a multiset of ``(dotted.key, norm(value))`` pairs; list items share their
  key (a multiset), ``null`` counts as absent. ``F1 = 2|R∩P| / (|R| + |P|)`` (= 2PR/(P+R));
  both empty -> 1; an unparseable prediction -> 0.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Callable
from typing import Any

from distillplan.spec.registry import Metric

__all__ = ["METRICS", "METRIC_RULES", "Metric", "as_object", "exact_match", "field_f1", "memoized", "normalize"]

#: How each metric normalises and scores one prediction, in the contract's words.
_NORM = (
    "strings are NFKC-normalised, case-folded and whitespace-collapsed; other values are compared "
    "as canonical JSON (sorted keys, 5.0 equals 5)"
)
METRIC_RULES: dict[str, str] = {
    "accuracy": f"1 when the prediction equals the reference after normalisation, else 0 ({_NORM})",
    "exact-match": f"1 when the prediction equals the reference after normalisation, else 0 ({_NORM})",
    "field-f1": "F1 of the (field, value) pairs of the prediction against the reference, both JSON objects "
    f"flattened to dotted keys, values normalised ({_NORM}); null counts as absent, an unparseable "
    "prediction scores 0",
}


def _canon(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, dict):
        return {k: _canon(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_canon(x) for x in v]
    return v


def normalize(v: Any) -> str:
    """The comparison form of a label or field value (see the module docstring)."""
    if isinstance(v, str):
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", v).casefold())
        return " ".join(folded.split())
    return json.dumps(_canon(v), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def exact_match(reference: Any, prediction: Any) -> float:
    return 1.0 if normalize(reference) == normalize(prediction) else 0.0


def as_object(v: Any) -> dict[str, Any] | None:
    if isinstance(v, str):
        try:
            v = json.loads(v)
        except json.JSONDecodeError:
            return None
    return v if isinstance(v, dict) else None


def _pairs(v: Any, key: str, out: Counter[tuple[str, str]]) -> Counter[tuple[str, str]]:
    if isinstance(v, dict):
        for k, x in v.items():
            _pairs(x, f"{key}.{k}" if key else str(k), out)
    elif isinstance(v, list):
        for x in v:
            _pairs(x, key, out)
    elif v is not None:
        out[(key, normalize(v))] += 1
    return out


def field_f1(reference: Any, prediction: Any) -> float:
    """``2|R∩P| / (|R|+|P|)`` over (dotted key, normalized value) multisets."""
    ref, pred = as_object(reference), as_object(prediction)
    if ref is None or pred is None:
        return 0.0
    r, p = _pairs(ref, "", Counter()), _pairs(pred, "", Counter())
    if not r and not p:
        return 1.0
    return 2 * sum((r & p).values()) / (r.total() + p.total())


def memoized(score: Callable[[Any, Any], float], limit: int = 100_000) -> Callable[[Any, Any], float]:
    """``score`` remembering its value on pairs of strings (labels repeat: a million rows of
    accuracy hold a few dozen distinct pairs); at most ``limit`` pairs are kept, so memory stays
    bounded on an open vocabulary. The values are ``score``'s own (it is a pure function)."""
    cache: dict[tuple[str, str], float] = {}

    def scored(a: Any, b: Any) -> float:
        if type(a) is str and type(b) is str:
            v = cache.get((a, b))
            if v is None:
                if len(cache) >= limit:
                    cache.clear()
                v = cache[(a, b)] = score(a, b)
            return v
        return score(a, b)

    return scored


METRICS: dict[str, Callable[[Any, Any], float]] = {
    "accuracy": exact_match,
    "exact-match": exact_match,
    "field-f1": field_f1,
}
