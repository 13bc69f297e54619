"""The audit event kind `lockout_cleared` (an administrator cleared a lockout)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_lockout_kinds"),
    ]

    operations = [
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
                db_index=True,
                max_length=32,
            ),
        ),
    ]
