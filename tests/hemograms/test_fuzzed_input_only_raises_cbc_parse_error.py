"""Random, truncated and structural-noise files: the parsers either return a ParseResult or raise
CBCParseError, never anything else, and what they return is well formed
(tests/fuzzing.cbc_outcome). Seeded mutations of real files are
test_fuzzed_cbc_files_are_parsed_or_refused.py."""

from __future__ import annotations

import random

import pytest

from apps.hemograms.parsers import parse_cbc
from tests.fuzzing import CBC_TEST_SEEDS, cbc_outcome

SEEDS = tuple(CBC_TEST_SEEDS.values())
ALPHABET = b",;\t\r\n\"|^~\\&#MSHPIDOBRX0123456789.-*@+/()[]% abcSample No.accession\x0b\x1c"


def test_random_bytes():
    rng = random.Random(20240305)
    for _ in range(400):
        cbc_outcome(rng.randbytes(rng.randrange(0, 600)), None)


def test_random_structural_text():
    rng = random.Random(7)
    for _ in range(400):
        size = rng.randrange(1, 400)
        data = bytes(rng.choice(ALPHABET) for _ in range(size))
        for fmt in (None, "sysmex", "hl7", "csv"):
            cbc_outcome(data, fmt)


@pytest.mark.parametrize("seed", SEEDS, ids=list(CBC_TEST_SEEDS))
def test_every_truncation(seed: bytes):
    assert parse_cbc(seed).records  # the untouched seed is good
    for end in range(len(seed)):
        cbc_outcome(seed[:end], None)


def test_huge_field_and_long_lines():
    cbc_outcome(b"accession,WBC(10^9/L)\nA1,\"" + b"9" * 200_000 + b"\"\n", None)
    cbc_outcome(b"accession,WBC(10^9/L)\nA1," + b"9" * 5000 + b"\n", None)
    cbc_outcome(b"MSH|^~\\&|" + b"^" * 100_000 + b"\r", None)
