"""Issue 25: prices a user keeps current. `distillplan prices update` turns a maintained price map
(a trimmed copy of LiteLLM's model_prices_and_context_window.json: tests/litellm_prices_fixture.json)
into the repository's .distillplan/prices.toml, which plan, validate and compare read before the
bundled book; lookups by vendor id and alias; did-you-mean within one model; per-field read dates."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from distillplan.catalogs.price_map import parse_map, rows_from_map
from distillplan.catalogs.prices import (
    REPO_PRICES,
    PriceBook,
    family_hint,
    is_dated,
    normalize_id,
    price_book,
    repo_price_rows,
    teacher_prices,
)
from distillplan.files import tomllib
from tests.conftest import ROOT, git, run_cli

FIXTURE = ROOT / "tests" / "litellm_prices_fixture.json"
DAY = "2026-12-02"


@pytest.fixture
def updated(
    example_repo: Callable[[str], Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    """The invoice example in a git repo after `prices update --from` the fixture (stdout)."""
    repo = example_repo("invoice-extraction")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("DISTILLPLAN_TODAY", DAY)
    code, out, err = run_cli("prices", "update", "--from", str(FIXTURE), capsys=capsys)
    assert (code, err) == (0, ""), err
    return repo, out


def _with_teacher(repo: Path, model: str) -> Path:
    spec = repo / "distill.toml"
    spec.write_text(spec.read_text().replace('model = "claude-sonnet-5.5"', f'model = "{model}"'))
    return spec


def test_update_writes_a_sorted_dated_file_of_the_supported_vendors_only(updated: tuple[Path, str]) -> None:
    repo, out = updated
    path = repo / REPO_PRICES
    text = path.read_text()
    raw = tomllib.loads(text)
    assert raw["prices"]["read"] == dt.date(2026, 12, 2) and raw["prices"]["origin"] == FIXTURE.name
    names = list(raw["models"])
    assert names == sorted(names)
    # resellers (azure/, vertex_ai/, bedrock ids), fine-tunes and embeddings are not teachers; dated
    # snapshots collapse onto their model, which keeps the book's name where the book holds it
    assert not any("/" in n or n.startswith(("ft:", "anthropic.", "text-embedding")) for n in names)
    assert {"claude-opus-4.8", "claude-sonnet-4-6", "gpt-6-astra", "gemini-4-argon", "gpt-4.1", "gpt-4"} <= set(names)
    assert not any(is_dated(n) for n in names)
    assert raw["models"]["claude-opus-4.5"]["usd_per_mtok_cached_input"] == 0.5
    assert raw["models"]["gpt-6-astra"]["batch_discount"] == 0.5
    assert raw["models"]["claude-sonnet-4-5"]["status"] == "retired"  # its deprecation date is before the read
    # the real consumer reads it back; the summary says what a plan now sees differently
    header, rows, _ = repo_price_rows(path)
    assert set(rows) == set(names) and header.read.isoformat() == DAY
    assert "+ claude-sonnet-4-6: Anthropic: input $3.00, output $15.00, cached $0.30 per MTok" in out
    assert "~ gemini-4-argon: usd_per_mtok_input 4 -> 2; usd_per_mtok_output 20 -> 10" in out
    assert out.splitlines()[-1].startswith(f"{sum(ln.startswith('  +') for ln in out.splitlines())} to add, ")


def test_a_second_update_is_the_same_bytes_and_says_nothing_changed(
    updated: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _ = updated
    before = (repo / REPO_PRICES).read_bytes()
    code, out, _ = run_cli("prices", "update", "--from", str(FIXTURE), capsys=capsys)
    assert code == 0 and (repo / REPO_PRICES).read_bytes() == before
    assert out.splitlines()[-1].startswith("0 to add, 0 to change, 0 to remove")


def test_a_dry_run_writes_nothing(
    example_repo: Callable[[str], Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = example_repo("invoice-extraction")
    monkeypatch.chdir(repo)
    code, out, _ = run_cli("prices", "update", "--from", str(FIXTURE), "--dry-run", capsys=capsys)
    assert code == 0 and "would write" in out and not (repo / ".distillplan").exists()


def test_plan_validate_and_compare_use_the_repository_prices_before_the_book(
    updated: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _ = updated
    # a model only the map knows: refused before the file exists, priced from it after
    spec = _with_teacher(repo, "anthropic/claude-sonnet-4-6")
    code, out, _ = run_cli("plan", str(spec), "--format", "json", "--no-stale-warning", capsys=capsys)
    assert code == 0
    teacher = json.loads(out)["teacher"]
    assert teacher["model"] == "claude-sonnet-4-6" and teacher["usd_per_mtok_input"] == 3.0
    assert teacher["as_of"] == DAY and str(REPO_PRICES) in teacher["source"]
    assert teacher["price_source_kind"] == "third-party"
    assert run_cli("validate", str(spec), capsys=capsys)[0] == 0
    code, _, err = run_cli("compare", str(spec), "--gpu", "a100-80gb", "--method", "qlora", capsys=capsys)
    assert code == 0 and "claude-sonnet-4-6" in err  # third-party prices: confirm and pin
    (repo / REPO_PRICES).unlink()
    code, _, err = run_cli("validate", str(spec), capsys=capsys)
    assert code == 1 and "teacher.model: not in the price book" in err and len(err.splitlines()) == 1
    # a row the book holds: the map's figures replace the book's, dated the day of the update
    assert price_book(repo) is teacher_prices()


def test_a_row_the_map_confirms_keeps_the_book_s_provenance(updated: tuple[Path, str]) -> None:
    repo, _ = updated
    book = price_book(repo)
    sonnet, argon = book["claude-sonnet-5.5"], book["gemini-4-argon"]
    assert sonnet.source_kind == "vendor-page" and "confirmed by" in sonnet.source  # same $2 / $10
    assert sonnet.read_on("usd_per_mtok_input").isoformat() == DAY
    assert (argon.usd_per_mtok_input, argon.source_kind) == (2.0, "third-party")  # the map differs: its figure
    # the bundled status and shutdown stand where the map is silent (gemini-2.5-pro has no date there)
    assert book["gemini-2.5-pro"].status == "retired" and str(book["gemini-2.5-pro"].shutdown) == "2026-12-01"


def test_update_never_overwrites_a_hand_edit(updated: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    repo, _ = updated
    path = repo / REPO_PRICES
    edited = path.read_text().replace("usd_per_mtok_input = 3.0", "usd_per_mtok_input = 2.5", 1)
    path.write_text(edited)
    code, out, err = run_cli("prices", "update", "--from", str(FIXTURE), capsys=capsys)
    assert code == 1 and out == "" and len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"{REPO_PRICES}:1:1: rows edited by hand") and path.read_text() == edited
    path.write_text(edited + "[models.x]\nbogus = 1\n")
    code, _, err = run_cli("prices", "update", "--from", str(FIXTURE), capsys=capsys)
    assert code == 1 and "models.x.bogus: unknown key" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "map.json:1:2: not valid JSON"),
        ("[1, 2]", "map.json: expected a JSON object of models"),
        ('{"x": {"litellm_provider": "bedrock", "mode": "chat"}}', "map.json: no priced chat model of OpenAI"),
        (
            '{"gpt-x": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": "1e-6"}}',
            'map.json: "gpt-x": input_cost_per_token: expected a non-negative number',
        ),
        ("\xff", "map.json: byte 0: not UTF-8 text"),
    ],
)
def test_a_bad_map_is_one_line_and_writes_nothing(
    git_repo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    content: str,
    expected: str,
) -> None:
    monkeypatch.chdir(git_repo)
    (git_repo / "map.json").write_bytes(content.encode("latin-1") if content == "\xff" else content.encode())
    code, out, err = run_cli("prices", "update", "--from", "map.json", capsys=capsys)
    assert (code, out) == (1, "") and err.startswith(expected) and len(err.splitlines()) == 1, err
    assert not (git_repo / ".distillplan").exists()


def test_update_writes_only_inside_a_repository(
    tmp_path: Path, git_repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    monkeypatch.chdir(outside)
    code, _, err = run_cli("prices", "update", "--from", str(FIXTURE), capsys=capsys)
    assert code == 1 and "not inside a git repository" in err
    (git_repo / ".distillplan").symlink_to(outside, target_is_directory=True)
    monkeypatch.chdir(git_repo)
    code, _, err = run_cli("prices", "update", "--from", str(FIXTURE), capsys=capsys)
    assert code == 1 and "not a regular file inside the repository" in err and list(outside.iterdir()) == []


def test_the_importer_reads_the_installed_litellm_map() -> None:
    """The `--from litellm` source: the JSON inside the installed package, read without importing
    litellm; the fixture's entries are that map's, unchanged."""
    from distillplan.catalogs.price_map import litellm_map_path

    path = litellm_map_path()
    assert path is not None and path.name.startswith("model_prices_and_context_window")
    full = parse_map(path.read_bytes(), str(path))
    trimmed = json.loads(FIXTURE.read_text())
    assert all(full[k] == v for k, v in trimmed.items() if k != "_source")
    rows = rows_from_map(full, str(path), teacher_prices(), dt.date(2026, 12, 2))
    vendors = {r["vendor"] for r in rows.values()}
    assert vendors == {"OpenAI", "Anthropic", "Google"} and 50 < len(rows) < 400


# -- lookups ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "name", "api_model"),
    [
        ("claude-sonnet-5-5", "claude-sonnet-5.5", "claude-sonnet-5-5"),
        ("anthropic/claude-sonnet-5-5", "claude-sonnet-5.5", "claude-sonnet-5-5"),
        ("claude-fable-5-2", "claude-fable-5.2", "claude-fable-5-2"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4", "claude-sonnet-4-20250514"),
        ("openai/gpt-4.1", "gpt-4.1", "gpt-4.1"),
        ("gpt-4.1-2025-04-14", "gpt-4.1", "gpt-4.1-2025-04-14"),
        ("gpt-6-2-astra", "gpt-6.2-astra", "gpt-6.2-astra"),
        ("gemini/gemini-4-argon", "gemini-4-argon", "gemini-4-argon"),
        ("Claude-Opus-4-8", "claude-opus-4.8", "claude-opus-4-8"),
        ("claude-sonnet-5-5-latest", "claude-sonnet-5.5", "claude-sonnet-5-5"),
        ("models/gemini-4-argon-001", "gemini-4-argon", "gemini-4-argon-001"),
        ("vertex_ai/claude-opus-4-8@default", "claude-opus-4.8", "claude-opus-4-8"),
    ],
)
def test_a_model_is_found_by_its_vendor_id_and_aliases(written: str, name: str, api_model: str) -> None:
    from distillplan.catalogs.teacher_api import teacher_api

    book = teacher_prices()
    assert written in book and book[written].name == name and book.get(written) is book[name]
    api = teacher_api(written, None, None)
    assert api.model == api_model and api.known


def test_every_alias_names_one_row() -> None:
    book = teacher_prices()
    seen: dict[str, str] = {}
    for t in book.values():
        for alias in (t.name, *t.aliases):
            assert book[alias] is t
            assert seen.setdefault(normalize_id(alias), t.name) == t.name


def test_did_you_mean_only_within_one_model_and_version() -> None:
    """A did-you-mean is for a typo of the same model (same family, same version): never another
    version at another price (gpt-6.3-astra is not gpt-6.2-astra) nor a retired row for a newer one."""
    book = teacher_prices()
    assert "did you mean 'claude-sonnet-5.5'" in family_hint(book, "claude-sonet-5.5")
    assert "did you mean 'claude-sonnet-4'" in family_hint(book, "claude-sonet-4")  # the same model, retired
    assert "did you mean 'gemini-3.8-flash'" in family_hint(book, "gemni-3.8-flash")
    for name in (
        "gpt-6.3-astra",
        "claude-opus-4-9",
        "claude-opus-4",
        "gemini-3.9-flash",
        "gpt-4.1-nano",
        "gemini-4-xenon",
        "o4",
    ):
        hint = family_hint(book, name) if name not in book else "in the book"
        assert "did you mean" not in hint, name
    assert "gpt-6.2-astra $8.00/$40.00 (current)" in family_hint(book, "gpt-6.3-astra")
    # the class: bump any row's last version number and no suggestion is made
    for t in book.values():
        parts = normalize_id(t.name).split("-")
        digits = [i for i, p in enumerate(parts) if p.isdigit()]
        if not digits:
            continue
        parts[digits[-1]] = str(int(parts[digits[-1]]) + 7)
        other = "-".join(parts)
        if other not in book:
            assert "did you mean" not in family_hint(book, other), other
    # and no model of the book is ever suggested for another model of the book
    for t in book.values():
        others = PriceBook(r for r in book.values() if r is not t)
        assert "did you mean" not in family_hint(others, t.name), t.name


def test_validate_says_the_family_not_a_wrong_model(
    git_repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(ROOT / "examples" / "invoice-extraction", git_repo, dirs_exist_ok=True)
    git(git_repo, "add", "-A")
    spec = _with_teacher(git_repo, "claude-opus-4-9")
    code, _, err = run_cli("validate", str(spec), capsys=capsys)
    assert code == 1 and "did you mean" not in err and "claude-opus-4.8 $5.00/$25.00 (legacy)" in err
    assert "claude-opus-4 $15.00/$75.00 (retired)" in err  # a fact, not a suggestion


# -- read dates ---------------------------------------------------------------------------------


def test_staleness_counts_from_the_oldest_price_the_bill_uses() -> None:
    """gemini-3.5-flash-lite: input and output read 2026-10-07, its cached price 2026-07-22."""
    from distillplan.plan.staleness import stale_teacher
    from tests.test_prices import INVOICE, _plan, _with_workload

    text = INVOICE.replace("claude-sonnet-5.5", "gemini-3.5-flash-lite")
    plain, cached = _plan(text), _plan(_with_workload(text, "cached_input_share = 0.5"))
    assert (str(plain.teacher.as_of), str(cached.teacher.as_of)) == ("2026-10-07", "2026-07-22")
    day = dt.date(2027, 2, 1)  # 6 months after 2026-07-22, not after 2026-10-07
    assert not [w for w in stale_teacher(plain.teacher, day, 6) if "were read on" in w]
    assert [w for w in stale_teacher(cached.teacher, day, 6) if "were read on 2026-07-22" in w]
    model = 'model = "gemini-3.5-flash-lite"'
    pinned = _plan(text.replace(model, model + "\nusd_per_mtok_input = 0.3"))
    assert str(pinned.teacher.as_of) == "2026-10-07"  # the output price is still the book's


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            '[models."foo.1"]\nvendor = "OpenAI"\nusd_per_mtok_input = 1.0\nusd_per_mtok_output = 2.0\nsource = "s"\n'
            '[models."foo-1"]\nvendor = "OpenAI"\nusd_per_mtok_input = 1.0\nusd_per_mtok_output = 2.0\nsource = "s"\n',
            'models.foo-1: the same model as models."foo.1"',
        ),
        (
            '[models."gpt-4.1"]\nusd_per_mtok_input = 1.0\nsource = "s"\n[models."openai/gpt-4-1"]\nsource = "s"\n',
            'the same model as models."gpt-4.1"',
        ),
        (
            '[models."a`b"]\nvendor = "OpenAI"\nusd_per_mtok_input = 1.0\nusd_per_mtok_output = 2.0\nsource = "s"\n',
            'models."a`b": not a model id',
        ),
        (
            '[models.new]\nusd_per_mtok_input = 1.0\nsource = "s"\n',
            "models.new: a model not in the bundled book needs vendor",
        ),
        (
            '[models.gpt-4-1]\nusd_per_mtok_input = 1.0\nusd_per_mtok_cached_input = 2.0\nsource = "s"\n',
            "models.gpt-4-1: usd_per_mtok_cached_input (2.0) is above usd_per_mtok_input",
        ),
        ("[prices]\n", "prices.read: required key missing"),
        ('[models.gpt-4-1]\nsuccessor = "gpt-9"\nsource = "s"\n', "models.gpt-4-1.successor: not in the price book"),
    ],
)
def test_a_damaged_price_file_is_one_located_line_for_every_reader(
    example_repo: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    rows: str,
    expected: str,
) -> None:
    repo = example_repo("invoice-extraction")
    header = (
        '[prices]\nread = 2026-12-02\norigin = "o"\nwritten_by = "w"\nrows_sha256 = "' + "0" * 64 + '"\n'
        if not rows.startswith("[prices]")
        else ""
    )
    (repo / ".distillplan").mkdir()
    (repo / REPO_PRICES).write_text(header + rows)
    for args in (("validate", str(repo)), ("plan", str(repo)), ("catalog",)):
        monkeypatch.chdir(repo)
        code, out, err = run_cli(*args, capsys=capsys)
        assert (code, out) == (1, ""), args
        assert err.startswith(str(repo / REPO_PRICES) if args[0] != "catalog" else "") and expected in err, err
        assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_a_price_file_that_is_a_fifo_or_a_symlink_is_refused_not_followed(
    example_repo: Callable[[str], Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    repo = example_repo("invoice-extraction")
    monkeypatch.chdir(repo)
    (repo / ".distillplan").mkdir()
    os.mkfifo(repo / REPO_PRICES)  # a reader that opened it would wait forever
    code, _, err = run_cli("validate", str(repo), capsys=capsys)
    assert code == 1 and "not a regular file" in err and len(err.splitlines()) == 1
    assert not (repo / ".distillplan" / "prices.toml").is_file()
    (repo / REPO_PRICES).unlink()
    (tmp_path / "elsewhere.toml").write_text("[prices]\n")
    (repo / REPO_PRICES).symlink_to(tmp_path / "elsewhere.toml")
    code, _, err = run_cli("validate", str(repo), capsys=capsys)
    assert code == 1 and "is a symlink" in err and len(err.splitlines()) == 1
    (repo / REPO_PRICES).unlink()
    os.mkfifo(tmp_path / "map.json")  # a map that is a pipe: refused, never waited on
    code, _, err = run_cli("prices", "update", "--from", str(tmp_path / "map.json"), capsys=capsys)
    assert code == 1 and err.startswith(f"{tmp_path / 'map.json'}: not a regular file") and len(err.splitlines()) == 1
    assert not (repo / REPO_PRICES).exists()


def test_the_rows_the_issue_names_are_refreshed_and_sourced() -> None:
    """Issue 25's audit: statuses and shutdown dates refreshed, the still-sold models it names in
    the book (each with its source and read day), none of them resolving to another model."""
    book = teacher_prices()
    for name in ("gemini-2.5-pro", "gemini-2.5-flash"):
        row = book[name]
        assert (row.status, str(row.shutdown)) == ("retired", "2026-12-01") and row.successor in book
        assert str(row.read_on("shutdown")) == "2026-11-10"
    opus4 = book["claude-opus-4"]
    assert str(opus4.shutdown) == "2026-06-15" and opus4.successor == "claude-opus-4.8"
    sold = {
        "gpt-6-astra": (10.0, 50.0, 1.0),
        "gpt-6.1-sol": (2.0, 10.0, 0.1),
        "claude-opus-4-8": (5.0, 25.0, 0.5),
        "claude-opus-4-5": (5.0, 25.0, 0.5),
        "gemini-3.5-flash": (1.5, 9.0, 0.15),
    }
    for written, (i, o, c) in sold.items():
        row = book[written]
        assert normalize_id(row.name) == normalize_id(written)  # itself, not a neighbour at another price
        assert (row.usd_per_mtok_input, row.usd_per_mtok_output, row.usd_per_mtok_cached_input) == (i, o, c)
        assert row.cached_input_basis == "published" and "LiteLLM 1.108.7" in row.source
        assert row.source_kind == "third-party" and str(row.as_of) == DAY
    # every row without a published cached price states the rule, and only those
    for row in book.values():
        assert (row.cached_input_basis == "published") == (row.cached_input_rule == "")


def test_the_proposal_states_the_cached_price_rule(example_repo: Callable[[str], Path]) -> None:
    """The rule for a missing cached price is stated where the CFO reads the prices (P6.2)."""
    from distillplan.commands.scaffold import scaffold

    repo = example_repo("invoice-extraction")
    spec = _with_teacher(repo, "gpt-6.2-astra")
    spec.write_text(spec.read_text().replace("[workload]\n", "[workload]\ncached_input_share = 0.6\n", 1))
    scaffold(spec)
    proposal = next(repo.glob("**/docs/proposal.md")).read_text("utf-8")
    row = next(ln for ln in proposal.splitlines() if ln.startswith("| teacher price, cached input |"))
    assert "$0.40 per million tokens, for 60% of input tokens" in row and "lowest cached/input ratio" in row


def test_diff_prices_the_old_spec_with_the_repository_book(
    updated: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`diff REV`: the spec at REV is priced with today's repository price file too, so a model only
    the file knows is found in history and the diff shows what the spec changed."""
    repo, _ = updated
    spec = _with_teacher(repo, "claude-sonnet-4-6")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "teacher from the price file")
    spec.write_text(spec.read_text().replace('model = "claude-sonnet-4-6"', 'model = "claude-opus-4-8"'))
    code, out, err = run_cli("diff", "HEAD", str(spec), "--format", "json", capsys=capsys)
    assert code == 0 and "Traceback" not in err, err
    assert "claude-sonnet-4-6" in out and "claude-opus-4.8" in out


def test_the_summary_says_what_a_new_map_removes_and_changes(
    updated: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _ = updated
    newer = json.loads(FIXTURE.read_text())
    del newer["claude-sonnet-4-6"]
    newer["gpt-6-astra"] = {**newer["gpt-6-astra"], "input_cost_per_token": 9e-06}
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    code, out, _ = run_cli("prices", "update", "--from", str(tmp_path / "newer.json"), capsys=capsys)
    assert code == 0
    assert "  - claude-sonnet-4-6: Anthropic: no longer in the repository's price file" in out
    assert "  ~ gpt-6-astra: usd_per_mtok_input 10 -> 9" in out
    assert out.splitlines()[-1].startswith("0 to add, 1 to change, 1 to remove")
    assert "claude-sonnet-4-6" not in (repo / REPO_PRICES).read_text()
