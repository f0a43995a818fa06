"""The first reference range set, active: the built-in adult intervals (values inlined here so
that a later change in code never changes what this migration wrote)."""

from django.db import migrations

VERSION = "adult-default-1"
INTERVALS = [  # code, sex, low, high
    ('WBC', 'M', 4.0, 10.0),
    ('WBC', 'F', 4.0, 10.0),
    ('RBC', 'M', 4.5, 5.9),
    ('RBC', 'F', 4.0, 5.2),
    ('HGB', 'M', 13.0, 17.0),
    ('HGB', 'F', 12.0, 16.0),
    ('HCT', 'M', 40.0, 52.0),
    ('HCT', 'F', 36.0, 48.0),
    ('MCV', 'M', 80.0, 100.0),
    ('MCV', 'F', 80.0, 100.0),
    ('MCH', 'M', 27.0, 33.0),
    ('MCH', 'F', 27.0, 33.0),
    ('MCHC', 'M', 32.0, 36.0),
    ('MCHC', 'F', 32.0, 36.0),
    ('RDW-CV', 'M', 11.5, 14.5),
    ('RDW-CV', 'F', 11.5, 14.5),
    ('PLT', 'M', 150.0, 400.0),
    ('PLT', 'F', 150.0, 400.0),
    ('NEUT#', 'M', 1.8, 7.5),
    ('NEUT#', 'F', 1.8, 7.5),
    ('LYMPH#', 'M', 1.0, 4.0),
    ('LYMPH#', 'F', 1.0, 4.0),
    ('MONO#', 'M', 0.2, 1.0),
    ('MONO#', 'F', 0.2, 1.0),
    ('EO#', 'M', 0.0, 0.5),
    ('EO#', 'F', 0.0, 0.5),
    ('BASO#', 'M', 0.0, 0.1),
    ('BASO#', 'F', 0.0, 0.1),
]


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    RangeSet = apps.get_model("hemograms", "ReferenceRangeSet")  # noqa: N806
    Interval = apps.get_model("hemograms", "ReferenceInterval")  # noqa: N806
    if RangeSet.objects.exists():
        return
    range_set = RangeSet.objects.create(
        version=VERSION, is_active=True,
        note="Built-in adult intervals; review them against your own population.")
    Interval.objects.bulk_create([
        Interval(range_set=range_set, code=code, sex=sex, low=low, high=high)
        for code, sex, low, high in INTERVALS])


def unseed(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("hemograms", "ReferenceRangeSet").objects.filter(version=VERSION).delete()


class Migration(migrations.Migration):
    dependencies = [("hemograms", "0002_reference_range_sets")]
    operations = [migrations.RunPython(seed, unseed)]
