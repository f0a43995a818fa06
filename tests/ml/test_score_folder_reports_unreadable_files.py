"""score_folder: every file gets a row; unreadable ones carry the reason; the run goes on."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from apps.ml.score_cells import score_folder

EXPECTED_COLUMNS = [
    "file",
    "cell_class",
    "cell_class_prob",
    "subtype",
    "subtype_prob",
    "cell_size",
    "cell_shape",
    "nucleus_shape",
    "nuclear_cytoplasmic_ratio",
    "chromatin_density",
    "cytoplasm_vacuole",
    "cytoplasm_texture",
    "cytoplasm_colour",
    "granule_type",
    "granule_colour",
    "granularity",
    "vacuole_prob",
    "pseudo_pelger_prob",
    "hypogranulation_prob",
    "barr_body_prob",
    "view",
    "domain_score",
    "in_domain",
    "error",
]


def _build_folder(root: Path, pbc_path, files) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Real images under misleading names, a truncated JPEG and a text file."""
    (root / "nested" / "deeper").mkdir(parents=True)
    # Names say the opposite of the content: names are never evidence.
    shutil.copy(pbc_path(files["neutrophil"]), root / "platelet.jpg")
    shutil.copy(pbc_path(files["eosinophil"]), root / "nested" / "lymphocyte.jpg")
    shutil.copy(pbc_path(files["platelet"]), root / "nested" / "deeper" / "x.bin")
    data = pbc_path(files["lymphocyte"]).read_bytes()
    (root / "nested" / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (root / "notes.txt").write_text("not an image\n")
    return {
        "platelet.jpg": "neutrophil",
        "nested/lymphocyte.jpg": "eosinophil",
        "nested/deeper/x.bin": "platelet",
    }


def test_score_folder_writes_one_row_per_file(tmp_path: Path, cell_model, pbc_path, golden_files):
    root = tmp_path / "cells"
    expected = _build_folder(root, pbc_path, golden_files)
    out = tmp_path / "out" / "scores.csv"
    summary = score_folder(root, out, model=cell_model, batch_size=2, progress=False)
    with out.open(newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == EXPECTED_COLUMNS
        rows = {r["file"]: r for r in reader}
    assert set(rows) == {*expected, "nested/truncated.jpg", "notes.txt"}
    assert (summary.files, summary.scored, summary.errors) == (5, 3, 2)
    for rel, cls in expected.items():
        row = rows[rel]
        assert row["error"] == ""
        assert row["cell_class"] == cls, rel
        assert 0.0 < float(row["cell_class_prob"]) <= 1.0
        assert row["hypogranulation_prob"] == ""
        assert row["barr_body_prob"] == ""
        # Real cells: a nucleus is found, and the registered model's domain check has run.
        assert row["view"] in ("crop", "found"), row["view"]
        assert float(row["domain_score"]) > 0 and row["in_domain"] in ("yes", "no")
    assert rows["platelet.jpg"]["vacuole_prob"] != ""  # a neutrophil: proxies apply
    assert rows["nested/lymphocyte.jpg"]["pseudo_pelger_prob"] == ""  # not a neutrophil
    for bad in ("nested/truncated.jpg", "notes.txt"):
        row = rows[bad]
        assert row["error"], bad
        assert all(row[c] == "" for c in EXPECTED_COLUMNS[1:-1]), bad
    assert "not a readable image" in rows["notes.txt"]["error"]


def test_score_folder_refuses_images_above_the_pixel_limit(tmp_path: Path, cell_model):
    from PIL import Image

    root = tmp_path / "cells"
    root.mkdir()
    Image.new("RGB", (300, 300)).save(root / "big.png")
    summary = score_folder(root, tmp_path / "o.csv", model=cell_model, max_pixels=10_000)
    assert (summary.scored, summary.errors) == (0, 1)
    with (tmp_path / "o.csv").open(newline="") as fh:
        row = next(csv.DictReader(fh))
    assert row["file"] == "big.png"
    assert "outside the allowed range" in row["error"]
    assert row["cell_class"] == ""
