"""Why a score is indeterminate or unavailable: a code with its parameters, never a sentence.

The Django layer (apps.analysis.score_text) words each code in the reader's language; the stored
JSON is ``{"code": ..., "params": {...}}``, readable without that layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Codes the scoring code writes, with their parameters.
FEW_NEUTROPHILS = "few_neutrophils"  # n, min
INPUT_MISSING = "input_missing"  # input: mcv | hb | plt | sex | age
INPUT_REQUIRED = "input_required"  # input: a CBC feature name (apps.ml.scores.features)
# A model input outside the range its training cohort covered (the card's training_range):
# input (a CBC feature name), value, low, high, unit (the feature's, as in its card).
INPUT_OUTSIDE_TRAINING = "input_outside_training"
# A count without any cytopenia (apps.ml.scores.cytopenia): hb, anc, plt, hb_cutoff, anc_cutoff,
# plt_cutoff, sex (M, F or "" when unknown).
NO_CYTOPENIA = "no_cytopenia"
VACUOLE_OUTPUT_UNAVAILABLE = "vacuole_output_unavailable"
NO_ANOMALY_OUTPUT = "no_anomaly_output"  # mds-image 1.0.0 results only
NO_DYSPLASIA_OUTPUT = "no_dysplasia_output"
NEUTROPHILS_WITHOUT_ANOMALY = "neutrophils_without_anomaly"  # n
NO_MODEL = "no_model"  # kind: cbc | fused
MODEL_SYNTHETIC = "model_synthetic"  # model
MODEL_NOT_RELEASED = "model_not_released"  # model
MODEL_OTHER_CELL_MODEL = "model_other_cell_model"  # model, trained_on, installed
MODEL_INVALID = "model_invalid"  # detail: the loader's error, for the operator
NO_NEUTROPHIL = "no_neutrophil"

# What each part of the VEXAS rule found (apps.ml.scores.vexas.Contribution.reason). Values are
# numbers as the rule read them, in the rule's units; `met` says whether the part scored.
VACUOLATED_SHARE = "vacuolated_share"  # k, n, fraction, high, low (fractions of the neutrophils)
MCV_CUTOFF = "mcv_cutoff"  # value, cutoff (fL), met: value > cutoff
HB_CUTOFF = "hb_cutoff"  # value, cutoff (g/dL), sex (M | F, which cut-off), met: value < cutoff
ANAEMIA_CUTOFF_UNDEFINED = "anaemia_cutoff_undefined"  # sex unknown: no cut-off to apply
PLT_CUTOFF = "plt_cutoff"  # value, cutoff (10^9/L), met: value < cutoff
SEX = "sex"  # sex: M | F
AGE_CUTOFF = "age_cutoff"  # value, cutoff (years), met: value >= cutoff
HYPOSEGMENTATION_UNAVAILABLE = "hyposegmentation_unavailable"
HYPOSEGMENTED_SHARE = "hyposegmented_share"  # fraction (None without neutrophils)


@dataclass(frozen=True)
class Reason:
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:  # the parameters are a dict: hash its items
        return hash((self.code, tuple(sorted(self.params.items()))))

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "params": dict(self.params)}
