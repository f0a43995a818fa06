"""System checks: start-up fails when a model file does not match its card, and warns when
an int8 model is registered on a CPU whose int8 kernels can saturate."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.checks import Warning as CheckWarning


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


@register(Tags.compatibility, deploy=False)
def check_int8_model_cpu(app_configs, **kwargs):  # type: ignore[no-untyped-def]
    from apps.ml.cards import CardError, int8_portability_warnings

    root = settings.MODELS_ONNX_DIR
    try:
        problems = int8_portability_warnings(root)
    except CardError:
        return []  # a broken registry is check_models_onnx's error
    return [
        CheckWarning(
            problem,
            hint="Register the float32 sibling in models_onnx/registry.json (drop the -int8 "
            "suffix), or re-run training.evaluate on this CPU before relying on int8.",
            id="hemaclinic.W002",
        )
        for problem in problems
    ]
