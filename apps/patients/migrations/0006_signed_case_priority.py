"""A signed case's worklist priority counts only the flags it waits for (models.flag_waits):
the priorities stored before are read again once."""

from django.db import migrations

# As models.SIGNED_STATUSES and models.SIGNED_CASE_FLAGS when this migration was written.
SIGNED = ("validated", "rejected")
WAITING_WHEN_SIGNED = ("possible_mixup", "cbc_after_signing")


def signed_priorities(apps, schema_editor):  # type: ignore[no-untyped-def]
    Specimen = apps.get_model("patients", "Specimen")
    SpecimenFlag = apps.get_model("patients", "SpecimenFlag")
    for specimen in Specimen.objects.filter(status__in=SIGNED).only("pk", "priority"):
        priority = sum(SpecimenFlag.objects.filter(
            specimen_id=specimen.pk, name__in=WAITING_WHEN_SIGNED).values_list("weight",
                                                                              flat=True))
        if priority != specimen.priority:
            Specimen.objects.filter(pk=specimen.pk).update(priority=priority)


class Migration(migrations.Migration):
    dependencies = [("patients", "0005_specimen_collected_at_range")]
    operations = [migrations.RunPython(signed_priorities, migrations.RunPython.noop)]
