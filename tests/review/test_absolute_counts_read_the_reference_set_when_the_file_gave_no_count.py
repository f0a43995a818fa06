"""A generic CSV with the WBC and the ANC only: the smear's monocytes (0.05 x10^9/L on a
pancytopenic count) had no interval and no flag, because the intervals were read only from the
counts the file gave. A count the file gave neither as a count nor as a share is read against
its interval in the result's reference set, for the same subject, as the blood count would be."""

from __future__ import annotations

from apps.review.selectors import case_differential
from apps.workflow.services import cbc_import

CSV = (b"Sample No.,Date,Time,WBC(10^9/L),NEUT#(10^9/L)\r\n"
       b"S-0001,2026/11/20,08:00:00,1.10,0.45\r\n")


def test_a_count_the_file_did_not_give_reads_the_reference_set(technician, analysed):
    assert cbc_import(actor=technician, data=CSV, specimen=analysed).results_created == 1
    reference = case_differential(analysed)["absolute_reference"]
    assert reference["neutrophil"] == ["NEUT#", 1.8, 7.5]  # the file's own value's
    assert reference["monocyte"] == ["MONO#", 0.2, 1.0]  # the reference set's (adult default)
    assert reference["lymphocyte"] == ["LYMPH#", 1.0, 4.0]
    assert "ig" not in reference  # the default set has no IG# interval: none invented
