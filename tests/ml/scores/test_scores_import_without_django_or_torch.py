"""The score runtime imports no Django, torch, scikit-learn, matplotlib or training code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_runtime_modules_stay_pure():
    code = (
        "import sys\n"
        "import apps.ml.scores.vexas, apps.ml.scores.mds_image, apps.ml.scores.mds_cbc\n"
        "import apps.ml.scores.fused, apps.ml.scores.card\n"
        "bad = [m for m in ('django', 'torch', 'sklearn', 'matplotlib', 'training')\n"
        "       if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_fitting_and_cohort_evaluation_live_in_training():
    runtime = {p.stem for p in (REPO / "apps" / "ml" / "scores").glob("*.py")}
    assert not runtime & {"cohort", "evaluate", "logistic", "metrics"}
