"""Usernames unique whatever their case.

A database that already holds two usernames differing only in case cannot take the
constraint: the migration stops before touching the schema and names them, so they can be
renamed (or merged) first, e.g. in `manage.py shell`.
"""

import django.db.models.functions.text
from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Lower


def refuse_case_duplicates(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    clashes = list(
        User.objects.using(schema_editor.connection.alias)
        .annotate(folded=Lower("username"))
        .values("folded")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("folded", flat=True)[:20]
    )
    if clashes:
        raise RuntimeError(
            "Cannot add accounts_user_username_ci_unique: these usernames exist in more than "
            f"one letter case: {', '.join(sorted(clashes))}. Rename all but one account of "
            "each (User.username) and run migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_lockouts"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(refuse_case_duplicates, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("username"),
                name="accounts_user_username_ci_unique",
                violation_error_message="A user with that username already exists.",
            ),
        ),
    ]
