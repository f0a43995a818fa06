from django.contrib import admin

from apps.core.admin_base import ReadOnlyAdmin

from .models import CBCImport, CBCResult, CBCValue


class CBCValueInline(admin.TabularInline):
    model = CBCValue
    extra = 0
    can_delete = False
    readonly_fields = ["code", "value", "unit", "raw_value", "raw_unit", "analyser_flag",
                       "ref_low", "ref_high", "flag"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(CBCImport)
class CBCImportAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "file_name", "format", "results_created", "duplicates"]


@admin.register(CBCResult)
class CBCResultAdmin(ReadOnlyAdmin):
    list_display = ["specimen", "analyser", "measured_at", "source_format"]
    search_fields = ["specimen__accession"]
    inlines = [CBCValueInline]
