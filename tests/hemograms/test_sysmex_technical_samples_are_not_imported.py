"""Controls, background checks, calibrations and unread barcodes are not patient samples."""

from __future__ import annotations

from apps.hemograms.parsers import parse_cbc

DATA = (
    b"Sample No.,Date,Time,WBC(10^9/L)\n"
    b"QC-12345678,2024/01/02,07:00:00,7.10\n"
    b"BACKGROUNDCHECK,2024/01/02,07:01:00,0.00\n"
    b"ERR0000012,2024/01/02,07:05:00,5.00\n"
    b"24-0001,2024/01/02,07:06:00,5.50\n"
    b"CAL-0001,2024/01/02,07:07:00,7.20\n"
)


def test_only_the_patient_sample_is_imported():
    result = parse_cbc(DATA)
    assert [r.accession for r in result.records] == ["24-0001"]
    assert [(e.line, e.reason) for e in result.errors] == [
        (2, "line 2: Sample No. 'QC-12345678' is a control/technical sample, not imported"),
        (3, "line 3: Sample No. 'BACKGROUNDCHECK' is a control/technical sample, not imported"),
        (4, "line 4: Sample No. 'ERR0000012' means the analyser could not read the barcode"),
        (6, "line 6: Sample No. 'CAL-0001' is a control/technical sample, not imported"),
    ]
    assert sorted([r.line for r in result.records] + [e.line for e in result.errors]) == [
        2, 3, 4, 5, 6]
