"""The fast JSON-line reader of eval sets, predictions and sampled traffic reads what the standard
parser reads, value for value: orjson where it agrees, ``json.loads`` where it might not."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from distillplan.evalset.accept import load_eval, read_jsonl
from distillplan.evalset.jsonl import SLOW, fast_loads, has_long_digits, loads_for
from distillplan.evalset.samples import SampleReader

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # unbounded: beyond 64 bits orjson reads a float
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),  # NaN and the infinities too (json.dumps writes them, json.loads reads them)
    st.text(),  # lone surrogates among them
)
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner))


def _same(a: object, b: object) -> bool:
    return repr(a) == repr(b)  # NaN, -0.0 and int-versus-float told apart


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=8), _VALUES, max_size=5), st.booleans())
@example({"id": 123456789012345678901234567890}, False)
@example({"id": -9223372036854775809}, True)
@example({"a": 18446744073709551616, "b": float("nan")}, False)
def test_a_line_reads_as_the_standard_parser_reads_it(obj: dict[str, object], ascii_only: bool) -> None:
    line = json.dumps(obj, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    expected = json.loads(line.decode("utf-8", "surrogatepass"))
    got = fast_loads(line)
    assert got is SLOW or _same(got, expected)
    assert loads_for(line)(line) is SLOW or _same(loads_for(line)(line), expected)


def test_long_digit_runs_are_never_vouched_for() -> None:
    assert has_long_digits(b'{"id": 1234567890123456789}') and not has_long_digits(b'{"id": 123456789012345678}')
    assert fast_loads(b'{"id": 123456789012345678901234567890}') is SLOW
    assert fast_loads(b'{"id": 123456789012345678}') == {"id": 123456789012345678}


def test_an_eval_set_with_huge_integers_keeps_them_exact(tmp_path: Path) -> None:
    """An id or a reference past 64 bits: orjson would read 1.2345678901234568e+29."""
    p = tmp_path / "e.jsonl"
    p.write_text(
        '{"id": 123456789012345678901234567890, "reference": 98765432109876543210}\n{"id": 2, "reference": 1}\n'
    )
    rows = load_eval([p], display_base=tmp_path)
    assert [(r.id, r.reference) for r in rows] == [("123456789012345678901234567890", 98765432109876543210), ("2", 1)]
    assert read_jsonl(p, display_path="e")[0] == (
        1,
        {"id": 123456789012345678901234567890, "reference": 98765432109876543210},
    )


def test_sampled_traffic_with_a_huge_integer_id_is_read_exactly(tmp_path: Path) -> None:
    p = tmp_path / "s.jsonl"
    row = {"id": 123456789012345678901234567890, "timestamp": "2027-03-01T00:00:00Z", "segment": "a"}
    p.write_text(json.dumps({**row, "student": 18446744073709551617, "teacher": 18446744073709551617}) + "\n")
    reader = SampleReader([p])
    samples = list(reader)
    assert reader.problems == []
    assert [(s[2], s[3]) for s in samples] == [(18446744073709551617, 18446744073709551617)]
