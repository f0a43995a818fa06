"""One ORU^R01 message from an analyser: patient, specimen, time, every OBX value and flag."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from apps.hemograms.parsers import AnalyserMessage, parse_cbc

MESSAGE = (
    b"MSH|^~\\&|XN-550^00-17|HAEM-LAB|LIS|CHU|20240305143500+0100||ORU^R01^ORU_R01|"
    b"MSG000123|P|2.5.1|||NE|AL||UNICODE UTF-8\r"
    b"PID|1||P123456^^^CHU^MR~99887766^^^NATIONAL^NN||DUPONT^MARIE||19800212|F\r"
    b"PV1|1|O\r"
    b"ORC|RE|ORD-77|24-0311\r"
    b"OBR|1|ORD-77|24-0311^HAEM-LAB|58410-2^CBC panel - Blood by Automated count^LN|||"
    b"20240305143012+0100\r"
    b"OBX|1|NM|6690-2^Leukocytes^LN||11.2|10*3/uL|4.0-10.0|H|||F|||20240305143012+0100|"
    b"|||XN-550^11036\r"
    b"OBX|2|NM|789-8^Erythrocytes^LN||4.12|10*6/uL|3.8-5.2|N|||F\r"
    b"OBX|3|NM|718-7^Hemoglobin^LN||118|g/L|120-160|L|||F\r"
    b"OBX|4|NM|4544-3^Hematocrit^LN||36.8|%|36-46||||F\r"
    b"OBX|5|NM|787-2^MCV^LN||89.3|fL|80-100||||F\r"
    b"OBX|6|NM|785-6^MCH^LN||28.6|pg|27-33||||F\r"
    b"OBX|7|NM|786-4^MCHC^LN||32.1|g/dL|32-36||||F\r"
    b"OBX|8|NM|788-0^RDW^LN||14.9|%|11.5-14.5|H|||F\r"
    b"OBX|9|NM|777-3^Platelets^LN||@1002|10*9/L|150-400|HH~A|||F\r"
    b"OBX|10|NM|751-8^Neutrophils^LN||8.10|10*9/L|1.8-7.5|H|||F\r"
    b"OBX|11|NM|770-8^Neutrophils/100 leukocytes^LN||72.3|%|||||F\r"
    b"OBX|12|NM|731-0^Lymphocytes^LN||2.10|10*3/uL|||||F\r"
    b"OBX|13|NM|736-9^Lymphocytes/100 leukocytes^LN||18.8|%|||||F\r"
    b"OBX|14|NM|742-7^Monocytes^LN||||||||X\r"
    b"OBX|15|NM|5905-5^Monocytes/100 leukocytes^LN||----|%|||||F\r"
    b"OBX|16|NM|711-2^Eosinophils^LN||0.20|10*3/uL|||||F\r"
    b"OBX|17|NM|713-8^Eosinophils/100 leukocytes^LN||1.8|%|||||F\r"
    b"OBX|18|NM|704-7^Basophils^LN||0.05|10*3/uL|||||F\r"
    b"OBX|19|NM|706-2^Basophils/100 leukocytes^LN||0.4|%|||||F\r"
    b"OBX|20|NM|NE-WX^Neutrophil side scatter width^L||331||||||F\r"
    b"OBX|21|NM|NE-SFL^Neutrophil fluorescence^L||49.9|ch|||||F\r"
    b"OBX|22|ED|WDF^WDF scattergram^99SYSMEX||^image^PNG^Base64^iVBORw0KGgo=||||||F\r"
    b"OBX|23|ST|IP_MSG^Left Shift?^99SYSMEX||100||||||F\r"
    b"NTE|1||checked on smear\r"
)


def test_the_message_is_one_record():
    result = parse_cbc(MESSAGE)
    assert result.format == "hl7"
    assert result.errors == ()
    (record,) = result.records
    assert record.line == 1
    assert record.accession == "24-0311"  # OBR-3 filler number
    assert record.patient_id == "P123456"
    assert (record.sex, record.birth_date) == ("F", date(1980, 2, 12))
    assert record.measured_at == datetime(2024, 3, 5, 14, 30, 12,
                                          tzinfo=timezone(timedelta(hours=1)))
    assert record.analyser == "XN-550 (11036)"  # OBX-18 equipment
    assert record.raw == MESSAGE.decode().rstrip("\r")


def test_values_units_and_flags():
    (record,) = parse_cbc(MESSAGE).records
    got = {m.code: (m.value, m.unit, m.analyser_flag) for m in record.measurements}
    assert got == {
        "WBC": (11.2, "10^9/L", "H"),
        "RBC": (4.12, "10^12/L", ""),  # OBX-8 'N' (normal) is no flag
        "HGB": (11.8, "g/dL", "L"),
        "HCT": (36.8, "%", ""),
        "MCV": (89.3, "fL", ""),
        "MCH": (28.6, "pg", ""),
        "MCHC": (32.1, "g/dL", ""),
        "RDW-CV": (14.9, "%", "H"),
        "PLT": (1002.0, "10^9/L", "@ HH A"),
        "NEUT#": (8.1, "10^9/L", "H"),
        "NEUT%": (72.3, "%", ""),
        "LYMPH#": (2.1, "10^9/L", ""),
        "LYMPH%": (18.8, "%", ""),
        "MONO#": (None, "10^9/L", "X"),  # OBX-11 X: result cannot be obtained
        "MONO%": (None, "%", "----"),
        "EO#": (0.2, "10^9/L", ""),
        "EO%": (1.8, "%", ""),
        "BASO#": (0.05, "10^9/L", ""),
        "BASO%": (0.4, "%", ""),
        "NE-WX": (331.0, "", ""),
        "NE-SFL": (49.9, "ch", ""),
    }
    raw = {m.code: (m.raw_value, m.raw_unit) for m in record.measurements}
    assert raw["HGB"] == ("118", "g/L")
    assert raw["WBC"] == ("11.2", "10*3/uL")
    assert raw["PLT"] == ("@1002", "10*9/L")


def test_other_observations_are_ignored_and_counted():
    result = parse_cbc(MESSAGE)
    assert tuple(map(str, result.warnings)) == (
        "1 OBX segments with codes outside the CBC parameter table were ignored: "
        "'WDF^WDF scattergram^99SYSMEX'",
    )


def test_ip_observations_and_result_comments_are_analyser_messages():
    (record,) = parse_cbc(MESSAGE).records
    assert record.analyser_messages == (
        AnalyserMessage("ip", "Left Shift?"), AnalyserMessage("note", "checked on smear"))


def test_a_comment_after_a_parameter_names_it_and_patient_comments_are_not_read():
    message = MESSAGE.replace(b"PV1|1|O\r", b"NTE|1||patient fasting\rPV1|1|O\r").replace(
        b"OBX|10|", b"NTE|1||PLT clumps seen~re-run citrate\rOBX|10|").replace(
        b"IP_MSG^Left Shift?^99SYSMEX||100", b"IP_MSG^Left Shift?^99SYSMEX||0")
    (record,) = parse_cbc(message).records
    assert record.analyser_messages == (
        AnalyserMessage("note", "PLT: PLT clumps seen re-run citrate"),
        AnalyserMessage("note", "checked on smear"))


def test_the_placer_number_or_specimen_segment_names_the_sample_when_obr3_is_empty():
    placer = MESSAGE.replace(b"OBR|1|ORD-77|24-0311^HAEM-LAB|", b"OBR|1|ORD-77||")
    assert parse_cbc(placer).records[0].accession == "ORD-77"
    spm = MESSAGE.replace(b"OBR|1|ORD-77|24-0311^HAEM-LAB|", b"OBR|1|||").replace(
        b"NTE|1||checked on smear\r", b"SPM|1|SP-0099&LAB^||BLD\r")
    assert parse_cbc(spm).records[0].accession == "SP-0099"


def test_orders_with_different_numbers_on_one_specimen_use_the_specimen_id():
    two_orders = MESSAGE.replace(
        b"OBX|16|", b"OBR|2|ORD-78|24-0312^HAEM-LAB|RET^Reticulocytes^L\rOBX|16|").replace(
        b"NTE|1||checked on smear\r", b"SPM|1|TUBE-5501&LAB^||BLD\r")
    result = parse_cbc(two_orders)
    assert result.errors == ()
    assert result.records[0].accession == "TUBE-5501"
    without_spm = MESSAGE.replace(
        b"OBX|16|", b"OBR|2|ORD-78|24-0312^HAEM-LAB|RET^Reticulocytes^L\rOBX|16|")
    assert [e.reason for e in parse_cbc(without_spm).errors] == [
        "line 1: the message has results for several samples: '24-0311', '24-0312'"]


def test_without_an_offset_the_time_is_naive_and_obx14_is_the_fallback():
    naive = MESSAGE.replace(b"|||20240305143012+0100\r", b"|||\r").replace(
        b"F|||20240305143012+0100|", b"F|||202403051431|")
    (record,) = parse_cbc(naive).records
    assert record.measured_at == datetime(2024, 3, 5, 14, 31)
    assert record.measured_at.tzinfo is None
