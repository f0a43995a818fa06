"""A Sysmex XN export row with the analyser's automated differential, for the review tests."""

from __future__ import annotations

COLUMNS = [
    ("Nickname", "XN-10^11036"), ("Analyzer ID", "XN-10^11036"), ("Date", "2026/11/20"),
    ("Time", "09:15:02"), ("Rack", "000123"), ("Position", "1"), ("Sample No.", "S-0001"),
    ("Patient ID", "MRN-1"), ("WBC(10^3/uL)", "6.52"), ("HGB(g/dL)", "13.5"),
    ("MCV(fL)", "91.4"), ("PLT(10^3/uL)", "251"), ("NEUT#(10^3/uL)", "3.91"),
    ("NEUT%(%)", "60.0"), ("LYMPH%(%)", "27.9"), ("MONO%(%)", "8.4"), ("EO%(%)", "3.1"),
    ("BASO%(%)", "0.6"), ("IG%(%)", "0.3"), ("NRBC%(/100WBC)", "0.0"),
]
SYSMEX_WITH_DIFFERENTIAL = (",".join(c[0] for c in COLUMNS) + "\r\n"
                            + ",".join(c[1] for c in COLUMNS) + "\r\n").encode()


def cbc_with_differential(*, actor, specimen):  # type: ignore[no-untyped-def]
    from apps.workflow.services import cbc_import

    outcome = cbc_import(actor=actor, data=SYSMEX_WITH_DIFFERENTIAL, specimen=specimen)
    assert outcome.results_created == 1, outcome
    return outcome
