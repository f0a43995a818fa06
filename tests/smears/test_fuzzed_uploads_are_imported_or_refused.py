"""Thousands of damaged uploads of each kind (DICOM, single images, export zips), mutated from
real files, each end as imported images, per-file rejections with their reason, or the upload
refused with a message (ImportRefused): never another exception, never a hang.

The inputs and the judging are tests/fuzzing.py, which bench/fuzz_importers.py runs with 10,000
and more inputs per importer; a failing input is rerun there by its index (--only).
"""

from __future__ import annotations

import pytest

from tests import fuzzing

# Inputs per importer: a few seconds each on two cores.
pytestmark = pytest.mark.filterwarnings("ignore")  # libraries warn on damaged files by design

COUNT = {"dicom": 3000, "image": 3000, "zip": 3000}


@pytest.mark.parametrize("importer", list(COUNT))
def test_every_mutated_upload_is_handled(importer: str) -> None:
    report = fuzzing.fuzz(importer, COUNT[importer], max_seconds=10)
    assert report.unhandled_count == 0, f"{report.summary()}\n{report.details()}"
    assert report.inputs == COUNT[importer]
    # Both outcomes are reached: the mutations neither only break nor only spare the files.
    assert report.accepted >= COUNT[importer] // 20, report.summary()
    assert report.rejected >= COUNT[importer] // 20, report.summary()


def test_the_seeds_are_imported() -> None:
    """The mutations start from good files: each seed imports (JPEG-LS, whose codec this
    server lacks, is refused by its transfer syntax)."""
    for name, data in fuzzing.dicom_seeds().items():
        expected = fuzzing.REJECTED if name == "jpeg-ls" else fuzzing.ACCEPTED
        assert fuzzing.upload_outcome(data, "x.dcm") == expected, name
    for data in fuzzing.image_seeds():
        assert fuzzing.upload_outcome(data, "x.jpg") == fuzzing.ACCEPTED
    for data in fuzzing.zip_seeds():
        assert fuzzing.upload_outcome(data, "x.zip") == fuzzing.ACCEPTED


def test_an_escaping_exception_is_counted_with_its_traceback(monkeypatch) -> None:
    def read_upload(name: str, fileobj: object, **kwargs: object) -> None:
        raise KeyError("escaped")

    monkeypatch.setattr(fuzzing, "read_upload", read_upload)
    report = fuzzing.fuzz("zip", 5)
    assert report.unhandled == {"KeyError": 5}
    assert len(report.failures) == 3 and "escaped" in report.failures[0].trace


def test_a_refusal_without_a_message_is_counted(monkeypatch) -> None:
    def read_upload(name: str, fileobj: object, **kwargs: object) -> None:
        raise fuzzing.ImportRefused("")

    monkeypatch.setattr(fuzzing, "read_upload", read_upload)
    assert fuzzing.fuzz("image", 4).unhandled == {"Unclear: ImportRefused without a message": 4}


def test_an_input_is_the_same_on_every_run() -> None:
    assert fuzzing.generate("dicom", 2771) == fuzzing.generate("dicom", 2771)
    assert fuzzing.generate("dicom", 2771) != fuzzing.generate("dicom", 2772)
