from django.contrib import admin

from apps.core.admin_base import ReadOnlyAdmin

from .models import Cell, SmearUpload


@admin.register(SmearUpload)
class SmearUploadAdmin(ReadOnlyAdmin):
    list_display = ["specimen", "kind", "original_name", "images_imported", "created_at"]
    search_fields = ["specimen__accession"]


@admin.register(Cell)
class CellAdmin(ReadOnlyAdmin):
    list_display = ["pk", "specimen", "analyser_class", "source_format", "width", "height"]
    search_fields = ["specimen__accession", "sha256"]
