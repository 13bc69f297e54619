"""accounts.checks.check_database_supported: the databases refresh can run on."""

from django.db import connection

from accounts.checks import check_database_supported


def test_this_database_is_supported():
    assert check_database_supported() == []


def test_another_database_is_refused(monkeypatch):
    monkeypatch.setattr(connection, "vendor", "mysql")
    [error] = check_database_supported()
    assert "not mysql" in error.msg
