from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.review.models import Signature


class ReportStatus(models.TextChoices):
    PENDING = "pending", _("Being rendered")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class Report(models.Model):
    """The printed validation report of one signature, in one language. The PDF is rendered once
    (in a worker) and stored with its hash: downloading it again returns the same bytes."""

    signature = models.ForeignKey(Signature, on_delete=models.PROTECT, related_name="reports")
    language = models.CharField(max_length=8)
    status = models.CharField(max_length=16, choices=ReportStatus.choices,
                              default=ReportStatus.PENDING)
    pdf = models.FileField(upload_to="reports/", max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rendered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["signature", "language"], name="report_per_language"),
        ]

    def __str__(self) -> str:
        return f"report {self.signature} {self.language} {self.status}"


class ResultMessage(models.Model):
    """The result message sent to the laboratory information system for one signature (HL7 v2.5
    ORU^R01, built from the signed content). Written once at signing, with its sha256; never
    changed: an amendment is a new signature, hence a new message (its own control id)."""

    HL7_ORU_R01 = "hl7v2.5-oru-r01"

    signature = models.ForeignKey(Signature, on_delete=models.PROTECT,
                                  related_name="result_messages")
    format = models.CharField(max_length=32, default=HL7_ORU_R01)
    control_id = models.CharField(max_length=80)
    message = models.TextField(help_text="The message exactly as sent (ER7, segments ended by CR).")
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["signature", "format"],
                                    name="result_message_per_format"),
        ]

    def __str__(self) -> str:
        return f"{self.format} {self.control_id}"

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if not self._state.adding:
            raise ValueError("A result message cannot be changed; amend the case instead.")
        super().save(*args, **kwargs)
