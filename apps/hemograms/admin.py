from django.contrib import admin
from django.db import transaction

from apps.core.admin_base import ReadOnlyAdmin
from apps.core.audit import audit_record

from .models import CBCImport, CBCResult, CBCValue, ReferenceInterval, ReferenceRangeSet
from .services import reference_ranges_copy


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


class ReferenceIntervalInline(admin.TabularInline):
    model = ReferenceInterval
    extra = 1

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return obj is None or not obj.in_use

    has_add_permission = has_change_permission  # type: ignore[assignment]
    has_delete_permission = has_change_permission  # type: ignore[assignment]


@admin.register(ReferenceRangeSet)
class ReferenceRangeSetAdmin(admin.ModelAdmin):
    """Sets that have flagged results are read-only: "Copy as a new version" starts the next."""

    list_display = ["version", "is_active", "created_at", "created_by"]
    inlines = [ReferenceIntervalInline]
    actions = ["activate", "copy_as_new_version"]
    readonly_fields = ["is_active", "created_by", "created_at"]

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return super().has_change_permission(request, obj) and (obj is None or not obj.in_use)

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return obj is not None and not obj.in_use and not obj.is_active

    def save_model(self, request, obj, form, change) -> None:  # type: ignore[no-untyped-def]
        if not change:
            obj.created_by = request.user
            obj.is_active = False
        super().save_model(request, obj, form, change)
        audit_record(actor=request.user, action="reference_ranges.save", obj=obj,
                     after={"version": obj.version, "note": obj.note})

    @admin.action(description="Copy as a new version (inactive, editable)")
    def copy_as_new_version(self, request, queryset) -> None:  # type: ignore[no-untyped-def]
        for source in queryset:
            copy = reference_ranges_copy(actor=request.user, source=source)
            self.message_user(request, f"{copy.version} created from {source.version}.")

    @admin.action(description="Activate the selected set (new imports use it)")
    def activate(self, request, queryset) -> None:  # type: ignore[no-untyped-def]
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one set.", level="error")
            return
        chosen = queryset.get()
        with transaction.atomic():
            previous = list(ReferenceRangeSet.objects.filter(is_active=True)
                            .values_list("version", flat=True))
            ReferenceRangeSet.objects.update(is_active=False)
            ReferenceRangeSet.objects.filter(pk=chosen.pk).update(is_active=True)
            audit_record(actor=request.user, action="reference_ranges.activate", obj=chosen,
                         before={"active": previous}, after={"active": chosen.version})
        self.message_user(request, f"{chosen.version} is now the active reference range set.")
