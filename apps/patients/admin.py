from django.contrib import admin

from apps.core.admin_base import ReadOnlyAdmin

from .models import Patient, Specimen


@admin.register(Patient)
class PatientAdmin(ReadOnlyAdmin):
    list_display = ["pseudo_id", "external_id", "family_name", "given_name", "sex", "created_at"]
    search_fields = ["pseudo_id", "external_id", "family_name"]


@admin.register(Specimen)
class SpecimenAdmin(ReadOnlyAdmin):
    list_display = ["accession", "patient", "status", "collected_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["accession", "patient__pseudo_id"]
