from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Patient, Sex, validate_collected_at
from .services import accession_clean


class PatientForm(forms.Form):
    external_id = forms.CharField(label=_("Hospital record number"), max_length=64, required=False)
    family_name = forms.CharField(label=_("Family name"), max_length=120, required=False)
    given_name = forms.CharField(label=_("Given name"), max_length=120, required=False)
    # The picker's own format: a date already entered (a correction) shows in it whatever the
    # reader's language ("20/02/1971" is no value to it, and would be sent back empty).
    birth_date = forms.DateField(label=_("Birth date"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"},
                                                        format="%Y-%m-%d"))
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices, initial=Sex.UNKNOWN)

    def clean_external_id(self) -> str:
        value = self.cleaned_data["external_id"].strip()
        if value and Patient.objects.filter(external_id=value).exists():
            raise forms.ValidationError(_("A patient with this record number already exists."))
        return value


class PatientCorrectionForm(forms.Form):
    """A registered patient's record corrected (not the record number: results are checked
    against it), with what was checked; pre-filled with the record as registered."""

    family_name = PatientForm.base_fields["family_name"]
    given_name = PatientForm.base_fields["given_name"]
    birth_date = PatientForm.base_fields["birth_date"]
    sex = PatientForm.base_fields["sex"]
    reason = forms.CharField(
        label=_("What was checked"), max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("For example: the birth date was checked against the identity document; "
                    "the ward's request gave the wrong sex."))


def collected_at_field(*, required: bool) -> forms.DateTimeField:
    """The collection time as every form takes it (a browser's date and time picker)."""
    return forms.DateTimeField(
        label=_("Collected at"), required=required,
        # The picker's own format, so that a time already entered shows in it to be corrected.
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        validators=[validate_collected_at])


class SpecimenForm(forms.Form):
    accession = forms.CharField(label=_("Accession number"), max_length=64)
    collected_at = collected_at_field(required=False)
    patient = forms.CharField(label=_("Patient (pseudonymous id)"), max_length=16, required=False)

    def clean_patient(self) -> Patient | None:
        value = self.cleaned_data["patient"].strip()
        if not value:
            return None
        patient = Patient.objects.filter(pseudo_id=value).first()
        if patient is None:
            raise forms.ValidationError(_("No patient has this pseudonymous id."))
        return patient

    def clean_accession(self) -> str:
        from django.core.exceptions import ValidationError

        from .models import Specimen

        try:
            value = accession_clean(self.cleaned_data["accession"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc
        if Specimen.objects.filter(accession=value).exists():
            raise forms.ValidationError(_("This accession number already exists."))
        return value


class MixupClearForm(forms.Form):
    reason = forms.CharField(
        label=_("What was checked"), max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("For example: both tubes' labels and the analyser's sample ids were checked; "
                    "the images were imported twice by mistake."))


class CollectionTimeForm(forms.Form):
    """A specimen's collection time entered or corrected on its page, while it is not signed."""

    collected_at = collected_at_field(required=True)
