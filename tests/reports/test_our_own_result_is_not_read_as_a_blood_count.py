"""The smear differential HemaClinic sends the laboratory system is never read back as an
analyser's blood count: its shares go out under the manual-count LOINC codes (not those an
analyser's automated differential uses), and a message HemaClinic sent (MSH-3) is refused by
the CBC import, with a reason, whatever its codes."""

from __future__ import annotations

from django.utils import translation

from apps.core.text import translated
from apps.hemograms.parsers import parse_cbc
from apps.hemograms.parsers.units import parameter_for
from apps.reports.hl7_result import BANDS, LOINC_PER_100_WBC, NRBC, oru_r01
from tests.reports.test_hl7_result_round_trip import CONTENT, _facts


def test_the_shares_go_out_under_codes_no_analyser_parameter_has():
    analyser = {code for name in ("NEUT%", "LYMPH%", "MONO%", "EO%", "BASO%", "NRBC%")
                for code in parameter_for(name).loinc}  # type: ignore[union-attr]
    sent = {code for code, _name in LOINC_PER_100_WBC.values() if code != "38518-7"}
    sent |= {NRBC[0], BANDS[0]}
    assert not sent & analyser
    assert all("by Manual count" in name for code, name in LOINC_PER_100_WBC.values()
               if code in sent)


def test_our_own_message_is_refused_by_the_cbc_import():
    er7 = oru_r01(content=CONTENT, signature=_facts(), sending_facility="CHU LAB",
                  receiving_application="LIS", receiving_facility="CHU")
    result = parse_cbc(er7.encode())
    assert result.records == ()
    (error,) = result.errors
    with translation.override("en"):
        assert translated(*error.problems) == (
            "the message is a smear differential that HemaClinic sent (MSH-3 HEMACLINIC), "
            "validated by a biologist, not an analyser's blood count")
    with translation.override("fr"):
        assert "une formule leucocytaire que HemaClinic a envoyée" in translated(*error.problems)
