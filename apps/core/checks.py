"""System checks: start-up fails when a model file does not match its card or the result
message's notes language is not one of the site's, and warns when an int8 model is registered
on a CPU whose int8 kernels can saturate."""

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


@register(Tags.compatibility, deploy=False)
def check_hl7_notes_language(app_configs, **kwargs):  # type: ignore[no-untyped-def]
    codes = [code for code, _name in settings.LANGUAGES]
    language = settings.HL7_NOTES_LANGUAGE
    if language in codes:
        return []
    return [
        Error(
            f"HL7_NOTES_LANGUAGE={language!r} is not one of the site's languages "
            f"({', '.join(codes)}): the result message's notes could not be written in it.",
            hint="Set the environment variable HL7_NOTES_LANGUAGE to one of them, or unset it "
            "to follow LANGUAGE_CODE.",
            id="hemaclinic.E003",
        )
    ]
