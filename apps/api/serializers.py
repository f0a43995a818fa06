from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.analysis.models import AnalysisRun, RunStatus
from apps.analysis.selectors import run_domain, specimen_domain_latest
from apps.patients.models import Patient, Sex, Specimen, validate_collected_at
from apps.patients.services import accession_clean

from .tokens import LIFETIME_DAYS, MAX_LIFETIME_DAYS


class PatientSerializer(serializers.ModelSerializer):
    class Meta:
        model = Patient
        fields = ["pseudo_id", "external_id", "family_name", "given_name", "birth_date", "sex",
                  "created_at"]
        read_only_fields = ["pseudo_id", "created_at"]


class PatientCreateSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=64, required=False, allow_blank=True)
    family_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    given_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    birth_date = serializers.DateField(required=False, allow_null=True)
    sex = serializers.ChoiceField(choices=Sex.choices, required=False, default=Sex.UNKNOWN)

    def validate_external_id(self, value: str) -> str:
        value = value.strip()
        if value and Patient.objects.filter(external_id=value).exists():
            raise serializers.ValidationError("A patient with this record number already exists.")
        return value


class PatientCorrectSerializer(serializers.Serializer):
    """A correction of the record: the fields given change, the others stay; the record
    number is not corrected (results are checked against it)."""

    family_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    given_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    birth_date = serializers.DateField(required=False, allow_null=True)
    sex = serializers.ChoiceField(choices=Sex.choices, required=False)
    reason = serializers.CharField(max_length=500, help_text="What was checked (audited).")


class PatientCorrectionSerializer(serializers.Serializer):
    patient = PatientSerializer()
    fields = serializers.ListField(child=serializers.CharField(),
                                   help_text="The fields that changed; none: nothing written.")
    read_again = serializers.ListField(
        child=serializers.CharField(),
        help_text="Accessions whose blood counts and scores were read again for the corrected "
        "sex and age.")
    signed = serializers.ListField(
        child=serializers.CharField(),
        help_text="Signed cases, kept as signed until amended (the amendment reads them again).")


class SpecimenSerializer(serializers.ModelSerializer):
    # null: a specimen may be registered before its patient is known.
    patient = serializers.SlugRelatedField(slug_field="pseudo_id", read_only=True, allow_null=True)

    class Meta:
        model = Specimen
        fields = ["accession", "patient", "collected_at", "status", "created_at"]


DOMAIN_PROPERTIES = {
    "code": {"type": "string", "enum": ["inside", "outside", "unchecked"]},
    "cells": {"type": "integer", "description": "Cells checked."},
    "outside": {"type": "integer", "description": "Of them, outside the domain."},
    "waiting": {"type": "integer",
                "description": "Of those outside, not yet confirmed or reclassified by a "
                               "biologist: not counted in the differential until then."},
    "max_outside": {"type": "number", "nullable": True,
                    "description": "The limit: the specimen is outside when more than this "
                                   "share of its checked cells are; null: no domain check."},
}


class SpecimenDetailSerializer(SpecimenSerializer):
    domain = serializers.SerializerMethodField()

    class Meta(SpecimenSerializer.Meta):
        fields = [*SpecimenSerializer.Meta.fields, "domain"]

    @extend_schema_field({
        "type": "object", "nullable": True,
        "description": "Are the images of the latest finished analysis inside the domain the "
        "cell model was validated on? As the document's `domain` and the case page: code "
        "(\"unchecked\": the model has no domain check), cells, outside, max_outside, the run "
        "and its models; null before any analysis has finished.",
        "properties": {**DOMAIN_PROPERTIES, "run": {"type": "integer"},
                       "models": {"type": "array", "items": {
                           "type": "object", "properties": {
                               "name": {"type": "string"}, "version": {"type": "string"},
                               "sha256": {"type": "string"}}}}},
    })
    def get_domain(self, specimen: Specimen) -> dict[str, object] | None:
        return specimen_domain_latest(specimen)


class SpecimenCreateSerializer(serializers.Serializer):
    accession = serializers.CharField(max_length=64)
    collected_at = serializers.DateTimeField(required=False, allow_null=True,
                                             validators=[validate_collected_at])
    patient = serializers.SlugRelatedField(slug_field="pseudo_id", queryset=Patient.objects.all(),
                                           required=False, allow_null=True)

    def validate_accession(self, value: str) -> str:
        from django.core.exceptions import ValidationError

        try:
            value = accession_clean(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        if Specimen.objects.filter(accession=value).exists():
            raise serializers.ValidationError("This accession number already exists.")
        return value


class FileUploadSerializer(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(), allow_empty=False)


class CBCUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    format = serializers.ChoiceField(choices=["sysmex", "hl7", "csv"], required=False)


class SmearImportOutcomeSerializer(serializers.Serializer):
    """What an image upload imported (apps.smears.services.SmearImportOutcome.as_dict)."""

    specimen = serializers.CharField()
    upload = serializers.IntegerField(allow_null=True)
    images_imported = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    duplicate_files = serializers.ListField(child=serializers.CharField())
    rejected = serializers.ListField(child=serializers.DictField(child=serializers.CharField()))
    skipped = serializers.ListField(child=serializers.DictField(child=serializers.CharField()))
    analysis_run = serializers.IntegerField(allow_null=True)
    cross_specimen_duplicates = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()),
        help_text="Imported images identical to cells of another specimen: {file, specimen}.")


class CBCImportOutcomeSerializer(serializers.Serializer):
    """What a CBC import did (apps.hemograms.services.CBCImportOutcome)."""

    format = serializers.CharField()
    records = serializers.IntegerField()
    results_created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField(),
                                   help_text="Per refused record: line, code, reason, ... "
                                   "(reason in the request's language); held: true when the "
                                   "record's specimen is signed and the record is kept for "
                                   "a biologist to attach after an amendment")
    specimens = serializers.ListField(child=serializers.CharField())
    import_id = serializers.IntegerField(allow_null=True)
    warnings = serializers.ListField(
        child=serializers.CharField(),
        help_text="What reading the file assumed or left out without refusing a record "
                  "(ignored columns, the date order chosen for the file).")


class AnalysisRunSerializer(serializers.ModelSerializer):
    domain = serializers.SerializerMethodField(
        help_text="Finished runs: are the images inside the domain the cell model was "
                  "validated on? {code: inside | outside | unchecked, cells, outside, "
                  "max_outside}; \"unchecked\": the model has no domain check.")

    class Meta:
        model = AnalysisRun
        fields = ["id", "pipeline", "status", "progress_done", "progress_total", "models_used",
                  "queued_at", "started_at", "finished_at", "error", "timings", "domain"]

    @extend_schema_field({
        "type": "object", "nullable": True,
        "description": "The run's domain verdict: code (inside, outside, unchecked), cells, "
        "outside, max_outside; null until the run has succeeded.",
        "properties": DOMAIN_PROPERTIES,
    })
    def get_domain(self, run: AnalysisRun) -> dict[str, object] | None:
        return run_domain(run) if run.status == RunStatus.SUCCEEDED else None


class TokenObtainSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False,
                                     style={"input_type": "password"})
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="",
                                 help_text="What the token is for, shown on the tokens page.")
    expires_in_days = serializers.IntegerField(
        min_value=1, max_value=MAX_LIFETIME_DAYS, required=False, default=LIFETIME_DAYS)


class TokenIssuedSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The full token, shown this once: only its hash is "
                                            "stored. Send it as `Authorization: Token <token>`.")
    prefix = serializers.CharField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class TokenRevokeSerializer(serializers.Serializer):
    prefix = serializers.CharField(
        max_length=12, required=False,
        help_text="Another token of yours to revoke; by default the one authenticating this "
                  "request.")


class TokenRevokedSerializer(serializers.Serializer):
    prefix = serializers.CharField()
    revoked_at = serializers.DateTimeField()
