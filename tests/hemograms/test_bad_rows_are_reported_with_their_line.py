"""A file with bad rows: the good rows come back as records, each bad row as one error with
its 1-based line and every reason, and no data row is lost."""

from __future__ import annotations

from apps.hemograms.parsers import parse_cbc

CSV = (
    "accession,measured_at,sex,birth_date,WBC(10^9/L),HGB(g/dL)\r\n"   # 1
    "A01,2024-03-05T08:00,F,1970-01-01,5.1,13.0\r\n"                  # 2 good
    "A02,2024-03-05T08:01,F,1970-01-01,5.1\r\n"                       # 3 too few cells
    "A03,2024-03-05T08:02,M,,abc,13.0\r\n"                            # 4 not a number
    ",2024-03-05T08:03,M,,5.0,13.0\r\n"                               # 5 no accession
    "A05,05/03/2024 08:04,M,,5.0,13.0\r\n"                            # 6 not ISO
    "\r\n"                                                            # 7 blank: skipped
    "A07,2024-02-30T08:05,M,1970-13-01,5.0,13.0\r\n"                  # 8 two bad dates
    "A08,2024-03-05T08:06,Z,,5.0,13.0,,,\r\n"                         # 9 bad sex; empty extras ok
    "A09,2024-03-05T08:07,F,,5.0,13.0,7\r\n"                          # 10 non-empty extra cell
    "A10,2024-03-05T08:08,F,,,\r\n"                                   # 11 no result at all
    + "B" * 65 + ",2024-03-05T08:09,F,,5.0,13.0\r\n"                 # 12 accession too long
    "A12,2024-03-05T08:10,F,,-5.0,1e3\r\n"                            # 13 two bad values
    "A13,2024-03-05,F,,5.0,13.0\r\n"                                  # 14 date without time
    ",,,,,\r\n"                                                       # 15 empty row: skipped
    'A15,2024-03-05T08:11,F,,"5.0,13.0\r\n'                           # 16 unmatched quote...
    "A16,2024-03-05T08:12,F,,5.0,13.0\r\n"                            # 17 ...swallows this line
).encode()


def test_good_rows_and_precise_errors():
    result = parse_cbc(CSV)
    assert [(r.line, r.accession) for r in result.records] == [(2, "A01")]
    assert [(e.line, e.reason) for e in result.errors] == [
        (3, "line 3: expected 6 columns as in the header, found 5"),
        (4, "line 4: WBC value 'abc' is not a number"),
        (5, "line 5: accession is empty"),
        (6, "line 6: measured_at '05/03/2024 08:04' is not an ISO 8601 date and time "
            "(YYYY-MM-DDTHH:MM)"),
        (8, "line 8: measured_at '2024-02-30T08:05' is not a valid date and time; "
            "birth_date '1970-13-01' is not a valid date"),
        (9, "line 9: sex 'Z' is not M, F or empty"),
        (10, "line 10: expected 6 columns as in the header, found 7"),
        (11, "line 11: no result in any parameter column"),
        (12, "line 12: accession 'BBBBBBBBBBBBBBBBBBBB'... is longer than 64 characters"),
        (13, "line 13: WBC value '-5.0' is negative; HGB value '1e3' is not a number"),
        (14, "line 14: measured_at '2024-03-05' is not an ISO 8601 date and time "
            "(YYYY-MM-DDTHH:MM)"),
        (16, "line 16: expected 6 columns as in the header, found 5 (a quoted cell runs from "
             "line 16 to line 17; check for an unmatched quote)"),
    ]


def test_nothing_is_lost():
    result = parse_cbc(CSV)
    # 7 and 15 are empty; 17 is inside the unmatched quote of 16, whose error names it.
    data_lines = {2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 16}
    seen = [r.line for r in result.records] + [e.line for e in result.errors]
    assert sorted(seen) == sorted(data_lines)


def test_sysmex_rows_report_the_same_way():
    data = (
        b"Sample No.,Date,Time,Sex,WBC(10^9/L),PLT(10^9/L)\n"
        b"S1,2024/03/05,08:00:00,M,5.0,250\n"
        b"S2,2024/03/05,25:00:00,M,5.0,250\n"
        b"S3,2024/03/05,08:02:00,Unknown,5.0\n"
        b"S4,5 March,08:03:00,X,5.0,250\n"
        b"S5,,08:04:00,,5.0,250\n"
        b"S6,2024/03/05,08:05:00,,,\n"
    )
    result = parse_cbc(data)
    assert [(r.line, r.accession, r.sex) for r in result.records] == [(2, "S1", "M")]
    assert [e.reason for e in result.errors] == [
        "line 3: Time '25:00:00' is not a valid time of day",
        "line 4: expected 6 columns as in the header, found 5",
        "line 5: Date '5 March' is not a date",
        "line 6: Time is given but Date is empty",
        "line 7: no result in any parameter column",
    ]


def test_the_import_page_names_each_line_once_in_the_file_order(client, technician, db):
    """The page prefixes the line ("Line 3: ..."); the parser's own "line 3: " is not repeated,
    and errors found by different checks (parsing, then identity) come in the file's order."""
    from django.contrib.messages import get_messages
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(technician)
    response = client.post("/cbc/import/", {"file": SimpleUploadedFile("lab.csv", CSV)})
    assert response.status_code == 200
    lines = [str(m) for m in get_messages(response.wsgi_request) if str(m).startswith("Line ")]
    assert lines[:3] == ["Line 3: expected 6 columns as in the header, found 5",
                         "Line 4: WBC value 'abc' is not a number",
                         "Line 5: accession is empty"]
    assert not any(": line " in m for m in lines)
    numbers = [int(m.split(":", 1)[0].removeprefix("Line ")) for m in lines]
    assert numbers == sorted(numbers)
    # The table of refused rows: the line in its column, the reason without it.
    table = response.content.decode().split("<tbody>")[-1].split("</tbody>")[0]
    assert "<td>3</td><td>expected 6 columns as in the header, found 5</td>" in table
    assert "line 3:" not in table
