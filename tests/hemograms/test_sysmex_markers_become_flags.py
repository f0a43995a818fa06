"""Every Sysmex marker: attached to the number, alone in the cell, or in the '/M' column."""

from __future__ import annotations

import pytest

from apps.hemograms.parsers import parse_cbc

HEADER = "Sample No.,Date,Time,WBC(10^9/L),WBC/M,PLT(10^9/L)\r\n"


def _one(cell: str, mark: str = "") -> tuple[float | None, str, str]:
    data = (HEADER + f"S1,2024/01/02,03:04:05,{cell},{mark},250\r\n").encode()
    result = parse_cbc(data)
    assert result.errors == ()
    wbc = result.records[0].measurements[0]
    assert wbc.code == "WBC"
    return wbc.value, wbc.analyser_flag, wbc.raw_value


@pytest.mark.parametrize(
    ("cell", "mark", "value", "flag"),
    [
        ("12.3", "", 12.3, ""),
        ("12.3*", "", 12.3, "*"),
        ("*12.3", "", 12.3, "*"),
        ("12.3@", "", 12.3, "@"),
        ("@12.3", "", 12.3, "@"),
        ("12.3!", "", 12.3, "!"),
        ("*12.3@", "", 12.3, "* @"),
        (" 12.3 * ", "", 12.3, "*"),
        ("----", "", None, "----"),
        ("-----", "", None, "----"),
        ("++++", "", None, "++++"),
        ("ERROR", "", None, "ERROR"),
        ("error", "", None, "ERROR"),
        ("DISCRETE", "", None, "DISCRETE"),
        ("", "", None, ""),
        ("12.3", "*", 12.3, "*"),
        ("12.3", "@", 12.3, "@"),
        ("12.3*", "*", 12.3, "*"),
        ("12.3*", "@", 12.3, "* @"),
        ("", "----", None, "----"),
        ("", "++++", None, "++++"),
        ("12.3", "?", 12.3, ""),  # unknown text in a mark column carries no known meaning
    ],
)
def test_marker(cell: str, mark: str, value: float | None, flag: str):
    got_value, got_flag, raw = _one(cell, mark)
    assert (got_value, got_flag) == (value, flag)
    assert raw == cell


@pytest.mark.parametrize("cell", ["*", "@", "**", "abc", "12.3.4", "1e3", "<0.1",
                                  "12.3+", "nan", "inf", "0x10", "--5"])
def test_not_a_number_rejects_the_row(cell: str):
    data = (HEADER + f"S1,2024/01/02,03:04:05,{cell},,250\r\n").encode()
    result = parse_cbc(data)
    assert result.records == ()
    assert len(result.errors) == 1
    assert result.errors[0].line == 2
    assert result.errors[0].reason.startswith(f"line 2: WBC value {cell!r} ")


def test_negative_value_rejects_the_row():
    data = (HEADER + "S1,2024/01/02,03:04:05,-1.0,,250\r\n").encode()
    (error,) = parse_cbc(data).errors
    assert error.reason == "line 2: WBC value '-1.0' is negative"


def test_a_quoted_decimal_comma_in_a_comma_file_is_refused_not_guessed():
    data = (HEADER + 'S1,2024/01/02,03:04:05,"12,3",,250\r\n').encode()
    (error,) = parse_cbc(data).errors
    assert error.reason == "line 2: WBC value '12,3' is not a number"
