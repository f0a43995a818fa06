"""Separators come from MSH-1/MSH-2 of each message; escape sequences are resolved after
splitting, so an escaped separator is data, not structure."""

from __future__ import annotations

from datetime import datetime

from apps.hemograms.parsers import parse_cbc
from apps.hemograms.parsers.hl7 import Encoding, unescape


def test_custom_separators_are_honoured():
    data = (
        b"MSH#$*@%#XN#LAB#LIS#HOSP#20240305120000##ORU$R01#C1#P#2.5\r"
        b"PID#1##MRN@F@77$$$HOSP$MR*OTHER-ID##DOE$JOHN##19700101#M\r"
        b"OBR#1##S@T@1$LAB####20240305115500\r"
        b"OBX#1#NM#6690-2$WBC$LN##7.25#10@R@9/L####F\r"  # '*' is escaped here
        b"OBX#2#NM#NE-WX$$L##350#####F\r"
    )
    result = parse_cbc(data)
    assert result.errors == ()
    (record,) = result.records
    assert record.patient_id == "MRN#77"  # @F@ is the escaped field separator '#'
    assert record.accession == "S%1"  # @T@ is the escaped subcomponent separator '%'
    assert record.sex == "M"
    assert record.measured_at == datetime(2024, 3, 5, 11, 55)
    assert record.measurements[0].raw_unit == "10*9/L"
    assert [(m.code, m.value) for m in record.measurements] == [("WBC", 7.25), ("NE-WX", 350.0)]


def test_each_message_keeps_its_own_separators():
    data = (
        b"MSH|^~\\&|XN|LAB|LIS|HOSP|20240305120000||ORU^R01|C1|P|2.5\r"
        b"OBR|1||S1||||20240305115500\r"
        b"OBX|1|NM|6690-2^WBC^LN||5.0|10*9/L||||F\r"
        b"MSH!^~\\&!XN!LAB!LIS!HOSP!20240305120100!!ORU^R01!C2!P!2.5\r"
        b"OBR!1!!S2!!!!20240305115600\r"
        b"OBX!1!NM!6690-2^WBC^LN!!6.0!10*9/L!!!!F\r"
    )
    result = parse_cbc(data)
    assert [(r.accession, r.measurements[0].value) for r in result.records] == [
        ("S1", 5.0), ("S2", 6.0)]


def test_escape_sequences():
    enc = Encoding()
    assert unescape(r"A\F\B\S\C\T\D\R\E\E\F", enc) == "A|B^C&D~E\\F"
    assert unescape(r"caf\XC3A9\ \H\bold\N\ end", enc) == "café bold end"
    assert unescape("\\X41\\", enc) == "A"
    assert unescape(r"keep \Z\ and \.br\ as written", enc) == r"keep \Z\ and \.br\ as written"
    assert unescape("unterminated \\F", enc) == "unterminated \\F"
    custom = Encoding("#", "$", "*", "@", "%")
    assert unescape("a@F@b@S@c@E@d", custom) == "a#b$c@d"


def test_an_escaped_accession_in_default_encoding():
    data = (
        b"MSH|^~\\&|XN|LAB|LIS|HOSP|20240305120000||ORU^R01|C1|P|2.5\r"
        b"OBR|1||A\\F\\B^LAB||||20240305115500\r"
        b"OBX|1|NM|6690-2^WBC^LN||5.0|10*9/L||||F\r"
    )
    assert parse_cbc(data).records[0].accession == "A|B"


def test_invalid_encoding_characters_reject_the_message():
    data = (
        b"MSH|^^\\&|XN|LAB|LIS|HOSP|20240305120000||ORU^R01|C1|P|2.5\r"
        b"OBR|1||S1||||20240305115500\r"
        b"OBX|1|NM|6690-2^WBC^LN||5.0|10*9/L||||F\r"
    )
    result = parse_cbc(data)
    assert result.records == ()
    assert [e.reason for e in result.errors] == [
        "line 1: MSH-2 encoding characters '^^\\\\&' are not valid"]
