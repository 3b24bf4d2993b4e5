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
constant except for the duplicate-id check, which keeps one 64-bit ``hash()`` per row; a repeated hash
is confirmed (same id text) and its first line found by a second pass, so a hash collision can
never be reported as a duplicate.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from distillplan.errors import InputError, Problem, quote_value
from distillplan.evalset.jsonl import SLOW, fast_loads
from distillplan.files import open_regular
from distillplan.progress import Tick, progress
from distillplan.text import JSON_WHITESPACE, count

__all__ = ["FIELDS", "NO_REFERENCE", "Sample", "SampleReader"]

FIELDS = ("id", "timestamp", "segment", "student", "teacher")
MAX_LINE_BYTES = 64 << 20  # one sampled request; a longer line is a broken file, not a sample
_OPTIONAL = ("reference",)
_NO_REF = object()
_BAD, _BLANK = object(), object()
_JSON_WS_BYTES = JSON_WHITESPACE.encode()
_REQUIRED = frozenset(FIELDS)
_ALLOWED = frozenset(FIELDS + _OPTIONAL)


class Sample(NamedTuple):
    week: str  # ISO week of the timestamp in UTC, "2027-W09"
    segment: str
    student: Any
    teacher: Any
    reference: Any  # ``NO_REFERENCE`` when the line has none
    path: str
    line: int


NO_REFERENCE = _NO_REF  # ``Sample.reference`` of a line without a ``reference``


def _kind(v: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(v), "a number"
    )


def _id_key(v: Any) -> str | None:
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        return None
    return str(v)


class SampleReader:
    """Iterate :class:`Sample` rows of ``paths``; problems gather in :attr:`problems`."""

    def __init__(self, paths: Sequence[Path], *, display: Callable[[Path], str] = str) -> None:
        self.paths = list(paths)
        self.display = display
        self.problems: list[Problem] = []
        self.rows = 0
        self._seen: set[int] = set()
        self._repeats: dict[str, tuple[str, int]] = {}  # id -> (file, line) of the repeat
        self._zweeks: dict[str, str] = {}  # the date of a ...Z stamp -> ISO week
        self._weeks: dict[int, str] = {}  # day since 1970-01-01 (UTC) -> ISO week

    def _problem(self, path: str, line: int, key: str, message: str, col: int = 1) -> None:
        self.problems.append(Problem(path, line, col, key, message))

    def __iter__(self) -> Iterator[Sample]:
        total = 0
        for path in self.paths:
            with contextlib.suppress(OSError):
                total += path.stat().st_size
        with progress("reading sampled traffic", total=total, unit="MiB") as tick:
            yield from self._rows(tick)

    def _rows(self, tick: Tick) -> Iterator[Sample]:
        # The fast path is inlined (this loop runs once per row); any row it does not accept
        # goes through _parse, which either accepts it too or records the located problem.
        last_ts: datetime | None = None
        last_at = ("", 0)
        loads, fromiso, decode_error = fast_loads, datetime.fromisoformat, orjson.JSONDecodeError
        weeks, zweeks, seen, repeats = self._weeks, self._zweeks, self._seen, self._repeats
        no_ref = _NO_REF
        read = 0  # bytes of the files before this one
        for path in self.paths:
            shown = self.display(path)
            try:
                f = open_regular(path, shown=shown)  # a FIFO or a device (/dev/zero) is refused, never read
            except InputError as e:
                self._problem(shown, 1, "", str(e).removeprefix(f"{shown}: "))
                continue
            except OSError as e:
                self._problem(shown, 1, "", f"cannot read: {e.strerror or e}")
                continue
            with f:
                for n, raw in enumerate(iter(partial(f.readline, MAX_LINE_BYTES + 1), b""), 1):
                    if not n & 0x3FFF:
                        tick(read + f.tell())
                    if len(raw) > MAX_LINE_BYTES:
                        self._problem(
                            shown,
                            n,
                            "",
                            f"a line longer than {count(MAX_LINE_BYTES, 'byte')}; the rest of the file is not read",
                        )
                        break
                    try:
                        obj = loads(raw)
                        keys = obj.keys()  # SLOW (not vouched for) has none: the careful path decides
                        if not (keys >= _REQUIRED and keys <= _ALLOWED):
                            raise TypeError
                        rid, seg, stamp = obj["id"], obj["segment"], obj["timestamp"]
                        if type(rid) is str:
                            key = rid
                        elif type(rid) is int:
                            key = str(rid)
                        else:
                            raise TypeError
                        if type(seg) is not str or not seg.strip():
                            raise TypeError
                        ts = fromiso(stamp)
                        if ts.tzinfo is None:
                            raise TypeError
                        if stamp[-1] == "Z":  # UTC: the date is the stamp's first 10 characters
                            week = zweeks.get(stamp[:10]) or self._zweek(stamp[:10], ts)
                        else:
                            day = int(ts.timestamp() // 86400)
                            week = weeks.get(day) or self._week(day)
                        h = hash(key)
                        if h in seen:
                            repeats.setdefault(key, (shown, n))
                        else:
                            seen.add(h)
                    except (decode_error, AttributeError, TypeError, ValueError, OverflowError):
                        row = self._parse(raw, shown, n)
                        if row is None:
                            continue
                        obj, ts, week = row
                    if last_ts is not None and ts < last_ts:
                        prev = f"{last_at[0]}:{last_at[1]}"
                        self._problem(
                            shown, n, "timestamp", f"out of order: {quote_value(obj['timestamp'])} is before {prev}"
                        )
                        continue
                    last_ts, last_at = ts, (shown, n)
                    self.rows += 1
                    yield (week, obj["segment"], obj["student"], obj["teacher"], obj.get("reference", no_ref), shown, n)  # type: ignore[misc]  # a plain tuple: Sample's fields, built at C speed
                read += f.tell()
        if self._repeats:
            self._locate_repeats()

    def _zweek(self, prefix: str, ts: datetime) -> str:
        week = self._zweeks[prefix] = self._week(int(ts.timestamp() // 86400))
        return week

    def _week(self, day: int) -> str:
        y, w, _ = (date(1970, 1, 1) + timedelta(days=day)).isocalendar()
        week = self._weeks[day] = f"{y}-W{w:02d}"
        return week

    def _loads(self, raw: bytes, shown: str, n: int) -> Any:
        obj = fast_loads(raw)
        if obj is not SLOW:
            return obj
        # the standard parser decides and words the message (it also takes NaN, and reads big ints exactly)
        if not raw.strip(_JSON_WS_BYTES):
            return _BLANK
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            self._problem(shown, n, "", "not valid UTF-8", e.start + 1)
            return _BAD
        if n == 1:
            text = text.removeprefix("\ufeff")
            if not text.strip(JSON_WHITESPACE):
                return _BLANK
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            self._problem(shown, n, "", f"not valid JSON: {e.msg}", e.colno)
            return _BAD

    def _parse(self, raw: bytes, shown: str, n: int) -> tuple[dict[str, Any], datetime, str] | None:
        obj = self._loads(raw, shown, n)
        if obj is _BAD or obj is _BLANK:
            return None
        if type(obj) is not dict:
            self._problem(shown, n, "", f"expected a JSON object, got {_kind(obj)}")
            return None
        keys = obj.keys()
        if not (keys >= _REQUIRED and keys <= _ALLOWED):
            for name in FIELDS:
                if name not in obj:
                    self._problem(shown, n, name, "missing")
            if extra := sorted(keys - _ALLOWED):
                self._problem(shown, n, extra[0], f"unknown field; expected {', '.join(FIELDS + _OPTIONAL)}")
            return None
        key = _id_key(obj["id"])
        if key is None:
            self._problem(shown, n, "id", f"must be a string or an integer, got {_kind(obj['id'])}")
            return None
        seg = obj["segment"]
        if type(seg) is not str or not seg.strip():
            got = _kind(seg) if not isinstance(seg, str) else "an empty string"
            self._problem(shown, n, "segment", f"must be a non-empty string, got {got}")
            return None
        stamp = obj["timestamp"]
        try:
            if type(stamp) is not str:
                raise ValueError
            ts = datetime.fromisoformat(stamp)
        except ValueError:
            got = quote_value(stamp) if isinstance(stamp, str) else _kind(stamp)
            self._problem(shown, n, "timestamp", f"not an ISO 8601 time: {got}")
            return None
        if ts.tzinfo is None:
            self._problem(shown, n, "timestamp", f"{quote_value(stamp)} has no UTC offset (write Z or +hh:mm)")
            return None
        try:  # in UTC, the time must still be a date Python has (years 1 to 9999)
            day = int(ts.timestamp() // 86400)
            week = self._weeks.get(day) or self._week(day)
        except (OverflowError, ValueError, OSError):
            self._problem(shown, n, "timestamp", f"{quote_value(stamp)} is out of range (years 1 to 9999, in UTC)")
            return None
        h = hash(key)
        if h in self._seen:
            self._repeats.setdefault(key, (shown, n))
        else:
            self._seen.add(h)
        return obj, ts, week

    def _locate_repeats(self) -> None:
        """Second pass, only when a hash repeated: find each repeated id's first line."""
        first: dict[str, tuple[str, int]] = {}
        for path in self.paths:
            shown = self.display(path)
            try:
                f = open_regular(path, shown=shown)
            except (OSError, InputError):
                continue
            with f:
                for n, raw in enumerate(iter(partial(f.readline, MAX_LINE_BYTES + 1), b""), 1):
                    if len(raw) > MAX_LINE_BYTES:
                        break
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
