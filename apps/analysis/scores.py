"""Patient-level scores for a specimen: VEXAS suspicion, MDS image evidence, the CBC MDS model
and (only when a model trained on a real cohort is installed) the fused image + CBC model.

Runs in the worker (it runs ONNX models): after an analysis, after a CBC import and after a
biologist's correction. Each score is stored as a new revision only when its inputs or its
result changed, with the definition or model (name, version, sha256) that produced it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, TypeGuard

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from PIL import Image

from apps.core.numbers import figures_apart
from apps.hemograms.flags import ABSOLUTE_OF_SHARE, blast_messages, computed_count
from apps.hemograms.selectors import cbc_ip_messages, cbc_latest, cbc_subject
from apps.hemograms.wording import reported_decimals
from apps.ml.cards import card_of, load_card
from apps.ml.cells import default_model_dir
from apps.ml.domain import SPECIMEN_OUTSIDE, SPECIMEN_UNCHECKED
from apps.ml.scores import fused, mds_cbc, mds_image, vexas
from apps.ml.scores.features import CBCFeatures
from apps.ml.scores.fused import embed_cells, load_fused
from apps.ml.scores.reasons import FEW_NEUTROPHILS, NO_MODEL, NO_NEUTROPHIL, Reason
from apps.patients import flag_reasons
from apps.patients.models import Specimen
from apps.patients.services import FlagRaised, specimen_flags_replace
from apps.smears.differential import is_neutrophil
from apps.smears.models import Cell

from .models import Score, ScoresRequest, ScoreState
from .selectors import specimen_domain_latest

VEXAS, MDS_IMAGE, MDS_CBC, MDS_FUSED = "vexas", "mds_image", "mds_cbc", "mds_fused"
# 2: cells outside the validated domain flag the specimen; 3: the VEXAS rule flags a specimen
# only with vacuolated neutrophils among its points (_vexas_flagged).
FLAG_RULES_VERSION = "score-flags-4"
# Reason code (translated in score_text): the specimen's images are outside the domain the cell
# model was validated on, so a score that rests on the cells is indeterminate.
# Reason codes of this layer (apps.ml.scores.reasons has those of the scoring code).
CELLS_OUTSIDE_DOMAIN = "cells_outside_domain"
DEMOGRAPHICS_REQUIRED = "demographics_required"  # input: "age", "sex" or "age, sex"
# The analyser suspects blasts (messages: its IP messages that say so, the worklist's rule): a
# possible acute leukaemia, outside the population the CBC MDS model was trained on.
ANALYSER_SUSPECTS_BLASTS = "analyser_suspects_blasts"
# inputs["counted_on"] of a VEXAS result counted on the biologist's reads alone (images outside
# the validated domain, every cell classed and every neutrophil's vacuoles read by the biologist).
VEXAS_ON_READS = "biologist_reads"
# Why such a result is not counted on the reads yet (n neutrophils, read of them, waiting: an
# image outside the domain still unclassified).
VEXAS_NEEDS_READS = "vexas_needs_reads"
# FEW_NEUTROPHILS when the cells were checked against the validated domain: the scores count
# only the neutrophils inside it, and say so (n, min, outside: the neutrophils not counted).
FEW_NEUTROPHILS_IN_DOMAIN = "few_neutrophils_in_domain"


def _cbc_features(specimen: Specimen) -> tuple[CBCFeatures, dict[str, Any]]:
    cbc = cbc_latest(specimen)
    read = list(cbc.values.all()) if cbc else []
    values = {v.code: v.value for v in read}
    # A count the file left out (a generic CSV with shares only), computed from its share and
    # the WBC as the analyser computes it (the CBC flags' one rule), and recorded as computed.
    computed = {code: count for code in ("NEUT#", "MONO#")
                if (count := computed_count(code, values)) is not None}
    values = {**values, **computed}
    # The registered patient's sex and age, else the analyser's record's, on the sample's day.
    subject = cbc_subject(specimen, cbc)
    sex, age = subject.sex or None, subject.age
    features = CBCFeatures(
        anc=values.get("NEUT#"), hb=values.get("HGB"), plt=values.get("PLT"),
        wbc=values.get("WBC"), mono=values.get("MONO#"), age=age, sex=sex,
        mcv=values.get("MCV"), ne_wx=values.get("NE-WX"))
    context = {"cbc_result": cbc.pk if cbc else None, "sex": sex, "age": age,
               "sex_from": subject.sex_from, "age_from": subject.age_from,
               "values": {k: values.get(k) for k in
                          ("NEUT#", "HGB", "PLT", "WBC", "MONO#", "MCV", "NE-WX")}}
    if computed:
        context["computed"] = {code: ABSOLUTE_OF_SHARE[code] for code in computed}
    # The decimals the analyser gave each value read from the file ("5.20"), so the evidence
    # prints it as the CBC table does; a computed count has none.
    decimals = {v.code: d for v in read if v.code in context["values"] and v.code not in computed
                and (d := reported_decimals(v.code, v.raw_value, v.raw_unit)) is not None}
    if decimals:
        context["decimals"] = decimals
    return features, context


def _neutrophils(specimen: Specimen
                 ) -> tuple[list[tuple[Cell, Any]], int, int, list[Cell], bool,
                            list[tuple[Cell, Any]]]:
    """The neutrophils after review (the biologist's class wins) that carry anomaly outputs;
    how many do not (a model version without them), and how many have an image outside the
    domain the model was validated on: both are counted apart, never used as evidence. Then
    every neutrophil, and whether an image outside the domain still waits for the biologist's
    class (it may hide a neutrophil). Last, those of the outside ones whose class and vacuoles
    the biologist both gave (``_read_outside``): the VEXAS rule counts them on those reads,
    which do not rest on the image; for the other scores they stay outside."""
    out, without, outside = [], 0, 0
    read_outside: list[tuple[Cell, Any]] = []
    every: list[Cell] = []
    waiting = False  # an image no one has classed yet: it may hide a neutrophil
    for cell in Cell.objects.filter(specimen=specimen).prefetch_related("predictions"):
        prediction = cell.latest_prediction()
        if prediction is None:
            continue
        waiting = waiting or (bool(prediction.domain_flag) and not cell.reviewed_class)
        # The neutrophils after review, and those the network names in an image outside the
        # validated domain (not counted until a biologist confirms them): counted apart.
        named = cell.reviewed_class or (prediction.cell_class if prediction.shows_a_cell
                                        else "")
        if not is_neutrophil(named):  # a band neutrophil too
            continue
        every.append(cell)
        if prediction.domain_flag:
            outside += 1
            if _read_outside(cell):
                read_outside.append((cell, prediction))
        elif any(prediction.anomalies.get(a) is not None for a in ("vacuole", "pseudo_pelger")):
            out.append((cell, prediction))
        else:
            without += 1
    return out, without, outside, every, waiting, read_outside


def _read_outside(cell: Cell) -> bool:
    """A neutrophil whose image is outside the validated domain, that the biologist classed as
    one and whose vacuoles they read: the VEXAS rule's vacuole part needs nothing of the
    model for it."""
    return is_neutrophil(cell.reviewed_class) and cell.reviewed_vacuoles is not None


def _read_by_the_biologist(every: list[Cell], waiting: bool) -> list[Cell] | None:
    """Every neutrophil, when the biologist has classed every image the model was not
    validated on and read the vacuoles of every neutrophil: the VEXAS rule can then count the
    biologist's reads alone, whatever the images. None otherwise: counting the reads of some
    neutrophils only would count those the biologist chose to read."""
    if every and not waiting and all(c.reviewed_vacuoles is not None for c in every):
        return every
    return None


def _column(neutrophils: list[tuple[Cell, Any]], name: str) -> list[float] | None:
    """One probability per neutrophil, or None when the model does not provide the output."""
    values = [p.anomalies.get(name) for _c, p in neutrophils]
    if any(v is None for v in values):
        return None
    return [float(v) for v in values]


def _card_outputs(neutrophils: list[tuple[Cell, Any]],
                  run_models: list[dict[str, str]]) -> frozenset[str] | None:
    """The anomaly outputs the cell model's card marks available: the model of the analysed
    neutrophils, else of the latest analysis (no neutrophil inside the domain), else, before
    any analysis (no images yet), the registered cell model, which will analyse them: a smear
    not yet imaged reads "fewer than 20 neutrophils (n=0)", not "no vacuole output in this
    model". None when no installed card matches that model (name, version, sha256)."""
    provenance = _model_of(neutrophils) or (run_models[0] if run_models else {})
    if provenance:
        card = card_of(settings.MODELS_ONNX_DIR, provenance)
    else:
        model_dir = default_model_dir(settings.MODELS_ONNX_DIR)
        card = load_card(model_dir) if model_dir is not None else None
    return None if card is None else frozenset(card.available_anomalies)


def _output(neutrophils: list[tuple[Cell, Any]], name: str,
            card_outputs: frozenset[str] | None) -> list[float] | None:
    """The column of an anomaly output for the scoring code, None when it is not available:
    the card decides, whatever the number of neutrophils (an empty column would read as an
    output that exists). Without a known card, only outputs the stored neutrophils carry."""
    if card_outputs is not None and name not in card_outputs:
        return None
    if card_outputs is None and not neutrophils:
        return None
    return _column(neutrophils, name)


def _model_of(neutrophils: list[tuple[Cell, Any]]) -> dict[str, str]:
    if not neutrophils:
        return {}
    p = neutrophils[0][1]
    return {"name": p.model_name, "version": p.model_version, "sha256": p.model_sha256}


def _vexas(features, context, neutrophils, card_outputs, *,  # type: ignore[no-untyped-def]
           read: list[Cell] | None = None,
           read_outside: Sequence[tuple[Cell, Any]] = ()) -> dict[str, Any]:
    """The VEXAS rule on the neutrophils inside the validated domain (the biologist's reads
    winning over the model's outputs) and those outside it that the biologist classed and
    read (``read_outside``: counted on that read, never on the model's output); or, with
    ``read`` (_read_by_the_biologist: a specimen whose images are outside that domain, every
    cell classed and every neutrophil's vacuoles read by the biologist), on those reads alone,
    no output of the cell model counted."""
    if read is None:
        counted = [*neutrophils, *read_outside]
        cells = [c for c, _p in counted]
        # A read wins over the output in the rule: the vacuole column of a cell outside the
        # domain is never counted. No read of pseudo-Pelger nuclei exists: their column is
        # the model's, so not given once such a cell is among the counted.
        vac = _output(counted, "vacuole", card_outputs)
        pelger = None if read_outside else _output(neutrophils, "pseudo_pelger", card_outputs)
        provenance: dict[str, Any] = {"cell_model": _model_of(counted)}
        if read_outside:
            provenance["outside_domain_read"] = len(read_outside)
    else:
        cells, vac, pelger = read, None, None
        provenance = {"cell_model": {}, "counted_on": VEXAS_ON_READS}
    result = vexas.vexas_score(vexas.VexasInputs(
        n_neutrophils=len(cells), vacuole_probs=vac,
        vacuole_reads=[c.reviewed_vacuoles for c in cells], pseudo_pelger_probs=pelger,
        mcv_fl=features.mcv, hgb_g_dl=features.hb, plt_10_9_l=features.plt,
        sex=features.sex, age_years=features.age))
    # Evidence cells: those the rule counts as vacuolated, as the page shows them.
    evidence = _vacuolated_cells(counted, cutoff=result.thresholds["vacuole_prob_cutoff"]) \
        if read is None else [{"cell_id": c.pk, "read": "seen"} for c in read
                              if c.reviewed_vacuoles][:20]
    return {
        "definition": "vexas-suspicion", "version": result.version, "sha256": "",
        "state": result.state, "value": result.score, "level": result.level or "",
        "thresholds": result.thresholds,
        "inputs": {**context, "n_neutrophils": len(cells), **provenance},
        "evidence": {"contributions": [asdict(c) for c in result.contributions],
                     "cells": evidence},
        "reasons": [r.as_dict() for r in result.reasons], "text": result.disclaimer,
    }


def _vacuolated_cells(neutrophils, *, cutoff: float, limit: int = 20  # type: ignore[no-untyped-def]
                      ) -> list[dict[str, Any]]:
    """The neutrophils the VEXAS rule counts as vacuolated, as it counts them: those in which
    the biologist saw vacuoles ("read": "seen"), first, then, of those the biologist has not
    read, the model's outputs at or above the cut-off, highest first. A neutrophil the
    biologist read as without vacuoles is not one of them, whatever the model's output."""
    ranked = []
    for cell, prediction in neutrophils:
        prob = prediction.anomalies.get("vacuole")
        if prob is None:
            continue
        seen = cell.reviewed_vacuoles
        if seen or (seen is None and prob >= cutoff):
            ranked.append((not seen, -prob, cell.pk, prob, cell.vacuoles_read))
    ranked.sort()
    return [{"cell_id": pk, "vacuole": round(prob, 4), **({"read": read} if read else {})}
            for _s, _p, pk, prob, read in ranked[:limit]]


def _mds_image(neutrophils, card_outputs) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    probs = {name: _output(neutrophils, name, card_outputs) for name in mds_image.ANOMALIES}
    result = mds_image.mds_image_evidence(probs, n_neutrophils=len(neutrophils))
    cells = [{"cell_id": neutrophils[d.index][0].pk, "probability": round(d.probability, 4),
              "anomaly": d.anomaly} for d in result.drivers]
    return {
        "definition": "mds-image-evidence", "version": result.version, "sha256": "",
        "state": result.state, "value": result.fraction,
        "level": "" if result.meets_who_threshold is None else (
            "above_who" if result.meets_who_threshold else "below_who"),
        "thresholds": result.thresholds,
        "inputs": {"n_neutrophils": len(neutrophils), "cell_model": _model_of(neutrophils),
                   "available": list(result.available),
                   "not_available": list(result.not_available)},
        "evidence": {"per_anomaly_fraction": result.per_anomaly_fraction,
                     "n_dysplastic": result.n_dysplastic, "cells": cells},
        "reasons": [r.as_dict() for r in result.reasons], "text": result.disclaimer,
    }


def _training_prevalence(card: dict[str, Any]) -> dict[str, float]:
    """``{"training_prevalence": share of MDS in the training cohort}`` from a CBC model card,
    or {} when the card does not count its classes."""
    data = card.get("training_data") or {}
    n_mds, n_not = data.get("n_mds"), data.get("n_not_mds")
    if not isinstance(n_mds, int) or not isinstance(n_not, int) or n_mds + n_not == 0:
        return {}
    return {"training_prevalence": round(n_mds / (n_mds + n_not), 3)}


def _mds_cbc(features: CBCFeatures, context: dict[str, Any], blasts: Sequence[str]
             ) -> dict[str, Any]:
    """The CBC MDS model's score; indeterminate when ``blasts`` (the analyser's messages
    suspecting blasts) are given: it was trained on MDS, anaemias and normal counts, and an
    output beside a possible acute leukaemia would read as an MDS risk it never learned."""
    model = mds_cbc.load_default(settings.MODELS_ONNX_DIR, threads=settings.ML_THREADS)
    if model is None:
        return _unavailable("mds-cbc", Reason(NO_MODEL, {"kind": "cbc"}))
    result = model.predict(features)
    limits = list(model.card.raw.get("limits", []))
    outside = [Reason(ANALYSER_SUSPECTS_BLASTS, {"messages": list(blasts)})] if blasts else []
    demographics = []
    if result.state == "scored" and (features.age is None or features.sex is None):
        # On its training cohort this model draws most of its signal from age and sex (see
        # its card): a probability with them imputed would look more certain than it is.
        missing = [n for n, v in (("age", features.age), ("sex", features.sex)) if v is None]
        demographics = [Reason(DEMOGRAPHICS_REQUIRED, {"input": ", ".join(missing)})]
    if outside or demographics:
        return {**_unavailable(result.model["name"], None), "version": result.model["version"],
                "sha256": result.model["sha256"], "state": ScoreState.INDETERMINATE,
                "thresholds": {"operating_point": result.threshold},
                "inputs": {**context, "missing": list(result.missing)},
                "evidence": {"limits": limits},
                "reasons": [r.as_dict() for r in (*outside, *result.reasons, *demographics)],
                "text": result.disclaimer}
    return {
        "definition": result.model["name"], "version": result.model["version"],
        "sha256": result.model["sha256"], "state": result.state, "value": result.probability,
        "level": "" if result.above_threshold is None else (
            "above_threshold" if result.above_threshold else "below_threshold"),
        # The probability holds at its training cohort's MDS share, which every headline names.
        "thresholds": {"operating_point": result.threshold,
                       **_training_prevalence(model.card.raw)},
        "inputs": {**context, "missing": list(result.missing)},
        "evidence": {"contributions": [asdict(c) for c in result.contributions],
                     "intercept": result.intercept, "limits": limits},
        "reasons": [r.as_dict() for r in result.reasons], "text": result.disclaimer,
    }


def _mds_fused(features, context, neutrophils, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    cell_sha = _model_of(neutrophils).get("sha256")
    model, reason = load_fused(settings.MODELS_ONNX_DIR, threads=settings.ML_THREADS,
                               cell_sha256=cell_sha)
    if model is None:
        return _unavailable("mds-fused", reason or fused.NO_MODEL)
    if _is_outside(domain):
        # Not even run: its embeddings would come from images the cell model does not know.
        provenance = model.card.provenance
        return _outside_domain({
            **_unavailable(provenance["name"], None), "version": provenance["version"],
            "sha256": provenance["sha256"], "text": fused.DISCLAIMER,
            "thresholds": {"operating_point": model.threshold},
            "inputs": {**context, "n_neutrophils": len(neutrophils)}}, domain)
    from apps.analysis.pipeline import get_runner

    images = []
    for cell, _p in neutrophils:
        with cell.image.open("rb") as fh:
            images.append(Image.open(io.BytesIO(fh.read()), formats=["JPEG", "PNG", "TIFF",
                                                                      "BMP"]).convert("RGB"))
    embeddings = embed_cells(get_runner().model, images) if images else None
    if embeddings is None:
        return _unavailable("mds-fused", Reason(NO_NEUTROPHIL))
    result = model.predict(embeddings, features)
    return {
        "definition": result.model["name"], "version": result.model["version"],
        "sha256": result.model["sha256"], "state": result.state, "value": result.probability,
        "level": "" if result.above_threshold is None else (
            "above_threshold" if result.above_threshold else "below_threshold"),
        "thresholds": {"operating_point": result.threshold},
        "inputs": {**context, "n_neutrophils": len(neutrophils)},
        "evidence": {"cells": [{"cell_id": neutrophils[i][0].pk,
                                "attention": round(result.attention[i], 4)}
                               for i in result.top_cells[:20]]},
        "reasons": [r.as_dict() for r in result.reasons], "text": result.disclaimer,
    }


def _is_outside(domain: dict[str, Any] | None) -> TypeGuard[dict[str, Any]]:
    return domain is not None and domain["code"] == SPECIMEN_OUTSIDE


def _outside_domain(payload: dict[str, Any], domain: dict[str, Any] | None) -> dict[str, Any]:
    """A score that rests on the cells, made indeterminate when the specimen's images are
    outside the domain the cell model was validated on; recorded with the verdict either way."""
    inputs = {**payload["inputs"], "domain": domain}
    # Counted on the biologist's reads alone, it does not rest on the images.
    if not _is_outside(domain) or inputs.get("counted_on") == VEXAS_ON_READS:
        return {**payload, "inputs": inputs}
    return {**payload, "state": ScoreState.INDETERMINATE, "value": None, "level": "",
            "inputs": inputs, "evidence": {},
            "reasons": [Reason(CELLS_OUTSIDE_DOMAIN).as_dict(), *payload["reasons"]]}


def _counted_in_domain(payload: dict[str, Any], domain: dict[str, Any] | None,
                       outside: int) -> dict[str, Any]:
    """The scoring code counts the neutrophils it is given: once the cells were checked against
    the validated domain, only those inside it. Its "too few" reason then says what it counted
    and how many were left out, not "analysed" (the page shows every neutrophil)."""
    if domain is None or domain["code"] == SPECIMEN_UNCHECKED \
            or payload["inputs"].get("counted_on") == VEXAS_ON_READS:  # every neutrophil read
        return payload
    reasons = [Reason(FEW_NEUTROPHILS_IN_DOMAIN, {**r["params"], "outside": outside}).as_dict()
               if r["code"] == FEW_NEUTROPHILS else r for r in payload["reasons"]]
    return {**payload, "reasons": reasons}


def _unavailable(definition: str, reason: Reason | None) -> dict[str, Any]:
    return {"definition": definition, "version": "", "sha256": "",
            "state": ScoreState.UNAVAILABLE, "value": None, "level": "", "thresholds": {},
            "inputs": {}, "evidence": {}, "reasons": [reason.as_dict()] if reason else [],
            "text": ""}


def _vexas_flagged(payload: dict[str, Any]) -> bool:
    """The VEXAS rule puts a specimen on the worklist at an intermediate or high level only when
    vacuolated neutrophils are among its points: macrocytic anaemia, low platelets, male sex
    and age alone reach the intermediate level in any older man with MDS, a B12 deficiency or
    alcohol, and would call all of them VEXAS suspicions. The score itself still shows them."""
    if payload["state"] != ScoreState.SCORED or payload["level"] not in ("intermediate", "high"):
        return False
    return vexas.vacuoles_scored((payload.get("evidence") or {}).get("contributions") or [])


def _flags(payloads: dict[str, dict[str, Any]], domain: dict[str, Any] | None = None
           ) -> list[tuple[str, str, Reason]]:
    """The worklist flags: name, the finding as recorded (English, for the audit trail) and the
    same finding as a code with its figures, which pages word in the reader's language
    (apps.patients.flag_text). The VEXAS rule is a sum of points, never a probability.
    Cells outside the validated domain are a finding of their own: without a flag such a
    specimen (another lab's stain, normal counts) would wait off the worklist, never seen."""
    out = []
    v = payloads[VEXAS]
    if _vexas_flagged(v):
        points = round(100 * v["value"])
        out.append(("vexas_suspicion", f"VEXAS suspicion {v['level']} ({points:d} points of 100)",
                    Reason(flag_reasons.VEXAS_LEVEL, {"level": v["level"], "points": points})))
    c = payloads[MDS_CBC]
    if c["state"] == ScoreState.SCORED and c["level"] == "above_threshold":
        cut = c["thresholds"]["operating_point"]
        contributions = (c.get("evidence") or {}).get("contributions") or []
        # Above the threshold only through age and sex: the count alone stays below it. Still
        # flagged (without that part the model finds half the MDS of its cohort: docs/
        # scores.md), but the flag says what carries it, with the output of the count alone.
        alone = mds_cbc.output_without_demographics(c["value"], contributions) \
            if mds_cbc.above_only_through_demographics(c["value"], cut, contributions) else None
        demographic = alone is not None or mds_cbc.driven_by_demographics(contributions)
        # The count alone and the threshold with the decimals it takes them to differ.
        apart = figures_apart(alone, cut) if alone is not None else 2
        out.append(("mds_risk", f"CBC MDS model {c['value']:.2f} >= {cut:.2f}"
                    + (f", only through age and sex (the count alone {alone:.{apart}f} < "
                       f"{cut:.{apart}f})"
                       if alone is not None else
                       ", driven mostly by age and sex" if demographic else ""),
                    Reason(flag_reasons.MDS_CBC_ABOVE,
                           {"probability": c["value"], "threshold": cut,
                            "age_and_sex": demographic, "count_alone": alone,
                            "prevalence": c["thresholds"].get("training_prevalence")})))
    i = payloads[MDS_IMAGE]
    if i["state"] == ScoreState.SCORED and i["level"] == "above_who":
        who = i["thresholds"].get("who_dysplasia_fraction", mds_image.WHO_DYSPLASIA_FRACTION)
        out.append(("dysplasia", f"dysplastic-looking neutrophils {i['value']:.0%} >= {who:.0%}",
                    Reason(flag_reasons.DYSPLASIA_ABOVE,
                           {"fraction": i["value"], "threshold": who})))
    if _is_outside(domain):
        out.append(("cells_outside_domain",
                    f"{domain['outside']} of {domain['cells']} images outside the validated domain",
                    Reason(flag_reasons.OUTSIDE_DOMAIN,
                           {k: domain[k] for k in ("outside", "cells", "max_outside")})))
    return out


@transaction.atomic
def scores_compute(*, specimen_id: int, trigger: str) -> list[Score]:
    """Compute every score; store a new revision of those whose inputs or result changed."""
    specimen = (Specimen.objects.select_for_update(of=("self",)).select_related("patient")
                .get(pk=specimen_id))
    # What it reads is what was committed by now: a request made after it waits for the next.
    ScoresRequest.objects.update_or_create(specimen_id=specimen_id,
                                           defaults={"computed_at": timezone.now()})
    features, context = _cbc_features(specimen)
    neutrophils, without_outputs, outside, every, waiting, read_outside = _neutrophils(specimen)
    read = _read_by_the_biologist(every, waiting)
    context = {**context, "neutrophils_without_anomaly_outputs": without_outputs,
               "neutrophils_outside_domain": outside}
    domain: dict[str, Any] | None = specimen_domain_latest(specimen)
    card_outputs = _card_outputs(neutrophils, list(domain["models"]) if domain else [])
    if domain is not None:
        domain = {k: domain[k] for k in ("code", "cells", "outside", "max_outside")}
    payloads = {
        # Outside the validated domain, counted on the biologist's reads once every neutrophil
        # has been read.
        VEXAS: _outside_domain(_vexas(features, context, neutrophils, card_outputs,
                                      read=read if _is_outside(domain) else None,
                                      read_outside=read_outside), domain),
        MDS_IMAGE: _outside_domain(_mds_image(neutrophils, card_outputs), domain),
        MDS_CBC: _mds_cbc(features, context, blast_messages(cbc_ip_messages(specimen))),
        MDS_FUSED: _mds_fused(features, context, neutrophils, domain),
    }
    # The neutrophils each score leaves out: the VEXAS rule counts the biologist's reads.
    left_out = {VEXAS: outside - len(read_outside)}
    if payloads[VEXAS]["state"] == ScoreState.SCORED and left_out[VEXAS] > 0 \
            and payloads[VEXAS]["inputs"].get("counted_on") != VEXAS_ON_READS:
        # Its count is not the differential's: said beside it, with what would count them.
        payloads[VEXAS]["inputs"]["outside_not_counted"] = left_out[VEXAS]
    payloads = {name: _counted_in_domain(payload, domain, left_out.get(name, outside))
                for name, payload in payloads.items()}
    if _is_outside(domain) and read is None:
        # What would let the rule count the biologist's reads instead.
        payloads[VEXAS]["reasons"].append(Reason(VEXAS_NEEDS_READS, {
            "n": len(every), "read": sum(c.reviewed_vacuoles is not None for c in every),
            "waiting": waiting}).as_dict())
    created = []
    for name, payload in payloads.items():
        latest = Score.objects.filter(specimen=specimen, name=name).order_by("-revision").first()
        if latest is not None and _same(latest, payload):
            continue
        created.append(Score.objects.create(
            specimen=specimen, name=name, revision=(latest.revision + 1) if latest else 1,
            trigger=trigger, **payload))
    specimen_flags_replace(
        specimen=specimen, source="score", rules_version=FLAG_RULES_VERSION,
        flags=[FlagRaised(flag, rule, 1, reason.as_dict())
               for flag, rule, reason in _flags(payloads, domain)])
    return created


def _same(score: Score, payload: dict[str, Any]) -> bool:
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    def norm(value: Any) -> str:
        return json.dumps(value, sort_keys=True, cls=DjangoJSONEncoder, default=str)

    # The evidence too: a biologist's read can change the count and its cells, not the points.
    keys = ("definition", "version", "sha256", "state", "value", "level", "inputs", "reasons",
            "evidence")
    return all(norm(getattr(score, k)) == norm(payload[k]) for k in keys)


def scores_current(specimen: Specimen) -> list[Score]:
    """The latest revision of each score of the specimen."""
    seen: dict[str, Score] = {}
    for score in Score.objects.filter(specimen=specimen).order_by("name", "-revision"):
        seen.setdefault(score.name, score)
    return list(seen.values())
