"""MDS image evidence against the WHO 10% threshold, with the driving cells ranked; only
dysplasia (hyposegmented nuclei, hypogranulation) counts, never vacuoles or Barr bodies."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from apps.ml.scores.mds_image import MIN_NEUTROPHILS, mds_image_evidence, neutrophil_anomalies
from apps.ml.scores.reasons import FEW_NEUTROPHILS, NO_DYSPLASIA_OUTPUT, Reason


def _cells(n: int, k: int, *, prob: float = 0.5) -> list[float]:
    return [prob] * k + [0.05] * (n - k)


def test_exactly_ten_percent_meets_the_threshold():
    r = mds_image_evidence(
        {
            "vacuole": [0.0] * 100,
            "pseudo_pelger": _cells(100, 10),
            "hypogranulation": None,
            "barr_body": None,
        },
        n_neutrophils=100,
    )
    assert r.state == "scored"
    assert r.fraction == pytest.approx(0.10) and r.n_dysplastic == 10
    assert r.meets_who_threshold is True
    assert r.available == ("pseudo_pelger",) and r.not_available == ("hypogranulation",)
    assert r.per_anomaly_fraction == {"pseudo_pelger": pytest.approx(0.10),
                                      "hypogranulation": None}


def test_just_below_ten_percent_does_not():
    r = mds_image_evidence(
        {"hypogranulation": _cells(100, 9), "pseudo_pelger": [0.0] * 100}, n_neutrophils=100
    )
    assert r.meets_who_threshold is False


def test_probability_just_below_the_cutoff_does_not_count():
    r = mds_image_evidence({"pseudo_pelger": _cells(100, 10, prob=0.4999)}, n_neutrophils=100)
    assert r.n_dysplastic == 0


def test_a_cell_counts_once_and_drivers_are_ranked():
    hypo = [0.05] * 60
    pp = [0.05] * 60
    hypo[3], pp[3] = 0.7, 0.9  # both flags on one cell: counted once, via its higher output
    hypo[10] = 0.95
    pp[20] = 0.6
    r = mds_image_evidence({"hypogranulation": hypo, "pseudo_pelger": pp}, n_neutrophils=60)
    assert r.n_dysplastic == 3
    assert [(d.index, d.anomaly) for d in r.drivers] == [
        (10, "hypogranulation"),
        (3, "pseudo_pelger"),
        (20, "pseudo_pelger"),
    ]
    assert r.fraction_ci95[0] < r.fraction < r.fraction_ci95[1]


def test_too_few_neutrophils_is_indeterminate():
    n = MIN_NEUTROPHILS - 1
    r = mds_image_evidence({"pseudo_pelger": _cells(n, 20)}, n_neutrophils=n)
    assert r.state == "indeterminate" and r.meets_who_threshold is None
    assert r.reasons == (Reason(FEW_NEUTROPHILS, {"n": n, "min": MIN_NEUTROPHILS}),)


def test_no_available_output_is_indeterminate():
    r = mds_image_evidence({"hypogranulation": None}, n_neutrophils=100)
    assert r.state == "indeterminate"
    assert Reason(NO_DYSPLASIA_OUTPUT) in r.reasons
    assert r.not_available == ("pseudo_pelger", "hypogranulation")


def test_vacuoles_and_barr_bodies_are_not_dysplasia():
    """Every neutrophil vacuolated (VEXAS, alcohol, sepsis...) and every one with a drumstick
    (a woman): no dysplasia output, so no evidence for MDS, not 100%."""
    r = mds_image_evidence({"vacuole": _cells(100, 100, prob=0.99),
                            "barr_body": _cells(100, 100, prob=0.99)}, n_neutrophils=100)
    assert r.state == "indeterminate" and r.fraction is None and r.drivers == ()
    assert r.reasons == (Reason(NO_DYSPLASIA_OUTPUT),)
    assert set(r.per_anomaly_fraction) == {"pseudo_pelger", "hypogranulation"}


def test_disclaimer_and_version():
    r = mds_image_evidence({"vacuole": _cells(60, 1)}, n_neutrophils=60)
    assert "never counted" in r.disclaimer and "never a" in r.disclaimer
    assert r.version == "mds-image/2.0.0"


def test_cell_predictions_become_anomaly_columns():
    def cell(cls: str, vac: float | None, pp: float | None):  # type: ignore[no-untyped-def]
        return SimpleNamespace(
            cell_class=cls,
            anomalies={
                "vacuole": vac,
                "pseudo_pelger": pp,
                "hypogranulation": None,
                "barr_body": None,
            },
        )

    preds = [
        cell("neutrophil", 0.9, 0.1),
        cell("lymphocyte", None, None),
        cell("neutrophil", 0.2, 0.7),
    ]
    cols, positions = neutrophil_anomalies(preds)
    assert positions == [0, 2]
    assert cols == {
        "vacuole": [0.9, 0.2],
        "pseudo_pelger": [0.1, 0.7],
        "hypogranulation": None,
        "barr_body": None,
    }
