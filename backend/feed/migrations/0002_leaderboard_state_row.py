"""The leaderboard's one state row, so no write path has to create it on first use."""

from django.db import migrations

from feed.migrations_support import create_leaderboard_state


def create_state_row(apps, schema_editor):
    create_leaderboard_state(apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("feed", "0001_initial")]

    operations = [migrations.RunPython(create_state_row, migrations.RunPython.noop)]
