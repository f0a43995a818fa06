"""Reference ranges: sex and age specific, versioned; a new version never rewrites old results."""

from __future__ import annotations

from apps.hemograms.models import CBCResult, ReferenceInterval, ReferenceRangeSet
from apps.hemograms.reference import RangeTable, Rule
from apps.hemograms.services import reference_ranges_copy
from apps.patients.services import patient_create, specimen_create
from apps.workflow.services import cbc_import

CBC = "Sample No.,Date,Time,HGB(g/dL)\r\n{acc},2026/11/20,08:00:00,12.5\r\n"


def test_the_most_specific_rule_applies():
    table = RangeTable("t", (
        Rule("HGB", "", None, None, 11.0, 17.0),
        Rule("HGB", "F", None, None, 12.0, 16.0),
        Rule("HGB", "F", 0, 12, 11.5, 15.5),
    ))
    assert table.interval_for("HGB", "F", 8).low == 11.5
    assert table.interval_for("HGB", "F", 30).low == 12.0
    assert table.interval_for("HGB", "M", 30).low == 11.0   # falls back to 'any'
    assert table.interval_for("PLT", "M", 30) is None


def test_a_new_active_version_flags_new_results_and_keeps_old_ones(technician, admin_user):
    patient = patient_create(actor=technician, sex="M")
    specimen_create(actor=technician, accession="R-1", patient=patient)
    specimen_create(actor=technician, accession="R-2", patient=patient)
    cbc_import(actor=technician, data=CBC.format(acc="R-1").encode())
    old = CBCResult.objects.get(specimen__accession="R-1")
    hgb_old = old.values.get(code="HGB")
    assert (old.reference_ranges_version, hgb_old.ref_low, hgb_old.flag) == (
        "adult-default-1", 13.0, "L")

    first = ReferenceRangeSet.objects.get(version="adult-default-1")
    copy = reference_ranges_copy(actor=admin_user, source=first)
    ReferenceInterval.objects.filter(range_set=copy, code="HGB", sex="M").update(low=12.0)
    ReferenceRangeSet.objects.update(is_active=False)
    ReferenceRangeSet.objects.filter(pk=copy.pk).update(is_active=True)

    cbc_import(actor=technician, data=CBC.format(acc="R-2").encode())
    new = CBCResult.objects.get(specimen__accession="R-2")
    hgb_new = new.values.get(code="HGB")
    assert (new.reference_ranges_version, hgb_new.ref_low, hgb_new.flag) == (
        "adult-default-1-v2", 12.0, "")
    hgb_old.refresh_from_db()
    assert (hgb_old.ref_low, hgb_old.flag) == (13.0, "L")   # untouched
    assert first.in_use and copy.in_use


def test_admin_cannot_edit_a_set_that_flagged_results(client, make_user, technician):
    from django.contrib.auth import get_user_model

    cbc_import(actor=technician, data=CBC.format(acc="R-9").encode())
    used = ReferenceRangeSet.objects.get(version="adult-default-1")
    superuser = get_user_model().objects.create_superuser("root", password="x-long-password-1")
    client.force_login(superuser)
    url = f"/admin/hemograms/referencerangeset/{used.pk}/change/"
    response = client.post(url, {"version": "tampered", "note": ""})
    assert response.status_code == 403
    used.refresh_from_db()
    assert used.version == "adult-default-1"
