"""``distill.toml`` text -> :class:`Spec`, with every problem located at ``file:line:col``.

The happy path is ``tomllib`` plus one pydantic validation; positions are computed (by
:mod:`distillplan.spec.positions`) only when there is something to point at.
"""

from __future__ import annotations

import hashlib
import json
import math
import posixpath
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from distillplan.catalogs.prices import teacher_prices
from distillplan.catalogs.students import config_problem, is_student_name
from distillplan.errors import InputError, Problem, SpecError, quote_value
from distillplan.files import leaves_folder, open_regular
from distillplan.git import repo_root as find_repo_root
from distillplan.spec.models import Spec
from distillplan.spec.policy import NotANumber

if TYPE_CHECKING:
    from distillplan.spec.positions import KeyPath, Positions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SPEC_NAME = "distill.toml"
MAX_SPEC_BYTES = 1 << 20  # a spec is a few KB; a 50 MB one made the hook run 3 minutes in 5 GB
MAX_PROBLEMS = 50  # reported per spec; the last line counts the rest
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_EOF = re.compile(r"\s*\(at end of document\)\s*$")


@dataclass(frozen=True)
class SpecFile:
    """A validated spec and where it came from."""

    spec: Spec
    path: Path  # the distill.toml (may not exist when read from git)
    display: str  # the path as the user should see it
    sha256: str  # of the file's bytes

    @property
    def dir(self) -> Path:
        return self.path.parent


def resolve_spec_arg(arg: str | Path) -> tuple[Path, str]:
    """A SPEC argument (a file, or a folder holding ``distill.toml``) -> (path, display)."""
    p = Path(arg)
    if p.is_dir():
        p = p / SPEC_NAME
        if not p.exists():
            display = str(Path(arg) / SPEC_NAME)
            raise SpecError([Problem(display, 1, 1, "", f"no {SPEC_NAME} in this folder (run `distillplan init`)")])
    return p, str(p)


def load_spec(arg: str | Path) -> SpecFile:
    """Read, parse and validate a spec from disk, checking its paths against the repo."""
    path, display = resolve_spec_arg(arg)
    try:
        with open_regular(path, shown=display) as f:  # a FIFO or a device is refused, never waited on
            data = f.read(MAX_SPEC_BYTES + 1)  # never more: the size cap is checked on these bytes
    except InputError as e:
        raise SpecError([Problem(display, 1, 1, "", str(e).removeprefix(f"{display}: "))]) from None
    except FileNotFoundError:
        raise SpecError([Problem(display, 1, 1, "", "no such file")]) from None
    except IsADirectoryError:
        raise SpecError([Problem(display, 1, 1, "", "is a folder, not a file")]) from None
    except OSError as e:
        raise SpecError([Problem(display, 1, 1, "", f"cannot read: {e.strerror or e}")]) from None
    base = path.resolve().parent
    spec = parse_spec(data, display=display, base_dir=base)
    return SpecFile(spec=spec, path=path, display=display, sha256=hashlib.sha256(data).hexdigest())


def parse_spec(data: bytes | str, *, display: str, base_dir: Path | None = None) -> Spec:
    """Validate spec text. With ``base_dir``, paths in the spec are checked against the
    repository holding it (they must stay inside). Raises :class:`SpecError`."""
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError(
            [Problem(display, 1, 1, "", f"is larger than {MAX_SPEC_BYTES:,} bytes (1 MiB), the limit for a spec")]
        )
    text = _decode(data, display) if isinstance(data, bytes) else data
    if not text.strip():
        raise SpecError([Problem(display, 1, 1, "", "is empty (run `distillplan init` for a starter spec)")])
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError([_toml_problem(e, text, display)]) from None
    except RecursionError:
        raise SpecError([Problem(display, 1, 1, "", "tables or arrays nested too deeply to read")]) from None
    problems: list[tuple[KeyPath, str, bool]] = []  # (path, message, point at value)
    context: dict[str, Any] = {"problems": []}
    spec: Spec | None = None
    try:
        spec = Spec.model_validate(raw, context=context)
    except ValidationError as e:
        problems.extend(_pydantic_problems(e, raw))
    problems.extend((_split_key(k), msg, True) for k, msg in context["problems"])
    if spec is not None and not problems:
        problems.extend(_semantic_problems(spec, base_dir))
    if problems:
        from distillplan.spec.positions import scan  # deferred: positions are computed only on error

        pos = scan(text)
        located = sorted(_located(display, pos, kp, msg, at_value) for kp, msg, at_value in problems)
        if len(located) > MAX_PROBLEMS:
            last = located[MAX_PROBLEMS - 1]
            more = len(located) - MAX_PROBLEMS
            located = [
                *located[: MAX_PROBLEMS - 1],
                Problem(display, last.line, last.col, "", f"and {more + 1} more problems"),
            ]
        raise SpecError(located)
    assert spec is not None
    return spec


def _decode(data: bytes, display: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SpecError([Problem(display, 1, 1, "", "is UTF-16 text; save it as UTF-8 (TOML is UTF-8)")])
    if data.startswith(b"\xef\xbb\xbf"):
        raise SpecError(
            [Problem(display, 1, 1, "", "starts with a UTF-8 byte-order mark; save it as UTF-8 without BOM")]
        )
    if b"\x00" in data[:8192]:
        raise SpecError([Problem(display, 1, 1, "", "is a binary file, not TOML text")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        head = data[: e.start]
        line = head.count(b"\n") + 1
        col = len(head) - (head.rfind(b"\n") + 1) + 1
        raise SpecError([Problem(display, line, col, "", f"is not UTF-8 text (byte 0x{data[e.start]:02x})")]) from None


def _toml_problem(e: tomllib.TOMLDecodeError, text: str, display: str) -> Problem:
    msg = str(e)
    line = getattr(e, "lineno", None)
    col = getattr(e, "colno", None)
    m = _TOML_AT.search(msg)
    if m:
        line, col = int(m.group(1)), int(m.group(2))
        msg = msg[: m.start()]
    elif _TOML_EOF.search(msg):
        msg = _TOML_EOF.sub("", msg) + " at end of file"
        line = text.count("\n") + 1
        col = len(text) - (text.rfind("\n") + 1) + 1
    key = ""
    from distillplan.spec.positions import scan  # deferred: positions are computed only on error

    # the scanner names a duplicate better than tomllib does, but only the one tomllib stopped at:
    # dotted keys (`override_usd.eval_set = 1`) plus an error elsewhere must not be blamed on the keys
    dups = [d for d in scan(text).duplicates if d[1][0] == int(line or 0)]
    if dups:
        path, here, first = dups[0]
        what = "table" if path in scan(text).tables else "key"
        return Problem(display, here[0], here[1], _dotted(path), f"duplicate {what} (first set at line {first[0]})")
    msg = msg[:1].lower() + msg[1:]
    return Problem(display, int(line or 1), int(col or 1), key, f"invalid TOML: {msg}")


def _split_key(key: str) -> KeyPath:
    out: list[str | int] = []
    for part in key.split(".") if key else ():
        out.append(int(part) if part.isdigit() else part)
    return tuple(out)


def _dotted(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _located(display: str, pos: Positions, path: KeyPath, message: str, at_value: bool) -> Problem:
    line, col = pos.locate(path, prefer_value=at_value)
    return Problem(display, line, col, _dotted(path), message)


def _got(value: Any) -> str:
    if isinstance(value, NotANumber):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"')[:60] + '"'
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, int | float):
        text = f"{value:g}" if isinstance(value, float) else str(value)
        return text if len(text) <= 24 else text[:12] + "..." + f" ({len(text)} digits)"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


_TYPE_WORDS = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "date_type": "a date (YYYY-MM-DD, unquoted)",
    "list_type": "an array",
    "tuple_type": "an array",
    "model_type": "a table",
    "dict_type": "a table",
    "int_from_float": "an integer",
    "date_from_datetime_inexact": "a date (YYYY-MM-DD)",
}


def _fields_at(loc: tuple[str | int, ...]) -> list[str]:
    """Names of the keys allowed at ``loc`` (for did-you-mean)."""
    model: type[BaseModel] = Spec
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        ann = field.annotation
        inner = getattr(ann, "__args__", None)
        candidates = [ann, *(inner or ())]
        nxt = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if nxt is None:
            return []
        model = nxt
    return list(model.model_fields)


def _pydantic_problems(err: ValidationError, raw: dict[str, Any]) -> list[tuple[KeyPath, str, bool]]:
    import difflib  # deferred: only when there is a problem to suggest a fix for

    out: list[tuple[KeyPath, str, bool]] = []
    for e in err.errors(include_url=False):
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        kind, ctx, value = e["type"], e.get("ctx") or {}, e.get("input")
        at_value = True
        if kind == "missing":
            what = "section" if _fields_at(loc) else "key"
            msg = f"missing required {what}"
            if len(loc) == 1 and what == "section":
                msg += f" [{loc[0]}]"
            at_value = False
        elif kind == "extra_forbidden":
            allowed = _fields_at(loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
            msg = f"unknown key; did you mean '{close[0]}'?" if close else "unknown key"
            if allowed and not close:
                msg += f" (allowed here: {', '.join(allowed)})"
            at_value = False
        elif kind == "literal_error":
            expected = ctx.get("expected", "")
            options = re.findall(r"'([^']*)'", str(expected))
            close = difflib.get_close_matches(str(value), options, n=1, cutoff=0.6)
            msg = f"must be one of {expected} (got {_got(value)})"
            if close:
                msg += f"; did you mean '{close[0]}'?"
        elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
            op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[kind]
            bound = next(iter(ctx.values()))
            msg = f"must be {op} {bound:,g} (got {_got(value)})" if isinstance(bound, int | float) else e["msg"]
        elif kind == "finite_number":
            msg = f"must be a finite number (got {_got(value)})"
        elif kind in _TYPE_WORDS:
            msg = f"must be {_TYPE_WORDS[kind]} (got {_got(value)})"
        elif kind == "too_short":
            msg = f"must have at least {ctx.get('min_length')} item(s)"
        elif kind == "too_long":
            msg = f"must have at most {ctx.get('max_length')} item(s)"
        elif kind == "string_too_short":
            msg = "must not be empty"
        elif kind == "string_too_long":
            msg = f"must be at most {ctx.get('max_length')} characters"
        elif kind == "string_pattern_mismatch":
            msg = f"must match the pattern {ctx.get('pattern')} (got {_got(value)})"
        elif kind == "value_error":
            msg = str(ctx.get("error", e["msg"]))
        else:
            msg = e["msg"][:1].lower() + e["msg"][1:]
        out.append((loc, msg, at_value))
    return _merge_misspelled(out)


def _merge_misspelled(problems: list[tuple[KeyPath, str, bool]]) -> list[tuple[KeyPath, str, bool]]:
    """A misspelled required key shows once: as the unknown key, with its suggestion."""
    suggestions: dict[KeyPath, KeyPath] = {}  # the suggested key -> the misspelled one
    for loc, msg, _ in problems:
        if msg.startswith("unknown key; did you mean '"):
            suggestions[(*loc[:-1], msg.split("'")[1])] = loc
    merged = {suggestions[loc] for loc, msg, _ in problems if msg.startswith("missing required") and loc in suggestions}
    return [
        (loc, msg + (" (a required key)" if loc in merged else ""), v)
        for loc, msg, v in problems
        if not (msg.startswith("missing required") and loc in suggestions)
    ]


_PATH_CONTROL = re.compile("[\x00-\x1f\x7f]")


def _inside(base_dir: Path, root: Path, rel: str) -> str | None:
    """Why ``rel`` (relative to ``base_dir``) is not a path inside ``root``, or None."""
    if not rel.strip():
        return "must not be empty"
    if _PATH_CONTROL.search(rel):
        return f"must not contain control characters (got {_got(rel)})"
    if len(rel) > 1024:
        return f"is {len(rel)} characters long; paths are limited to 1024"
    pure = PurePosixPath(rel.replace("\\", "/"))
    if any(part.lower() == ".git" for part in pure.parts):
        return f"must not lead into git's own folder .git (got {_got(rel)})"
    if pure.is_absolute() or re.match(r"^[A-Za-z]:", rel):
        return f"must be a path relative to the spec's folder, not absolute (got {_got(rel)})"
    target = (base_dir / rel).resolve()
    if not target.is_relative_to(root.resolve()):
        why = (
            "leads outside the repository through a symlink"
            if ".." not in pure.parts
            else "leads outside the repository"
        )
        return f"{why} (got {_got(rel)})"
    return None


def _close_matches(word: str, known: list[str], *, n: int, cutoff: float) -> list[str]:
    import difflib  # deferred: only when there is a problem to suggest a fix for

    return difflib.get_close_matches(word, known, n=n, cutoff=cutoff)


def _semantic_problems(spec: Spec, base_dir: Path | None) -> list[tuple[KeyPath, str, bool]]:
    """Rules that need the catalogs or the file system."""
    out: list[tuple[KeyPath, str, bool]] = []
    book = teacher_prices()
    if (
        spec.teacher.model is not None
        and spec.teacher.model not in book
        and (spec.teacher.usd_per_mtok_input is None or spec.teacher.usd_per_mtok_output is None)
    ):
        close = _close_matches(spec.teacher.model, list(book), n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(sorted(book))})"
        out.append(
            (
                ("teacher", "model"),
                f"not in the price book (got {quote_value(spec.teacher.model)}){hint} "
                "Or give usd_per_mtok_input and usd_per_mtok_output",
                True,
            )
        )
    successor = spec.teacher.successor
    if successor is not None and successor not in book:
        close = _close_matches(successor, list(book), n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(sorted(book))})"
        out.append((("teacher", "successor"), f"not in the price book (got {quote_value(successor)}){hint}", True))
    if base_dir is None:
        return out
    root = find_repo_root(base_dir) or base_dir
    seen: dict[str, int] = {}
    for i, ds in enumerate(spec.eval.datasets):
        why = _inside(base_dir, root, ds)
        norm = posixpath.normpath(ds.replace("\\", "/"))
        if why is None and (base_dir / ds).is_dir():
            why = f"is a folder, not a JSONL file (got {_got(ds)})"
        if why is None and norm in seen:
            why = f"is the same file as [eval].datasets[{seen[norm]}] (got {_got(ds)})"
        seen.setdefault(norm, i)
        if why:
            out.append((("eval", "datasets", i), why, True))
    if spec.eval.pilot_predictions is not None:
        pilot = spec.eval.pilot_predictions
        why = _inside(base_dir, root, pilot)
        if why is None and not (base_dir / pilot).is_file():
            why = f"no such file (got {_got(pilot)})"
        if why:
            out.append((("eval", "pilot_predictions"), why, True))
    for i, path in enumerate(spec.teacher_data.inputs):
        why = _inside(base_dir, root, path)
        if why:
            out.append((("teacher_data", "inputs", i), why, True))
    why = _inside(base_dir, root, spec.scaffold.root)
    if why:
        out.append((("scaffold", "root"), why, True))
    for i, skip in enumerate(spec.scaffold.skip):
        if leaves_folder(skip):
            out.append((("scaffold", "skip", i), f"must be a path inside the generated tree (got {_got(skip)})", True))
    students: list[tuple[KeyPath, str]] = [(("student", "base_model"), spec.student.base_model)]
    students += [(("compare", "students", i), s) for i, s in enumerate(spec.compare.students or ())]
    for key, bm in students:
        why = student_problem(bm, base_dir, root)
        if why:
            out.append((key, why, True))
    return out


def student_problem(name: str, base_dir: Path, root: Path) -> str | None:
    """Why ``name`` is neither a catalog student nor a folder inside the repository holding
    config.json, or None."""
    if is_student_name(name):
        return None
    why = _inside(base_dir, root, name)
    config = base_dir / name / "config.json"
    if why is None and not config.is_file():
        why = (
            f"not a catalog model and not a folder holding config.json (got {_got(name)}); "
            "see `distillplan catalog` or give a local folder"
        )
    if why is None:
        why = _architecture_problem(config)
    return why


def _architecture_problem(config: Path) -> str | None:
    """Why the student's config.json is a model the sizing cannot size (an encoder-decoder
    such as T5, an encoder, no context length), or None; an unreadable file is left to the
    architecture reader, which says why at the file."""
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    why = config_problem(data) if isinstance(data, dict) else None
    return f"{config.name}: {why}" if why else None
