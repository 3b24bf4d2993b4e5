"""``distillplan monitor`` end to end (P8.2), in a real git repo holding
``examples/invoice-extraction`` with its shipped lock: field-f1, segments freight, medical, saas,
utility (10 eval rows each), max_gap_points 2.5, max_stratum_gap_points 5.0.

The synthetic log: 12 ISO weeks from Monday 2027-03-01, rows spread over each week in time
order. Healthy segments disagree with the teacher on 1% of rows; ``saas`` drifts from week 7
to 20% disagreement. A disagreement is a whole-object miss (field-f1 0), an agreement a match (1).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from distillplan.evalset import monitor as mon
from tests.conftest import run_cli

Cap = pytest.CaptureFixture[str]
START = datetime(2027, 3, 1, tzinfo=timezone.utc)  # a Monday: ISO week 2027-W09
SEGMENTS = ("freight", "medical", "saas", "utility")
WEEKS = [f"2027-W{w:02d}" for w in range(9, 21)]


def _json_rows() -> st.SearchStrategy[bytes]:
    value = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))
    keys = st.sampled_from(["id", "timestamp", "segment", "student", "teacher", "reference", "x"])
    stamp = st.sampled_from(["2027-03-01T00:00:00Z", "2027-02-01T00:00:00+01:00", "2027-03-01", "bad"])
    row = st.dictionaries(keys, st.one_of(value, stamp), max_size=7)
    return row.map(lambda d: json.dumps(d).encode())


def make_log(
    path: Path,
    *,
    per_week: dict[int, dict[str, int]] | None = None,
    drift_segment: str = "saas",
    drift_from_week: int = 7,
    seed: int = 7,
) -> Path:
    """12 weeks; ``per_week[week][segment]`` overrides the default 200 rows a cell."""
    rng = random.Random(seed)
    lines = []
    i = 0
    for week in range(1, 13):
        rows = []
        for seg in SEGMENTS:
            n = (per_week or {}).get(week, {}).get(seg, 200)
            rate = 0.20 if seg == drift_segment and week >= drift_from_week else 0.01
            # exact counts: the disagreement share is the rate, rounded, placed at random
            bad = set(rng.sample(range(n), round(n * rate)))
            rows += [(seg, j in bad) for j in range(n)]
        rng.shuffle(rows)
        for k, (seg, miss) in enumerate(rows):
            ts = START + timedelta(weeks=week - 1, seconds=k * (7 * 86400 - 1) // max(1, len(rows)))
            teacher = {"vendor": f"v{i % 50}", "total": str(i % 997)}
            student = {"vendor": "other", "total": "-1"} if miss else dict(teacher)
            stamp = ts.strftime("%Y-%m-%dT%H:%M:%SZ")
            row = {"id": f"r{i}", "timestamp": stamp, "segment": seg, "student": student, "teacher": teacher}
            lines.append(json.dumps(row))
            i += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def repo(example_repo: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    r = example_repo("invoice-extraction")
    monkeypatch.chdir(r)
    return r


def _json(capsys: Cap, *files: Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    args = ["monitor"] + [a for f in files for a in ("--samples", str(f))] + ["--format", "json"]
    code, out, err = run_cli(*args, capsys=capsys)
    assert "Traceback" not in err
    return code, (json.loads(out) if out.strip() else {})


def _flagged(data: dict, segment: str) -> list[str]:  # type: ignore[type-arg]
    return [c["week"] for c in data["cells"] if c["segment"] == segment and c["status"] == "breach"]


def test_drifting_segment_flagged_from_week_7_and_not_before(repo: Path, capsys: Cap) -> None:
    code, data = _json(capsys, make_log(repo / "samples.jsonl"))
    assert code == 4
    assert _flagged(data, "saas") == WEEKS[6:]
    for seg in ("freight", "medical", "utility"):
        assert _flagged(data, seg) == []
        assert {c["status"] for c in data["cells"] if c["segment"] == seg} == {"within"}
    assert [c["status"] for c in data["cells"] if c["segment"] == "saas"][:6] == ["within"] * 6
    assert data["breached_segments"] == ["overall", "saas"]
    assert data["format"] == "distillplan-monitor" and data["format_version"] == 1


def test_flag_waits_for_enough_data(repo: Path, capsys: Cap) -> None:
    """Week 7 holds only 5 saas rows (1 miss): too few to decide, with the number needed;
    the flag comes at week 8, the first week the data allows."""
    log = make_log(repo / "s.jsonl", per_week={7: {"saas": 5}})
    code, data = _json(capsys, log)
    assert code == 4
    assert _flagged(data, "saas") == WEEKS[7:]
    w7 = next(c for c in data["cells"] if c["segment"] == "saas" and c["week"] == WEEKS[6])
    assert w7["status"] == "too-few" and w7["examples"] == 5
    # the number needed is the one at which the CI at 20% would clear the 5-point bound
    need = w7["examples_to_decide"]
    assert mon.wilson(0.2 * need, need)[0] > 0.05 >= mon.wilson(0.2 * (need - 1), need - 1)[0]


def test_within_contract_exits_0(repo: Path, capsys: Cap) -> None:
    code, data = _json(capsys, make_log(repo / "s.jsonl", drift_from_week=99))
    assert code == 0 and data["ok"] and data["breached_segments"] == []
    assert data["state"] == "within" and data["undecided_segments"] == []


def test_too_few_rows_to_decide_is_undecided_not_within(repo: Path, capsys: Cap) -> None:
    """No week's segment has the rows to decide (3 a week, no disagreement): the run is neither
    within the contract nor a breach, in every format, with its own exit code (issue 23)."""
    thin = {week: dict.fromkeys(SEGMENTS, 3) for week in range(1, 13)}
    log = make_log(repo / "s.jsonl", per_week=thin, drift_from_week=99)
    code, data = _json(capsys, log)
    assert code == 5
    assert {c["status"] for c in data["cells"]} == {"too-few"}
    assert data["state"] == "undecided" and not data["ok"] and data["breached_segments"] == []
    assert data["undecided_segments"] == ["freight", "medical", "overall", "saas", "utility"]
    code, text, _ = run_cli("monitor", "--samples", str(log), capsys=capsys)
    last = text.strip().splitlines()[-1]
    assert code == 5 and last.startswith("UNDECIDED: no breach in 144 sampled rows, but too few rows to decide")
    assert "WITHIN" not in text and "saas (weeks 2027-W09, 2027-W10" in last
    code, md, _ = run_cli("monitor", "--samples", str(log), "--format", "markdown", capsys=capsys)
    assert code == 5 and "**UNDECIDED: no breach" in md and "WITHIN" not in md
    # one week decided within and one segment-week too few: still undecided, that cell named
    code, data = _json(capsys, make_log(repo / "t.jsonl", per_week={3: {"saas": 5}}, drift_from_week=99))
    assert code == 5 and data["undecided_segments"] == ["saas"]


def test_unseen_segment_is_located_and_a_breach(repo: Path, capsys: Cap) -> None:
    log = make_log(repo / "s.jsonl", drift_from_week=99)
    lines = log.read_text().splitlines()
    row = json.loads(lines[100])
    row["segment"] = "payroll"
    lines[100] = json.dumps(row)
    log.write_text("\n".join(lines) + "\n")
    code, data = _json(capsys, log)
    assert code == 4
    assert data["unseen_segments"] == [{"segment": "payroll", "examples": 1, "first_at": "s.jsonl:101"}]
    assert data["breached_segments"] == ["payroll"]
    payroll = [m for m in data["mix"] if m["segment"] == "payroll"]
    assert payroll[0]["eval_share"] is None


def test_budget_beside_needed(repo: Path, capsys: Cap) -> None:
    _code, data = _json(capsys, make_log(repo / "s.jsonl", drift_from_week=99))
    b = data["budget"]
    # invoice-extraction: 1,400 in + 250 out tokens a request at the teacher's prices
    per_week = int(b["teacher_on_sample_usd_per_month"] / b["teacher_usd_per_request"] / (52 / 12))
    assert b["examples_per_week"] == per_week
    for row in b["segments"]:
        assert row["needed_examples_per_week"] == mon.examples_to_detect(5.0)
        assert row["budget_examples_per_week"] == int(per_week * 0.25)


def test_examples_to_detect_reaches_its_power() -> None:
    """Independent check by simulation of the stated rule at the returned n and n-1."""
    n = mon.examples_to_detect(5.0)
    rng = random.Random(1)

    def power(m: int) -> float:
        hits = sum(mon.wilson(sum(rng.random() < 0.10 for _ in range(m)), m)[0] > 0.05 for _ in range(3000))
        return hits / 3000

    assert mon.wilson(0, n)[1] <= 0.05
    assert power(n) > 0.77  # 80% up to simulation noise (sd ~0.7 points)
    assert mon.examples_to_detect(5.0) > mon.examples_to_detect(10.0)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("not json", "s.jsonl:3:1: not valid JSON"),
        ("[1]", "s.jsonl:3:1: expected a JSON object, got an array"),
        (
            '{"id": "x", "timestamp": "2027-03-01T00:00:00Z", "segment": "saas", "student": 1}',
            "s.jsonl:3:1: teacher: missing",
        ),
        (
            '{"id": "r0", "timestamp": "2027-03-01T00:00:09Z", "segment": "saas", "student": 1, "teacher": 1}',
            "s.jsonl:3:1: id: duplicate id 'r0' (first at s.jsonl:1)",
        ),
        (
            '{"id": "x", "timestamp": "2027-02-01T00:00:00Z", "segment": "saas", "student": 1, "teacher": 1}',
            's.jsonl:3:1: timestamp: out of order: "2027-02-01T00:00:00Z" is before s.jsonl:2',
        ),
        (
            '{"id": "x", "timestamp": "2027-03-01T10:00:00", "segment": "saas", "student": 1, "teacher": 1}',
            's.jsonl:3:1: timestamp: "2027-03-01T10:00:00" has no UTC offset',
        ),
        (
            '{"id": "x", "timestamp": "yesterday", "segment": "saas", "student": 1, "teacher": 1}',
            's.jsonl:3:1: timestamp: not an ISO 8601 time: "yesterday"',
        ),
        (
            '{"id": "x", "timestamp": "2027-03-01T10:00:00Z", "segment": "", "student": 1, "teacher": 1}',
            "s.jsonl:3:1: segment: must be a non-empty string, got an empty string",
        ),
        (
            '{"id": true, "timestamp": "2027-03-01T10:00:00Z", "segment": "a", "student": 1, "teacher": 1}',
            "s.jsonl:3:1: id: must be a string or an integer, got a boolean",
        ),
        (
            '{"id": "x", "timestamp": "2027-03-01T10:00:00Z", "segment": "a", "student": 1, "teacher": 1, "x": 1}',
            "s.jsonl:3:1: x: unknown field",
        ),
    ],
)
def test_bad_input_located_exit_1(repo: Path, capsys: Cap, line: str, expected: str) -> None:
    good = [
        {"id": "r0", "timestamp": "2027-03-01T00:00:00Z", "segment": "saas", "student": 1, "teacher": 1},
        {"id": "r1", "timestamp": "2027-03-01T00:00:05Z", "segment": "saas", "student": 1, "teacher": 1},
    ]
    tail = {"id": "r9", "timestamp": "2027-03-02T00:00:00Z", "segment": "saas", "student": 1, "teacher": 1}
    (repo / "s.jsonl").write_text("\n".join([*map(json.dumps, good), line, json.dumps(tail)]) + "\n")
    code, out, err = run_cli("monitor", "--samples", "s.jsonl", capsys=capsys)
    assert code == 1 and out == ""
    assert err.startswith(expected), err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_every_bad_line_reported(repo: Path, capsys: Cap) -> None:
    (repo / "s.jsonl").write_text("oops\n\n{}\n[]\n")
    code, _out, err = run_cli("monitor", "--samples", "s.jsonl", capsys=capsys)
    lines = err.strip().splitlines()
    assert code == 1
    assert [x.split(" ")[0] for x in lines] == ["s.jsonl:1:1:", *["s.jsonl:3:1:"] * 5, "s.jsonl:4:1:"]


def test_unusable_lock_exit_1(repo: Path, capsys: Cap) -> None:
    (repo / "eval" / "locked.jsonl").write_text("{}\n")
    log = make_log(repo / "s.jsonl")
    code, _out, err = run_cli("monitor", "--samples", str(log), capsys=capsys)
    assert code == 1 and "does not verify" in err


def test_text_and_markdown(repo: Path, capsys: Cap) -> None:
    log = make_log(repo / "s.jsonl")
    code, out, _err = run_cli("monitor", "--samples", str(log), capsys=capsys)
    assert code == 4
    assert out.strip().splitlines()[-1].startswith("BREACH: overall (weeks 2027-W15")
    assert "saas (weeks 2027-W15, 2027-W16" in out
    code, md, _err = run_cli("monitor", "--samples", str(log), "--format", "markdown", capsys=capsys)
    assert code == 4
    assert md.count("xychart-beta") == 5  # four segments and overall
    assert "## saas" in md and "| 2027-W15 |" in md


def test_operations_doc_command_runs(repo: Path, capsys: Cap) -> None:
    """The exact command of the scaffolded docs/operations.md, run on a folder of weekly files."""
    import re
    import shlex

    code, _out, err = run_cli("scaffold", capsys=capsys)
    assert code == 0, err
    doc = next(repo.rglob("docs/operations.md")).read_text("utf-8")
    command = re.search(r"```sh\n(.+)\n```", doc)
    assert command is not None
    words = shlex.split(command.group(1))
    assert words[:2] == ["distillplan", "monitor"] and words[-2] == ">"
    folder = repo / "monitoring" / "samples"
    folder.mkdir(parents=True)
    log = make_log(repo / "all.jsonl").read_text().splitlines()
    for k in range(2):  # two files, in name order, continuing each other in time
        (folder / f"part-{k}.jsonl").write_text("\n".join(log[k * len(log) // 2 : (k + 1) * len(log) // 2]) + "\n")
    code, md, err = run_cli(*words[1:-2], capsys=capsys)
    assert code == 4, err
    assert "**BREACH: overall (weeks 2027-W15" in md and "saas (weeks 2027-W15" in md
    assert "| 0 | within the contract" in doc and "| 4 | breach" in doc and "| 5 | undecided" in doc


def test_json_keys_documented(repo: Path, capsys: Cap) -> None:
    _code, data = _json(capsys, make_log(repo / "s.jsonl", per_week={3: {"saas": 5}}))
    doc = (Path(__file__).parent.parent / "docs" / "monitor-json.md").read_text("utf-8")
    keys = set(data) | set(data["cells"][0]) | set(data["mix"][0]) | set(data["budget"])
    keys |= set(data["budget"]["segments"][0])
    for key in sorted(keys):
        assert f"`{key}`" in doc, key
    assert any(c["status"] == "too-few" for c in data["cells"])


def _reader_rows(tmp_path: Path, rows: list[dict[str, object]] | list[str]) -> list[tuple[object, ...]]:
    from distillplan.evalset.samples import SampleReader

    p = tmp_path / "x.jsonl"
    p.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    reader = SampleReader([p])
    out = [tuple(s) for s in reader]
    assert reader.problems == []
    return out


def test_week_is_iso_week_in_utc(tmp_path: Path) -> None:
    """Sunday 23:30 at -02:00 is Monday 01:30 UTC: the next ISO week; Z and +00:00 agree."""
    base = {"segment": "a", "student": 1, "teacher": 1}
    rows = [
        {"id": 1, "timestamp": "2027-03-07T20:00:00Z", **base},
        {"id": 2, "timestamp": "2027-03-07T23:30:00-02:00", **base},
        {"id": 3, "timestamp": "2027-03-08T02:00:00+00:00", **base},
    ]
    assert [r[0] for r in _reader_rows(tmp_path, rows)] == ["2027-W09", "2027-W10", "2027-W10"]


def test_reference_rows_give_the_paired_gap(tmp_path: Path) -> None:
    """With a reference: t - s per row; the student right where the teacher is wrong counts -1."""
    from distillplan.evalset.samples import SampleReader

    rows = [
        {
            "id": i,
            "timestamp": f"2027-03-01T00:00:{i:02d}Z",
            "segment": "a",
            "reference": "x",
            "student": s,
            "teacher": t,
        }
        for i, (s, t) in enumerate([("x", "y"), ("x", "x"), ("y", "x"), ("y", "x")])
    ]
    p = tmp_path / "x.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    agg = mon.aggregate(SampleReader([p]), "accuracy")
    cell = agg.cells[("2027-W09", "a")]
    assert (cell.n, cell.with_reference, cell.sum_s, cell.sum_t, cell.sum_d) == (4, 4, 2.0, 3.0, 1.0)
    assert not cell.binary  # a -1 row: the normal interval, not Wilson's
    r = mon.decide("2027-W09", "a", cell, 5.0, "max_stratum_gap_points")
    assert r.gap_points == pytest.approx(25.0) and r.status == "too-few"


def test_duplicate_int_and_string_id_are_the_same(repo: Path, capsys: Cap) -> None:
    base = {"segment": "saas", "student": 1, "teacher": 1}
    rows = [
        {"id": 7, "timestamp": "2027-03-01T00:00:00Z", **base},
        {"id": "7", "timestamp": "2027-03-01T00:00:01Z", **base},
    ]
    (repo / "s.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    code, _out, err = run_cli("monitor", "--samples", "s.jsonl", capsys=capsys)
    assert code == 1 and err.strip() == "s.jsonl:2:1: id: duplicate id '7' (first at s.jsonl:1)"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=40), st.text(max_size=40).map(str.encode), _json_rows()), max_size=6))
@example(lines=[b"\x1c"])  # str.strip() took it for a blank line (not JSON whitespace)
@example(lines=[b"\x0c", "\u2028".encode()])
def test_no_input_crashes_the_reader(tmp_path_factory: pytest.TempPathFactory, lines: list[bytes]) -> None:
    """Any bytes: every non-blank line is either a row or a located problem; nothing raises."""
    from distillplan.evalset.samples import SampleReader

    p = tmp_path_factory.mktemp("fuzz") / "x.jsonl"
    p.write_bytes(b"\n".join(x.replace(b"\n", b" ") for x in lines) + b"\n")
    reader = SampleReader([p])
    rows = list(reader)
    lines_used = {r[6] for r in rows} | {pr.line for pr in reader.problems}
    nonblank = {i for i, x in enumerate(p.read_bytes().split(b"\n"), 1) if x.strip() and x.strip() != b"\xef\xbb\xbf"}
    assert nonblank <= lines_used
    for pr in reader.problems:
        assert "\n" not in str(pr)
