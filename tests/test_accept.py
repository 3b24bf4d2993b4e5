from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from distillplan.errors import AcceptanceError, LocatedError
from distillplan.evalset.accept import (
    EvalRow,
    evaluate,
    load_eval,
    load_predictions,
    read_jsonl,
    required_examples,
)
from distillplan.evalset.metrics import exact_match, field_f1, normalize
from distillplan.outputs.accept_report import render_markdown, render_text, to_json


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def make_rows(spec: dict[str, int]) -> list[EvalRow]:
    """``{stratum: count}`` -> rows with reference "yes", ids s-0, s-1, ..."""
    return [
        EvalRow(f"{s}-{i}", "yes", s, "eval.jsonl", n)
        for n, (s, i) in enumerate(((s, i) for s, c in spec.items() for i in range(c)), 1)
    ]


def preds(rows: list[EvalRow], wrong: dict[str, int]) -> dict[str, Any]:
    """Predict "yes" except for the first ``wrong[stratum]`` rows of each stratum."""
    out: dict[str, Any] = {}
    for r in rows:
        bad = int(r.id.rsplit("-", 1)[1]) < wrong.get(r.stratum or "", 0)
        out[r.id] = "no" if bad else "Yes "
    return out


# ------------------------------------------------------------------ decisions

ROWS = make_rows({"billing": 100, "shipping": 100})


def test_pass_within_gap() -> None:
    res = evaluate(
        ROWS,
        preds(ROWS, {"billing": 2, "shipping": 2}),
        metric="accuracy",
        strata_field="segment",
        teacher_score=0.99,
        max_gap_points=2.0,
        max_stratum_gap_points=5.0,
    )
    assert res.passed
    assert res.overall.student_score == pytest.approx(0.98)
    assert res.overall.gap_points == pytest.approx(1.0)
    assert [(g.name, g.examples, g.ok) for g in res.strata] == [
        ("billing", 100, True),
        ("shipping", 100, True),
    ]
    assert res.teacher_source == "spec"


def test_fail_by_overall_gap() -> None:
    res = evaluate(
        ROWS,
        preds(ROWS, {"billing": 4, "shipping": 4}),
        metric="accuracy",
        strata_field="segment",
        teacher_score=0.99,
        max_gap_points=2.0,
        max_stratum_gap_points=5.0,
    )
    assert not res.passed
    assert res.overall.ok is False
    assert all(g.ok for g in res.strata)
    assert render_text(res, lock_hash="h", commit="c").startswith("FAIL: overall gap +3.00")


def test_fail_by_one_stratum_only() -> None:
    res = evaluate(
        ROWS,
        preds(ROWS, {"billing": 0, "shipping": 7}),
        metric="accuracy",
        strata_field="segment",
        teacher_score=0.99,
        max_gap_points=3.0,
        max_stratum_gap_points=5.0,
    )
    assert res.overall.ok is True  # overall gap 2.5 points
    assert [g.ok for g in res.strata] == [True, False]
    assert not res.passed
    assert "stratum 'shipping' gap +6.00 points exceeds 5.00" in render_text(res, lock_hash="h", commit="c")


def test_strata_without_bound_report_only() -> None:
    res = evaluate(
        ROWS,
        preds(ROWS, {"billing": 0, "shipping": 7}),
        metric="accuracy",
        strata_field="segment",
        teacher_score=0.99,
        max_gap_points=3.0,
    )
    assert res.passed
    assert [g.ok for g in res.strata] == [None, None]


def test_gap_exactly_at_bound_passes() -> None:
    rows = make_rows({"a": 50})
    res = evaluate(
        rows,
        preds(rows, {"a": 1}),
        metric="accuracy",
        strata_field=None,
        teacher_score=1.0,
        max_gap_points=2.0,
    )
    assert res.overall.gap_points == pytest.approx(2.0)
    assert res.passed


def test_teacher_predictions_measured_and_paired() -> None:
    rows = make_rows({"a": 60, "b": 40})
    student = preds(rows, {"a": 6, "b": 4})
    teacher = preds(rows, {"a": 3, "b": 0})
    res = evaluate(
        rows,
        student,
        metric="exact-match",
        strata_field="seg",
        teacher_preds=teacher,
        teacher_score=0.5,
        max_gap_points=5.0,
    )
    assert res.teacher_source == "measured"
    assert res.overall.teacher_score == pytest.approx(0.97)  # measured, not the spec's 0.5
    assert res.overall.gap_points == pytest.approx(7.0)
    assert [g.teacher_score for g in res.strata] == pytest.approx([0.95, 1.0])
    assert not res.passed
    assert to_json(res, lock_hash="h", commit="c")["bootstrap"]["paired"] is True


def test_no_teacher_is_an_error() -> None:
    with pytest.raises(AcceptanceError, match="no teacher score"):
        evaluate(ROWS, preds(ROWS, {}), metric="accuracy", strata_field=None, max_gap_points=2.0)


# ------------------------------------------------------------------ bootstrap


def test_bootstrap_is_deterministic_and_contains_point() -> None:
    rows = make_rows({"a": 300, "b": 200})
    student = preds(rows, {"a": 30, "b": 10})
    teacher = preds(rows, {"a": 10, "b": 15})
    kw: dict[str, Any] = dict(metric="accuracy", strata_field="seg", teacher_preds=teacher, max_gap_points=2.0)
    one, two = evaluate(rows, student, **kw), evaluate(rows, student, **kw)
    assert one == two
    other = evaluate(rows, student, seed=7, **kw)
    assert (other.overall.ci_low_points, other.overall.ci_high_points) != (
        one.overall.ci_low_points,
        one.overall.ci_high_points,
    )
    for g in (one.overall, *one.strata):
        assert g.ci_low_points < g.gap_points < g.ci_high_points
    # a 5-point gap on 500 examples: the CI is a few points wide, not 0 and not 50
    assert 1.0 < one.overall.ci_high_points - one.overall.ci_low_points < 10.0


def test_constant_teacher_bootstrap_width_matches_binomial() -> None:
    rows = make_rows({"a": 1000})
    res = evaluate(
        rows,
        preds(rows, {"a": 200}),
        metric="accuracy",
        strata_field=None,
        teacher_score=0.85,
        max_gap_points=2.0,
    )
    half = (res.overall.ci_high_points - res.overall.ci_low_points) / 2
    expected = 1.96 * (0.8 * 0.2 / 1000) ** 0.5 * 100  # ~2.48 points
    assert half == pytest.approx(expected, rel=0.1)


def test_field_f1_bootstrap_uses_many_values_and_is_fast() -> None:
    n = 5000
    rows = [EvalRow(str(i), {"a": i % 7, "b": i % 11, "c": i % 13}, f"s{i % 3}", "e", i + 1) for i in range(n)]
    student = {str(i): {"a": i % 7, "b": (i * 7) % 11, "c": i % 5} for i in range(n)}
    teacher = {str(i): {"a": i % 7, "b": i % 11, "c": (i * 3) % 13} for i in range(n)}
    start = time.perf_counter()
    res = evaluate(
        rows,
        student,
        metric="field-f1",
        strata_field="s",
        teacher_preds=teacher,
        max_gap_points=2.0,
        max_stratum_gap_points=5.0,
    )
    assert time.perf_counter() - start < 3.0
    assert res.overall.ci_low_points < res.overall.gap_points < res.overall.ci_high_points


# ------------------------------------------------------------------ metrics


@pytest.mark.parametrize(
    ("ref", "pred", "same"),
    [
        ("Billing", "  billing ", True),
        ("Straße", "STRASSE", True),
        ("ﬁle  name", "file name", True),  # NFKC ligature, collapsed spaces
        ("a b", "ab", False),
        (5, 5.0, True),
        (5, "5", True),
        ({"b": 1, "a": [1, 2]}, {"a": [1, 2], "b": 1}, True),
        ([1, 2], [2, 1], False),
        (True, "true", True),
        (None, "", False),
    ],
)
def test_exact_match_normalization(ref: Any, pred: Any, same: bool) -> None:
    assert exact_match(ref, pred) == (1.0 if same else 0.0)


def test_normalize_form() -> None:
    assert normalize("  Hello\t\nWORLD ") == "hello world"
    assert normalize({"b": 2.0, "a": None}) == '{"a":null,"b":2}'


def test_field_f1_by_hand() -> None:
    ref = {"name": "Ann", "tags": ["a", "b"], "addr": {"city": "Paris"}}
    pred = {"name": " ANN ", "tags": ["b", "c"], "addr": {"city": "Lyon"}, "x": 1}
    # ref pairs 4, pred pairs 5, overlap {name=ann, tags=b} = 2: P=2/5, R=2/4, F1=4/9
    assert field_f1(ref, pred) == pytest.approx(4 / 9)
    assert field_f1(json.dumps(ref), json.dumps(pred)) == pytest.approx(4 / 9)
    assert field_f1(ref, ref) == 1.0
    assert field_f1({"t": ["a", "a"]}, {"t": ["a"]}) == pytest.approx(2 / 3)  # multiset
    assert field_f1({}, {}) == 1.0
    assert field_f1({"a": None}, {}) == 1.0  # null is absent
    assert field_f1(ref, "not json {") == 0.0
    assert field_f1(ref, "[1, 2]") == 0.0
    assert field_f1({}, {"a": 1}) == 0.0


def test_field_f1_needs_object_references() -> None:
    rows = [EvalRow("1", "plain text", None, "eval/x.jsonl", 7)]
    with pytest.raises(LocatedError, match=r"^eval/x.jsonl:7:1: field-f1 needs a JSON object"):
        evaluate(
            rows,
            {"1": {}},
            metric="field-f1",
            strata_field=None,
            teacher_score=0.9,
            max_gap_points=2.0,
        )


def test_unknown_metric() -> None:
    with pytest.raises(AcceptanceError, match="unknown metric 'bleu'"):
        evaluate(
            ROWS,
            preds(ROWS, {}),
            metric="bleu",
            strata_field=None,
            teacher_score=0.9,
            max_gap_points=2.0,
        )


# ------------------------------------------------------------------ readers


def eval_file(tmp_path: Path) -> list[EvalRow]:
    p = write_jsonl(
        tmp_path / "eval.jsonl",
        [{"id": i, "reference": "yes", "segment": "b" if i % 2 else "a"} for i in range(1, 9)],
    )
    return load_eval([p], strata_field="segment", display_base=tmp_path)


def test_load_eval(tmp_path: Path) -> None:
    rows = eval_file(tmp_path)
    assert [r.id for r in rows] == [str(i) for i in range(1, 9)]
    assert rows[0] == EvalRow("1", "yes", "b", "eval.jsonl", 1)


def test_load_eval_problems(tmp_path: Path) -> None:
    p = write_jsonl(tmp_path / "e.jsonl", [{"id": 1, "reference": "x"}, {"id": "1", "reference": "y"}])
    with pytest.raises(
        LocatedError,
        match=r"^e.jsonl:2:1: id: duplicate id '1' \(first at "
        r"e.jsonl:1\)$",
    ):
        load_eval([p], display_base=tmp_path)
    write_jsonl(p, [{"id": 1, "reference": "x"}])
    with pytest.raises(LocatedError, match=r"e.jsonl:1:1: segment: stratum must be a string \(missing\)"):
        load_eval([p], strata_field="segment", display_base=tmp_path)
    write_jsonl(p, [{"id": 1}])
    with pytest.raises(LocatedError, match=r"e.jsonl:1:1: reference: missing reference"):
        load_eval([p], display_base=tmp_path)


def test_read_jsonl_malformed_line(tmp_path: Path) -> None:
    p = tmp_path / "p.jsonl"
    p.write_text('{"id": 1}\n\n{"id": 2,,}\n')
    with pytest.raises(LocatedError, match=r"^preds.jsonl:3:10: not valid JSON"):
        read_jsonl(p, display_path="preds.jsonl")


def test_read_jsonl_non_object_and_non_utf8(tmp_path: Path) -> None:
    p = tmp_path / "p.jsonl"
    p.write_text('{"id": 1}\n[1, 2]\n')
    with pytest.raises(LocatedError, match=r"^p:2:1: expected a JSON object, got an array$"):
        read_jsonl(p, display_path="p")
    p.write_bytes(b'{"id": 1}\n{"id": "\xff"}\n')
    with pytest.raises(LocatedError, match=r"^p:2:\d+: not valid UTF-8$"):
        read_jsonl(p, display_path="p")
    assert len(read_jsonl(write_jsonl(p, [{"a": 1}]), display_path="p")) == 1
    with pytest.raises(AcceptanceError, match=r"^missing\.jsonl: cannot read"):
        read_jsonl(tmp_path / "nope", display_path="missing.jsonl")


IDS = [str(i) for i in range(1, 9)]


@pytest.mark.parametrize(
    ("lines", "pattern"),
    [
        (
            ['{"id": 1, "prediction": "a"}', '{"id": 1, "prediction": "b"}'],
            r"^preds.jsonl:2:1: id: duplicate id '1' \(first at line 1\)$",
        ),
        (
            [
                '{"id": 1, "prediction": "a"}',
                '{"id": 99, "prediction": "b"}',
                '{"id": 98, "prediction": "b"}',
            ],
            r"^preds.jsonl:2:1: id: id '99' is not in the locked eval set "
            r"\(2 unknown ids in all\)$",
        ),
        (['{"id": 1, "answer": "a"}'], r"^preds.jsonl:1:1: prediction: missing prediction field$"),
        (['{"prediction": "a"}'], r"^preds.jsonl:1:1: id: missing id field$"),
        (['{"id": 1, "prediction": "a"', ""], r"^preds.jsonl:1:\d+: not valid JSON"),
        (
            ['{"id": 1, "prediction": "a"}', '{"id": 2, "prediction": "a"}'],
            r"^preds.jsonl: 6 eval ids have no prediction: '3', '4', '5', '6', '7', …$",
        ),
    ],
)
def test_bad_prediction_files(tmp_path: Path, lines: list[str], pattern: str) -> None:
    p = tmp_path / "preds.jsonl"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises((LocatedError, AcceptanceError), match=pattern) as err:
        load_predictions(p, eval_ids=IDS, display_path="preds.jsonl")
    assert "\n" not in str(err.value)


def test_good_prediction_file(tmp_path: Path) -> None:
    p = write_jsonl(tmp_path / "p.jsonl", [{"id": i, "prediction": i * 2} for i in range(1, 9)])
    got = load_predictions(p, eval_ids=IDS)
    assert got == {str(i): i * 2 for i in range(1, 9)}


# ------------------------------------------------------------------ sizing


def test_required_examples() -> None:
    ns = [required_examples(teacher_score=0.9, gap_points=g) for g in (5.0, 2.0, 1.0, 0.5)]
    assert ns == sorted(ns) and len(set(ns)) == 4
    # by hand: ((1.95996*0.3 + 0.84162*sqrt(0.88*0.12)) / 0.02)^2 = 1855.2 -> 1856
    assert ns[1] == 1856
    assert required_examples(teacher_score=0.9, gap_points=2.0, confidence=0.99) > ns[1]
    with pytest.raises(ValueError, match="gap_points"):
        required_examples(teacher_score=0.9, gap_points=0.0)


# ------------------------------------------------------------------ reports


def test_reports() -> None:
    rows = make_rows({"a|b": 50, "c": 50})
    res = evaluate(
        rows,
        preds(rows, {"a|b": 1}),
        metric="accuracy",
        strata_field="seg",
        teacher_score=0.99,
        max_gap_points=2.0,
        max_stratum_gap_points=5.0,
    )
    data = to_json(res, lock_hash="sha256:ab", commit="c" * 40)
    assert data["format_version"] == 1
    assert data["result"] == "PASS"
    assert [s["name"] for s in data["strata"]] == ["a|b", "c"]
    assert json.loads(json.dumps(data)) == data
    text = render_text(res, lock_hash="sha256:ab", commit="c" * 40)
    assert text.startswith("PASS: the student is within 2.00 points")
    md = render_markdown(res, lock_hash="sha256:ab", commit="c" * 40, spec_name="tickets")
    assert md.startswith("# Acceptance record: tickets\n")
    assert "`sha256:ab`" in md
    assert "a\\|b" in md
    table = [ln for ln in md.splitlines() if ln.startswith("| ")][6:]  # after the item table
    assert len(table) == 3 + 1  # header + overall + 2 strata (separator starts with "|-")
    for ln in table:
        assert ln.replace("\\|", "").count("|") == 9


def test_markdown_table_parses_with_markdown_it() -> None:
    markdown_it = pytest.importorskip("markdown_it")
    rows = make_rows({"x|y": 10, "z": 10})
    res = evaluate(
        rows,
        preds(rows, {"z": 1}),
        metric="accuracy",
        strata_field="seg",
        teacher_score=1.0,
        max_gap_points=2.0,
        max_stratum_gap_points=5.0,
    )
    md = render_markdown(res, lock_hash="h", commit="", spec_name="a | b")
    tokens = markdown_it.MarkdownIt().enable("table").parse(md)
    cells_per_row: list[int] = []
    count = 0
    for tok in tokens:
        if tok.type == "tr_open":
            count = 0
        elif tok.type in ("td_open", "th_open"):
            count += 1
        elif tok.type == "tr_close":
            cells_per_row.append(count)
    assert cells_per_row == [2] * 6 + [8] * 4
    assert "x|y" in markdown_it.MarkdownIt().enable("table").render(md)
