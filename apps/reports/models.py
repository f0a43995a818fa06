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
