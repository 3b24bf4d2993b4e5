"""The teacher price book: USD per million tokens, each price with its source and the day it was read.

Two layers: the bundled book (``data/teachers.toml``, the offline default) and, over it, the
repository's own price file (``.distillplan/prices.toml`` at the repository root, written by
``distillplan prices update`` from a maintained price map; see docs/prices.md). A row of the
repository file replaces the fields it carries of the bundled row it names (or adds a model).

A model is found by its book name (``claude-sonnet-5.5``), by the id its vendor's API takes
(``claude-sonnet-5-5``), by a dated snapshot id (``claude-sonnet-4-20250514``,
``gpt-4.1-2025-04-14``) and with a router's provider prefix (``openai/gpt-4.1``,
``anthropic/...``, ``gemini/...``): :class:`PriceBook`.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from distillplan.catalogs.datafile import DataFileError, Row, load_rows, locate, parse_toml, validate_rows
from distillplan.errors import InputError, Problem
from distillplan.files import read_regular
from distillplan.text import price

__all__ = [
    "PRICE_FIELDS",
    "REPO_PRICES",
    "PriceBook",
    "RepoPriceHeader",
    "RepoPriceRow",
    "TeacherPrice",
    "family_hint",
    "normalize_id",
    "overlay",
    "parse_teacher_prices",
    "price_book",
    "repo_price_rows",
    "teacher_prices",
]

Status = Literal["current", "legacy", "retired"]
SourceKind = Literal["vendor-page", "vendor-page-copy", "third-party"]
CachedBasis = Literal["published", "vendor-lowest-ratio", "none"]
#: The fields that carry their own read date (``read = { field = day }``; default: the row's as_of).
PRICE_FIELDS = ("usd_per_mtok_input", "usd_per_mtok_output", "usd_per_mtok_cached_input", "batch_discount")
DATED_FIELDS = (*PRICE_FIELDS, "status", "shutdown")
#: The repository's price file, relative to the repository root, and its size limit.
REPO_PRICES = Path(".distillplan") / "prices.toml"
MAX_PRICE_FILE_BYTES = 8 << 20
#: What a model id may hold (a vendor's id, a book name): nothing an output would have to escape.
MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+@/-]{0,127}")


@dataclass(frozen=True)
class TeacherPrice:
    """One model's list prices. ``usd_per_mtok_cached_input``: what a prompt-cache hit costs;
    ``cached_input_basis`` says where it comes from: ``published`` (the vendor's figure), or,
    where the vendor publishes none, ``vendor-lowest-ratio``: the input price times the lowest
    cached/input ratio the same vendor publishes for any model in the book (``cached_input_rule``
    names it): a missing cached price is never billed at the full input price, which would
    overstate the frontier bill and shorten the payback (P6.2; issue 25). ``none``: no model of the vendor
    publishes one: hits bill as input.
    ``batch_discount``: the share the vendor's batch API takes off input and output;
    ``status``: ``retired`` models stay listed because users may still be billed for them;
    ``shutdown``: the day the vendor has announced the model leaves its API; ``source_kind``:
    whether the input and output prices were read on the vendor's page, a third party's copy
    of it, or third parties only; ``successor``: the price-book model the vendor names as the
    replacement; ``reasoning``: a reasoning model (its requests carry no temperature).
    ``as_of``: the day the row was compiled; ``read``: the day each field was read where that
    differs (:meth:`read_on`)."""

    name: str
    vendor: str
    usd_per_mtok_input: float
    usd_per_mtok_output: float
    source: str
    as_of: dt.date
    usd_per_mtok_cached_input: float | None = None
    batch_discount: float = 0.0
    status: Status = "current"
    shutdown: dt.date | None = None
    source_kind: SourceKind = "vendor-page"
    successor: str | None = None
    reasoning: bool = False
    read: tuple[tuple[str, dt.date], ...] = ()
    cached_input_basis: CachedBasis = "published"
    cached_input_rule: str = ""
    aliases: tuple[str, ...] = ()

    def read_on(self, field: str) -> dt.date:
        """The day ``field`` was read (its own date, else the row's as_of)."""
        return dict(self.read).get(field, self.as_of)

    def prices_read_on(self, *, cached: bool) -> dt.date:
        """The oldest read among the prices a bill uses (input, output, batch and, when the
        cache share is used, the cached price): staleness counts from it."""
        fields = [f for f in PRICE_FIELDS if cached or f != "usd_per_mtok_cached_input"]
        return min(self.read_on(f) for f in fields)


Usd = Annotated[float, Field(ge=0)]
Text = Annotated[str, Field(min_length=1)]


class _ReadDates(Row):
    usd_per_mtok_input: dt.date | None = None
    usd_per_mtok_output: dt.date | None = None
    usd_per_mtok_cached_input: dt.date | None = None
    batch_discount: dt.date | None = None
    status: dt.date | None = None
    shutdown: dt.date | None = None


class _Cached(Row):
    @model_validator(mode="after")
    def _cached_not_dearer(self) -> _Cached:
        cached, full = getattr(self, "usd_per_mtok_cached_input", None), getattr(self, "usd_per_mtok_input", None)
        if cached is not None and full is not None and cached > full:
            raise ValueError(
                f"usd_per_mtok_cached_input ({cached}) is above usd_per_mtok_input"
                f" ({full}): a cache hit never costs more than input"
            )
        return self


class _PriceRow(_Cached):
    name: Text
    vendor: Text
    usd_per_mtok_input: Usd
    usd_per_mtok_output: Usd
    source: Text
    as_of: dt.date
    usd_per_mtok_cached_input: Usd | None = None
    batch_discount: Annotated[float, Field(ge=0, lt=1)] = 0.0  # a fraction: 0.5 is half off
    status: Status = "current"
    shutdown: dt.date | None = None
    source_kind: SourceKind = "vendor-page"
    successor: Text | None = None
    reasoning: bool = False
    read: _ReadDates | None = None


class RepoPriceRow(_Cached):
    """One row of the repository's price file: the fields it carries replace the bundled
    row's (a new model needs vendor, input and output)."""

    vendor: Text | None = None
    usd_per_mtok_input: Usd | None = None
    usd_per_mtok_output: Usd | None = None
    usd_per_mtok_cached_input: Usd | None = None
    batch_discount: Annotated[float, Field(ge=0, lt=1)] | None = None
    status: Status | None = None
    shutdown: dt.date | None = None
    successor: Text | None = None
    reasoning: bool | None = None
    source: Text
    source_kind: SourceKind = "third-party"


class RepoPriceHeader(Row):
    """``[prices]`` of the repository's price file: where the rows were read and when."""

    read: dt.date
    origin: Text
    written_by: Text
    rows_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


# -- names ------------------------------------------------------------------------------------

_PREFIX = re.compile(r"^(?:[a-z0-9_.-]+/)+")
#: A snapshot suffix: -20250514, -2025-04-14, -0613 (OpenAI), -001 (Google's stable versions),
#: @20251101 / @default (Vertex AI).
_DATED = re.compile(r"(?:-|@)(?:\d{8}|\d{4}-\d{2}-\d{2}|[01]\d[0-3]\d|0\d\d)$|@default$")
_VERSION = re.compile(r"^\d+(?:\.\d+)*$")


def normalize_id(name: str) -> str:
    """The form every alias of a model shares: lower case, no router prefix (``openai/``), no
    dated snapshot or ``-latest`` suffix, dots as dashes (``claude-sonnet-5.5`` = ``claude-sonnet-5-5``)."""
    n = _PREFIX.sub("", name.strip().lower())
    n = _DATED.sub("", n.removesuffix("-latest"))
    return n.replace(".", "-").replace("_", "-")


def is_dated(name: str) -> bool:
    """Whether ``name`` (without any router prefix) names a dated snapshot."""
    return _DATED.search(_PREFIX.sub("", name.strip().lower())) is not None


def strip_prefix(name: str) -> str:
    """``openai/gpt-4.1`` -> ``gpt-4.1``."""
    return _PREFIX.sub("", name.strip())


def _family(name: str) -> tuple[str, tuple[str, ...]]:
    """(stem, version): ``claude-opus-4-8`` -> ("claude-opus", ("4", "8")); ``gpt-6.2-astra``
    -> ("gpt-astra", ("6", "2"))."""
    parts = normalize_id(name).split("-")
    stem = tuple(p for p in parts if not _VERSION.match(p))
    version = tuple(p for p in parts if _VERSION.match(p))
    return "-".join(stem), version


def _edits(a: str, b: str) -> int:
    """Levenshtein distance (the tokens compared are a few letters long)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def _typo_of(written: str, name: str) -> bool:
    """Whether ``written`` is a typo of ``name``: the same tokens and version numbers but one
    word, at most one letter off (two in words of 7 letters or more). ``gpt-4.1-nano`` is not a
    typo of ``gpt-4.1-mini`` nor ``gemini-4-xenon`` of ``gemini-4-neon``: other models."""
    a, b = normalize_id(written).split("-"), normalize_id(name).split("-")
    if len(a) != len(b) or re.sub(r"\D", "", "".join(a)) != re.sub(r"\D", "", "".join(b)):
        return False  # another version (o3 / o4, gpt-6 / gpt-6.2) is another model
    differ = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    if len(differ) != 1 or any(_VERSION.match(t) for t in differ[0]):
        return False
    x, y = differ[0]
    return _edits(x, y) <= (2 if min(len(x), len(y)) >= 7 else 1)


class PriceBook(dict[str, TeacherPrice]):
    """The price book keyed by book name; ``get``, ``[]`` and ``in`` also take any alias
    (:func:`normalize_id`)."""

    def __init__(self, rows: Iterable[TeacherPrice] = ()) -> None:
        super().__init__((r.name, r) for r in rows)
        self._alias: dict[str, str] = {}
        for r in self.values():
            for alias in (r.name, *r.aliases):
                key = normalize_id(alias)
                other = self._alias.setdefault(key, r.name)
                if other != r.name:
                    raise ValueError(f"{r.name} and {other} share the id {key!r}")

    def find(self, name: str) -> TeacherPrice | None:
        """The row of ``name`` (a book name or any alias), or None."""
        row = dict.get(self, name)
        if row is not None:
            return row
        key = self._alias.get(normalize_id(name))
        return dict.get(self, key) if key is not None else None

    def get(self, name: str, default: TeacherPrice | None = None) -> TeacherPrice | None:  # type: ignore[override]
        found = self.find(name)
        return found if found is not None else default

    def __missing__(self, name: str) -> TeacherPrice:
        found = self.find(name)
        if found is None:
            raise KeyError(name)
        return found

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.find(name) is not None


def family_hint(book: Mapping[str, TeacherPrice], name: str) -> str:
    """What to say about a model the book does not hold: a did-you-mean only for a model of
    the same family and the same version (a typo: ``claude-sonet-5.5``), never for another
    version (``gpt-6-astra`` is not ``gpt-6.2-astra``: another model, another price) nor for a
    retired row for a still-sold one); otherwise the family's rows with their prices, as facts,
    not suggestions."""
    stem, version = _family(name)
    same = [t for t in book.values() if _family(t.name) == (stem, version)]
    if not same:
        same = sorted((t for t in book.values() if _typo_of(name, t.name)), key=lambda t: t.name)[:1]
    if same:
        return f"; did you mean '{same[0].name}'?"
    family = sorted((t for t in book.values() if _family(t.name)[0] == stem), key=lambda t: t.name)
    if family:
        rows = ", ".join(
            f"{t.name} {price(t.usd_per_mtok_input)}/{price(t.usd_per_mtok_output)} ({t.status})" for t in family[:6]
        )
        return (
            f"; the book's other models of this family are different models at their own prices: {rows};"
            " `distillplan prices update` adds newer models."
        )
    return " (`distillplan catalog` lists the book; `distillplan prices update` adds newer models)."


# -- loading ----------------------------------------------------------------------------------


def _with_cached_rule(rows: list[TeacherPrice]) -> list[TeacherPrice]:
    """Rows without a published cached price get the vendor's lowest published cached/input
    ratio (see :class:`TeacherPrice`)."""
    ratios: dict[str, tuple[float, str]] = {}
    for r in rows:
        if r.cached_input_basis == "published" and r.usd_per_mtok_cached_input is not None and r.usd_per_mtok_input > 0:
            # a published figure: the ratios the rule picks from
            ratio = r.usd_per_mtok_cached_input / r.usd_per_mtok_input
            if r.vendor not in ratios or ratio < ratios[r.vendor][0]:
                ratios[r.vendor] = (ratio, r.name)
    out = []
    for r in rows:
        if r.usd_per_mtok_cached_input is not None and r.cached_input_basis == "published":
            out.append(r)
        elif r.vendor in ratios:
            ratio, of = ratios[r.vendor]
            rule = (
                f"no cached-input price is recorded for {r.name}: a cache hit is billed at the lowest"
                f" cached/input ratio {r.vendor} publishes ({ratio:.3g}, {of}), never at the full input price, which"
                " would overstate the frontier bill and shorten the payback (P6.2)"
            )
            out.append(
                replace(
                    r,
                    usd_per_mtok_cached_input=round(r.usd_per_mtok_input * ratio, 6),
                    cached_input_basis="vendor-lowest-ratio",
                    cached_input_rule=rule,
                )
            )
        else:
            rule = f"no {r.vendor} model in the book publishes a cached-input price: cache hits bill as input"
            out.append(replace(r, usd_per_mtok_cached_input=None, cached_input_basis="none", cached_input_rule=rule))
    return out


@functools.cache
def teacher_prices() -> PriceBook:
    """The bundled price book, keyed by model name."""
    return parse_teacher_prices()


def _aliases(name: str) -> tuple[str, ...]:
    from distillplan.catalogs.api_ids import API_MODEL_IDS  # the vendor API's ids are aliases

    return (API_MODEL_IDS[name],) if name in API_MODEL_IDS else ()


def parse_teacher_prices(path: Path | None = None) -> PriceBook:
    """The price book of ``path`` (default: the bundled ``teachers.toml``), validated: a wrong
    key, type, range or status is one located line
    (:class:`~distillplan.catalogs.datafile.DataFileError`)."""
    rows = []
    for row in load_rows(_PriceRow, "teachers.toml", path=path).values():
        data = row.model_dump(exclude={"read"})
        read = tuple((k, v) for k, v in (row.read.model_dump() if row.read else {}).items() if v is not None)
        rows.append(TeacherPrice(**data, read=read, aliases=_aliases(row.name)))
    return PriceBook(_with_cached_rule(rows))


def repo_price_rows(path: Path) -> tuple[RepoPriceHeader, dict[str, RepoPriceRow], str]:
    """The repository price file at ``path``, validated: ([prices] header, rows by model id,
    the text); a problem is one located line (:class:`DataFileError`)."""
    display = str(path)
    try:  # a regular file only (a FIFO is never waited on, a symlink never followed), capped
        data = read_regular(path, shown=display, limit_bytes=MAX_PRICE_FILE_BYTES, follow_symlinks=False)
        text = data.decode("utf-8")
    except InputError as e:
        raise DataFileError(Problem(display, 1, 1, "", str(e).removeprefix(f"{display}: "))) from None
    except UnicodeDecodeError as e:
        raise DataFileError(Problem(display, 1, 1, "", f"byte {e.start}: not UTF-8 text")) from None
    except OSError as e:
        raise DataFileError(Problem(display, 1, 1, "", f"cannot read: {e.strerror or e}")) from None
    raw = parse_toml(text, display)
    unknown = next((k for k in raw if k not in ("prices", "models")), None)
    if unknown is not None:
        raise DataFileError(Problem(display, 1, 1, unknown, "unknown table (known: prices, models)"))
    if "prices" not in raw:
        raise DataFileError(Problem(display, 1, 1, "prices", "required table missing (written by `prices update`)"))
    head = validate_rows(RepoPriceHeader, text, display, {"prices": raw["prices"]})
    models = raw.get("models", {})
    if not isinstance(models, dict):
        raise DataFileError(Problem(display, 1, 1, "models", "expected a table of models"))
    rows = validate_rows(RepoPriceRow, text, display, models, parent="models")
    book, seen = teacher_prices(), dict[str, str]()

    def refused(model_id: str, message: str) -> DataFileError:  # located only when there is an error
        table = f"models.{model_id}" if re.fullmatch(r"[A-Za-z0-9_-]+", model_id) else f'models."{model_id}"'
        return DataFileError(Problem(display, *locate(text, f"models.{model_id}", ()), table, message))

    for model_id, r in rows.items():
        if not MODEL_ID.fullmatch(model_id):
            raise refused(model_id, "not a model id (letters, digits and . _ : + @ / -)")
        base = book.find(model_id)
        other = seen.setdefault(normalize_id(base.name if base is not None else model_id), model_id)
        if other != model_id:
            raise refused(model_id, f'the same model as models."{other}"')
        missing = [k for k in ("vendor", "usd_per_mtok_input", "usd_per_mtok_output") if getattr(r, k) is None]
        if base is None and missing:
            raise refused(model_id, f"a model not in the bundled book needs {missing[0]}")
    for model_id, r in rows.items():
        if r.successor is not None and r.successor not in book and normalize_id(r.successor) not in seen:
            where = locate(text, f"models.{model_id}", ("successor",))
            raise DataFileError(Problem(display, *where, f"models.{model_id}.successor", "not in the price book"))
    return head["prices"], rows, text


def overlay(book: PriceBook, header: RepoPriceHeader, rows: Mapping[str, RepoPriceRow], display: str) -> PriceBook:
    """``book`` with the repository file's rows laid over it."""
    merged = dict(book)
    claimed: dict[str, str] = {}
    for model_id, r in rows.items():
        base = book.find(model_id)
        name = base.name if base is not None else model_id
        first = claimed.setdefault(normalize_id(name), model_id)
        if first != model_id:
            raise DataFileError(Problem(display, 1, 1, f'models."{model_id}"', f'the same model as models."{first}"'))
        given = {k: v for k, v in r.model_dump().items() if v is not None and k in r.model_fields_set}
        given.setdefault("source_kind", r.source_kind)
        given["source"] = f"{display} ({header.origin}, read {header.read}): {r.source}"
        if base is not None and all(given.get(f, getattr(base, f)) == getattr(base, f) for f in PRICE_FIELDS[:2]):
            # the map confirms the book's input and output prices: their provenance stays the book's
            given["source_kind"] = base.source_kind
            given["source"] = f"{base.source}; confirmed by {given['source']}"
        dated = tuple((f, header.read) for f in DATED_FIELDS if f in given)
        if base is None:
            missing = [k for k in ("vendor", "usd_per_mtok_input", "usd_per_mtok_output") if k not in given]
            if missing:
                raise DataFileError(
                    Problem(display, 1, 1, f"models.{model_id}", f"a model not in the bundled book needs {missing[0]}")
                )
            row = TeacherPrice(name=model_id, as_of=header.read, read=dated, **given)
        else:
            read = dict(base.read)
            for f in DATED_FIELDS:
                read.setdefault(f, base.as_of)
            read.update(dated)
            basis = "published" if "usd_per_mtok_cached_input" in given else base.cached_input_basis
            cached = given.get(
                "usd_per_mtok_cached_input", base.usd_per_mtok_cached_input if basis == "published" else None
            )
            if "usd_per_mtok_input" in given and basis != "published":
                cached = None
            row = replace(
                base,
                **{k: v for k, v in given.items() if k != "usd_per_mtok_cached_input"},
                usd_per_mtok_cached_input=cached,
                cached_input_basis=basis,
                read=tuple(sorted(read.items())),
                aliases=tuple(dict.fromkeys((*base.aliases, model_id))),
            )
            if row.usd_per_mtok_cached_input is not None and row.usd_per_mtok_cached_input > row.usd_per_mtok_input:
                row = replace(row, usd_per_mtok_cached_input=row.usd_per_mtok_input)
        merged[row.name] = row
    return PriceBook(_with_cached_rule(list(merged.values())))


@functools.cache
def _repo_book(path: Path, mtime_ns: int, size: int) -> PriceBook:
    header, rows, _ = repo_price_rows(path)
    return overlay(teacher_prices(), header, rows, str(REPO_PRICES))


def price_book(root: Path | None) -> PriceBook:
    """The price book in use for the repository at ``root``: its ``.distillplan/prices.toml``
    over the bundled book, or the bundled book alone (no file, or no repository)."""
    if root is None:
        return teacher_prices()
    path = root / REPO_PRICES
    try:
        st = path.lstat()  # a symlink is not followed: it is refused when read
    except OSError:
        return teacher_prices()
    return _repo_book(path, st.st_mtime_ns, st.st_size)
