"""One way to write an amount, a count and a unit in everything distillplan shows: every command's
text and Markdown output on every bundled example (validate, plan, lock, scaffold and the documents
it writes, check, compare, diff, accept, catalog; monitor on sampled rows) holds no ``$-4,172``
(negative money is ``-$4,172``), no amount or count of four or more digits without thousands
separators, and no plural after a count of one ("1 replicas", "1 GPUs").

Years, dates, hashes, ids, versions, seeds, times of day and numbers inside a literal (a code span
or a config value) are not amounts, and are told apart by their shape, not listed one by one.
"""

from __future__ import annotations

import json
import re
import shutil
import tokenize
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, GIT_ENV, git, run_cli

EXAMPLE_NAMES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "distill.toml").is_file())

#: Money with the sign after the dollar sign.
DOLLAR_MINUS = re.compile(r"\$\s*-")
#: Whole dollars of four or more digits written without separators ($4172, $12000.50).
DOLLAR_BARE = re.compile(r"\$\d{4,}")
#: A run of four or more digits standing alone: not part of a word, an id (inv-0000), a version or a
#: decimal (0.1234), a date or time (2027-01-04, 12:00:00), a path or a hash (sha256:0123...).
BARE = re.compile(r"(?<![\w.,:/#@+\-'\"=])(\d{4,})(?![\w:/\-'\"]|[.,]\d)")
#: A count of exactly one (not 1.5, 0.1, 11, x1) followed by a word.
ONE = re.compile(r"(?<![\w.,])1 ([A-Za-z]+)\b(?!/)")
#: Nouns a count takes; any other plural seen after a count of two or more in the same output joins them.
COUNT_NOUNS = {
    "replicas", "GPUs", "examples", "rows", "weeks", "months", "requests", "tokens", "files", "points",
    "students", "candidates", "segments", "predictions", "errors", "problems", "lines", "days", "hours",
    "runs", "steps", "strata", "sequences", "inputs", "items", "checks", "warnings", "resamples",
}  # fmt: skip
PLURAL_AFTER_COUNT = re.compile(r"(?<![\w.,])(?:[2-9]|\d{2,}|\d{1,3}(?:,\d{3})+) ([A-Za-z]+s)\b")


def _literal_free(text: str) -> str:
    """The text with its literals blanked, line for line: fenced blocks (a chart's axis, a config),
    code spans (config values, commands) and URLs."""
    text = re.sub(r"^```.*?^```", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S | re.M)
    text = re.sub(r"`[^`\n]*`", " ", text)
    return re.sub(r"https?://\S+", " ", text)


#: Words after which a number names something (a seed, a port, an issue) instead of counting it.
ID_WORDS = ("seed", "port", "id", "commit", "iso", "issue", "pull request", "discussion", "#", "pr")


def _is_year(n: str) -> bool:
    return len(n) == 4 and 1900 <= int(n) <= 2100


def problems(label: str, text: str) -> list[str]:
    """Every badly written amount, count or unit in ``text``, each with its line."""
    found: list[str] = []
    plain = _literal_free(text)
    nouns = COUNT_NOUNS | set(PLURAL_AFTER_COUNT.findall(plain))
    for i, (raw, line) in enumerate(zip(text.splitlines(), plain.splitlines(), strict=True), 1):
        where = f"{label}:{i}: {raw.strip()[:160]}"
        if DOLLAR_MINUS.search(line):
            found.append(f"{where}: a negative amount after the dollar sign (write -$1,234)")
        if DOLLAR_BARE.search(line):
            found.append(f"{where}: dollars without thousands separators")
        for m in BARE.finditer(line):
            before = line[: m.start()].rstrip().lower()
            after = line[m.end() :].split(maxsplit=1)
            counted = bool(after) and after[0].strip(",.;:)") in nouns | {n[:-1] for n in nouns}
            if (_is_year(m.group(1)) and not counted) or before.endswith(ID_WORDS):
                continue
            found.append(f"{where}: {m.group(1)} without thousands separators")
        for m in ONE.finditer(line):
            if m.group(1) in nouns:
                found.append(f"{where}: '1 {m.group(1)}' (one takes the singular)")
    return found


def test_the_checker_finds_each_kind_of_error() -> None:
    bad = (
        "saving $-4,172/month\nKV cache for 299222 tokens\nsets 1 replicas on 1 GPUs\n"
        "project $12000\n2 widgets here, 1 widgets there\nmicro-batch 4 x 2048 tokens\n"
    )
    assert [p.split(": ", 2)[2] if p.count(": ") >= 2 else p for p in problems("t", bad)] == [
        "a negative amount after the dollar sign (write -$1,234)",
        "299222 without thousands separators",
        "'1 replicas' (one takes the singular)",
        "'1 GPUs' (one takes the singular)",
        "dollars without thousands separators",
        "12000 without thousands separators",
        "'1 widgets' (one takes the singular)",
        "2048 without thousands separators",
    ]
    fine = (
        "saving -$4,172/month, KV cache for 299,222 tokens, 1 replica on 1 GPU, started 2027-01-04 12:00:00,\n"
        "lock sha256:eae2c89f1234, id inv-0000, vLLM 0.33.0, seed 20250101, in 2026, 1.5 requests/s,\n"
        "issue 4110, pull request 12345,\n```mermaid\ny-axis 0 --> 1000\n```\n"
        "`max-model-len: 4096`, https://example.org/a/12345, 0.1234 share, 11 GPUs, 1 request/s\n"
    )
    assert problems("t", fine) == []


def _outputs(name: str, repo: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """Every command's text and Markdown output on the example ``name``, committed in ``repo``."""
    out: dict[str, str] = {}

    def cli(label: str, *args: str, ok: tuple[int, ...] = (0,)) -> None:
        code, stdout, stderr = run_cli(*args, capsys=capsys)
        assert code in ok, f"{label}: exit {code}\n{stdout}\n{stderr}"
        out[label] = stdout + stderr

    cli("validate", "validate")
    for fmt in ("text", "markdown"):
        cli(f"plan {fmt}", "plan", "--format", fmt)
    cli("lock", "lock", ok=(0, 1))  # a lock whose terms moved (claims-extraction) needs --reason: its message
    cli("scaffold", "scaffold")
    for doc in sorted((repo / "distill" / "docs").glob("*.md")):
        out[f"distill/docs/{doc.name}"] = doc.read_text(encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "scaffolded")
    cli("check", "check", ok=(0, 1))
    spec = (repo / "distill.toml").read_text(encoding="utf-8")
    third = re.sub(  # a third of the volume: the saving shrinks or turns negative, the verdict may flip
        r"^((?:requests|tokens)_per_month\s*=\s*)([\d_]+)",
        lambda m: f"{m[1]}{int(m[2].replace('_', '')) // 3}",
        spec,
        flags=re.M,
    )
    assert third != spec
    (repo / "distill.toml").write_text(third, encoding="utf-8")
    for fmt in ("text", "markdown"):
        cli(f"diff {fmt}", "diff", "HEAD", "--format", fmt)
    git(repo, "checkout", "--", "distill.toml")
    for fmt in ("text", "markdown"):
        cli(f"compare {fmt}", "compare", "--format", fmt, "--gpu", "a100-80gb", "--method", "lora")
    rows = [json.loads(line) for line in (repo / "eval" / "locked.jsonl").read_text().splitlines() if line.strip()]
    with (repo / "predictions.jsonl").open("w") as f:
        for row in rows:
            f.write(json.dumps({"id": row["id"], "prediction": row["reference"]}) + "\n")
    for fmt in ("text", "markdown"):
        cli(f"accept {fmt}", "accept", "--predictions", "predictions.jsonl", "--format", fmt, ok=(0, 1, 4))
    return out


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_output_writes_amounts_counts_and_units_one_way(
    name: str, git_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(EXAMPLES / name, git_repo, dirs_exist_ok=True)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", name)
    monkeypatch.chdir(git_repo)
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    outputs = _outputs(name, git_repo, capsys)
    assert len(outputs) >= 12
    found = [p for label, text in outputs.items() for p in problems(f"{name} {label}", text)]
    assert not found, "\n".join(found)


def test_catalog_and_monitor_write_amounts_counts_and_units_one_way(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The catalog, and the monitor on 2,400 sampled rows over three weeks (counts past a thousand)."""
    shutil.copytree(EXAMPLES / "invoice-extraction", git_repo, dirs_exist_ok=True)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "invoice")
    monkeypatch.chdir(git_repo)
    segments = ("freight", "medical", "saas", "utility")
    with (git_repo / "samples.jsonl").open("w") as f:
        for i in range(2_400):
            day, second = divmod(i, 120)
            ref = {"total": i}
            student = ref if i % 50 else {"total": -1}
            row = {"id": f"r{i}", "timestamp": f"2027-03-{1 + day:02d}T00:{second // 60:02d}:{second % 60:02d}Z"}
            f.write(json.dumps({**row, "segment": segments[i % 4], "student": student, "teacher": ref}) + "\n")
    outputs: dict[str, str] = {}
    monitor = [("monitor", "--samples", "samples.jsonl", "--format", fmt) for fmt in ("text", "markdown")]
    for args in (("catalog",), *monitor):
        code, out, err = run_cli(*args, capsys=capsys)
        assert code in (0, 4, 5), out + err
        outputs[" ".join(args)] = out + err
    assert "2,400" in outputs["monitor --samples samples.jsonl --format text"]
    found = [p for label, text in outputs.items() for p in problems(label, text)]
    assert not found, "\n".join(found)


#: A value written as money or as a plural by hand, in a Python string or a template's text.
HAND_MONEY = re.compile(r"\$\{")  # f"${x:.2f}", "${{ x }}"
HAND_PLURAL = re.compile(r"""\{\s*['"]s['"]\s+if\b|\belse\s+['"]s['"]\s*\}|[a-z]\(s\)(?![\w}])""")


def _texts(path: Path) -> list[tuple[int, str]]:
    """The literal text of a source, with its line: a module's strings and comments (code aside), a
    template's lines (its ``{{ ... }}`` expressions are filters' input, checked as written)."""
    if path.suffix != ".py":
        return list(enumerate(path.read_text(encoding="utf-8").splitlines(), 1))
    kinds = {tokenize.STRING, tokenize.COMMENT} | {getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    with path.open("rb") as f:
        return [(tok.start[0], tok.string) for tok in tokenize.tokenize(f.readline) if tok.type in kinds]


def test_text_py_is_the_only_place_that_writes_money_or_a_plural() -> None:
    """No module or template but distillplan/text.py writes a dollar sign before a formatted value
    (``${x:.2f}``, ``${{ x }}``) or a plural by hand (``{'s' if n != 1 else ''}``, ``replica(s)``):
    they call ``text.usd`` and ``text.count`` (the ``usd`` and ``count`` filters in templates)."""
    from tests.conftest import ROOT

    sources = [*sorted((ROOT / "distillplan").rglob("*.py")), *sorted((ROOT / "templates").rglob("*.j2"))]
    assert len(sources) > 50
    found = [
        f"{path.relative_to(ROOT)}:{i}: {text.strip()[:120]}"
        for path in sources
        if path != ROOT / "distillplan" / "text.py"
        for i, text in _texts(path)
        if HAND_MONEY.search(text) or HAND_PLURAL.search(text)
    ]
    assert not found, "\n".join(found)
    assert HAND_PLURAL.search("f\"{n} change{'s' if n != 1 else ''}\"") and HAND_PLURAL.search("2 replica(s)")
    assert not HAND_PLURAL.search('f"got {_kind(s)}"') and not HAND_MONEY.search("-$1,234")


#: The nouns distillplan counts ("input" aside: "1,800 input tokens" counts tokens).
SINGULARS = {n[:-1] for n in COUNT_NOUNS if n != "inputs"} | {"token", "answer", "byte", "character", "digit"}
COUNTED = "|".join([*sorted(SINGULARS), "machine", "provider", "stratum", "strata"])
#: A number shown whole before a counted noun: a placeholder with no format, or ``:,``, ``:g``, ``:d``, or a
#: template value with no filter, ``num`` or ``length``. A decimal (``:.1f``, ``num(1)``: "1.0 months" is
#: plural) and a formatter's own output (``tokens(...)``: "9.9B tokens") are not counts of one.
RAW_PY = re.compile(
    rf"\{{(?!(?:count|tokens|usd|pct|gib|months)\()([^{{}}:!]+)(?::[,_]?[gd]?)?\}} (?:{COUNTED})s?\b(?!/|-)"
)
RAW_J2 = re.compile(rf"\{{\{{((?:(?!\}}\}}).)*?)\}}\}} (?:{COUNTED})s?\b(?!/|-)")
WHOLE_J2 = re.compile(r"^[\w.()\s+\-]*(?:\|\s*(?:num(?:\(0?\))?|length)[\s+\-\d]*)*$")
#: distillplan/files.py sits beside text.py in the layers (it cannot import it); its one count is a
#: size above a limit, never one byte.
BESIDE_TEXT = {"files.py"}


def test_no_count_is_written_raw_before_its_noun() -> None:
    """``f"{n} tokens"`` shows ``2048 tokens`` and ``1 tokens``: a whole number before a noun
    distillplan counts goes through ``count(n, "token")`` (the ``count`` filter in a template)."""
    from tests.conftest import ROOT

    found = []
    for path in [*sorted((ROOT / "distillplan").rglob("*.py")), *sorted((ROOT / "templates").rglob("*.j2"))]:
        if path.name in {"text.py", *BESIDE_TEXT} and path.parent.name == "distillplan":
            continue
        for i, text in _texts(path):
            if path.suffix == ".py":
                found += [f"{path.relative_to(ROOT)}:{i}: {m.group(0)}" for m in RAW_PY.finditer(text)]
            else:
                found += [
                    f"{path.relative_to(ROOT)}:{i}: {m.group(0)}"
                    for m in RAW_J2.finditer(text)
                    if WHOLE_J2.match(m.group(1).strip())
                ]
    assert not found, "\n".join(found)
    assert RAW_PY.search('f"{len(rows)} examples written"') and RAW_PY.search('f"over {gpus:,} GPU"')
    assert RAW_J2.search("{{ f.build_months }} months") and RAW_J2.search("{{ n | num }} tokens")
    assert not RAW_PY.search("f\"{count(n, 'row')}\"") and not RAW_PY.search('f"{x:.1f} months"')
