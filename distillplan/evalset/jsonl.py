"""The one fast JSON-line parser of the large inputs (eval sets, predictions, sampled traffic).

:func:`fast_loads` parses a line with orjson (several times faster than :func:`json.loads`) and
returns :data:`SLOW` whenever orjson's answer could differ from the standard parser's, so the
caller goes through ``json.loads``, which decides and words every error. Besides the lines orjson
refuses (NaN, Infinity, lone surrogates, a BOM, invalid UTF-8, a blank line, ...), that is a line
holding 19 digits in a row: orjson reads an integer beyond 64 bits as a float (it would change an
id or a label), the standard parser as the exact integer. The result is the standard parser's
value on every line.

:func:`paused_gc` pauses the cycle collector while millions of short-lived, acyclic dicts are
built: each full collection walks every object made so far, which made reading quadratic-ish.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final

import orjson

__all__ = ["SLOW", "fast_loads", "has_long_digits", "loads_for", "paused_gc", "trusted_loads"]

SLOW: Final = object()  #: :func:`fast_loads` could not vouch for the line: parse it with ``json.loads``
_DIGITS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x2E for b in range(256))  # a digit -> "0", else "."
_LONG_RUN = b"0" * 19  # 19 digits in a row: maybe an integer orjson reads as a float
_loads, _DecodeError = orjson.loads, orjson.JSONDecodeError


def has_long_digits(data: bytes) -> bool:
    """Whether ``data`` holds 19 digits in a row (in C: one translate and one find)."""
    return data.translate(_DIGITS).find(_LONG_RUN) >= 0


def fast_loads(line: bytes) -> Any:
    """The value of a JSON line, as ``json.loads`` reads it, or :data:`SLOW`."""
    if has_long_digits(line):
        return SLOW
    return trusted_loads(line)


def trusted_loads(line: bytes) -> Any:
    """:func:`fast_loads` for a line already known to hold no 19-digit run (:func:`loads_for`)."""
    try:
        return _loads(line)
    except _DecodeError:
        return SLOW


def loads_for(data: bytes) -> Callable[[bytes], Any]:
    """The line parser for the lines of ``data``: the digit check made once on the whole buffer."""
    return fast_loads if has_long_digits(data) else trusted_loads


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside (the previous state is restored after)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
