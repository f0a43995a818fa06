from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('smears', '0003_cell_sha256_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='cell',
            name='reviewed_name',
            field=models.CharField(blank=True, max_length=80),
        ),
    ]
