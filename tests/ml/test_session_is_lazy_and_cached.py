"""The onnxruntime session is created on first use only, once, and shared."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from apps.ml.cells import CellModel, load_default


def test_no_session_until_first_use_then_the_same_one(model_dir: Path):
    model = CellModel.from_dir(model_dir, threads=1)
    assert model._session._session is None
    model.predict([Image.new("RGB", (360, 363), (230, 200, 210))])
    first = model._session._session
    assert first is not None
    model.predict([Image.new("RGB", (64, 64))])
    assert model._session._session is first


def test_load_default_returns_one_model_per_process(models_root: Path):
    a = load_default(models_root, threads=1)
    b = load_default(models_root, threads=1)
    assert a is b
    assert a is not None
    assert a.provenance == {
        "name": a.card.name,
        "version": a.card.version,
        "sha256": a.card.model_sha256,
    }


def test_importing_the_runtime_does_not_import_torch_or_django():
    import subprocess
    import sys

    code = (
        "import sys, apps.ml.cells, apps.ml.cards, apps.ml.cam, apps.ml.score_cells; "
        "bad = [m for m in ('torch', 'django', 'training') if m in sys.modules]; "
        "assert not bad, bad"
    )
    repo = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], cwd=repo, check=True)
