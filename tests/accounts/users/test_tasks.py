"""The account e-mail tasks: a mail server that refuses a message fails the task, so the
worker records it as failed instead of "successful" with the mail lost."""

from smtplib import SMTPException

import pytest
from django.core.mail.backends.base import BaseEmailBackend

from accounts.models import User
from accounts.users import tasks

pytestmark = pytest.mark.django_db


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise SMTPException("451 try again later")


def test_a_reset_mail_the_server_refuses_fails_the_task(settings):
    User.objects.create_user("ada", "ada@example.com", "a-long-passphrase-1")
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"

    with pytest.raises(SMTPException):
        tasks.send_password_reset_mail.call(
            email="ada@example.com", domain="testserver", use_https=True, language="en"
        )


def test_a_reset_mail_is_sent_with_the_kit_link(settings, mailoutbox):
    User.objects.create_user("ada", "ada@example.com", "a-long-passphrase-1")
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "PASSWORD_RESET_URL": "https://app.example/r/{uid}/{token}",
    }

    tasks.send_password_reset_mail.call(
        email="ada@example.com", domain="testserver", use_https=True, language="en"
    )

    [message] = mailoutbox
    assert message.to == ["ada@example.com"]
    assert "\n" not in message.subject
    assert "https://app.example/r/" in message.body
