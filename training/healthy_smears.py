"""How often a healthy smear is called dysplastic: simulated healthy smears from real cells.

    .venv/bin/python -m training.healthy_smears [--model models_onnx/hemaclinic-cells/1.3.0]

Every cell comes from the model's own PBC test split (healthy donors, never trained on).
Each simulated smear has a normal differential drawn per smear: segmented neutrophils
55-65 %, band neutrophils 0-5 %, eosinophils 1-4 %, basophils 0-1 %, monocytes 4-8 %, the
rest lymphocytes, 100 white cells (``--cells``). The cells are classified by the model (no
reviewer), the neutrophils' anomaly outputs go to ``apps.ml.scores.mds_image`` exactly as
the app does, and a smear counts as flagged when it meets the WHO 10 % dysplasia threshold.
Prints the share of flagged smears (target: at most 5 of 100) and why.

The same smears go to the VEXAS rule (``apps.ml.scores.vexas``) as a 70-year-old man's with a
normal blood count (``VEXAS_NORMAL_COUNT``): his sex and age give the rule 10 points, so a
smear the model calls 20 % vacuolated or more reaches the intermediate level and the worklist's
VEXAS flag. Prints how many smears get the vacuole part's points and how many are flagged
(target: at most 5 of 100).

Also prints how many neutrophils per smear the model's subtype reads as band forms, and how
many of those were drawn as bands: why the case page does not prompt on them; and on how many
smears the model calls a white cell an erythroblast, which an adult's NRBC row reads abnormal.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from apps.ml.cells import CellModel, CellPrediction, default_model_dir
from apps.ml.score_cells import open_image
from apps.ml.scores import vexas
from apps.ml.scores.mds_image import mds_image_evidence, neutrophil_anomalies
from training.data import default_datasets_dir, read_labels, read_split_csv

REPO = Path(__file__).resolve().parent.parent

# Normal adult differential (per 100 white cells), ranges drawn uniformly per smear.
NORMAL = {"SNE": (55, 65), "BNE": (0, 5), "EO": (1, 4), "BA": (0, 1), "MO": (4, 8)}
# The VEXAS rule's most exposed healthy subject: an older man (10 points) with a normal count.
VEXAS_NORMAL_COUNT = {"mcv_fl": 90.0, "hgb_g_dl": 14.5, "plt_10_9_l": 250.0, "sex": "M",
                      "age_years": 70.0}


@dataclass
class HealthySmears:
    model: str
    smears: int
    flagged: int
    available: tuple[str, ...]
    not_available: tuple[str, ...]
    fractions: list[float] = field(default_factory=list)
    bands_drawn: int = 0
    bands_driving: int = 0
    indeterminate: dict[str, int] = field(default_factory=dict)
    # The VEXAS rule on the same smears (VEXAS_NORMAL_COUNT): the vacuolated share per smear,
    # how many get half or all of the vacuole part's points, how many are flagged.
    vacuolated: list[float] = field(default_factory=list)
    vexas_half: int = 0
    vexas_full: int = 0
    vexas_flagged: int = 0
    # The neutrophils whose subtype the model reads as a band form (inside the domain) per
    # smear, and how many of them were drawn as band neutrophils (BNE): what a "model: band"
    # prompt on the case page would mark (measured so, and not shown: README, band forms).
    model_bands: list[int] = field(default_factory=list)
    model_bands_true: int = 0
    # Smears where the model calls a white cell an erythroblast (inside the domain): their
    # NRBC would read "Abnormal" (apps.smears.differential.nrbc_abnormal) without a reviewer.
    nrbc_smears: int = 0


def model_band(pred: CellPrediction) -> bool:
    """A neutrophil by the model, inside the domain, whose subtype it reads as a band form."""
    return (pred.cell_class == "neutrophil" and pred.subtype == "band_neutrophil"
            and pred.in_domain is not False)


def simulate(model: CellModel, datasets: Path, *, smears: int = 100, cells: int = 100,
             seed: int = 20261202) -> HealthySmears:
    """Simulated healthy smears from the model's own test split, scored as the app does."""
    pbc = datasets / "pbc"
    by_path = {s.path: s for s in read_labels(pbc / "labels.csv")}
    split = model.card.directory / "split.csv"
    test = [by_path[r[0]] for r in read_split_csv(split) if r[2] == "test"]
    pools = {k: [s for s in test if s.prefix == k] for k in (*NORMAL, "LY")}
    used = sorted({s.path for pool in pools.values() for s in pool})
    preds = dict(zip(used, model.predict([open_image(pbc / u) for u in used]), strict=True))
    gen = np.random.default_rng(seed)
    out = HealthySmears(f"{model.card.name} {model.card.version}", smears, 0, (), ())
    for _ in range(smears):
        counts = {k: int(round(gen.uniform(*NORMAL[k]) * cells / 100)) for k in NORMAL}
        counts["LY"] = cells - sum(counts.values())
        drawn = [s for k, n in counts.items()
                 for s in gen.choice(pools[k], size=n, replace=n > len(pools[k]))]
        out.nrbc_smears += any(preds[s.path].cell_class == "erythroblast"
                               and preds[s.path].in_domain is not False for s in drawn)
        marked = [s for s in drawn if model_band(preds[s.path])]
        out.model_bands.append(len(marked))
        out.model_bands_true += sum(1 for s in marked if s.prefix == "BNE")
        cols, idx = neutrophil_anomalies([preds[s.path] for s in drawn])
        res = mds_image_evidence(cols, n_neutrophils=len(idx))
        out.available, out.not_available = res.available, res.not_available
        out.bands_driving += sum(1 for d in res.drivers if drawn[idx[d.index]].prefix == "BNE")
        out.bands_drawn += sum(1 for i in idx if drawn[i].prefix == "BNE")
        if res.state == "scored" and res.fraction is not None:
            out.fractions.append(res.fraction)
            out.flagged += bool(res.meets_who_threshold)
        for r in res.reasons:
            out.indeterminate[str(r)] = out.indeterminate.get(str(r), 0) + 1
        if cols.get("vacuole") is not None:
            _vexas(out, vexas.vexas_score(vexas.VexasInputs(
                n_neutrophils=len(idx), vacuole_probs=cols["vacuole"],
                **VEXAS_NORMAL_COUNT)))  # type: ignore[arg-type]
    return out


def _vexas(out: HealthySmears, result: vexas.VexasResult) -> None:
    """Count one smear's VEXAS result (the vacuole part's points; flagged as the worklist
    flags it: an intermediate or high level with vacuolated neutrophils among its points)."""
    part = next(c for c in result.contributions if c.name == "vacuoles")
    if isinstance(part.value, float):
        out.vacuolated.append(part.value)
    out.vexas_half += 0 < part.points < part.weight
    out.vexas_full += part.points == part.weight > 0
    out.vexas_flagged += result.level in ("intermediate", "high") and part.points > 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=None, help="model folder (default: registered)")
    p.add_argument("--datasets", type=Path, default=default_datasets_dir())
    p.add_argument("--smears", type=int, default=100)
    p.add_argument("--cells", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=20261202)
    args = p.parse_args()
    model_dir = args.model or default_model_dir(REPO / "models_onnx")
    if model_dir is None:
        sys.exit("no cell model registered")
    model = CellModel.from_dir(model_dir, threads=args.threads)
    r = simulate(model, args.datasets, smears=args.smears, cells=args.cells, seed=args.seed)
    print(f"model {r.model}; anomaly outputs used: {', '.join(r.available) or 'none'}; "
          f"not available: {', '.join(r.not_available)}")
    print(f"healthy smears flagged dysplastic (>= WHO 10%): {r.flagged} of {r.smears} "
          "(target <= 5)")
    if r.fractions:
        print(f"share of dysplastic-looking neutrophils per scored smear: median "
              f"{np.median(r.fractions):.1%}, 95th percentile "
              f"{np.quantile(r.fractions, 0.95):.1%}")
    print(f"band neutrophils among the driving cells: {r.bands_driving} of {r.bands_drawn} "
          "bands drawn")
    if r.model_bands:
        print(f"neutrophils whose subtype the model reads as a band form, per smear (band "
              f"neutrophils drawn 0-5 per 100): median {np.median(r.model_bands):.0f}, 95th "
              f"percentile "
              f"{np.quantile(r.model_bands, 0.95):.0f}, at most {max(r.model_bands)}; "
              f"{r.model_bands_true} of {sum(r.model_bands)} were drawn as band neutrophils")
    print(f"smears where the model calls a white cell an erythroblast (NRBC would read "
          f"abnormal): {r.nrbc_smears} of {r.smears}")
    for reason, n in sorted(r.indeterminate.items()):
        print(f"indeterminate: {reason} ({n} smears)")
    if r.vacuolated:
        print(f"VEXAS rule, a 70-year-old man with a normal count: vacuolated neutrophils per "
              f"smear median {np.median(r.vacuolated):.1%}, 95th percentile "
              f"{np.quantile(r.vacuolated, 0.95):.1%}; half the vacuole points "
              f"{r.vexas_half}, all of them {r.vexas_full}; flagged {r.vexas_flagged} of "
              f"{r.smears} (target <= 5)")


if __name__ == "__main__":
    main()
