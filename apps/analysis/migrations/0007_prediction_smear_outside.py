from django.db import migrations, models
from django.db.models import Count, Q

from apps.ml.domain import SPECIMEN_OUTSIDE, specimen_domain_counts


def smears_outside(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Mark the predictions of each finished run whose smear was outside as a whole (the
    specimen rule, apps.ml.domain.specimen_domain_counts), as a run ending now would."""
    run_model = apps.get_model("analysis", "AnalysisRun")
    prediction_model = apps.get_model("analysis", "CellPrediction")
    for run in run_model.objects.filter(status="succeeded", domain_max_outside__isnull=False):
        counts = prediction_model.objects.filter(run=run).aggregate(
            checked=Count("id", filter=Q(in_domain__isnull=False)),
            outside=Count("id", filter=Q(in_domain=False)))
        verdict = specimen_domain_counts(checked=counts["checked"], outside=counts["outside"],
                                         max_outside=run.domain_max_outside)
        if verdict.code == SPECIMEN_OUTSIDE:
            prediction_model.objects.filter(run=run).update(smear_outside=True)


class Migration(migrations.Migration):

    dependencies = [
        ("analysis", "0006_prediction_vacuole_cam_map"),
    ]

    operations = [
        migrations.AddField(
            model_name="cellprediction",
            name="smear_outside",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(smears_outside, migrations.RunPython.noop),
    ]
