from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel
from apps.patients.models import Specimen

from .differential import scanner_class

EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "TIFF": "tif", "BMP": "bmp", "DICOM": "png"}


def cell_upload_to(instance: Cell, filename: str) -> str:
    # Never a name derived from user input: a random name under the specimen's numeric id.
    ext = EXTENSIONS.get(instance.source_format, "bin")
    return f"cells/{instance.specimen_id}/{uuid.uuid4().hex}.{ext}"


class UploadKind(models.TextChoices):
    ARCHIVE = "archive", _("CellaVision export (zip)")
    FOLDER = "folder", _("CellaVision export (folder)")
    IMAGES = "images", _("Single images")


class SmearUpload(TimeStampedModel):
    specimen = models.ForeignKey(Specimen, on_delete=models.PROTECT, related_name="uploads")
    kind = models.CharField(max_length=16, choices=UploadKind.choices)
    original_name = models.CharField(max_length=255, blank=True,
                                     help_text="As sent by the user; shown, never used as a path.")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    images_imported = models.PositiveIntegerField(default=0)
    duplicates = models.JSONField(default=list, blank=True)
    rejected = models.JSONField(default=list, blank=True)
    skipped = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("smear upload")

    def __str__(self) -> str:
        return f"{self.specimen} {self.get_kind_display()} ({self.images_imported})"


# Where Cell.latest_prediction finds the predictions read with the cell as a list
# (Prefetch(..., to_attr=PREDICTIONS_READ)).
PREDICTIONS_READ = "predictions_read"


# The biologist's read of a neutrophil's vacuoles as pages, endpoints and reports name it, and
# as Cell.reviewed_vacuoles stores it.
VACUOLE_READS: dict[str, bool | None] = {"seen": True, "none": False, "": None}


class Cell(TimeStampedModel):
    specimen = models.ForeignKey(Specimen, on_delete=models.PROTECT, related_name="cells")
    upload = models.ForeignKey(SmearUpload, on_delete=models.PROTECT, related_name="cells")
    image = models.FileField(upload_to=cell_upload_to, max_length=255)
    sha256 = models.CharField(max_length=64)
    source_name = models.CharField(max_length=255, blank=True)
    source_format = models.CharField(max_length=8)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    # The analyser's pre-classification (CellaVision class folder): never our prediction.
    analyser_class = models.CharField(max_length=64, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # The biologist's class after review (empty until reviewed); changes are audited.
    reviewed_class = models.CharField(max_length=32, blank=True, db_index=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # What the biologist named a cell classed "other" (plasma cell, reactive lymphocyte), as
    # typed; empty for any other class, or when not named.
    reviewed_name = models.CharField(max_length=80, blank=True)
    # The biologist's read of a neutrophil's cytoplasmic vacuoles: True seen, False none seen,
    # None not read (the model's vacuole output counts). Changes are audited; read by the
    # VEXAS rule in place of the model's output.
    reviewed_vacuoles = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("cell")
        constraints = [
            models.UniqueConstraint(fields=["specimen", "sha256"], name="cell_unique_per_specimen"),
        ]
        # The unique constraint leads with specimen; the cross-specimen duplicate lookup
        # (selectors.cells_stored_elsewhere) filters by sha256 alone, across every specimen.
        indexes = [models.Index(fields=["sha256"], name="cell_sha256")]

    def __str__(self) -> str:
        return f"cell {self.pk} of {self.specimen}"

    @property
    def final_class(self) -> str:
        """The biologist's class when reviewed, else the newest prediction's counted class
        (``CellPrediction.counted_class``: '' when its image showed no white cell), else ''.

        The one rule for "what is this cell": every page, score, export and report reads it here.
        """
        if self.reviewed_class:
            return self.reviewed_class
        prediction = self.latest_prediction()
        return prediction.counted_class if prediction else ""

    @property
    def vacuoles_read(self) -> str:
        """The biologist's read of its vacuoles as a code (VACUOLE_READS): "seen", "none", or
        "" when not read."""
        return next(code for code, value in VACUOLE_READS.items()
                    if value is self.reviewed_vacuoles)

    @property
    def scanner_class(self) -> str:
        """The class the scanner's class folder (`analyser_class`) names, '' when it names none
        (apps.smears.differential.scanner_class)."""
        return scanner_class(self.analyser_class)

    def latest_prediction(self):  # type: ignore[no-untyped-def]
        """The newest stored prediction. Uses the rows a query read with the cell when there are
        some: prefetch_related("predictions"), or Prefetch("predictions", to_attr=
        PREDICTIONS_READ), a plain list that a page reading every cell several times (the case
        page: gallery, differential, sign blockers) rereads without a related manager."""
        predictions = self.__dict__.get(PREDICTIONS_READ)
        if predictions is None:
            predictions = list(self.predictions.all())
        return max(predictions, key=lambda p: (p.created_at, p.pk)) if predictions else None
