"""training.derive_balanced gives a trained network red-cell white-balanced views: the card's
view gains the reference colour and the balance of the whole image, the rest of the rule is
the source's, and the card says where it came from and that its figures are its own. The
helpers need the training extra (training.evaluate reads the exporter's names)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from apps.ml.canonical import ViewParams, canonical_view
from tests.ml.conftest import MODELS_ROOT


@pytest.fixture(scope="module")
def derive():  # type: ignore[no-untyped-def]
    pytest.importorskip("torch")
    from training import derive_balanced

    return derive_balanced


SOURCE_VIEW = {"rule": "canonical_nucleus_v1", "size": 192, "target_spread": 26.0,
               "analysis_px": 160, "interpolation": "bilinear", "description": "the source's"}


def test_the_view_keeps_the_source_rule_and_balances_the_whole_image(derive):  # type: ignore[no-untyped-def]
    view = derive.balanced_view(SOURCE_VIEW, [207.0, 169.0, 170.0])
    params = ViewParams.from_card(view)
    assert params == ViewParams(size=192, target_spread=26.0, analysis_px=160,
                                colour_reference=(207.0, 169.0, 170.0),
                                colour_balance_on="image")
    assert "before the nucleus is looked for" in view["description"]
    assert view["interpolation"] == "bilinear"


def test_the_card_is_the_source_with_its_own_figures_and_provenance(derive, tmp_path):  # type: ignore[no-untyped-def]
    source = MODELS_ROOT / "hemaclinic-cells" / "2.1.3"
    card = json.loads((source / "card.json").read_text())
    out = tmp_path / "2.1.4"
    out.mkdir()
    for name, entry in card["files"].items():
        if name != "domain":
            shutil.copyfile(source / entry["path"], out / entry["path"])
    metrics = json.loads((source / "metrics.json").read_text())
    metrics["heads"]["cell_class"]["accuracy"] = 0.5  # a figure of its own
    temps = {h["name"]: 1.5 for h in card["outputs"]["heads"]}
    view = derive.balanced_view(card["input"]["resize"], [207.0, 169.0, 170.0])
    new = derive.balanced_card(card, source, out, "2.1.4", view, metrics, temps,
                               "derive", "domain")
    assert new["version"] == "2.1.4" and new["input"]["resize"] == view
    assert "domain" not in new["files"] and "domain" not in new and "out_of_domain" not in new
    assert new["files"]["model"]["sha256"] == new["derived_from"]["model_sha256"]
    assert new["metrics"]["cell_class"]["accuracy"] == 0.5
    assert {h["temperature"] for h in new["outputs"]["heads"]} == {1.5}
    assert new["derived_from"]["earlier"] == card["derived_from"]
    assert new["reproduce"][-2:] == ["derive", "domain"]
    assert derive.BALANCE_LIMITATION in new["limitations"]
    assert card["version"] == "2.1.3" and "domain" in card["files"]  # the source's unchanged


def test_the_runtime_view_of_a_balanced_card_is_made_on_the_balanced_image(derive, pbc_path):  # type: ignore[no-untyped-def]
    view = derive.balanced_view(SOURCE_VIEW, [190.0, 185.0, 225.0])
    with Image.open(pbc_path("monocyte/MO_100695.jpg")) as im:
        image = im.convert("RGB")
    balanced = canonical_view(image, ViewParams.from_card(view))
    plain = canonical_view(image, ViewParams.from_card(SOURCE_VIEW))
    assert balanced.unbalanced is not None
    assert not np.array_equal(np.asarray(balanced.image), np.asarray(plain.image))


def test_each_committed_balanced_card_was_measured_on_its_own_views():
    """Each committed version made by derive_balanced: the source's network byte for byte, a
    balanced view in its card, and test-split figures that are its own metrics.json."""
    made = [d for d in sorted((MODELS_ROOT / "hemaclinic-cells").iterdir())
            if (d / "card.json").is_file() and "training.derive_balanced" in " ".join(
                json.loads((d / "card.json").read_text())["reproduce"][-2:])]
    for d in made:
        card = json.loads((d / "card.json").read_text())
        metrics = json.loads((d / "metrics.json").read_text())
        source = MODELS_ROOT / "hemaclinic-cells" / Path(card["derived_from"]["folder"]).name
        source_card = json.loads((source / "card.json").read_text())
        assert card["files"]["model"]["sha256"] == source_card["files"]["model"]["sha256"]
        params = ViewParams.from_card(card["input"]["resize"])
        assert params.colour_reference is not None and params.colour_balance_on == "image"
        assert card["metrics"]["cell_class"]["accuracy"] == metrics["heads"]["cell_class"][
            "accuracy"]
        assert metrics["heads"]["cell_class"]["accuracy"] != json.loads(
            (source / "metrics.json").read_text())["heads"]["cell_class"]["accuracy"] or (
            metrics["heads"]["subtype"] != json.loads(
                (source / "metrics.json").read_text())["heads"]["subtype"])
        assert "domain" in card["files"], "domain_eval has not fitted its domain check"
