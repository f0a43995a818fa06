from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class SmearUploadForm(forms.Form):
    files = forms.FileField(
        label=_("CellaVision export (zip), images or DICOM files"),
        widget=MultipleFileInput(attrs={"multiple": True, "id": "smear-files"}),
        required=False,
    )
