from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .wording import FORMAT_NAMES

FORMAT_CHOICES = [("", _("Detect automatically")), *FORMAT_NAMES.items()]


class CBCUploadForm(forms.Form):
    # An empty file is refused in the importer's words (apps.hemograms.parsers).
    file = forms.FileField(label=_("CBC file (Sysmex XN CSV, HL7 v2, generic CSV)"),
                           error_messages={"empty": _("the file is empty")})
    format = forms.ChoiceField(label=_("Format"), choices=FORMAT_CHOICES, required=False)
