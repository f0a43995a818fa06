"""Random, truncated and mutated files: the parsers either return a ParseResult or raise
CBCParseError, never anything else, and what they return is well formed."""

from __future__ import annotations

import math
import random

import pytest

from apps.hemograms.parsers import PARAMETERS, CBCParseError, ParseResult, parse_cbc

SEEDS = (
    b"Nickname,Analyzer ID,Date,Time,Sample No.,Patient ID,Sex,Birth,WBC(10^3/uL),WBC/M,"
    b"HGB(g/L),PLT(10^3/uL),[NE-WX],[NE-SFL(ch)]\r\n"
    b"XN-10^1,XN-10^11036,05/03/2024,14:30:12,S1,P1,F,12/11/1960,6.52*,,135,@251,310,48.2\r\n"
    b"XN-10^1,XN-10^11036,05/03/2024,14:31:00,S2,,M,,----,*,++++,ERROR,,\r\n",
    b"\x0bMSH|^~\\&|XN|LAB|LIS|HOSP|20240305120000+0100||ORU^R01|C1|P|2.5\r"
    b"PID|1||P\\F\\1||DOE^J||19800212|F\r"
    b"OBR|1||S1||||20240305115500+0100\r"
    b"OBX|1|NM|6690-2^WBC^LN||6.5|10*9/L||H|||F\r"
    b"OBX|2|SN|718-7^HGB^LN||^8.4|mmol/L|||||F\r"
    b"OBX|3|NM|NE-WX^^L||310||||||X\r\x1c\r",
    "accession;measured_at;sex;birth_date;WBC(10^9/L);HGB(g/dL);RET#(10^6/µL)\r\n"
    "É1;2024-03-05T08:00+01:00;F;1970-01-01;5,1;13,0*;0,052\r\n"
    '"A;2";2024-03-05 08:01;;;"4,0";;\r\n'.encode("cp1252"),
)
ALPHABET = b",;\t\r\n\"|^~\\&#MSHPIDOBRX0123456789.-*@+/()[]% abcSample No.accession\x0b\x1c"


def _check(data: bytes, fmt: str | None = None) -> None:
    try:
        result = parse_cbc(data, format=fmt)
    except CBCParseError:
        return
    assert isinstance(result, ParseResult)
    assert result.format in ("sysmex", "hl7", "csv")
    for record in result.records:
        assert record.line >= 1 and record.accession
        codes = [m.code for m in record.measurements]
        assert len(codes) == len(set(codes))
        for m in record.measurements:
            assert m.code in PARAMETERS
            assert m.value is None or (math.isfinite(m.value) and m.value >= 0)
    for error in result.errors:
        assert error.line >= 1 and error.reason.startswith(f"line {error.line}: ")


def test_random_bytes():
    rng = random.Random(20240305)
    for _ in range(400):
        _check(rng.randbytes(rng.randrange(0, 600)))


def test_random_structural_text():
    rng = random.Random(7)
    for _ in range(400):
        size = rng.randrange(1, 400)
        data = bytes(rng.choice(ALPHABET) for _ in range(size))
        for fmt in (None, "sysmex", "hl7", "csv"):
            _check(data, fmt)


@pytest.mark.parametrize("seed", SEEDS, ids=["sysmex", "hl7", "csv"])
def test_every_truncation(seed: bytes):
    assert parse_cbc(seed).records  # the untouched seed is good
    for end in range(len(seed)):
        _check(seed[:end])


@pytest.mark.parametrize("seed", SEEDS, ids=["sysmex", "hl7", "csv"])
def test_random_mutations(seed: bytes):
    rng = random.Random(len(seed))
    for _ in range(500):
        data = bytearray(seed)
        for _ in range(rng.randrange(1, 6)):
            position = rng.randrange(len(data))
            action = rng.randrange(3)
            if action == 0:
                data[position] = rng.randrange(256)
            elif action == 1:
                data.insert(position, rng.choice(ALPHABET))
            else:
                del data[position]
        for fmt in (None, "sysmex", "hl7", "csv"):
            _check(bytes(data), fmt)


def test_huge_field_and_long_lines():
    _check(b"accession,WBC(10^9/L)\nA1,\"" + b"9" * 200_000 + b"\"\n")
    _check(b"accession,WBC(10^9/L)\nA1," + b"9" * 5000 + b"\n")
    _check(b"MSH|^~\\&|" + b"^" * 100_000 + b"\r")
