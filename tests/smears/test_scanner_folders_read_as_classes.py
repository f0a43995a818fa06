"""The scanner's class folders are read as classes before they are counted: a folder that names
no class is 'not mapped', never a class of its own nor a zero; non-white folders (platelets,
erythroblasts, smudge cells) stay out of the denominator by the differential's one rule."""

from __future__ import annotations

import pytest

from apps.smears.differential import scanner_class, scanner_differential


def test_cellavision_folder_names_name_the_classes():
    assert scanner_class("Segmented neutrophils") == "neutrophil"
    # A band neutrophil is a neutrophil, told apart (a left shift), as the biologist's class is.
    assert scanner_class("Band neutrophils") == "band_neutrophil"
    assert scanner_class("Lymphocytes") == "lymphocyte"
    assert scanner_class("neutrophil") == "neutrophil"
    assert scanner_class("Metamyelocytes") == "ig"
    assert scanner_class("NRBC") == "erythroblast"
    assert scanner_class("Giant thrombocytes") == "platelet"
    assert scanner_class("Smudge cells") == "smudge"
    for folder in ("unclassified", "Unidentified", "Artefacts", "Variants", "Other", "", "xyz"):
        assert scanner_class(folder) == "", folder


def test_a_scanner_that_mapped_no_cell_gives_no_figure():
    d = scanner_differential(["unclassified"] * 40, target=100)
    assert d.per_100_wbc == {} and d.nrbc_per_100_wbc is None
    assert (d.unmapped, d.unmapped_folders) == (40, {"unclassified": 40})
    # The bug this prevents: 'unclassified' counted as a white-cell class at 100 %.
    assert "unclassified" not in d.as_dict()["per_100_wbc"]
    assert d.as_dict()["wbc_counted"] == 0


def test_with_cells_not_mapped_only_the_classes_seen_have_a_figure():
    folders = (["Segmented neutrophils"] * 3 + ["Lymphocytes"] + ["Variants"] * 2
               + ["Giant thrombocytes"] * 4 + ["Smudge cells"] * 5)
    d = scanner_differential(folders, target=100)
    # 4 white cells mapped; platelets and smudge cells out of the denominator.
    assert d.per_100_wbc == {"neutrophil": 75.0, "lymphocyte": 25.0}
    assert d.nrbc_per_100_wbc is None  # none mapped, but some may be among the blasts' folder
    assert d.as_dict()["excluded"] == {"platelet": 4, "smudge": 5}
    assert d.unmapped == 2 and d.unmapped_folders == {"Variants": 2}


def test_with_every_cell_mapped_a_class_not_seen_is_a_real_zero():
    d = scanner_differential(["Segmented neutrophils"] * 5 + ["Lymphocytes"] * 3
                             + ["Erythroblasts"], target=100)
    assert d.unmapped == 0
    assert d.per_100_wbc["neutrophil"] == 62.5 and d.per_100_wbc["monocyte"] == 0.0
    assert d.nrbc_per_100_wbc == 12.5


def test_band_neutrophils_are_neutrophils_counted_apart_as_well():
    folders = ["Segmented neutrophils"] * 6 + ["Band neutrophils"] * 2 + ["Lymphocytes"] * 2
    d = scanner_differential(folders, target=100).as_dict()
    assert d["per_100_wbc"]["neutrophil"] == 80.0 and "band_neutrophil" not in d["per_100_wbc"]
    assert (d["bands"], d["bands_per_100_wbc"]) == (2, 20.0)


@pytest.mark.parametrize("neutrophils, bands", [
    ("Segmented neutrophils", 0.0),    # sorts band forms out and found none: a real zero
    ("Neutrophil, segmented", 0.0),
    ("Neutrophils", None),             # one folder for every neutrophil: no band figure
    ("neutrophil", None),
])
def test_a_band_zero_only_from_a_scanner_that_sorts_band_forms(neutrophils, bands):
    d = scanner_differential([neutrophils] * 6 + ["Lymphocytes"] * 4, target=100).as_dict()
    assert d["per_100_wbc"]["neutrophil"] == 60.0
    assert d["bands_per_100_wbc"] == bands
