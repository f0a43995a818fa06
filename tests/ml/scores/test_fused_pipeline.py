"""Fused MDS model end to end on a small SIMULATED lab cohort: train -> export -> load -> score.

Nothing is written under models_onnx/: a model trained on simulated data must never be
installed, and the runtime loader refuses it.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from apps.ml.runtime import clear_cache
from apps.ml.scores.card import verify
from apps.ml.scores.features import FEATURE_NAMES, CBCFeatures
from apps.ml.scores.fused import NO_MODEL, FusedModel, embed_cells, load_fused
from apps.ml.scores.reasons import (
    INPUT_REQUIRED,
    MODEL_INVALID,
    MODEL_NOT_RELEASED,
    MODEL_OTHER_CELL_MODEL,
    MODEL_SYNTHETIC,
    Reason,
)
from training.scores.metrics import auc

# Training needs the optional PyTorch extra (CI installs it; a laptop may not have it).
torch = pytest.importorskip("torch")
from training.scores.fused import (  # noqa: E402
    AttentionMIL,
    FusedConfig,
    export_onnx,
    train_fused,
)

REPO = Path(__file__).resolve().parents[3]
N_PATIENTS, N_CELLS = 12, 6


def simulated_cohort(root: Path) -> Path:
    """12 patients x 6 tiny images; MDS patients have 3 'abnormal' (reddish) cells and a
    lower ANC. Written in the documented lab format."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(N_PATIENTS):
        mds = i % 2 == 0
        folder = root / "images" / f"P{i:02d}"
        folder.mkdir(parents=True)
        for k in range(N_CELLS):
            colour = np.array([200, 60, 60] if mds and k < 3 else [90, 90, 160], np.float64)
            pixels = np.clip(colour + rng.normal(0, 12, (8, 8, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"cell{k}.png")
        rows.append(
            {
                "patient_id": f"P{i:02d}",
                "label": "mds" if mds else "not_mds",
                "anc": f"{(1.2 if mds else 4.0) + rng.normal(0, 0.3):.2f}",
                "mcv": "",
                "ne_wx": "",
                "hb": f"{10 + rng.normal(0, 1):.1f}",
                "plt": f"{180 + rng.normal(0, 30):.0f}",
                "sex": "M" if i % 3 else "F",
                "age": f"{60 + i}",
                "image_dir": f"images/P{i:02d}",
            }
        )
    with (root / "cohort.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return root


def stub_embed(paths: Sequence[Path]) -> np.ndarray:
    """Stands in for the cell model: per-image channel means and standard deviations."""
    out = []
    for p in paths:
        a = np.asarray(Image.open(p).convert("RGB"), np.float32) / 255.0
        out.append(np.r_[a.mean(axis=(0, 1)), a.std(axis=(0, 1))])
    return np.stack(out)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, Path]:
    base = tmp_path_factory.mktemp("fused")
    cohort = simulated_cohort(base / "cohort")
    out = base / "models_onnx" / "hemaclinic-mds-fused" / "0.0.1-sim"
    card = train_fused(
        cohort_dir=cohort,
        out_dir=out,
        embed=stub_embed,
        embedding_source={"name": "stub-channel-stats", "version": "test", "sha256": "none"},
        training_data="SIMULATED: 12 patients x 6 generated 8x8 images, built by the test",
        synthetic=True,
        version="0.0.1-sim",
        cfg=FusedConfig(epochs=40, cv_folds=0),
    )
    return out, card, cohort


def test_card_says_synthetic_and_not_clinical(trained):  # type: ignore[no-untyped-def]
    out, card, _ = trained
    assert card["synthetic"] is True and card["clinical_use"] is False
    assert "SIMULATED" in card["training_data"]
    assert card["cohort"]["n_patients"] == N_PATIENTS
    assert card["cohort"]["n_cells"] == N_PATIENTS * N_CELLS
    assert verify(out) == []


def test_onnx_scores_the_simulated_patients(trained):  # type: ignore[no-untyped-def]
    out, card, cohort = trained
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["embeddings", "cbc", "mask"]
    model = FusedModel.from_dir(out)
    rows = list(csv.DictReader((cohort / "cohort.csv").open()))
    probs, labels = [], []
    for r in rows:
        emb = stub_embed(sorted((cohort / r["image_dir"]).iterdir()))
        cbc = CBCFeatures(
            anc=float(r["anc"]),
            hb=float(r["hb"]),
            plt=float(r["plt"]),
            age=float(r["age"]),
            sex=r["sex"],
        )
        res = model.predict(emb, cbc)
        assert res.state == "scored"
        assert len(res.attention) == N_CELLS and sum(res.attention) == pytest.approx(1, abs=1e-5)
        assert set(res.missing) == {"wbc", "mono", "mcv", "ne_wx"}
        probs.append(res.probability)
        labels.append(r["label"] == "mds")
        if r["label"] == "mds":
            # The reddish (abnormal) cells are 0-2: attention should favour them.
            assert sum(res.attention[:3]) > 0.5
    assert auc(np.array(labels, int), np.array(probs)) >= 0.9
    assert auc(np.array(labels, int), np.array(probs)) == pytest.approx(
        card["metrics"]["apparent_auc"], abs=1e-6
    )
    missing_anc = model.predict(
        stub_embed([next((cohort / "images" / "P00").iterdir())]), CBCFeatures(hb=10.0, plt=150.0)
    )
    assert missing_anc.state == "indeterminate" and missing_anc.reasons == (
        Reason(INPUT_REQUIRED, {"input": "anc"}),
    )


def test_onnx_graph_equals_the_torch_network(tmp_path: Path):
    torch.manual_seed(1)
    f = len(FEATURE_NAMES)
    consts = {
        "emb_mean": np.full(5, 0.1, np.float32),
        "emb_std": np.full(5, 2.0, np.float32),
        "impute": np.arange(f, dtype=np.float32),
        "is_log": np.arange(f) % 2 == 0,
        "mean": np.full(f, 0.5, np.float32),
        "std": np.full(f, 1.5, np.float32),
        "keep_value": np.r_[np.ones(f - 2), 0, 0].astype(np.float32),
        "keep_missing": np.r_[np.ones(f - 1), 0].astype(np.float32),
    }
    net = AttentionMIL(5, f, FusedConfig(), consts).eval()
    export_onnx(net, tmp_path / "m.onnx")
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(3)
    for n in (1, 4, 17):
        emb = rng.normal(size=(n, 5)).astype(np.float32)
        cbc = np.abs(rng.normal(size=(1, f))).astype(np.float32) * 5
        mask = (rng.random((1, f)) < 0.3).astype(np.float32)
        with torch.no_grad():
            p_t, a_t = net(torch.from_numpy(emb), torch.from_numpy(cbc), torch.from_numpy(mask))
        p_o, a_o = sess.run(None, {"embeddings": emb, "cbc": cbc, "mask": mask})
        np.testing.assert_allclose(p_o, p_t.numpy(), atol=1e-5)
        np.testing.assert_allclose(a_o, a_t.numpy(), atol=1e-5)


def _root_with(tmp_path: Path, model_dir: Path) -> Path:
    root = tmp_path / "models_onnx"
    shutil.copytree(model_dir, root / "hemaclinic-mds-fused" / "1.0.0")
    (root / "registry.json").write_text(json.dumps({"mds_fused": "hemaclinic-mds-fused/1.0.0"}))
    return root


def test_loader_refuses_synthetic_and_unreleased_models(trained, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Each change of the folder is read after a restart (clear_cache): a process loads a
    model and checks its file once, then keeps it."""
    out, _, _ = trained
    root = _root_with(tmp_path, out)
    clear_cache()
    model, reason = load_fused(root)
    assert model is None and reason is not None and reason.code == MODEL_SYNTHETIC
    assert reason.params == {"model": "hemaclinic-mds-fused 0.0.1-sim"}
    card_path = root / "hemaclinic-mds-fused" / "1.0.0" / "card.json"
    raw = json.loads(card_path.read_text())
    card_path.write_text(json.dumps({**raw, "synthetic": False}))
    clear_cache()
    model, reason = load_fused(root)
    assert model is None and reason is not None and reason.code == MODEL_NOT_RELEASED
    card_path.write_text(json.dumps({**raw, "synthetic": False, "clinical_use": True}))
    clear_cache()
    model, reason = load_fused(root, cell_sha256="another-cell-model")
    assert model is None and reason is not None and reason.code == MODEL_OTHER_CELL_MODEL
    assert reason.params["installed"] == "another-cell-model"
    model, reason = load_fused(root, cell_sha256="none")
    assert isinstance(model, FusedModel) and reason is None
    # Cached: the second load is the same instance, its file hashed once.
    assert load_fused(root, cell_sha256="none")[0] is model
    onnx_file = root / "hemaclinic-mds-fused" / "1.0.0" / "model.onnx"
    onnx_file.write_bytes(onnx_file.read_bytes() + b"\0")
    clear_cache()
    model, reason = load_fused(root)
    assert model is None and reason is not None and reason.code == MODEL_INVALID
    assert "sha256" in reason.params["detail"]
    clear_cache()


def test_no_fused_model_is_installed():
    assert load_fused(REPO / "models_onnx") == (None, NO_MODEL)
    assert not list((REPO / "models_onnx").glob("*fused*"))


def test_embed_cells_pools_the_feature_maps():
    class FakeCellModel:
        def preprocess(self, images):  # type: ignore[no-untyped-def]
            return np.stack([np.asarray(im, np.float32) for im in images])

        def run(self, batch):  # type: ignore[no-untyped-def]
            n = batch.shape[0]
            fm = np.arange(n * 2 * 3 * 3, dtype=np.float32).reshape(n, 2, 3, 3)
            return {}, fm

    images = [Image.new("RGB", (4, 4)) for _ in range(3)]
    emb = embed_cells(FakeCellModel(), images, batch_size=2)
    assert emb.shape == (3, 2)
    assert emb[0].tolist() == [4.0, 13.0]
