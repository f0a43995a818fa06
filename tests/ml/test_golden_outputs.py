"""Golden outputs of the registered model on real PBC images (test-split files).

Expected values from training/golden.py (training preprocessing + onnxruntime).
"""

from __future__ import annotations

import pytest
from PIL import Image

# rel path -> {head: (label, calibrated probability)}
GOLDEN_OUTPUTS = {
    "neutrophil/SNE_103795.jpg": {
        "cell_class": ("neutrophil", 0.9998),
        "subtype": ("segmented_neutrophil", 0.8929),
        "cell_size": ("big", 0.795),
        "cell_shape": ("irregular", 0.831),
        "nucleus_shape": ("unsegmented-band", 0.4571),
        "nuclear_cytoplasmic_ratio": ("low", 1.0),
        "chromatin_density": ("densely", 0.9971),
        "cytoplasm_vacuole": ("no", 0.9947),
        "cytoplasm_texture": ("clear", 1.0),
        "cytoplasm_colour": ("light blue", 0.9993),
        "granule_type": ("small", 0.9998),
        "granule_colour": ("pink", 0.9991),
        "granularity": ("yes", 1.0),
    },
    "eosinophil/EO_100884.jpg": {
        "cell_class": ("eosinophil", 0.9999),
        "subtype": ("eosinophil", 0.9999),
        "cell_size": ("big", 0.5289),
        "cell_shape": ("round", 0.9986),
        "nucleus_shape": ("segmented-bilobed", 0.7298),
        "nuclear_cytoplasmic_ratio": ("low", 0.9992),
        "chromatin_density": ("densely", 0.9956),
        "cytoplasm_vacuole": ("no", 0.9972),
        "cytoplasm_texture": ("clear", 1.0),
        "cytoplasm_colour": ("light blue", 0.9963),
        "granule_type": ("round", 0.9998),
        "granule_colour": ("red", 0.9999),
        "granularity": ("yes", 1.0),
    },
    "platelet/PLATELET_106342.jpg": {
        "cell_class": ("platelet", 0.9888),
        "subtype": ("platelet", 0.9881),
        "cell_size": ("small", 0.8751),
        "cell_shape": ("irregular", 0.8041),
        "nucleus_shape": ("irregular", 0.7262),
        "nuclear_cytoplasmic_ratio": ("low", 0.675),
        "chromatin_density": ("densely", 0.9536),
        "cytoplasm_vacuole": ("no", 0.9985),
        "cytoplasm_texture": ("clear", 0.7622),
        "cytoplasm_colour": ("light blue", 0.3824),
        "granule_type": ("nil", 0.6618),
        "granule_colour": ("nil", 0.5981),
        "granularity": ("no", 0.6277),
    },
    "lymphocyte/LY_102859.jpg": {
        "cell_class": ("lymphocyte", 0.9996),
        "subtype": ("lymphocyte", 0.9996),
        "cell_size": ("small", 0.9991),
        "cell_shape": ("round", 0.9871),
        "nucleus_shape": ("unsegmented-round", 0.8893),
        "nuclear_cytoplasmic_ratio": ("high", 0.9987),
        "chromatin_density": ("densely", 0.9848),
        "cytoplasm_vacuole": ("no", 1.0),
        "cytoplasm_texture": ("frosted", 0.8346),
        "cytoplasm_colour": ("blue", 0.7255),
        "granule_type": ("nil", 0.9998),
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
