"""The analyser's own flags: Sysmex XN IP messages (IP ABN/IP SUS columns) and HL7 IP
observations and NTE comments are stored with the CBC, shown beside its values in English and
French, and an IP message puts the specimen on the worklist with its text as the reason."""

from __future__ import annotations

import pytest

from apps.hemograms.models import CBCResult
from apps.hemograms.parsers import AnalyserMessage, parse_cbc
from apps.patients.models import SpecimenFlag
from apps.patients.services import patient_create, specimen_create
from apps.review.selectors import worklist
from apps.workflow.services import cbc_import
from tests.hemograms.test_hl7_single_message import MESSAGE as HL7

# An XN-1000 IPU export with its IP message columns (1 = raised, blank or 0 = not raised) and
# the Q-Flag values behind the suspect messages, as the analyser writes them.
COLUMNS = [
    ("Nickname", "XN-10^11036", "XN-10^11036"),
    ("Analyzer ID", "XN-10^11036", "XN-10^11036"),
    ("Date", "2026/11/20", "2026/11/20"),
    ("Time", "09:15:02", "09:16:40"),
    ("Rack", "000123", "000123"),
    ("Position", "1", "2"),
    ("Sample No.", "IP-0001", "IP-0002"),
    ("Patient ID", "MRN-IP", ""),
    ("Judgment", "Positive", "Negative"),
    ("Positive(Diff.)", "1", "0"),
    ("Positive(Count)", "1", "0"),
    ("WBC(10^3/uL)", "14.20", "6.10"),
    ("WBC/M", "", ""),
    ("HGB(g/dL)", "13.1", "14.0"),
    ("HGB/M", "", ""),
    ("MCV(fL)", "90.2", "89.0"),
    ("PLT(10^3/uL)", "98", "240"),
    ("PLT/M", "*", ""),
    ("NEUT#(10^3/uL)", "9.90", "3.50"),
    ("IP ABN(WBC)WBC Abn Scattergram", "1", "0"),
    ("IP ABN(WBC)Neutrophilia", "1", "0"),
    ("IP ABN(PLT)Thrombocytopenia", "1", "0"),
    ("IP SUS(WBC)Blasts/Abn Lympho?", "1", ""),
    ("IP SUS(WBC)Left Shift?", "0", ""),
    ("IP SUS(PLT)PLT Clumps?", "1", ""),
    ("Q-Flag(Blasts/Abn Lympho?)", "140", "0"),
    ("Q-Flag(Left Shift?)", "60", "0"),
]
SYSMEX_IP = ("\r\n".join(",".join(c[i] for c in COLUMNS) for i in (0, 1, 2)) + "\r\n").encode()
RAISED = ["WBC Abn Scattergram", "Neutrophilia", "Thrombocytopenia", "Blasts/Abn Lympho?",
          "PLT Clumps?"]


@pytest.fixture
def imported(technician):  # type: ignore[no-untyped-def]
    patient = patient_create(actor=technician, external_id="MRN-IP", sex="M")
    specimen_create(actor=technician, accession="IP-0001", patient=patient)
    outcome = cbc_import(actor=technician, data=SYSMEX_IP, file_name="XN_SAMPLE.csv")
    assert (outcome.results_created, outcome.errors) == (2, [])
    return outcome


def test_raised_ip_columns_are_read_in_order_and_others_are_not():
    first, second = parse_cbc(SYSMEX_IP).records
    assert first.analyser_messages == tuple(AnalyserMessage("ip", t) for t in RAISED)
    assert second.analyser_messages == ()
    assert {m.code: m.analyser_flag for m in first.measurements}["PLT"] == "*"


def test_ip_messages_are_stored_and_put_the_specimen_on_the_worklist(imported):
    result = CBCResult.objects.get(specimen__accession="IP-0001")
    assert result.analyser_messages == [{"kind": "ip", "text": t} for t in RAISED]
    flag = SpecimenFlag.objects.get(specimen__accession="IP-0001", name="analyser_message")
    assert flag.rule == "IP: " + "; ".join(RAISED)
    assert flag.source == "cbc" and flag.rules_version == "cbc-flags-6"
    assert not SpecimenFlag.objects.filter(specimen__accession="IP-0002").exists()
    assert [s.accession for s in worklist(flag="analyser_message")] == ["IP-0001"]


def test_an_hl7_comment_is_shown_but_only_an_ip_message_flags(technician):
    patient = patient_create(actor=technician, external_id="P123456", sex="F")
    specimen = specimen_create(actor=technician, accession="24-0311", patient=patient)
    outcome = cbc_import(actor=technician, data=HL7, specimen=specimen)
    assert (outcome.results_created, outcome.errors) == (1, [])
    result = CBCResult.objects.get(specimen=specimen)
    assert result.analyser_messages == [{"kind": "ip", "text": "Left Shift?"},
                                        {"kind": "note", "text": "checked on smear"}]
    assert SpecimenFlag.objects.get(specimen=specimen, name="analyser_message").rule == (
        "IP: Left Shift?")


@pytest.mark.parametrize(("language", "ip_label", "note_label"), [
    ("en", "Analyser flag (IP message):</strong> ", "Analyser comment:"),
    # French puts a no-break space before a colon; the apostrophe is escaped in the page.
    ("fr", "(message IP)\u00a0:</strong> ", "Commentaire de"),
])
def test_the_messages_are_shown_beside_the_values(client, biologist, imported, language,
                                                  ip_label, note_label):
    client.force_login(biologist)
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    page = client.get("/specimens/IP-0001/").content.decode()
    assert 'id="analyser-messages"' in page
    assert ip_label in page
    for text in ("WBC Abn Scattergram", "Blasts/Abn Lympho?", "PLT Clumps?"):
        assert text in page
    assert page.index('id="analyser-messages"') < page.index('<table class="cbc">')
    quiet = client.get("/specimens/IP-0002/").content.decode()
    assert 'id="analyser-messages"' not in quiet and note_label not in quiet
    listed = client.get("/worklist/?flag=analyser_message").content.decode()
    # The analyser's texts as written, after a prefix and separators in the reader's language,
    # each named in that language as the CBC table names it.
    assert {"en": "IP: WBC Abn Scattergram; Neutrophilia",
            "fr": "IP\u00a0: WBC Abn Scattergram (scattergramme GB anormal)\u00a0; Neutrophilia "
                  "(neutrophilie)"}[language] in listed
