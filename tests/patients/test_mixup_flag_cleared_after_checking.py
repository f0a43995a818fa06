"""A technician or biologist who has checked both samples clears a possible_mixup flag from the
specimen page with what they checked: the reason is audited, the specimen leaves the worklist,
and the other specimen keeps its own flag until it is checked too. Nobody without a clinical role
can clear it, and no flag is cleared without a reason."""

from __future__ import annotations

import io

import pytest

from apps.core.models import AuditEvent
from apps.patients.models import Specimen, SpecimenFlag
from apps.patients.services import patient_create, specimen_create
from apps.review.selectors import worklist
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import
from tests.helpers import export_zip


@pytest.fixture(autouse=True)
def _no_inference(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)


@pytest.fixture
def flagged(technician, specimen):  # type: ignore[no-untyped-def]
    """S-0001 and S-0002 hold the same two real neutrophil images: both flagged."""
    other = specimen_create(actor=technician, accession="S-0002",
                            patient=patient_create(actor=technician, external_id="MRN-2"))
    for target in (specimen, other):
        batch = smear_read_upload(name="a.zip",
                                  fileobj=io.BytesIO(export_zip({"neutrophil": 2})))
        smear_import(actor=technician, specimen=target, batch=batch)
    assert SpecimenFlag.objects.filter(name="possible_mixup").count() == 2
    return specimen, other


def _clear(client, accession: str, reason: str = "Tube labels and analyser ids checked."):  # type: ignore[no-untyped-def]
    return client.post(f"/specimens/{accession}/",
                       {"action": "mixup_clear", "reason": reason}, follow=True)


@pytest.mark.parametrize("role", ["technician", "biologist"])
def test_a_clinician_clears_it_with_a_reason_and_the_specimen_leaves_the_worklist(
        client, flagged, role, request):
    first, second = flagged
    assert second in worklist() and second in worklist(flag="possible_mixup")
    client.force_login(request.getfixturevalue(role))
    before = client.get("/specimens/S-0002/").content.decode()
    assert 'id="mixup-clear"' in before and 'id="mixup-warning"' in before

    response = _clear(client, "S-0002")
    assert response.redirect_chain[-1][0] == "/specimens/S-0002/"
    page = response.content.decode()
    assert "flag was cleared" in page
    assert 'id="mixup-warning"' not in page and 'id="mixup-clear"' not in page
    assert not SpecimenFlag.objects.filter(specimen=second, name="possible_mixup").exists()
    assert Specimen.objects.get(pk=second.pk).priority == 0
    assert second not in worklist() and second not in worklist(flag="possible_mixup")
    # The other specimen keeps its flag until someone checks it.
    assert first in worklist(flag="possible_mixup")
    event = AuditEvent.objects.get(action="specimen.possible_mixup_cleared")
    assert event.object_repr == "S-0002"
    assert event.before == {"with": ["S-0001"]}
    assert event.after == {"reason": "Tube labels and analyser ids checked."}
    assert event.actor_username == request.getfixturevalue(role).username


def test_no_reason_no_clearing(client, technician, flagged):
    client.force_login(technician)
    page = _clear(client, "S-0002", reason="   ").content.decode()
    assert "Say what was checked" in page
    assert SpecimenFlag.objects.filter(specimen__accession="S-0002",
                                       name="possible_mixup").exists()
    assert not AuditEvent.objects.filter(action="specimen.possible_mixup_cleared").exists()


def test_clearing_a_specimen_without_the_flag_says_so(client, technician, flagged):
    client.force_login(technician)
    _clear(client, "S-0002")
    page = _clear(client, "S-0002").content.decode()
    assert "has no possible mix-up flag" in page
    assert AuditEvent.objects.filter(action="specimen.possible_mixup_cleared").count() == 1


def test_only_clinical_roles_clear_it(client, make_user, flagged):
    response = client.post("/specimens/S-0002/", {"action": "mixup_clear", "reason": "x"})
    assert response.status_code in (302, 403)  # anonymous: to the login page
    client.force_login(make_user("visitor"))  # logged in, no clinical role
    response = client.post("/specimens/S-0002/", {"action": "mixup_clear", "reason": "x"})
    assert response.status_code == 403
    assert SpecimenFlag.objects.filter(specimen__accession="S-0002",
                                       name="possible_mixup").exists()


def test_a_post_without_the_action_changes_nothing(client, technician, flagged):
    client.force_login(technician)
    assert client.post("/specimens/S-0002/", {"reason": "x"}).status_code == 400
    assert SpecimenFlag.objects.filter(name="possible_mixup").count() == 2
