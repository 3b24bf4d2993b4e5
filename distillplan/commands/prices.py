"""``distillplan prices update [--from litellm|PATH|URL] [--dry-run]``: the repository's price file
(``.distillplan/prices.toml``) from a maintained price map, with a summary of what changed."""

from __future__ import annotations

from pathlib import Path

from distillplan import __version__
from distillplan.catalogs.datafile import DataFileError
from distillplan.catalogs.price_map import (
    MAX_MAP_BYTES,
    MapError,
    changes,
    litellm_map_path,
    parse_map,
    render_price_file,
    rows_from_map,
    rows_sha256,
)
from distillplan.catalogs.prices import (
    REPO_PRICES,
    RepoPriceHeader,
    RepoPriceRow,
    overlay,
    price_book,
    repo_price_rows,
    teacher_prices,
)
from distillplan.commands._io import EXIT_OK, say, today
from distillplan.errors import DistillError, InputError
from distillplan.files import atomic_write, is_inside, read_regular
from distillplan.git import repo_root

__all__ = ["run_update"]


def _read_source(source: str) -> tuple[bytes, str, str]:
    """(bytes, display, origin) of ``--from``."""
    if source == "litellm":
        path = litellm_map_path()
        if path is None:
            raise MapError("--from litellm: litellm is not installed (pip install litellm), or pass a file or URL")
        from importlib.metadata import PackageNotFoundError, version

        try:
            ver = version("litellm")
        except PackageNotFoundError:
            ver = "unknown version"
        return _read_file(path, str(path)), str(path), f"litellm {ver} {path.name}"
    if source.startswith(("http://", "https://")):
        import urllib.request  # deferred: only a URL source reaches the network

        try:
            with urllib.request.urlopen(source, timeout=30) as r:
                data = r.read(MAX_MAP_BYTES + 1)
        except OSError as e:
            raise MapError(f"{source}: cannot download: {getattr(e, 'reason', None) or e}") from None
        return data, source, source
    path = Path(source)
    return _read_file(path, source), source, path.name


def _read_file(path: Path, shown: str) -> bytes:
    """A map file's bytes: a regular file (a FIFO is never waited on), at most the map's size cap."""
    try:
        return read_regular(path, shown=shown, limit_bytes=MAX_MAP_BYTES)
    except FileNotFoundError:
        raise MapError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise MapError(f"{shown}: is a folder, not a file") from None
    except InputError:
        raise
    except OSError as e:
        raise MapError(f"{shown}: cannot read: {e.strerror or e}") from None


def run_update(source: str, *, dry_run: bool = False, cwd: Path | None = None) -> int:
    """Write ``.distillplan/prices.toml`` at the root of the repository holding ``cwd`` from the
    map ``source`` and print what a plan now sees differently; ``dry_run``: print only."""
    root = repo_root(cwd or Path.cwd())
    if root is None:
        raise DistillError(f"{cwd or Path.cwd()}: not inside a git repository: the price file lives at its root")
    target = root / REPO_PRICES
    shown = str(REPO_PRICES)
    if target.is_symlink() or (target.exists() and not target.is_file()) or not is_inside(target, root):
        raise DistillError(f"{shown}: not a regular file inside the repository: remove it and re-run")
    if target.exists():
        text = target.read_text(encoding="utf-8", errors="replace")
        try:
            header, _, _ = repo_price_rows(target)
        except DataFileError as e:
            raise DistillError(
                f"{e}; `prices update` never overwrites a file it cannot read: fix or delete it"
            ) from None
        if rows_sha256(text) != header.rows_sha256:
            raise DistillError(
                f"{shown}:1:1: rows edited by hand since `prices update` wrote them; distillplan never overwrites an "
                "edit: pin the prices you pay in distill.toml [teacher] (they win), then delete the file and re-run"
            )
    data, display, origin = _read_source(source)
    raw = parse_map(data, display)
    day = today()
    rows = rows_from_map(raw, display, teacher_prices(), day)
    if not rows:
        raise MapError(f"{display}: no priced chat model of OpenAI, Anthropic or Google: not a LiteLLM price map?")
    text = render_price_file(rows, read=day, origin=origin, written_by=f"distillplan {__version__}")
    before = price_book(root)
    header = RepoPriceHeader(read=day, origin=origin, written_by="distillplan", rows_sha256="0" * 64)
    parsed = {k: RepoPriceRow.model_validate({**v, "source_kind": "third-party"}) for k, v in rows.items()}
    after = overlay(teacher_prices(), header, parsed, shown)
    diff = changes(before, after)
    verb = "would write" if dry_run else "writes"
    say(f"prices update {verb} {shown} from {origin} (read {day.isoformat()}): {len(rows)} models")
    for c in diff:
        say(f"  {c.op} {c.name}: {c.detail}")
    counts = {op: sum(c.op == op for c in diff) for op in "+~-"}
    say(
        f"{counts['+']} to add, {counts['~']} to change, {counts['-']} to remove"
        " (what `plan` sees, against the price book now in use)."
    )
    if not dry_run:
        old = target.read_text(encoding="utf-8") if target.exists() else None
        if old != text:
            atomic_write(target, text)
    return EXIT_OK
