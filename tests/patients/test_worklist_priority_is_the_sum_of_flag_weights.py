"""A specimen's worklist priority is one rule in patients: the sum of its flags' weights, whoever
raised them (the hemogram rules, the scores, the identity check), kept right as each source
replaces its own flags."""

from __future__ import annotations

from apps.hemograms.services import specimen_flags_update
from apps.patients.models import Specimen, SpecimenFlag
from apps.patients.services import (
    FlagRaised,
    specimen_flags_replace,
    specimen_mixup_clear,
    specimen_mixup_flag,
)
from apps.workflow.services import cbc_import

HEADER = b"Sample No.,Date,Time,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L),NEUT#(10^9/L)\r\n"
# Anaemia and macrocytosis (2 each), leukopenia (1): 5.
FLAGGED = HEADER + b"S-0001,2026/11/20,08:00:00,3.1,9.5,106.5,250,3.5\r\n"
NORMAL = HEADER + b"S-0001,2026/11/21,08:00:00,6.0,14.0,90.0,250,3.5\r\n"


def _priority(specimen: Specimen) -> int:
    return Specimen.objects.get(pk=specimen.pk).priority


def test_every_source_adds_its_weights_and_keeps_the_others(technician, specimen):
    cbc_import(actor=technician, data=FLAGGED, specimen=specimen)
    weights = dict(SpecimenFlag.objects.filter(specimen=specimen).values_list("name", "weight"))
    assert weights == {"anaemia": 2, "macrocytosis": 2, "leukopenia": 1}
    assert _priority(specimen) == 5

    vexas = FlagRaised("vexas_suspicion", "VEXAS suspicion high (75 points of 100)", 1,
                       {"code": "vexas_level", "params": {"level": "high", "points": 75}})
    assert specimen_flags_replace(specimen=specimen, source="score", rules_version="t",
                                  flags=[vexas]) == 6
    specimen_mixup_flag(actor=technician, specimen=specimen, others=["S-0099"])
    assert _priority(specimen) == 16  # a possible mix-up weighs 10: before any finding
    # A later, normal CBC takes the hemogram flags away, not the others.
    cbc_import(actor=technician, data=NORMAL, specimen=specimen)
    assert _priority(specimen) == 11
    specimen_mixup_clear(actor=technician, specimen=specimen, reason="Both tubes checked.")
    assert _priority(specimen) == 1
    specimen_flags_replace(specimen=specimen, source="score", rules_version="t", flags=[])
    assert _priority(specimen) == 0 and not SpecimenFlag.objects.filter(specimen=specimen)


def test_recomputing_the_same_flags_changes_nothing(technician, specimen):
    cbc_import(actor=technician, data=FLAGGED, specimen=specimen)
    before = list(SpecimenFlag.objects.filter(specimen=specimen)
                  .values_list("name", "rule", "reason", "weight"))
    specimen_flags_update(specimen=specimen)
    specimen_flags_update(specimen=specimen)
    assert list(SpecimenFlag.objects.filter(specimen=specimen)
                .values_list("name", "rule", "reason", "weight")) == before
    assert _priority(specimen) == 5
