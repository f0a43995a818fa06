"""System checks: start-up fails when a model file does not match its card."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.compatibility, deploy=False)
def check_models_onnx(app_configs, **kwargs):  # type: ignore[no-untyped-def]
    from apps.ml.cards import verify_models

    root = settings.MODELS_ONNX_DIR
    if not root.exists():
        return []
    return [
        Error(problem, hint="Restore the file from the release or re-register the model.",
              id="hemaclinic.E001")
        for problem in verify_models(root)
    ]
