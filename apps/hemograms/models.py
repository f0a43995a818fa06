from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel
from apps.patients.models import Specimen


class CBCImport(TimeStampedModel):
    """One uploaded CBC file, kept whole as the raw source."""

    file_name = models.CharField(max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    format = models.CharField(max_length=16)
    raw = models.TextField(help_text="The file as received, decoded as text.")
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    results_created = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("CBC import")

    def __str__(self) -> str:
        return f"{self.file_name or self.file_sha256[:12]} ({self.format})"


class CBCResult(TimeStampedModel):
    specimen = models.ForeignKey(Specimen, on_delete=models.PROTECT, related_name="cbc_results")
    source = models.ForeignKey(CBCImport, on_delete=models.PROTECT, related_name="results")
    source_line = models.PositiveIntegerField()
    source_format = models.CharField(max_length=16)
    analyser = models.CharField(max_length=120, blank=True)
    measured_at = models.DateTimeField(null=True, blank=True)
    raw = models.TextField(help_text="The source text of this record.")
    reference_ranges_version = models.CharField(max_length=32)
    # Same record imported twice (same file or another export of it) is recognised by this key.
    dedup_key = models.CharField(max_length=64)
    # The analyser's own messages with this result, [{"kind": "ip"|"note", "text": ...}]:
    # Sysmex IP messages ('Blasts?') and HL7 NTE comments; see docs/cbc-formats.md.
    analyser_messages = models.JSONField(default=list, blank=True)
    # The patient's sex and birth date as the analyser's record gives them ("" / None when it
    # does not): used where the registered patient does not know them (reference.subject_for).
    record_sex = models.CharField(max_length=1, blank=True)
    record_birth_date = models.DateField(null=True, blank=True)
    # The sample's collection time as the file gives it (HL7 SPM-17 / OBR-7): the specimen
    # takes it when it has none; a different registered one is kept, and the case page says so.
    record_collected_at = models.DateTimeField(null=True, blank=True)

    @property
    def dated_by_collection(self) -> bool:
        """Whether the count's time is its sample's collection time, the file giving no time of
        analysis (HL7 without OBX-19: OBR-7 dates it): "measured at" would misname it."""
        return self.record_collected_at is not None and self.measured_at == self.record_collected_at

    class Meta:
        ordering = ["-measured_at", "-created_at"]
        verbose_name = _("CBC result")
        constraints = [
            models.UniqueConstraint(fields=["specimen", "dedup_key"], name="cbc_result_dedup"),
        ]

    def __str__(self) -> str:
        return f"CBC {self.specimen} {self.measured_at or ''}"

    @property
    def ip_messages(self) -> list[str]:
        """The analyser's interpretive alarms with this count ("Blasts?"), as it wrote them."""
        return [m.get("text", "") for m in self.analyser_messages or [] if m.get("kind") == "ip"]


class Flag(models.TextChoices):
    NONE = "", "—"
    LOW = "L", _("Low")
    HIGH = "H", _("High")


class CBCValue(models.Model):
    result = models.ForeignKey(CBCResult, on_delete=models.CASCADE, related_name="values")
    code = models.CharField(max_length=16)
    value = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=16, blank=True)
    raw_value = models.CharField(max_length=64, blank=True)
    raw_unit = models.CharField(max_length=32, blank=True)
    analyser_flag = models.CharField(max_length=16, blank=True)
    ref_low = models.FloatField(null=True, blank=True)
    ref_high = models.FloatField(null=True, blank=True)
    flag = models.CharField(max_length=1, choices=Flag.choices, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["result", "code"], name="cbc_value_unique_code"),
        ]

    def __str__(self) -> str:
        return f"{self.code}={self.raw_value} {self.unit}"


class ReferenceRangeSet(models.Model):
    """A versioned set of reference intervals. Values are flagged with the active set at import
    and keep its version: a new set never rewrites past results. A set that has been used is
    read-only; change it by saving it as a new version in the admin."""

    version = models.CharField(max_length=32, unique=True)
    note = models.TextField(blank=True)
    is_active = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("reference range set")

    def __str__(self) -> str:
        return f"{self.version}{' (active)' if self.is_active else ''}"

    @property
    def in_use(self) -> bool:
        return CBCResult.objects.filter(reference_ranges_version=self.version).exists()


class ReferenceInterval(models.Model):
    range_set = models.ForeignKey(ReferenceRangeSet, on_delete=models.CASCADE,
                                  related_name="intervals")
    code = models.CharField(max_length=16)
    sex = models.CharField(max_length=1, blank=True, choices=[("", _("any")), ("M", _("Male")),
                                                              ("F", _("Female"))])
    age_min = models.PositiveSmallIntegerField(null=True, blank=True,
                                               help_text="years, inclusive")
    age_max = models.PositiveSmallIntegerField(null=True, blank=True,
                                               help_text="years, exclusive")
    low = models.FloatField(null=True, blank=True)
    high = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["code", "sex", "age_min"]

    def __str__(self) -> str:
        return f"{self.code} {self.sex or '*'} {self.low}-{self.high}"


class HeldCBCRecord(TimeStampedModel):
    """A CBC row that arrived for a specimen already signed: kept with its file, outside the
    case, until a biologist who amended the case attaches it (nothing the lab sends is lost,
    and a signed result changes only through an amendment)."""

    specimen = models.ForeignKey(Specimen, on_delete=models.PROTECT,
                                 related_name="held_cbc_records")
    source = models.ForeignKey(CBCImport, on_delete=models.PROTECT, related_name="held_records")
    source_line = models.PositiveIntegerField()
    dedup_key = models.CharField(max_length=64)  # as CBCResult's: the same row is held once
    # What the biologist decides on without opening the file: when it was measured and its key
    # values ([{"code", "value", "unit", "decimals"}], hemograms.selectors.KEY_CODES; "decimals"
    # as the analyser gave them, absent from rows held before it was kept).
    measured_at = models.DateTimeField(null=True, blank=True)
    key_values = models.JSONField(default=list, blank=True)
    attached_result = models.OneToOneField(CBCResult, null=True, blank=True,
                                           on_delete=models.PROTECT, related_name="+")
    # Why a biologist left it out of the case ("" while it waits); who and when: the audit.
    left_out_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("CBC row held for an amendment")
        constraints = [
            models.UniqueConstraint(fields=["specimen", "dedup_key"], name="held_cbc_dedup"),
        ]

    def __str__(self) -> str:
        return f"held CBC {self.specimen} line {self.source_line}"
