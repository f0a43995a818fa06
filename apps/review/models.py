from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.patients.models import Specimen


class Meaning(models.TextChoices):
    VALIDATED = "validated", _("Validated")
    REJECTED = "rejected", _("Rejected")


class Signature(models.Model):
    """A biologist's signed decision on a specimen. Immutable once written.

    `content` is the exact report content that was signed (schema hemaclinic-report/1) and
    `content_sha256` its hash over canonical JSON, so any printed report can be checked against
    what was signed. A later change is an amendment: a new Signature with a higher version.
    """

    specimen = models.ForeignKey(Specimen, on_delete=models.PROTECT, related_name="signatures")
    version = models.PositiveIntegerField()
    meaning = models.CharField(max_length=16, choices=Meaning.choices)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+")
    signed_at = models.DateTimeField(auto_now_add=True)
    comment = models.TextField(blank=True)
    amendment_reason = models.TextField(blank=True)
    content = models.JSONField(encoder=DjangoJSONEncoder)
    content_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["specimen", "version"], name="signature_version"),
        ]

    def __str__(self) -> str:
        return f"{self.specimen} v{self.version} {self.meaning}"

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if not self._state.adding:
            raise ValueError("A signature cannot be changed; amend the case instead.")
        super().save(*args, **kwargs)
