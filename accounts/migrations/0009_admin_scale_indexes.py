"""Indexes for the admin at production size (issue 18, docs/performance.md): the default
orderings and filters of every changelist, the exact-match audit search, and on PostgreSQL
pg_trgm indexes for the users' and API keys' substring search (SQLite skips those)."""

import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

# (index, table, column): GIN trigram indexes on UPPER(column), the expression Django's
# `icontains` compares on PostgreSQL, so the admin's search uses them.
TRIGRAM_INDEXES = [
    ("user_username_trgm_idx", "accounts_user", "username"),
    ("user_email_trgm_idx", "accounts_user", "email"),
    ("user_first_name_trgm_idx", "accounts_user", "first_name"),
    ("user_last_name_trgm_idx", "accounts_user", "last_name"),
    ("apikey_name_trgm_idx", "accounts_apikey", "name"),
]


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f'CREATE INDEX "{name}" ON "{table}" USING gin (UPPER("{column}") gin_trgm_ops)'
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in TRIGRAM_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_browser_sessions"),
    ]

    operations = [
        # CREATE EXTENSION IF NOT EXISTS pg_trgm on PostgreSQL; nothing elsewhere.
        TrigramExtension(),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(
                condition=models.Q(("is_staff", True)), fields=["username"], name="user_staff_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(
                condition=models.Q(("is_superuser", True)),
                fields=["username"],
                name="user_superuser_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(
                condition=models.Q(("is_active", False)),
                fields=["username"],
                name="user_inactive_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="devicesession",
            index=models.Index(fields=["-last_used_at"], name="devsess_last_used_idx"),
        ),
        migrations.AddIndex(
            model_name="devicesession",
            index=models.Index(
                condition=models.Q(("revoked_at__isnull", True)),
                fields=["-last_used_at"],
                name="devsess_unrevoked_used_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="devicesession",
            index=models.Index(
                condition=models.Q(("revoked_at__isnull", True)),
                fields=["refresh_expires_at"],
                name="devsess_unrevoked_expiry_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="devicesession",
            index=models.Index(
                fields=["revoke_reason", "-last_used_at"], name="devsess_reason_used_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="devicesession",
            index=models.Index(fields=["device_id"], name="devsess_device_idx"),
        ),
        # The kind and user indexes become the leading columns of (kind, created_at) and
        # (user, created_at): the same lookups, plus the list's order.
        migrations.AlterField(
            model_name="authevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("login_succeeded", "Sign-in succeeded"),
                    ("login_failed", "Sign-in failed"),
                    ("login_locked_out", "Sign-in refused: locked out"),
                    ("lockout_cleared", "Lockout cleared by an administrator"),
                    ("refresh_reused", "Refresh token reuse detected"),
                    ("device_mismatch", "Refresh from another device"),
                    ("device_limit_reached", "Device limit reached"),
                    ("session_revoked", "Device session revoked"),
                    ("logout", "Signed out"),
                    ("password_changed", "Password changed"),
                    ("password_reset", "Password reset"),
                    ("api_key_created", "API key created"),
                    ("api_key_revoked", "API key revoked"),
                    ("api_key_refused", "API key refused"),
                ],
                max_length=32,
            ),
        ),
        migrations.AlterField(
            model_name="authevent",
            name="user",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="auth_events",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="authevent",
            index=models.Index(fields=["kind", "-created_at"], name="audit_kind_created_idx"),
        ),
        migrations.AddIndex(
            model_name="authevent",
            index=models.Index(fields=["user", "-created_at"], name="audit_user_created_idx"),
        ),
        migrations.AddIndex(
            model_name="authevent",
            index=models.Index(
                django.db.models.functions.text.Upper("username"), name="audit_username_upper_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="authevent",
            index=models.Index(
                django.db.models.functions.text.Upper("actor"),
                condition=models.Q(("actor", ""), _negated=True),
                name="audit_actor_upper_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="authevent",
            index=models.Index(fields=["ip_address"], name="audit_ip_idx"),
        ),
        migrations.AddIndex(
            model_name="apikey",
            index=models.Index(fields=["-created_at"], name="apikey_created_idx"),
        ),
        migrations.AddIndex(
            model_name="apikey",
            index=models.Index(
                condition=models.Q(("revoked_at__isnull", True)),
                fields=["-created_at"],
                name="apikey_unrevoked_created_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="apikey",
            index=models.Index(
                condition=models.Q(("revoked_at__isnull", False)),
                fields=["-created_at"],
                name="apikey_revoked_created_idx",
            ),
        ),
    ]
