"""The HL7 result of a signed content as the LIS reads it, for tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import hl7

from apps.reports.hl7_result import SignatureFacts, oru_r01


def result_message(differential: dict[str, Any], accession: str = "A-1") -> hl7.Message:
    """The ORU^R01 of a first validated signature of ``differential``, parsed."""
    facts = SignatureFacts(version=1, meaning="validated",
                           signed_at=datetime(2026, 12, 2, tzinfo=UTC), signer_id="bio",
                           signer_family_name="M", signer_given_name="A", comment="",
                           amendment_reason="", content_sha256="ab" * 32)
    return hl7.parse(oru_r01(content={"specimen": {"accession": accession},
                                      "differential": differential},
                             signature=facts, sending_facility="LAB",
                             receiving_application="LIS", receiving_facility="LAB"))
