"""accounts.checks.check_database_supported: the databases refresh can run on."""

from django.db import connection

from accounts.checks import check_database_supported


def test_this_database_is_supported():
    assert check_database_supported() == []


def test_an_old_sqlite_is_named(monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")
    monkeypatch.setattr(connection.Database, "sqlite_version_info", (3, 31, 1), raising=False)
    monkeypatch.setattr(connection.Database, "sqlite_version", "3.31.1", raising=False)
    [error] = check_database_supported()
    assert error.id == "accounts.E002"
    assert "not SQLite 3.31.1" in error.msg


def test_another_database_is_refused(monkeypatch):
    monkeypatch.setattr(connection, "vendor", "mysql")
    [error] = check_database_supported()
    assert "not mysql" in error.msg
