"""Every way distillplan writes a value as text: money, tokens, percentages, months and
sizes for people; escaped strings for TOML, YAML and Markdown; rounded floats for JSON.

One module so that ``$1,234`` (and ``-$1,234``), ``190M`` and an escaped table cell read the
same in the terminal report, the Markdown comment, the proposal and the contract.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from distillplan.errors import one_line

__all__ = [
    "JSON_WHITESPACE",
    "count",
    "gib",
    "json_round",
    "md_cell",
    "md_table",
    "md_text",
    "months",
    "num",
    "pct",
    "price",
    "tokens",
    "toml_str",
    "usd",
    "yaml_str",
    "yaml_value",
]

#: What JSON (RFC 8259) counts as whitespace: a JSONL line of only these is blank. Python's
#: str.strip() also strips \x1c-\x1f, \x85 and the Unicode spaces, which JSON does not.
JSON_WHITESPACE = " \t\r\n"

# ---------------------------------------------------------------- TOML

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_str(value: str) -> str:
    """A TOML basic string holding exactly ``value``: backslash, quote and every control
    character escaped (the short forms where TOML has them, ``\\uXXXX`` otherwise)."""
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


# ---------------------------------------------------------------- YAML

# Characters PyYAML refuses in a stream, or reads as line breaks inside a double-quoted
# scalar (YAML 1.1: NEL, LS, PS): written as \uXXXX escapes so the value round-trips.
_YAML_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


def _yaml_escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group(0)):04x}"


def yaml_str(value: str | None) -> str:
    """A YAML double-quoted scalar holding exactly ``value`` (``null`` for None).

    JSON strings are valid YAML double-quoted scalars; non-ASCII stays readable, and
    anything PyYAML would reject or fold (control characters, NEL, LS/PS) is escaped.
    """
    if value is None:
        return "null"
    if not isinstance(value, str):
        raise TypeError(f"yaml_str expects a string (got {type(value).__name__})")
    return _YAML_UNSAFE.sub(_yaml_escape, json.dumps(value, ensure_ascii=False))


def _yaml_float(x: float) -> str:
    if not math.isfinite(x):
        raise ValueError(f"cannot write {x!r} to YAML")
    text = repr(float(x))
    if "e" in text and "." not in text.split("e")[0]:  # PyYAML (YAML 1.1) needs the dot
        mant, exp = text.split("e")
        text = f"{mant}.0e{exp}"
    if "e" in text and text.split("e")[1][0] not in "+-":
        mant, exp = text.split("e")
        text = f"{mant}e+{exp}"
    return text


def yaml_value(value: Any) -> str:
    """Any JSON-like value as a YAML flow value: strings quoted, numbers exact."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _yaml_float(value)
    if isinstance(value, str):
        return yaml_str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(yaml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{yaml_str(str(k))}: {yaml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to YAML")


# ---------------------------------------------------------------- Markdown

_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~&])")
_MD_BREAKS = re.compile(r"\s*(?:\r\n|[\n\r\x0b\x0c\x85\u2028\u2029])\s*")
_MD_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")
_MD_LEADING = re.compile(r"^([#+=-])")
_MD_ORDERED = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")


def yaml_comment(value: Any) -> str:
    """Text for a ``#`` comment line in YAML (or any line-based format): every line break and
    control character shown as an escape, so a value can never end the comment and start a
    key (``root = "distill\\ntrust-remote-code: true"``)."""
    return one_line("" if value is None else str(value))


def md_text(value: Any) -> str:
    """Inline Markdown showing ``value`` literally: specials escaped, one line.

    Escapes ``\\ ` * _ [ ] < > | ~ &`` everywhere (so raw HTML, links, emphasis and
    table pipes cannot appear), and a leading ``# + = -`` or ``1.`` that would start a
    block. Line breaks become spaces; control characters are dropped.
    """
    text = "" if value is None else str(value)
    text = _MD_CONTROL.sub("", _MD_BREAKS.sub(" ", text))
    text = _MD_INLINE.sub(r"\\\1", text)
    text = _MD_ORDERED.sub(r"\1\\\2", _MD_LEADING.sub(r"\\\1", text))
    return text


def md_cell(value: Any) -> str:
    """A Markdown table cell: :func:`md_text`, never empty (an empty cell reads as missing)."""
    text = md_text(value).strip()
    return text if text else "-"


_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def _table_cell(markdown: str) -> str:
    """A cell that is Markdown already (values escaped by :func:`md_text` by the caller):
    folded to one line, any pipe not yet escaped escaped, never empty."""
    one_line = _MD_BREAKS.sub(" ", markdown).strip()
    return _UNESCAPED_PIPE.sub(r"\\|", one_line) or " "


def md_table(head: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()) -> list[str]:
    """A well-formed GFM table of Markdown cells (escape values with :func:`md_text` first);
    ``right`` lists right-aligned columns."""
    n = len(head)
    for r in rows:
        if len(r) != n:
            raise ValueError(f"table row has {len(r)} cells, header has {n}")
    sep = ["---:" if i in right else "---" for i in range(n)]
    out = ["| " + " | ".join(_table_cell(h) for h in head) + " |", "| " + " | ".join(sep) + " |"]
    out += ["| " + " | ".join(_table_cell(c) for c in r) + " |" for r in rows]
    return [*out, ""]


# ---------------------------------------------------------------- numbers for people


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def num(value: Any, decimals: int = 0) -> str:
    """``1234567.8`` -> ``1,234,568`` (``decimals`` places); ``n/a`` for None."""
    if _missing(value):
        return "n/a"
    return f"{float(value):,.{decimals}f}" if decimals else f"{round(float(value)):,}"


def usd(value: Any, decimals: int = 0, *, compact: bool = False, sign: bool = False) -> str:
    """``$1,234`` (``-$1,234``; ``+$1,234`` with ``sign``); ``compact`` writes ``$1.2M`` /
    ``$45.0k`` from a thousand up; ``n/a`` for None. A value that rounds to zero has no sign."""
    if _missing(value):
        return "n/a"
    x = float(value)
    zero = round(abs(x), max(decimals, 0)) == 0
    mark = "" if zero else "-" if x < 0 else "+" if sign else ""
    a = abs(x)
    if compact and a >= 1e6:
        return f"{mark}${a / 1e6:,.1f}M"
    if compact and a >= 1e3:
        return f"{mark}${a / 1e3:,.1f}k"
    return f"{mark}${a:,.{decimals}f}" if decimals else f"{mark}${round(a):,}"


def price(value: float) -> str:
    """A price per million tokens: two decimals, more where the price has them (``$0.075``)."""
    decimals = next((d for d in range(2, 7) if round(value, d) == round(value, 9)), 6)
    return usd(value, decimals)


def count(n: float, noun: str, plural: str | None = None) -> str:
    """``1 replica``, ``2 replicas``, ``1,800 tokens``, ``2.5 points``: the number thousands-separated
    (a fraction as written, never in exponent form), the noun singular for exactly one (no "(s)")."""
    if isinstance(n, int) or float(n).is_integer():
        shown = f"{int(n):,}"
    else:
        shown = f"{n:,.10g}"
    return f"{shown} {noun if n == 1 else plural or noun + 's'}"


def pct(value: Any, decimals: int = 1) -> str:
    """A fraction as a percentage: ``0.125`` -> ``12.5%``; ``n/a`` for None."""
    if _missing(value):
        return "n/a"
    return f"{float(value) * 100:.{decimals}f}%"


def tokens(n: float) -> str:
    """``9.9B``, ``190M``, ``50M``: one decimal below 100 of a unit, none when it is zero."""
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            text = f"{n / size:,.{1 if n < 100 * size else 0}f}"
            return (text[:-2] if text.endswith(".0") else text) + unit
    return f"{n:,.0f}"


def months(m: float | None) -> str:
    return "never" if m is None else f"{m:,.1f} months"


def gib(x: float) -> str:
    return f"{x:,.1f} GiB"


# ---------------------------------------------------------------- JSON


def json_round(v: Any) -> Any:
    """Stable JSON: floats to 10 significant digits so that bytes do not flicker."""
    if isinstance(v, float):
        return float(f"{v:.10g}")
    if isinstance(v, dict):
        return {k: json_round(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [json_round(x) for x in v]
    return v
