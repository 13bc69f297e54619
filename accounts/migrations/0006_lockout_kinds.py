"""Lockout kinds: the account is keyed on the account (its normalised name), and trusted
devices (trust tokens) have lockouts of their own (accounts.security.lockout)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_username_ci_unique"),
    ]

    operations = [
        migrations.AlterField(
            model_name="lockout",
            name="kind",
            field=models.CharField(
                choices=[
                    ("account", "Account (normalised name)"),
                    ("address", "Client address"),
                    ("device", "Trusted device (its trust token)"),
                ],
                max_length=16,
            ),
        ),
    ]
