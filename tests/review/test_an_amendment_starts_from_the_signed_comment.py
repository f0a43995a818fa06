"""Signing a new version after an amendment starts from the conclusion of the last signed
version: the case page's comment box holds it, and signed as it stands it reaches the new
version's content and its corrected HL7 result message. It is only a starting value: a biologist
who clears it signs without a conclusion, and the next amendment starts from that empty one."""

from __future__ import annotations

from html.parser import HTMLParser

import hl7
import pytest

from apps.reports.models import ResultMessage
from apps.review.models import Signature
from apps.workflow.services import case_sign

from .test_reclassify_and_sign import PASSWORD

CONCLUSION = "Neutrophilie réactionnelle (PNN > 7 G/L) & lymphopénie : contrôle à J+7."


class _SignComment(HTMLParser):
    """The sign form's comment as a browser submits it untouched."""

    def __init__(self) -> None:
        super().__init__()
        self.inside, self.found, self.value = False, False, ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "textarea" and ("id", "sign-comment") in attrs:
            self.inside = self.found = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.value += data


def _sign_comment(client, accession: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(f"/review/{accession}/")
    assert response.status_code == 200
    parser = _SignComment()
    parser.feed(response.content.decode())
    assert parser.found, "the sign form has no comment box"
    # HTML drops one newline right after <textarea>, as the browser does.
    return parser.value.removeprefix("\n")


@pytest.fixture
def outbox(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.LIS_OUTBOX_DIR = str(tmp_path / "outbox")
    return tmp_path / "outbox"


def _amend(client, accession: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    assert client.post(f"/review/{accession}/amend/", {"reason": reason}).status_code == 302


def _sign_through_the_page(client, accession, comment, capture):  # type: ignore[no-untyped-def]
    with capture(execute=True):
        response = client.post(f"/review/{accession}/sign/", {
            "meaning": "validated", "count_acknowledged": "yes", "comment": comment,
            "password": PASSWORD,
            "domain_acknowledged": "yes"})
    assert response.status_code == 302


def _notes(signature: Signature) -> list[str]:
    message = hl7.parse(ResultMessage.objects.get(signature=signature).message)
    return [message.unescape(str(n[3])) for n in message.segments("NTE")]


def test_the_new_version_keeps_the_conclusion_in_its_content_and_result_message(
        client, biologist, analysed, outbox, django_capture_on_commit_callbacks):
    client.force_login(biologist)
    assert _sign_comment(client, analysed.accession) == ""  # nothing signed yet
    with django_capture_on_commit_callbacks(execute=True):
        case_sign(actor=biologist, specimen=analysed, password=PASSWORD, meaning="validated",
                  count_acknowledged=True,
                  comment=CONCLUSION, domain_acknowledged=True)
    _amend(client, analysed.accession, "One lymphocyte was a monocyte.")

    carried = _sign_comment(client, analysed.accession)
    assert carried == CONCLUSION
    page = client.get(f"/review/{analysed.accession}/").content.decode()
    assert 'id="sign-comment-carried"' in page  # says where it comes from

    _sign_through_the_page(client, analysed.accession, carried,
                           django_capture_on_commit_callbacks)
    v2 = Signature.objects.get(specimen=analysed, version=2)
    assert v2.amendment_reason == "One lymphocyte was a monocyte."
    assert v2.comment == v2.content["comment"] == CONCLUSION
    notes = _notes(v2)
    assert CONCLUSION in notes and "Amendment: One lymphocyte was a monocyte." in notes
    assert str(hl7.parse(ResultMessage.objects.get(signature=v2).message)
               .segment("OBR")[25]) == "C"  # a corrected result


def test_a_cleared_conclusion_stays_cleared(client, biologist, analysed, outbox,
                                            django_capture_on_commit_callbacks):
    client.force_login(biologist)
    with django_capture_on_commit_callbacks(execute=True):
        case_sign(actor=biologist, specimen=analysed, password=PASSWORD, meaning="validated",
                  count_acknowledged=True, comment=CONCLUSION, domain_acknowledged=True)
    _amend(client, analysed.accession, "The conclusion was for another patient.")
    assert _sign_comment(client, analysed.accession) == CONCLUSION

    _sign_through_the_page(client, analysed.accession, "", django_capture_on_commit_callbacks)
    v2 = Signature.objects.get(specimen=analysed, version=2)
    assert v2.comment == v2.content["comment"] == ""
    assert CONCLUSION not in _notes(v2)

    # The next amendment starts from the last signed version, not from an older conclusion.
    _amend(client, analysed.accession, "Recount.")
    page = client.get(f"/review/{analysed.accession}/").content.decode()
    assert _sign_comment(client, analysed.accession) == ""
    assert 'id="sign-comment-carried"' not in page


def test_the_carried_comment_says_what_changed_since_it_was_written(
        client, biologist, analysed, outbox, django_capture_on_commit_callbacks):
    """A conclusion that names 3 band forms, carried over to an amendment that counts one
    fewer, contradicts the new figures: the sign form lists what changed since the version the
    comment was written for, and asks to check it. Nothing changed, nothing said."""
    import json

    from apps.smears.models import Cell

    client.force_login(biologist)
    with django_capture_on_commit_callbacks(execute=True):
        case_sign(actor=biologist, specimen=analysed, password=PASSWORD, meaning="validated",
                  count_acknowledged=True, comment=CONCLUSION, domain_acknowledged=True)
    _amend(client, analysed.accession, "One neutrophil was a monocyte.")
    page = client.get(f"/review/{analysed.accession}/").content.decode()
    assert '<p class="msg warning" id="sign-comment-changes" hidden></p>' in page
    neutrophil = Cell.objects.filter(specimen=analysed, analyser_class="neutrophil").first()
    # The page's key (the reclassify endpoint) answers with it, for the form to show at once.
    answer = client.post(f"/review/{analysed.accession}/reclassify/",
                         data=json.dumps({"cells": [neutrophil.pk], "class": "monocyte"}),
                         content_type="application/json").json()
    assert answer["comment_changes"].startswith("Changed since version 1: ")
    page = " ".join(client.get(f"/review/{analysed.accession}/").content.decode().split())
    hint = page.split('id="sign-comment-changes">', 1)[1].split("</p>", 1)[0]
    assert hint == answer["comment_changes"]
    assert "Neutrophils " in hint and "Monocytes " in hint and " → " in hint
    assert hint.endswith("The comment was written for version 1: check that it still says "
                         "what the figures say.")
