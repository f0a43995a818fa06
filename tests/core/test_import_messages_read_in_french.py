"""A refused file, row or image reads in the technician's language: every message the CBC parsers
and the image importers write (``Text.of`` templates, apps.core.text) has its French in the
catalogue, and the import pages give the French sentence with the file's own values left as
written."""

from __future__ import annotations

import ast
import gettext
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from apps.core.text import Text, translated
from apps.hemograms.parsers import CBCParseError, parse_cbc

ROOT = Path(__file__).resolve().parents[2]
# The pure layers that read users' files and say what is wrong with them.
PURE = (ROOT / "apps" / "hemograms" / "parsers", ROOT / "apps" / "smears" / "importers")
# The compiled catalogue (tests/core/test_french_translation_is_complete.py holds it to the .po).
MO = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.mo"


def _templates() -> set[str]:
    """Every template the importers write: the first argument of each ``Text.of`` call, and the
    value-error templates ``parse_value`` hands to ``measurement`` (``ParsedValue(..., error)``).
    A template built at run time could not be looked up: the test refuses it."""
    found: set[str] = set()
    for path in sorted(p for folder in PURE for p in folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "of" and \
                    isinstance(func.value, ast.Name) and func.value.id == "Text":
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(first.value)
                else:  # the one template passed on: parse_value's, collected below
                    assert ast.unparse(first) == "parsed.error", (path.name, ast.unparse(node))
            elif isinstance(func, ast.Name) and func.id == "ParsedValue" and len(node.args) == 3:
                third = node.args[2]
                assert isinstance(third, ast.Constant), (path.name, ast.unparse(node))
                found.add(third.value)
    return found


def test_every_import_message_has_its_french():
    templates = _templates()
    assert len(templates) > 120  # the scan found the parsers' and the importers' messages
    with MO.open("rb") as fh:
        french = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
    missing = sorted(t for t in templates if not french.get(t))
    assert not missing, "no French for:\n" + "\n".join(missing)


def test_a_refused_file_and_a_refused_row_read_in_french_with_the_files_values():
    with pytest.raises(CBCParseError) as refused:
        parse_cbc(b"accession,WBC(10^9/L),XYZ(mmol/L)\nA1,5,1\n", format="csv")
    with translation.override("fr"):
        said = translated(refused.value.text)
    assert said.startswith("En-tête CSV refusé\u00a0: ")
    assert "'XYZ(mmol/L)'" in said  # the file's column, as written

    result = parse_cbc(b"accession,WBC(10^9/L),sex\nA1,abc,Q\n", format="csv")
    (error,) = result.errors
    assert error.reason == ("line 2: sex 'Q' is not M, F or empty; WBC value 'abc' is not a "
                            "number")
    with translation.override("fr"):
        assert translated(*error.problems) == (
            "sexe 'Q'\u00a0: ni M, ni F, ni vide\u00a0; valeur WBC 'abc'\u00a0: ce n'est pas "
            "un nombre")


def test_a_nested_message_and_a_list_are_translated_each():
    inner = Text.of("the file is empty")
    outer = Text.of("CSV header refused: %(problems)s", problems=(inner, inner))
    assert str(outer) == "CSV header refused: the file is empty; the file is empty"
    with translation.override("fr"):
        assert translated(outer) == ("En-tête CSV refusé\u00a0: le fichier est vide\u00a0; le "
                                     "fichier est vide")


@pytest.mark.django_db
def test_the_import_page_shows_refused_rows_and_notes_in_french(client, technician):
    client.force_login(technician)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    data = (b"Sample No.,Date,WBC(10^9/L),Unknown column\n"
            b"S-1,03/04/2024,abc,1\n"
            b"S-2,05/04/2024,5.1,2\n")
    page = client.post("/cbc/import/", {"file": SimpleUploadedFile("xn.csv", data)},
                       follow=True).content.decode()
    assert "valeur WBC &#x27;abc&#x27;\u00a0: ce n&#x27;est pas un nombre" in page
    assert "line 2:" not in page and "is not a number" not in page
    assert 'id="cbc-file-notes"' in page
    assert "lues jour/mois/année" in page  # the date order chosen for the whole file
    assert "Colonnes Sysmex ignorées" in page  # a note starts with a capital


@pytest.mark.django_db
def test_a_rejected_image_and_a_refused_upload_read_in_french(client, technician, specimen,
                                                              monkeypatch):
    from tests.smears.builders import pbc_bytes, zip_bytes

    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    client.force_login(technician)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    url = f"/specimens/{specimen.accession}/smear/"
    files = [SimpleUploadedFile("a.jpg", pbc_bytes("neutrophil", 0), "image/jpeg"),
             SimpleUploadedFile("notes.jpg", b"this is not an image", "image/jpeg")]
    page = client.post(url, {"files": files}, follow=True).content.decode()
    assert "notes.jpg\u00a0: pas une image lisible" in page  # French punctuation
    assert "not an image" not in page
    # A cut JPEG: said in French, without the decoder's English words.
    cut = pbc_bytes("neutrophil", 1)[:-400]
    page = client.post(url, {"files": [SimpleUploadedFile("cut.jpg", cut, "image/jpeg")]},
                       follow=True).content.decode()
    assert "cut.jpg\u00a0: JPEG tronqué\u00a0: le fichier s&#x27;arrête avant" in page
    assert "truncated" not in page and "not processed" not in page

    unsafe = zip_bytes([("export/neutrophil/ok.jpg", pbc_bytes()),
                        ("../evil.jpg", pbc_bytes("eosinophil"))])
    page = client.post(url, {"files": [SimpleUploadedFile("x.zip", unsafe)]},
                       follow=True).content.decode()
    assert "contient un composant &#x27;..&#x27;\u00a0; l&#x27;envoi est refusé." in page


def test_sizes_read_in_whole_units_and_the_readers_language():
    """"30.0 MiB" read in French is neither the decimal comma nor the unit (Mio)."""
    from apps.smears.importers.decoded import human_size

    assert str(human_size(30 * 1024**2)) == "30 MiB"
    assert str(human_size(2560 * 1024)) == "2560 KiB"
    assert str(human_size(12 * 1024**3)) == "12 GiB" and str(human_size(900)) == "900 bytes"
    with translation.override("fr"):
        assert translated(human_size(30 * 1024**2)) == "30\u00a0Mio"
        assert translated(human_size(900)) == "900\u00a0octets"
