from django.contrib import admin

from apps.core.admin_base import ReadOnlyAdmin

from .models import AnalysisRun, CellPrediction


@admin.register(AnalysisRun)
class AnalysisRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "specimen", "pipeline", "status", "progress_done", "progress_total",
                    "queued_at", "finished_at"]
    list_filter = ["status", "pipeline"]


@admin.register(CellPrediction)
class CellPredictionAdmin(ReadOnlyAdmin):
    list_display = ["cell", "cell_class", "cell_class_prob", "model_name", "model_version"]
    list_filter = ["cell_class", "model_version"]
