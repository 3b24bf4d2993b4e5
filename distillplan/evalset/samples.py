"""Sampled production traffic for ``distillplan monitor`` (P8.2): a streamed JSONL reader.

One request a line, answered by the student and re-answered by the teacher::

    {"id": "r-1", "timestamp": "2027-03-01T09:30:00Z", "segment": "billing",
     "student": "refund", "teacher": "refund", "reference": "refund"}

``id`` is a string or an integer (``7`` and ``"7"`` are the same id), ``timestamp`` is ISO 8601
with a UTC offset, ``segment`` a non-empty string, ``student`` and ``teacher`` any JSON value,
``reference`` (a human label) optional. Files are read in the order given, lines in order; the
timestamps must not go backwards across them.

Nothing is dropped: every bad line is a located :class:`~distillplan.errors.Problem`
(``file:line:col: key: message``) and any problem makes the whole input unusable. Memory is
constant except for the duplicate-id check, which keeps one 64-bit hash per row; a repeated hash
is confirmed (same id text) and its first line found by a second pass, so a hash collision can
never be reported as a duplicate.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from hashlib import blake2b
from pathlib import Path
from typing import Any

from distillplan.errors import Problem

__all__ = ["FIELDS", "Sample", "SampleReader"]

FIELDS = ("id", "timestamp", "segment", "student", "teacher")
_OPTIONAL = ("reference",)
_NO_REF = object()


@dataclass(frozen=True)
class Sample:
    week: str  # ISO week of the timestamp in UTC, "2027-W09"
    segment: str
    student: Any
    teacher: Any
    reference: Any  # ``Sample.NO_REFERENCE`` when the line has none
    path: str
    line: int

    NO_REFERENCE = _NO_REF


def _kind(v: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(v), "a number"
    )


def _id_key(v: Any) -> str | None:
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        return None
    return str(v)


def _hash(key: str) -> int:
    return int.from_bytes(blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


class SampleReader:
    """Iterate :class:`Sample` rows of ``paths``; problems gather in :attr:`problems`."""

    def __init__(self, paths: Sequence[Path], *, display: Callable[[Path], str] = str) -> None:
        self.paths = list(paths)
        self.display = display
        self.problems: list[Problem] = []
        self.rows = 0
        self._seen: set[int] = set()
        self._repeats: dict[str, tuple[str, int]] = {}  # id -> (file, line) of the repeat
        self._weeks: dict[date, str] = {}

    def _problem(self, path: str, line: int, key: str, message: str, col: int = 1) -> None:
        self.problems.append(Problem(path, line, col, key, message))

    def _week(self, ts: datetime) -> str:
        day = ts.astimezone(timezone.utc).date()
        week = self._weeks.get(day)
        if week is None:
            y, w, _ = day.isocalendar()
            week = self._weeks[day] = f"{y}-W{w:02d}"
        return week

    def __iter__(self) -> Iterator[Sample]:
        last: tuple[datetime, str, int] | None = None
        for path in self.paths:
            shown = self.display(path)
            try:
                f = path.open("rb")
            except OSError as e:
                self._problem(shown, 1, "", f"cannot read: {e.strerror or e}")
                continue
            with f:
                for n, raw in enumerate(f, 1):
                    row = self._parse(raw, shown, n)
                    if row is None:
                        continue
                    obj, ts = row
                    if last is not None and ts < last[0]:
                        prev = f"{last[1]}:{last[2]}"
                        self._problem(shown, n, "timestamp", f"out of order: {obj['timestamp']} is before {prev}")
                        continue
                    last = (ts, shown, n)
                    self.rows += 1
                    yield Sample(
                        self._week(ts),
                        obj["segment"],
                        obj["student"],
                        obj["teacher"],
                        obj.get("reference", _NO_REF),
                        shown,
                        n,
                    )
        if self._repeats:
            self._locate_repeats()

    def _parse(self, raw: bytes, shown: str, n: int) -> tuple[dict[str, Any], datetime] | None:
        if not raw.strip():
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            self._problem(shown, n, "", "not valid UTF-8", e.start + 1)
            return None
        if n == 1:
            text = text.removeprefix("\ufeff")
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            self._problem(shown, n, "", f"not valid JSON: {e.msg}", e.colno)
            return None
        if not isinstance(obj, dict):
            self._problem(shown, n, "", f"expected a JSON object, got {_kind(obj)}")
            return None
        bad = False
        for key in FIELDS:
            if key not in obj:
                self._problem(shown, n, key, "missing")
                bad = True
        if extra := sorted(set(obj) - set(FIELDS) - set(_OPTIONAL)):
            self._problem(shown, n, extra[0], f"unknown field; expected {', '.join(FIELDS + _OPTIONAL)}")
            bad = True
        if bad:
            return None
        key = _id_key(obj["id"])
        if key is None:
            self._problem(shown, n, "id", f"must be a string or an integer, got {_kind(obj['id'])}")
            return None
        seg = obj["segment"]
        if not isinstance(seg, str) or not seg.strip():
            got = _kind(seg) if not isinstance(seg, str) else "an empty string"
            self._problem(shown, n, "segment", f"must be a non-empty string, got {got}")
            return None
        stamp = obj["timestamp"]
        try:
            if not isinstance(stamp, str):
                raise ValueError
            ts = datetime.fromisoformat(stamp)
        except ValueError:
            self._problem(shown, n, "timestamp", f"not an ISO 8601 time: {json.dumps(stamp)[:60]}")
            return None
        if ts.tzinfo is None:
            self._problem(shown, n, "timestamp", f"{stamp} has no UTC offset (write Z or +hh:mm)")
            return None
        h = _hash(key)
        if h in self._seen:
            self._repeats.setdefault(key, (shown, n))
        else:
            self._seen.add(h)
        return obj, ts

    def _locate_repeats(self) -> None:
        """Second pass, only when a hash repeated: find each repeated id's first line."""
        first: dict[str, tuple[str, int]] = {}
        for path in self.paths:
            shown = self.display(path)
            try:
                f = path.open("rb")
            except OSError:
                continue
            with f:
                for n, raw in enumerate(f, 1):
                    try:
                        obj = json.loads(raw)
                    except (ValueError, UnicodeDecodeError):
                        continue
                    key = _id_key(obj.get("id")) if isinstance(obj, dict) else None
                    if key in self._repeats:
                        assert key is not None
                        if key not in first:
                            first[key] = (shown, n)
                        elif (shown, n) != first[key]:
                            where = f"{first[key][0]}:{first[key][1]}"
                            self._problem(shown, n, "id", f"duplicate id {key!r} (first at {where})")
        self._repeats.clear()
