"""A maintained price map (LiteLLM's ``model_prices_and_context_window.json``) -> the rows of the
repository's price file (``.distillplan/prices.toml``), and that file's text.

Only the teachers distillplan can call are imported: the chat models of the three vendors'
own APIs (LiteLLM providers ``openai``, ``anthropic``, ``gemini``; modes ``chat`` and
``responses``), not the resellers' copies (Bedrock, Azure, Vertex, routers: other prices, other
schedules) nor fine-tuned ids (``ft:``). Dated snapshots collapse onto their model (the undated
id's row wins; else the newest snapshot). Every price is USD per million tokens.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillplan.catalogs.prices import (
    _DATED,
    MODEL_ID,
    PriceBook,
    TeacherPrice,
    is_dated,
    normalize_id,
    strip_prefix,
)
from distillplan.errors import DistillError
from distillplan.text import price

__all__ = [
    "MapError",
    "PriceChange",
    "changes",
    "litellm_map_path",
    "parse_map",
    "render_price_file",
    "rows_from_map",
    "rows_sha256",
]

VENDORS = {"openai": "OpenAI", "anthropic": "Anthropic", "gemini": "Google"}
MODES = ("chat", "responses")
MAX_MAP_BYTES = 64 << 20  # LiteLLM's map is ~3 MB
#: LiteLLM cost keys (USD per token) -> the price file's fields (USD per million tokens).
_COSTS = {
    "input_cost_per_token": "usd_per_mtok_input",
    "output_cost_per_token": "usd_per_mtok_output",
    "cache_read_input_token_cost": "usd_per_mtok_cached_input",
}
ROWS_MARK = "# -- rows (sorted by model id) --"


class MapError(DistillError):
    """The price map cannot be read or does not hold what a price map holds."""


def litellm_map_path() -> Path | None:
    """The price map inside the installed litellm package (found without importing it: its
    import takes seconds), or None when litellm is not installed."""
    import importlib.util  # deferred: only `prices update --from litellm` looks

    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        for name in ("model_prices_and_context_window.json", "model_prices_and_context_window_backup.json"):
            if (Path(folder) / name).is_file():
                return Path(folder) / name
    return None


def parse_map(data: bytes, display: str) -> dict[str, Any]:
    """The map's JSON; anything else is one located line."""
    if len(data) > MAX_MAP_BYTES:
        raise MapError(f"{display}: is larger than {MAX_MAP_BYTES >> 20} MiB, the limit for a price map")
    try:
        raw = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise MapError(f"{display}: byte {e.start}: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise MapError(f"{display}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}") from None
    except RecursionError:
        raise MapError(f"{display}: nested too deeply to read") from None
    if not isinstance(raw, dict):
        raise MapError(f"{display}: expected a JSON object of models (LiteLLM's model_prices_and_context_window.json)")
    return raw


@dataclass(frozen=True)
class _Entry:
    key: str
    row: dict[str, Any]


def _usd_per_mtok(entry: Mapping[str, Any], key: str, where: str) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise MapError(f"{where}: {key}: expected a non-negative number of USD per token (got {str(value)[:40]!r})")
    return round(float(value) * 1e6, 6)


def _row(key: str, entry: Mapping[str, Any], display: str, read: dt.date) -> dict[str, Any] | None:
    where = f"{display}: {json.dumps(key)[:120]}"
    row: dict[str, Any] = {"vendor": VENDORS[entry["litellm_provider"]]}
    for src, field in _COSTS.items():
        value = _usd_per_mtok(entry, src, where)
        if value is not None:
            row[field] = value
    if "usd_per_mtok_input" not in row or "usd_per_mtok_output" not in row or row["usd_per_mtok_input"] <= 0:
        return None  # not priced per token: not a teacher the bill can use
    cached = row.get("usd_per_mtok_cached_input")
    if cached is not None and cached > row["usd_per_mtok_input"]:
        raise MapError(f"{where}: cache_read_input_token_cost is above input_cost_per_token")
    batch_in = _usd_per_mtok(entry, "input_cost_per_token_batches", where)
    batch_out = _usd_per_mtok(entry, "output_cost_per_token_batches", where)
    if batch_in is not None:
        off_in = 1 - batch_in / row["usd_per_mtok_input"]
        off_out = 1 - batch_out / row["usd_per_mtok_output"] if batch_out is not None else off_in
        off = round(min(off_in, off_out), 4)  # the smaller discount: never a cheaper batch than published
        if 0 <= off < 1:
            row["batch_discount"] = off
    shutdown = entry.get("deprecation_date")
    if isinstance(shutdown, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", shutdown):
        try:
            day = dt.date.fromisoformat(shutdown)
        except ValueError:
            raise MapError(f"{where}: deprecation_date: not a real day (got {shutdown!r})") from None
        row["shutdown"] = day
        row["status"] = "retired" if day <= read else "legacy"
    if entry.get("supports_reasoning") is True and key.startswith(("o1", "o3", "o4")):
        row["reasoning"] = True
    row["source"] = f"LiteLLM {json.dumps(key)}"
    return row


def rows_from_map(raw: Mapping[str, Any], display: str, book: PriceBook, read: dt.date) -> dict[str, dict[str, Any]]:
    """The price-file rows of the map ``raw``: one per model of a supported vendor, keyed by the
    bundled book's name when the book holds the model (by any alias), else by the vendor's id."""
    groups: dict[str, list[_Entry]] = {}
    for key, entry in raw.items():
        if not isinstance(entry, dict) or entry.get("litellm_provider") not in VENDORS:
            continue
        if entry.get("mode") not in MODES or key.startswith("ft:"):
            continue
        model_id = strip_prefix(key)
        if "/" in model_id or not MODEL_ID.fullmatch(model_id):
            continue
        row = _row(key, entry, display, read)
        if row is not None:
            groups.setdefault(normalize_id(model_id), []).append(_Entry(model_id, row))
    out: dict[str, dict[str, Any]] = {}
    for entries in groups.values():
        undated = [e for e in entries if not is_dated(e.key)]
        pick = min(undated, key=lambda e: e.key) if undated else max(entries, key=lambda e: e.key)
        base: TeacherPrice | None = book.find(pick.key)
        name = base.name if base is not None else (_DATED.sub("", pick.key) or pick.key)
        out[name] = pick.row
    return dict(sorted(out.items()))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return json.dumps(str(value), ensure_ascii=False)


_ORDER = (
    "vendor",
    "usd_per_mtok_input",
    "usd_per_mtok_output",
    "usd_per_mtok_cached_input",
    "batch_discount",
    "status",
    "shutdown",
    "reasoning",
    "source_kind",
    "source",
)


def _rows_text(rows: Mapping[str, Mapping[str, Any]]) -> str:
    parts = []
    for name in sorted(rows):
        row = {**rows[name], "source_kind": "third-party"}
        lines = [f"[models.{json.dumps(name)}]"]
        lines += [f"{k} = {_toml_value(row[k])}" for k in _ORDER if k in row]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n" if parts else ""


def rows_sha256(text: str) -> str | None:
    """The sha256 of the rows part of a price file's text (after :data:`ROWS_MARK`), or None
    when the mark is gone."""
    at = text.find(ROWS_MARK + "\n")
    if at < 0:
        return None
    return hashlib.sha256(text[at + len(ROWS_MARK) + 1 :].encode("utf-8")).hexdigest()


def render_price_file(rows: Mapping[str, Mapping[str, Any]], *, read: dt.date, origin: str, written_by: str) -> str:
    """The text of ``.distillplan/prices.toml``: a header, then one table per model, sorted,
    one key a line in a fixed order, so its git diff shows exactly the prices that moved."""
    body = _rows_text(rows)
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    header = (
        "# Teacher prices for distillplan, written by `distillplan prices update` (docs/prices.md).\n"
        "# Each row replaces the fields it carries of the bundled price book's row for that model (or adds\n"
        "# a model); every price here was read on [prices].read. Do not edit: pin what you pay in\n"
        "# distill.toml [teacher] (it wins); `prices update` refuses to overwrite a file edited by hand.\n"
        "\n"
        "[prices]\n"
        f"read = {read.isoformat()}\n"
        f"origin = {_toml_value(origin)}\n"
        f"written_by = {_toml_value(written_by)}\n"
        f'rows_sha256 = "{digest}"\n'
        "\n"
        f"{ROWS_MARK}\n"
    )
    return header + body


@dataclass(frozen=True)
class PriceChange:
    """One row's change between two price books: ``+`` added, ``-`` removed, ``~`` changed."""

    op: str
    name: str
    detail: str


_SHOWN = (
    "usd_per_mtok_input",
    "usd_per_mtok_output",
    "usd_per_mtok_cached_input",
    "batch_discount",
    "status",
    "shutdown",
)


def _fmt(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def changes(before: Mapping[str, TeacherPrice], after: Mapping[str, TeacherPrice]) -> list[PriceChange]:
    """What a plan sees differently in ``after`` than in ``before``, row by row, sorted by name."""
    out = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old is None and new is not None:
            cached = new.usd_per_mtok_cached_input
            detail = (
                f"{new.vendor}: input {price(new.usd_per_mtok_input)}, output {price(new.usd_per_mtok_output)}, cached "
                f"{'none' if cached is None else price(cached)} per MTok, batch {new.batch_discount:.0%} off,"
                f" {new.status}" + (f", shuts down {new.shutdown}" if new.shutdown else "")
            )
            out.append(PriceChange("+", name, detail))
        elif new is None and old is not None:
            out.append(PriceChange("-", name, f"{old.vendor}: no longer in the repository's price file"))
        elif old is not None and new is not None:
            moved = [
                f"{f} {_fmt(getattr(old, f))} -> {_fmt(getattr(new, f))}"
                for f in _SHOWN
                if getattr(old, f) != getattr(new, f)
            ]
            if moved:
                out.append(PriceChange("~", name, "; ".join(moved)))
    return out
