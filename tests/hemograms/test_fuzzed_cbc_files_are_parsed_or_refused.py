"""Thousands of damaged CBC files per format (Sysmex XN, HL7 v2, generic CSV, and through
auto-detection), mutated from files holding real blood counts the way people, spreadsheets and
middleware damage them: each is parsed into well-formed records and line-numbered errors, or
refused whole with CBCParseError and a message; never another exception.

The inputs and the judging are tests/fuzzing.py, which bench/fuzz_importers.py runs with 10,000
and more inputs per format; a failing input is rerun there by its index (--only).
"""

from __future__ import annotations

import dataclasses

import pytest

from tests import fuzzing

pytestmark = pytest.mark.filterwarnings("ignore")  # libraries warn on damaged files by design

COUNT = 3000


@pytest.mark.parametrize("importer", ["sysmex", "hl7", "csv", "auto"])
def test_every_mutated_file_is_handled(importer: str) -> None:
    report = fuzzing.fuzz(importer, COUNT, max_seconds=10)
    assert report.unhandled_count == 0, f"{report.summary()}\n{report.details()}"
    assert report.inputs == COUNT
    assert report.accepted >= COUNT // 20 and report.rejected >= COUNT // 20, report.summary()


@pytest.mark.parametrize("fmt", ["sysmex", "hl7", "csv"])
def test_the_seeds_are_read_whole(fmt: str) -> None:
    """Every seed parses as its format with no error: the mutations start from good files."""
    for seed in fuzzing.cbc_seeds(fmt):
        result = fuzzing.parse_cbc(seed, format=None)
        assert result.format == fmt and result.records and not result.errors, result.errors


def test_a_malformed_result_is_counted(monkeypatch) -> None:
    real = fuzzing.parse_cbc

    def parse_cbc(data: bytes, *, format: str | None = None):  # type: ignore[no-untyped-def]
        result = real(data, format=format)
        return dataclasses.replace(result, format="xml")

    monkeypatch.setattr(fuzzing, "parse_cbc", parse_cbc)
    report = fuzzing.fuzz("csv", 20)
    assert report.unhandled_count == report.inputs - report.rejected > 0
