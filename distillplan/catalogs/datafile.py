"""The one reader of the bundled data files (``data/gpus.toml``, ``data/teachers.toml``,
``data/architectures/SOURCES.toml``): each top-level table is validated by a strict pydantic
model (no unknown key, no coercion, ranges and closed sets checked), and the first problem is
one located line naming the file, the entry and the key, exit 1: a damaged or hand-edited data
file is a user-facing error, never an internal one nor a silently wrong figure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from distillplan.errors import DistillError, Problem
from distillplan.files import data_path, tomllib

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

__all__ = ["DataFileError", "Row", "load_rows", "locate", "parse_toml", "validate_rows"]


class Row(BaseModel):
    """Base of every data-file row: unknown keys refused, no type coercion, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


R = TypeVar("R", bound=Row)


class DataFileError(DistillError):
    """A bundled data file does not hold what distillplan reads from it."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def load_rows(model: type[R], *parts: str, path: Path | None = None) -> dict[str, R]:
    """Every top-level table of the data file ``parts`` (under ``distillplan/data``, or
    ``path`` when given: a copy to check), validated by ``model``, in file order."""
    file = path if path is not None else data_path(*parts)
    text = file.read_text(encoding="utf-8")
    display = str(file)
    return validate_rows(model, text, display, parse_toml(text, display))


def parse_toml(text: str, display: str) -> dict[str, object]:
    """``text`` as TOML; not TOML is one located line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)", msg)
        line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
        what = msg[: m.start()] if m else msg
        raise DataFileError(Problem(display, line, col, "", f"not valid TOML: {what}")) from None


def validate_rows(
    model: type[R], text: str, display: str, raw: Mapping[str, object], *, parent: str | None = None
) -> dict[str, R]:
    """Each table of ``raw`` (the top-level tables of ``text``, or those under ``[parent]``)
    validated by ``model``; the first problem is one located line."""
    out: dict[str, R] = {}
    for key, row in raw.items():
        table = f"{parent}.{_key(key)}" if parent else key
        if not isinstance(row, dict):
            raise DataFileError(Problem(display, *locate(text, table, ()), table, "expected a table, one per entry"))
        try:
            out[key] = model.model_validate(row)
        except ValidationError as e:
            errors = e.errors(include_url=False)
            # an unknown key first: a typo'd key also reads as its real key missing
            err = min(errors, key=lambda x: x["type"] != "extra_forbidden")
            loc = tuple(err["loc"])
            where = ".".join(
                [_key(key) if not parent else table, *(str(p) if isinstance(p, int) else _key(p) for p in loc)]
            )
            message = _message(err, _fields(model, loc))
            raise DataFileError(Problem(display, *locate(text, table, loc), where, message)) from None
    return out


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else f'"{name}"'


def _fields(model: type[BaseModel], loc: tuple[object, ...]) -> list[str]:
    """The keys allowed where ``loc`` points (for a did-you-mean)."""
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(str(part))
        inner = getattr(info, "annotation", None) if info is not None else None
        args = getattr(inner, "__args__", ())
        nested = next((a for a in (inner, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if nested is None:
            return []
        model = nested
    return list(model.model_fields)


def _message(err: ErrorDetails, allowed: list[str]) -> str:
    kind, msg, value = err["type"], err["msg"], err.get("input")
    if kind == "extra_forbidden":
        import difflib  # deferred: only when there is a typo to suggest a fix for

        close = difflib.get_close_matches(str(err["loc"][-1]), allowed, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(allowed)}"
        return f"unknown key ({hint})"
    if kind == "missing":
        return "required key missing"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    shown = "a table" if isinstance(value, dict) else repr(value)
    return f"{msg[0].lower() + msg[1:]} (got {shown[:80]})"


def locate(text: str, table: str, loc: tuple[object, ...]) -> tuple[int, int]:
    """Line and column of ``table``'s key ``loc[0]`` (the ``loc[1]``-th inline table of an array
    when ``loc[1]`` is an index), else of the table's header, else the top of the file. Runs only
    on an error; a plain line scan suffices for these hand-kept files."""
    lines = text.splitlines()
    names = {table, f'"{table}"'}
    if "." in table and not table.startswith('"'):
        head, _, last = table.partition(".")
        names |= {f"{head}.{last}", f'{head}."{last.strip(chr(34))}"'}
    header = re.compile(r"\s*\[\s*(?:" + "|".join(re.escape(n) for n in names) + r")\s*\]\s*(#.*)?$")
    start = next((i for i, ln in enumerate(lines) if header.match(ln)), None)
    if start is None:
        return (1, 1)
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"\s*\[", lines[i])), len(lines))
    if not loc or not isinstance(loc[0], str):
        return (start + 1, 1)
    field = re.compile(r"\s*(?:" + re.escape(loc[0]) + "|" + re.escape(f'"{loc[0]}"') + r")\s*=")
    at = next((i for i in range(start + 1, end) if field.match(lines[i])), None)
    if at is None:
        return (start + 1, 1)
    if len(loc) > 1 and isinstance(loc[1], int):  # the n-th inline table of an array
        items = [i for i in range(at, end) if "{" in lines[i]]
        if loc[1] < len(items):
            i = items[loc[1]]
            return (i + 1, lines[i].index("{") + 1)
    return (at + 1, len(lines[at]) - len(lines[at].lstrip()) + 1)
