from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = ("Evaluate a score on a patient cohort: ROC and precision-recall curves, AUC with "
            "95% CI, calibration and the confusion at the operating point.")

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        default = settings.BASE_DIR.parent / "shared" / "datasets" / "wbs_cbc"
        parser.add_argument("--cohort", type=Path, default=default,
                            help=f"cohort folder (default: {default})")
        parser.add_argument("--score", default="mds-cbc")
        parser.add_argument("--mode", choices=["model", "cv"], default="cv",
                            help="cv: the card's cross-validation (reproduces the card's "
                                 "figures); model: the installed model as it is")
        parser.add_argument("--out", type=Path, default=Path("evaluation"))
        parser.add_argument("--model-dir", type=Path, default=None)

    def handle(self, *args, **options) -> None:  # type: ignore[no-untyped-def]
        from apps.ml.scores.evaluate import EvaluationError, evaluate_cohort

        if not options["cohort"].is_dir():
            raise CommandError(f"No cohort folder at {options['cohort']}.")
        try:
            metrics = evaluate_cohort(
                cohort=options["cohort"], out=options["out"], score=options["score"],
                models_root=settings.MODELS_ONNX_DIR, model_dir=options["model_dir"],
                mode=options["mode"])
        except EvaluationError as exc:
            raise CommandError(str(exc)) from exc
        summary = {k: metrics[k] for k in ("score", "mode", "model") if k in metrics}
        for key in ("auc", "auc_ci", "sensitivity", "specificity", "accuracy", "brier", "ece"):
            if key in metrics:
                summary[key] = metrics[key]
        self.stdout.write(json.dumps(summary, indent=2, default=str))
        self.stdout.write(f"Figures and metrics written to {options['out']}/")
