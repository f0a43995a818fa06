from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.ml.cam import CamMap
from apps.ml.canonical import FOUND
from apps.ml.domain import CELL_OUTSIDE, CELL_SMEAR_OUTSIDE
from apps.patients.models import Specimen
from apps.smears.models import Cell

# Views in which the model saw a white cell: the canonical view found one, or the legacy centre
# crop (which does not look); "" for predictions stored before views were recorded.
VIEWS_WITH_A_CELL = frozenset({FOUND, "crop", ""})


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


# Why a run failed without an exception of its own, as a code with parameters (error_code,
# error_params), worded in the reader's language when shown.
RUN_ERROR_TEXTS = {
    "worker_lost": _("The analysis stopped after %(attempts)s attempts: the worker was lost "
                     "during each one (out of memory, a crash or a restart). Check the images, "
                     "then run the analysis again."),
    "superseded": _("Replaced by a newer analysis of this specimen (run %(run)s)."),
    "database_unavailable": _("The database could not be reached after %(retries)s retries; "
                              "run the analysis again."),
}


class AnalysisRun(models.Model):
    specimen = models.ForeignKey(Specimen, on_delete=models.PROTECT, related_name="analysis_runs")
    pipeline = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED,
                              db_index=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # [{name, version, sha256}] of every model the run used.
    models_used = models.JSONField(default=list, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # Figures of the run: seconds per stage, cells per second.
    timings = models.JSONField(default=dict, blank=True)
    # The cell model card's specimen rule (share of cells outside above which the specimen is
    # outside the validated domain), kept with the run; null when the model has no domain check.
    domain_max_outside = models.FloatField(null=True, blank=True)
    # When the run's message was last sent to the broker.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # The lease of a running run: its worker ("host:pid") renews it before and after every
    # batch; past lease_until the worker is taken as gone and the run is re-queued or failed
    # (services.analysis_runs_sweep). heartbeat_at: when the worker was last heard from.
    owner = models.CharField(max_length=128, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Why the run failed as a code (RUN_ERROR_TEXTS) when it is not an exception's message.
    error_code = models.CharField(max_length=32, blank=True)
    error_params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        verbose_name = _("analysis run")

    def __str__(self) -> str:
        return f"run {self.pk} {self.pipeline} {self.status}"

    def is_stale(self, now: datetime | None = None) -> bool:
        """Running, but its worker let the lease lapse: that worker is gone. A running run
        without a lease (stored before leases existed) is stale too."""
        if self.status != RunStatus.RUNNING:
            return False
        return self.lease_until is None or self.lease_until <= (now or timezone.now())

    @property
    def error_text(self) -> str:
        """The error in the reader's language when it has a code; the exception's otherwise."""
        text = RUN_ERROR_TEXTS.get(self.error_code)
        if text is None:
            return self.error
        return str(text) % self.error_params

    @property
    def progress_percent(self) -> int:
        if not self.progress_total:
            return 100 if self.status == RunStatus.SUCCEEDED else 0
        return round(100 * self.progress_done / self.progress_total)

    @property
    def is_active(self) -> bool:
        """Queued, or running with a live worker; a stale run is not active (it no longer
        blocks signing or a new request, and the sweep re-queues or fails it)."""
        return self.status == RunStatus.QUEUED or (
            self.status == RunStatus.RUNNING and not self.is_stale())


class CellPrediction(models.Model):
    """One model's output for one cell. Unique per cell and model version, so a re-run of the
    same model overwrites instead of duplicating."""

    cell = models.ForeignKey(Cell, on_delete=models.CASCADE, related_name="predictions")
    run = models.ForeignKey(AnalysisRun, on_delete=models.PROTECT, related_name="predictions")
    model_name = models.CharField(max_length=64)
    model_version = models.CharField(max_length=32)
    model_sha256 = models.CharField(max_length=64)
    cell_class = models.CharField(max_length=32, db_index=True)
    cell_class_prob = models.FloatField()
    class_probs = models.JSONField(default=dict)
    subtype = models.CharField(max_length=32, blank=True)
    subtype_prob = models.FloatField(null=True, blank=True)
    subtype_probs = models.JSONField(default=dict, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    attribute_probs = models.JSONField(default=dict, blank=True)
    # anomaly name -> probability, or null where the model card says "not available".
    anomalies = models.JSONField(default=dict, blank=True)
    # How the model input was made: "crop" (centre crop) or a canonical-view reason code
    # (apps.ml.canonical: "found", or why no white cell was found).
    view = models.CharField(max_length=32, blank=True)
    # Domain check (apps.ml.domain): distance / threshold, <= 1 inside; null when the model has
    # no domain check.
    domain_score = models.FloatField(null=True, blank=True)
    in_domain = models.BooleanField(null=True, blank=True)
    # The run found the smear as a whole outside the domain (more than its card's share of its
    # cells outside): then no image of it, not even one inside on its own, is counted on the
    # model's class until a biologist confirms it (set when the run ends, services._execute).
    smear_outside = models.BooleanField(default=False)
    # A rendered overlay PNG: what analyses stored before the compact map below. Kept, and
    # served, for those rows; new analyses leave it empty.
    cam = models.FileField(upload_to="cams/", max_length=255, blank=True)
    # The compact Grad-CAM (apps.ml.cam.CamMap): the uint8 map as .npy bytes and the box of the
    # model's view in the image, as fractions. Overlays are drawn from them when first asked for
    # (apps.analysis.overlays).
    cam_map = models.BinaryField(blank=True, default=b"")
    cam_box = models.JSONField(null=True, blank=True)
    # The vacuole output's map, same form and box (neutrophils, models that explain it).
    vacuole_cam_map = models.BinaryField(blank=True, default=b"")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["cell_id"]
        constraints = [
            models.UniqueConstraint(fields=["cell", "model_name", "model_version"],
                                    name="prediction_unique_per_model_version"),
        ]

    def __str__(self) -> str:
        return f"{self.cell_id}: {self.cell_class} ({self.model_name} {self.model_version})"

    @property
    def has_cam(self) -> bool:
        """Whether an overlay can be shown: a compact map, or an overlay stored before them."""
        return bool(self.cam_map) or bool(self.cam)

    def cam_stored(self, which: str = "cell_class") -> CamMap | None:
        """The compact map of ``which`` output ("cell_class" or "vacuole"), or None (none
        stored, or a row from before compact maps)."""
        data = self.vacuole_cam_map if which == "vacuole" else self.cam_map
        if not data or not self.cam_box:
            return None
        return CamMap.decode(bytes(data), self.cam_box)

    @property
    def shows_a_cell(self) -> bool:
        """Whether the image showed a white cell (the canonical view found a nucleus): only
        then is the network's class shown, as its suggestion."""
        return self.view in VIEWS_WITH_A_CELL

    @property
    def figures_hold(self) -> bool:
        """Whether the model's figures for this image (class, subtype and attribute
        probabilities, neutrophil outputs) mean what its card measured: the image showed a
        white cell like those the model was validated on, or nothing was checked (an older
        model). Outside, the network still gives a class, often with a probability near 1:
        it is shown as a suggestion, without its figures."""
        return self.shows_a_cell and self.in_domain is not False and not self.smear_outside

    @property
    def counted_class(self) -> str:
        """The class this prediction gives its cell: ``cell_class`` when the image showed a
        white cell like those the model was validated on, else '' and nothing is counted
        until a biologist classifies or confirms the image: a blank frame or a field of red
        cells (the network still names a class), an image outside the validated domain (a
        photo of something else called a monocyte, a cell from an unknown stain), or any image
        of a smear outside it as a whole (an image of an unknown stain that the check let
        through is not a count)."""
        return self.cell_class if self.figures_hold else ""

    @property
    def domain_flag(self) -> str:
        """Why this cell's image is not one the model was validated on, as a code: the
        canonical view's reason when no white cell was found, "outside_features" when its
        features are unlike the validated cells, "smear_outside" when they are not but its
        smear as a whole is outside; "" otherwise (or when nothing was checked)."""
        if not self.shows_a_cell:
            return self.view
        if self.in_domain is False:
            return CELL_OUTSIDE
        return CELL_SMEAR_OUTSIDE if self.smear_outside else ""


class ScoreState(models.TextChoices):
    SCORED = "scored", _("Scored")
    INDETERMINATE = "indeterminate", _("Indeterminate")
    UNAVAILABLE = "unavailable", _("Not available")


class Score(models.Model):
    """One computation of a patient-level score. Never updated: a recomputation (new CBC,
    new analysis, a biologist's correction) adds a row with the next revision."""

    specimen = models.ForeignKey(Specimen, on_delete=models.PROTECT, related_name="scores")
    name = models.CharField(max_length=32)
    revision = models.PositiveIntegerField()
    definition = models.CharField(max_length=64)       # model or rule-set name
    version = models.CharField(max_length=32)
    sha256 = models.CharField(max_length=64, blank=True)  # model file; empty for rules in code
    state = models.CharField(max_length=16, choices=ScoreState.choices)
    value = models.FloatField(null=True, blank=True)
    level = models.CharField(max_length=16, blank=True)
    thresholds = models.JSONField(default=dict, blank=True)
    inputs = models.JSONField(default=dict, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    text = models.TextField(blank=True)
    trigger = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-revision"]
        constraints = [
            models.UniqueConstraint(fields=["specimen", "name", "revision"],
                                    name="score_revision"),
        ]

    def __str__(self) -> str:
        return f"{self.specimen} {self.name} r{self.revision} {self.state}"

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if not self._state.adding:
            raise ValueError("Scores are never changed: compute a new revision.")
        super().save(*args, **kwargs)


class ScoresRequest(models.Model):
    """When a specimen's scores were last asked for (services.scores_request: a blood count,
    an analysis or a review changed what they read) and when the last computation began that
    read it all: while a request is the newer, the pages say that the scores they show are the
    previous ones (selectors.scores_pending)."""

    specimen = models.OneToOneField(Specimen, on_delete=models.CASCADE,
                                    related_name="scores_request")
    requested_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"scores of specimen {self.specimen_id}"

    @property
    def pending(self) -> bool:
        return self.requested_at is not None and (
            self.computed_at is None or self.requested_at > self.computed_at)
