"""CBC-only MDS model at run time: ONNX logistic regression with missing-value masks.

Built on ``apps.ml.runtime.OnnxModel``: the session is created on first use, the file's
sha256 checked against the card then, one instance per model folder and process. Feature
order, units and coefficients come from the card; the card's feature list must match
``apps.ml.scores.features.FEATURES`` or loading fails. A CBC without a required input, or
with a value outside the range its training cohort covered (the card's ``training_range``),
is indeterminate: the model has nothing to say about a count it never saw. So is a count
without any cytopenia (``apps.ml.scores.cytopenia``): an MDS needs at least one, and on such a
count the model's output rests on age and sex.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from apps.ml.runtime import OnnxModel, load_cached
from apps.ml.scores.card import ScoreCard, ScoreCardError, load, registered_dir
from apps.ml.scores.cytopenia import no_cytopenia
from apps.ml.scores.features import FEATURE_NAMES, FEATURES, REQUIRED, CBCFeatures, to_arrays
from apps.ml.scores.reasons import (
    INPUT_OUTSIDE_TRAINING,
    INPUT_REQUIRED,
    NO_CYTOPENIA,
    Reason,
)

TASK = "mds_cbc"

DISCLAIMER = (
    "Output of a logistic model on the blood count, trained on one single-centre cohort (MDS "
    "vs iron-deficiency/megaloblastic anaemia and normal counts): a probability of MDS only in "
    "a cohort like that one, not in this laboratory's patients. A prompt for smear review and, "
    "where indicated, marrow examination; never a diagnosis."
)
# Written by scores stored before 2026-12-06; read as DISCLAIMER (apps.analysis.score_text).
DISCLAIMER_BEFORE = (
    "CBC-based MDS probability from a logistic model trained on one single-centre cohort "
    "(MDS vs iron-deficiency/megaloblastic anaemia and normal counts). A prompt for smear "
    "review and, where indicated, marrow examination; never a diagnosis."
)


@dataclass(frozen=True)
class FeatureContribution:
    name: str
    unit: str
    value: float | None  # as given; None when missing
    used: float  # the value the model used (imputation constant when missing)
    missing: bool
    standardized: float  # (transform(used) - mean) / std
    coef: float
    contribution: float  # standardized x coef + missing x missing_coef (logit units)


@dataclass(frozen=True)
class MDSCBCResult:
    state: Literal["scored", "indeterminate"]
    probability: float | None
    above_threshold: bool | None
    threshold: float
    contributions: tuple[FeatureContribution, ...]  # largest |contribution| first
    intercept: float
    missing: tuple[str, ...]
    reasons: tuple[Reason, ...]
    model: dict[str, str]  # name, version, sha256
    disclaimer: str


class MDSCBCModel(OnnxModel):
    def __init__(self, card: ScoreCard, *, threads: int = 1) -> None:
        if card.task != TASK:
            raise ScoreCardError(f"{card.directory}: task {card.task!r}, expected {TASK!r}")
        names = tuple(f["name"] for f in card.raw["features"])
        if names != FEATURE_NAMES:
            raise ScoreCardError(f"{card.directory}: features {names} != {FEATURE_NAMES}")
        super().__init__(model_path=card.model_path, model_sha256=card.model_sha256,
                         threads=threads)
        self.card = card
        feats = card.raw["features"]
        self.impute = np.array([f["impute"] for f in feats], np.float64)
        self.coef = np.array([f["coef"] for f in feats], np.float64)
        self.missing_coef = np.array([f["missing_coef"] for f in feats], np.float64)
        self.mean = np.array([f["mean"] for f in feats], np.float64)
        self.std = np.array([f["std"] for f in feats], np.float64)
        self.intercept = float(card.raw["intercept"])
        self.threshold = float(card.raw["operating_point"]["threshold"])
        # The values its training cohort covered (None: no range recorded, or never observed).
        self.ranges = tuple(_range(card, f) for f in feats)

    @classmethod
    def from_dir(cls, model_dir: Path, *, threads: int = 1) -> MDSCBCModel:
        return cls(load(model_dir), threads=threads)

    def run(self, x: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(probability [N], logit [N], contributions [N, F]) for raw arrays."""
        p, logit, contrib = self.session().run(
            ["probability", "logit", "contributions"],
            {"features": np.asarray(x, np.float32), "missing_mask": np.asarray(m, np.float32)},
        )
        return p[:, 0], logit[:, 0], contrib

    def predict_many(self, rows: list[CBCFeatures]) -> list[MDSCBCResult]:
        if not rows:
            return []
        x, m = to_arrays(rows)
        p, _, contrib = self.run(x, m)
        return [self._result(rows[i], x[i], m[i], float(p[i]), contrib[i])
                for i in range(len(rows))]

    def predict(self, inputs: CBCFeatures) -> MDSCBCResult:
        return self.predict_many([inputs])[0]

    def _result(self, row: CBCFeatures, x: np.ndarray, m: np.ndarray, p: float,
                contrib: np.ndarray) -> MDSCBCResult:
        values = row.values()
        missing = tuple(k for k, v in values.items() if v is None)
        used = np.where(m > 0.5, self.impute, x.astype(np.float64))
        t = used.copy()
        for j, f in enumerate(FEATURES):
            if f.transform == "log1p":
                t[j] = np.log1p(max(t[j], 0.0))
        z = (t - self.mean) / self.std
        parts = sorted(
            (FeatureContribution(f.name, f.unit, values[f.name], float(used[j]), bool(m[j]),
                                 float(z[j]), float(self.coef[j]), float(contrib[j]))
             for j, f in enumerate(FEATURES)),
            key=lambda c: -abs(c.contribution),
        )
        reasons = tuple(Reason(INPUT_REQUIRED, {"input": r}) for r in REQUIRED if r in missing)
        reasons += self._outside_training(values)
        if not reasons:
            normal = no_cytopenia(values["hb"], values["anc"], values["plt"], row.sex)
            reasons = () if normal is None else (Reason(NO_CYTOPENIA, normal),)
        if reasons:
            return MDSCBCResult("indeterminate", None, None, self.threshold, tuple(parts),
                                self.intercept, missing, reasons, self.card.provenance,
                                DISCLAIMER)
        return MDSCBCResult("scored", p, p >= self.threshold, self.threshold, tuple(parts),
                            self.intercept, missing, (), self.card.provenance, DISCLAIMER)

    def _outside_training(self, values: Mapping[str, float | None]) -> tuple[Reason, ...]:
        """A value outside the range the training cohort covered: the model never saw such a
        count (a leukocytosis of 80, a child), and what it outputs there is an extrapolation."""
        out = []
        for f, bounds in zip(FEATURES, self.ranges, strict=True):
            value = values[f.name]
            if bounds is None or value is None or bounds[0] <= value <= bounds[1]:
                continue
            out.append(Reason(INPUT_OUTSIDE_TRAINING, {"input": f.name, "value": value,
                                                       "low": bounds[0], "high": bounds[1],
                                                       "unit": f.unit}))
        return tuple(out)


def _range(card: ScoreCard, feature: Mapping[str, Any]) -> tuple[float, float] | None:
    """A feature's ``training_range`` in the card ([low, high]); None when it records none
    (a card written before ranges were recorded, or a feature never observed)."""
    bounds = feature.get("training_range")
    if bounds is None:
        return None
    try:
        low, high = (float(b) for b in bounds)
    except (TypeError, ValueError) as exc:
        raise ScoreCardError(f"{card.directory}: training_range of {feature.get('name')} must "
                             f"be [low, high], not {bounds!r}") from exc
    if not low <= high:
        raise ScoreCardError(f"{card.directory}: training_range of {feature.get('name')} "
                             f"is {bounds!r}")
    return low, high


# The CBC model's features that are not blood counts. On its training cohort the model draws
# much of its signal from them (see its card); when they carry at least this share of the
# evidence (sum of |log-odds contributions|), the headline says the output rests on them.
DEMOGRAPHIC_FEATURES = frozenset({"age", "sex_male"})
DEMOGRAPHIC_SHARE = 0.5


def demographic_share(contributions: Sequence[Mapping[str, Any]]) -> float | None:
    """The share of a CBC model's evidence (|log-odds|) that comes from age and sex, or None
    when there is none to share."""
    named = [(str(c.get("name", "")), c.get("contribution")) for c in contributions]
    parts = [(n, abs(float(v))) for n, v in named
             if isinstance(v, int | float) and not isinstance(v, bool)]
    total = sum(v for _n, v in parts)
    if not total:
        return None
    return sum(v for n, v in parts if n in DEMOGRAPHIC_FEATURES) / total


def driven_by_demographics(contributions: Sequence[Mapping[str, Any]]) -> bool:
    """Whether age and sex carry at least DEMOGRAPHIC_SHARE of the evidence: the headline and
    the worklist flag then say that the output rests on them, not on the blood counts."""
    share = demographic_share(contributions)
    return share is not None and share >= DEMOGRAPHIC_SHARE


def output_without_demographics(value: float,
                                contributions: Sequence[Mapping[str, Any]]) -> float | None:
    """The model's output with the part of age and sex taken out of its log-odds: the output
    for a patient of the training cohort's average age and sex share (the features are
    standardised on it), i.e. what the blood counts give on their own. None for a value that
    is not a probability strictly between 0 and 1, or without contributions."""
    if not 0.0 < value < 1.0 or not contributions:
        return None
    demographic = sum(float(c["contribution"]) for c in contributions
                      if str(c.get("name", "")) in DEMOGRAPHIC_FEATURES
                      and isinstance(c.get("contribution"), int | float)
                      and not isinstance(c.get("contribution"), bool))
    logit = float(np.log(value / (1.0 - value))) - demographic
    return float(1.0 / (1.0 + np.exp(-logit)))


def above_only_through_demographics(value: float, threshold: float,
                                    contributions: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the output reaches the operating threshold only through age and sex: the blood
    counts alone (output_without_demographics) stay below it. Such an output says the patient
    is old (or male), not that the count looks like an MDS: the score and its worklist flag
    say so (apps.analysis.scores)."""
    alone = output_without_demographics(value, contributions)
    return value >= threshold and alone is not None and alone < threshold


def load_model(model_dir: Path, *, threads: int = 1) -> MDSCBCModel:
    """The model in ``model_dir``, one instance (and session) per process."""
    return load_cached(MDSCBCModel.from_dir, model_dir, threads=threads)


def load_default(models_root: Path, *, threads: int = 1) -> MDSCBCModel | None:
    """The model ``registry.json`` names for ``mds_cbc``; None when none is registered."""
    d = registered_dir(Path(models_root), TASK)
    return None if d is None else load_model(d, threads=threads)


def predict(inputs: CBCFeatures, *, models_root: Path | None = None,
            model: MDSCBCModel | None = None) -> MDSCBCResult:
    """Score one patient's CBC with ``model``, or with the model registered in
    ``models_root`` (LookupError when none is)."""
    if model is None:
        if models_root is None:
            raise ValueError("pass models_root or model")
        model = load_default(models_root)
        if model is None:
            raise LookupError(f"no {TASK} model registered in {models_root}/registry.json")
    return model.predict(inputs)
