"""`distillplan catalog`: every bundled fact listed, with its source and date."""

from __future__ import annotations

import json

import pytest

from distillplan.catalogs.gpus import load_gpus
from distillplan.catalogs.prices import teacher_prices
from distillplan.catalogs.students import STUDENT_FILES
from distillplan.files import data_path
from tests.conftest import run_cli


def test_catalog_text_lists_everything(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli("catalog", capsys=capsys)
    assert code == 0
    for name in STUDENT_FILES:
        assert name in out
    for gpu in load_gpus():
        assert gpu in out
    for teacher in teacher_prices():
        assert teacher in out


def test_catalog_json_has_sources_and_dates(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli("catalog", "--format", "json", capsys=capsys)
    assert code == 0
    data = json.loads(out)
    assert [s["name"] for s in data["students"]] == list(STUDENT_FILES)
    assert all(s["published_params"] > 1e9 and s["as_of"] for s in data["students"])
    assert all(g["source"] and g["as_of"] for g in data["gpus"])
    assert all(
        t["source"] and t["as_of"] and t["usd_per_mtok_output"] >= t["usd_per_mtok_input"] for t in data["teachers"]
    )


def test_every_student_has_its_config_file() -> None:
    for stem in STUDENT_FILES.values():
        assert data_path("architectures", f"{stem}.json").is_file()
