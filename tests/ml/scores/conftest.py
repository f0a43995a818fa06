"""Fixtures for the score tests: no database, no torch (except the fused pipeline test)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
MDS_CBC_DIR = REPO / "models_onnx" / "hemaclinic-mds-cbc" / "1.0.0"
WBS_CBC = REPO.parent / "shared" / "datasets" / "wbs_cbc"


@pytest.fixture(scope="session")
def wbs_cbc() -> Path:
    """The real wbs_cbc cohort; fails (never skips) when the shared dataset is absent."""
    if not (WBS_CBC / "all_classes.csv").is_file():
        pytest.fail(f"The wbs_cbc dataset is missing: expected {WBS_CBC} (see ../shared/datasets).")
    return WBS_CBC


@pytest.fixture(scope="session")
def mds_cbc_dir() -> Path:
    if not (MDS_CBC_DIR / "card.json").is_file():
        pytest.fail(f"no CBC MDS model at {MDS_CBC_DIR}; run training.scores.train_cbc")
    return MDS_CBC_DIR


@pytest.fixture
def mds_cbc_copy(tmp_path: Path, mds_cbc_dir: Path) -> Path:
    target = tmp_path / "hemaclinic-mds-cbc" / "1.0.0"
    shutil.copytree(mds_cbc_dir, target)
    return target
