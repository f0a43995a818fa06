"""A Sysmex XN export (comma, '.' decimals, mark columns, research parameters): every value
arrives in the canonical unit, the raw text is kept, and every data row is accounted for."""

from __future__ import annotations

from datetime import datetime

from apps.hemograms.parsers import AnalyserMessage, parse_cbc

# One tuple per column: header, then the cell of each of the three samples.
COLUMNS = [
    ("Nickname", "XN-10^11036", "XN-10^11036", "XN-10^11036"),
    ("Analyzer ID", "XN-10^11036", "XN-10^11036", "XN-20^22001"),
    ("Date", "2024/03/05", "2024/03/05", "2024/03/06"),
    ("Time", "14:30:12", "14:31:40", "08:02:00"),
    ("Rack", "000123", "000123", "000124"),
    ("Position", "1", "2", "1"),
    ("Sample No.", "S24-000101", "S24-000102", "S24-000103"),
    ("Sample Inf.", "", "", ""),
    ("Order Type", "", "", ""),
    ("Measurement Mode", "WB", "WB", "WB"),
    ("Discrete", "CBC+DIFF+RET", "CBC+DIFF", "CBC+DIFF"),
    ("Patient ID", "H000123    ", "", "H000777"),
    ("Analysis Info.", "", "", ""),
    ("Judgment", "Negative", "Positive", "Negative"),
    ("WBC(10^3/uL)", "6.52", "12.04", "0.00"),
    ("WBC/M", "", "", ""),
    ("RBC(10^6/uL)", "4.51", "3.02", "4.90"),
    ("RBC/M", "", "", ""),
    ("HGB(g/dL)", "13.5", "9.1", "15.2"),
    ("HGB/M", "", "", ""),
    ("HCT(%)", "41.2", "28.4", "45.0"),
    ("HCT/M", "", "", ""),
    ("MCV(fL)", "91.4", "94.0", "91.8"),
    ("MCV/M", "", "", ""),
    ("MCH(pg)", "29.9", "30.1", "31.0"),
    ("MCH/M", "", "", ""),
    ("MCHC(g/dL)", "32.8", "32.0", "33.8"),
    ("MCHC/M", "", "", ""),
    ("PLT(10^3/uL)", "251", "48", "1"),
    ("PLT/M", "", "*", ""),
    ("RDW-SD(fL)", "42.1", "55.3", "40.0"),
    ("RDW-SD/M", "", "", ""),
    ("RDW-CV(%)", "12.9", "17.8", "12.0"),
    ("RDW-CV/M", "", "", ""),
    ("PDW(fL)", "11.6", "", "10.1"),
    ("MPV(fL)", "10.2", "", "9.9"),
    ("P-LCR(%)", "26.1", "", "22.0"),
    ("PCT(%)", "0.26", "", "0.00"),
    ("NEUT#(10^3/uL)", "3.91", "9.88", "0.00"),
    ("NEUT#/M", "", "", ""),
    ("LYMPH#(10^3/uL)", "1.82", "1.21", "0.00"),
    ("LYMPH#/M", "", "", ""),
    ("MONO#(10^3/uL)", "0.55", "0.83", "0.00"),
    ("EO#(10^3/uL)", "0.20", "0.08", "0.00"),
    ("BASO#(10^3/uL)", "0.04", "0.04", "0.00"),
    ("NEUT%(%)", "60.0", "82.1", "----"),
    ("LYMPH%(%)", "27.9", "10.0", "----"),
    ("MONO%(%)", "8.4", "6.9", "----"),
    ("EO%(%)", "3.1", "0.7", "----"),
    ("BASO%(%)", "0.6", "0.3", "----"),
    ("IG#(10^3/uL)", "0.02", "0.61", "0.00"),
    ("IG%(%)", "0.3", "5.1", "----"),
    ("NRBC#(10^3/uL)", "0.00", "0.12", "0.00"),
    ("NRBC%(/100WBC)", "0.0", "1.0", "0.0"),
    ("RET%(%)", "1.16", "", ""),
    ("RET#(10^6/uL)", "0.0523", "", ""),
    ("IRF(%)", "8.9", "", ""),
    ("RET-He(pg)", "33.1", "", ""),
    ("[PLT-I(10^3/uL)]", "251", "48", "1"),
    ("[NE-SSC(ch)]", "150.2", "142.0", ""),
    ("[NE-SFL(ch)]", "48.2", "55.9", ""),
    ("[NE-FSC(ch)]", "88.0", "90.3", ""),
    ("[LY-X(ch)]", "79.1", "80.0", ""),
    ("[NE-WX]", "310", "402", ""),
    ("[NE-WY]", "620", "711", ""),
    ("[NE-WZ]", "640", "655", ""),
    ("Q-Flag(Blasts?)", "0", "100", "0"),
    ("IP SUS(WBC)Blasts?", "", "1", ""),
]
HEADER = ",".join(c[0] for c in COLUMNS)
ROWS = [",".join(c[i] for c in COLUMNS) for i in (1, 2, 3)]
DATA = ("\r\n".join([HEADER, *ROWS]) + "\r\n").encode("utf-8")


def _values(record):  # type: ignore[no-untyped-def]
    return {m.code: m.value for m in record.measurements}


def test_every_row_is_imported_and_nothing_is_lost():
    result = parse_cbc(DATA)
    assert result.format == "sysmex"
    assert result.errors == ()
    assert [r.line for r in result.records] == [2, 3, 4]
    assert [r.accession for r in result.records] == ["S24-000101", "S24-000102", "S24-000103"]


def test_meta_columns_become_record_fields():
    first, second, third = parse_cbc(DATA).records
    assert first.measured_at == datetime(2024, 3, 5, 14, 30, 12)
    assert first.measured_at.tzinfo is None
    assert first.analyser == "Sysmex XN-10 (11036)"
    assert third.analyser == "Sysmex XN-20 (22001)"
    assert first.patient_id == "H000123"
    assert second.patient_id == ""
    assert (first.sex, first.birth_date) == ("", None)
    assert first.raw == ROWS[0]


def test_values_are_canonical():
    first = parse_cbc(DATA).records[0]
    assert _values(first) == {
        "WBC": 6.52, "RBC": 4.51, "HGB": 13.5, "HCT": 41.2, "MCV": 91.4, "MCH": 29.9,
        "MCHC": 32.8, "PLT": 251.0, "RDW-SD": 42.1, "RDW-CV": 12.9, "PDW": 11.6, "MPV": 10.2,
        "P-LCR": 26.1, "PCT": 0.26, "NEUT#": 3.91, "LYMPH#": 1.82, "MONO#": 0.55, "EO#": 0.2,
        "BASO#": 0.04, "NEUT%": 60.0, "LYMPH%": 27.9, "MONO%": 8.4, "EO%": 3.1, "BASO%": 0.6,
        "IG#": 0.02, "IG%": 0.3, "NRBC#": 0.0, "NRBC%": 0.0, "RET%": 1.16,
        "RET#": 52.3,  # 0.0523 x 10^6/uL = 52.3 x 10^9/L
        "IRF": 8.9, "RET-He": 33.1, "NE-SSC": 150.2, "NE-SFL": 48.2, "NE-FSC": 88.0,
        "LY-X": 79.1, "NE-WX": 310.0, "NE-WY": 620.0, "NE-WZ": 640.0,
    }
    units = {m.code: (m.unit, m.raw_unit) for m in first.measurements}
    assert units["WBC"] == ("10^9/L", "10^3/uL")
    assert units["RBC"] == ("10^12/L", "10^6/uL")
    assert units["RET#"] == ("10^9/L", "10^6/uL")
    assert units["NRBC%"] == ("/100WBC", "/100WBC")
    assert units["NE-SFL"] == ("ch", "ch")
    assert units["NE-WX"] == ("", "")
    assert [m.code for m in first.measurements][:3] == ["WBC", "RBC", "HGB"]


def test_blank_cells_are_kept_without_value_and_marks_are_merged():
    second = parse_cbc(DATA).records[1]
    by_code = {m.code: m for m in second.measurements}
    assert by_code["RET%"].value is None and by_code["RET%"].raw_value == ""
    assert by_code["RET%"].analyser_flag == ""
    assert by_code["PLT"].value == 48.0 and by_code["PLT"].analyser_flag == "*"  # from PLT/M
    assert by_code["WBC"].value == 12.04 and by_code["WBC"].analyser_flag == ""


def test_no_result_markers_and_zeros_are_distinct():
    third = parse_cbc(DATA).records[2]
    by_code = {m.code: m for m in third.measurements}
    assert by_code["WBC"].value == 0.0
    assert by_code["NEUT%"].value is None
    assert by_code["NEUT%"].analyser_flag == "----"
    assert by_code["NEUT%"].raw_value == "----"


def test_columns_that_are_not_parameters_are_named_in_a_warning():
    result = parse_cbc(DATA)
    assert len(result.warnings) == 1
    warning = str(result.warnings[0])
    assert warning.startswith("Sysmex columns that are not CBC parameters were ignored (2)")
    for name in ("[PLT-I(10^3/uL)]", "Q-Flag(Blasts?)"):
        assert repr(name) in warning
    assert "IP SUS" not in warning  # read as an analyser message, not ignored
    assert "Rack" not in warning  # routine metadata is not worth a warning


def test_ip_message_columns_become_analyser_messages():
    first, second, third = parse_cbc(DATA).records
    assert second.analyser_messages == (AnalyserMessage("ip", "Blasts?"),)
    assert first.analyser_messages == () and third.analyser_messages == ()
