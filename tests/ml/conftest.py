"""Fixtures for the ML runtime tests: no database, no torch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODELS_ROOT = REPO / "models_onnx"
PBC = REPO.parent / "shared" / "datasets" / "pbc"


def pbc_file(rel: str) -> Path:
    """A real PBC image; fails (never skips) when the shared dataset is absent."""
    path = PBC / rel
    if not path.is_file():
        pytest.fail(f"The PBC dataset is missing: expected {path} (see ../shared/datasets).")
    return path


@pytest.fixture(scope="session")
def pbc_path():  # type: ignore[no-untyped-def]
    """Callable: relative PBC path -> real file (fails when the dataset is absent)."""
    return pbc_file


# Real test-split images used by several tests (one per class named).
GOLDEN_FILES: dict[str, str] = {
    "neutrophil": "neutrophil/SNE_103795.jpg",
    "eosinophil": "eosinophil/EO_100884.jpg",
    "platelet": "platelet/PLATELET_109056.jpg",
    "lymphocyte": "lymphocyte/LY_102859.jpg",
}


@pytest.fixture(scope="session")
def golden_files() -> dict[str, str]:
    return GOLDEN_FILES


@pytest.fixture(scope="session")
def models_root() -> Path:
    return MODELS_ROOT


@pytest.fixture(scope="session")
def model_dir() -> Path:
    from apps.ml.cells import default_model_dir

    d = default_model_dir(MODELS_ROOT)
    if d is None:
        pytest.fail(f"no cell model registered in {MODELS_ROOT / 'registry.json'}")
    return d


@pytest.fixture(scope="session")
def cell_model(model_dir: Path):  # type: ignore[no-untyped-def]
    from apps.ml.cells import CellModel

    return CellModel.from_dir(model_dir, threads=1)


@pytest.fixture
def models_copy(tmp_path: Path, model_dir: Path) -> Path:
    """A private models folder: the current cell model and a registry naming it."""
    root = tmp_path / "models_onnx"
    target = root / model_dir.parent.name / model_dir.name
    shutil.copytree(model_dir, target)
    rel = f"{model_dir.parent.name}/{model_dir.name}"
    (root / "registry.json").write_text(json.dumps({"cells": rel}))
    return root
