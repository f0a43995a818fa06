# Each flag keeps its part of the specimen's priority, so the priority is one sum in patients.

from django.db import migrations, models

# The hemogram rules that weighed 2 (apps.hemograms.flags, cbc-flags-2); every other flag 1.
HEAVY_CBC_FLAGS = ("anaemia", "macrocytosis", "neutropenia", "thrombocytopenia")


def weigh_existing(apps, schema_editor):
    SpecimenFlag = apps.get_model("patients", "SpecimenFlag")
    SpecimenFlag.objects.filter(source="cbc", name__in=HEAVY_CBC_FLAGS).update(weight=2)


class Migration(migrations.Migration):

    dependencies = [
        ('patients', '0003_specimenflag_reason'),
    ]

    operations = [
        migrations.AddField(
            model_name='specimenflag',
            name='weight',
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.RunPython(weigh_existing, migrations.RunPython.noop),
    ]
