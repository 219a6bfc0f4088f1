from django.db import migrations, models


def _mark_existing_rollups(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Rollups already written have no shares: the refresh recomputes days until a rebuild."""
    if apps.get_model("reports", "VolumeRollup").objects.exists() or apps.get_model(
        "reports", "DayTotals"
    ).objects.exists():
        apps.get_model("reports", "RollupsBeforeShares").objects.create(id=1)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_day_totals"),
    ]

    operations = [
        migrations.CreateModel(
            name="TicketShare",
            fields=[
                ("ticket_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("entries", models.TextField()),
            ],
        ),
        migrations.CreateModel(
            name="RollupsBeforeShares",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(
                        default=1, primary_key=True, serialize=False
                    ),
                ),
            ],
        ),
        migrations.RunPython(_mark_existing_rollups, migrations.RunPython.noop),
    ]
