"""Golden outputs of the registered model on real PBC images (test-split files).

Expected values from training/golden.py (training preprocessing + onnxruntime).
"""

from __future__ import annotations

import pytest
from PIL import Image

# rel path -> {head: (label, calibrated probability)}
GOLDEN_OUTPUTS = {
    "neutrophil/SNE_103795.jpg": {
        "cell_class": ("neutrophil", 0.9999),
        "subtype": ("segmented_neutrophil", 0.9925),
        "cell_size": ("big", 0.8839),
        "cell_shape": ("irregular", 0.5457),
        "nucleus_shape": ("segmented-multilobed", 0.5457),
        "nuclear_cytoplasmic_ratio": ("low", 1.0),
        "chromatin_density": ("densely", 0.9974),
        "cytoplasm_vacuole": ("no", 0.9952),
        "cytoplasm_texture": ("clear", 1.0),
        "cytoplasm_colour": ("light blue", 0.9998),
        "granule_type": ("small", 0.9999),
        "granule_colour": ("pink", 0.9999),
        "granularity": ("yes", 1.0),
    },
    "eosinophil/EO_100884.jpg": {
        "cell_class": ("eosinophil", 1.0),
        "subtype": ("eosinophil", 1.0),
        "cell_size": ("big", 0.586),
        "cell_shape": ("round", 0.9998),
        "nucleus_shape": ("segmented-bilobed", 0.7893),
        "nuclear_cytoplasmic_ratio": ("low", 0.9999),
        "chromatin_density": ("densely", 0.9993),
        "cytoplasm_vacuole": ("no", 0.9999),
        "cytoplasm_texture": ("clear", 1.0),
        "cytoplasm_colour": ("light blue", 0.9987),
        "granule_type": ("round", 1.0),
        "granule_colour": ("red", 1.0),
        "granularity": ("yes", 1.0),
    },
    "platelet/PLATELET_106342.jpg": {
        "cell_class": ("platelet", 1.0),
        "subtype": ("platelet", 1.0),
        "cell_size": ("small", 0.8732),
        "cell_shape": ("irregular", 0.9674),
        "nucleus_shape": ("irregular", 0.9704),
        "nuclear_cytoplasmic_ratio": ("low", 0.9992),
        "chromatin_density": ("densely", 0.5007),
        "cytoplasm_vacuole": ("no", 0.9999),
        "cytoplasm_texture": ("clear", 0.9942),
        "cytoplasm_colour": ("light blue", 0.9693),
        "granule_type": ("coarse", 0.8184),
        "granule_colour": ("purple", 0.9348),
        "granularity": ("yes", 0.9994),
    },
    "lymphocyte/LY_102859.jpg": {
        "cell_class": ("lymphocyte", 0.9998),
        "subtype": ("lymphocyte", 0.9998),
        "cell_size": ("small", 0.9998),
        "cell_shape": ("round", 0.9901),
        "nucleus_shape": ("unsegmented-round", 0.9692),
        "nuclear_cytoplasmic_ratio": ("high", 0.9992),
        "chromatin_density": ("densely", 0.9945),
        "cytoplasm_vacuole": ("no", 1.0),
        "cytoplasm_texture": ("frosted", 0.8286),
        "cytoplasm_colour": ("blue", 0.7614),
        "granule_type": ("nil", 0.9997),
        "granule_colour": ("nil", 0.9998),
        "granularity": ("no", 1.0),
    },
}
PROB_TOL = 2e-3


@pytest.mark.parametrize("rel", sorted(GOLDEN_OUTPUTS))
def test_model_reproduces_golden_outputs(rel, cell_model, pbc_path):
    with Image.open(pbc_path(rel)) as im:
        (pred,) = cell_model.predict([im])
    expected = GOLDEN_OUTPUTS[rel]
    assert (pred.cell_class, pred.subtype) == (expected["cell_class"][0], expected["subtype"][0])
    assert pred.cell_class_prob == pytest.approx(expected["cell_class"][1], abs=PROB_TOL)
    assert pred.subtype_prob == pytest.approx(expected["subtype"][1], abs=PROB_TOL)
    for attr, value in pred.attributes.items():
        assert value == expected[attr][0], attr
        assert pred.attribute_probs[attr][value] == pytest.approx(expected[attr][1], abs=PROB_TOL)
    assert sum(pred.class_probs.values()) == pytest.approx(1.0, abs=1e-6)


def test_batched_and_single_predictions_agree(cell_model, pbc_path):
    images = [Image.open(pbc_path(rel)) for rel in sorted(GOLDEN_OUTPUTS)]
    batched = cell_model.predict(images, batch_size=len(images))
    single = [cell_model.predict([im])[0] for im in images]
    for b, s in zip(batched, single, strict=True):
        assert b.cell_class == s.cell_class
        assert b.cell_class_prob == pytest.approx(s.cell_class_prob, abs=1e-5)


def test_cam_of_a_real_cell_is_a_unit_map_at_input_size(cell_model, pbc_path):
    rel = sorted(GOLDEN_OUTPUTS)[0]
    with Image.open(pbc_path(rel)) as im:
        preds, cams = cell_model.predict_with_cam([im])
    (cam,) = cams
    assert cam.shape == cell_model.input_size
    assert cam.min() >= 0.0
    assert cam.max() == pytest.approx(1.0)
    # The cell sits in the middle of a CellaVision crop: so should the evidence.
    h, w = cam.shape
    centre = cam[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4].mean()
    assert centre > cam.mean()
