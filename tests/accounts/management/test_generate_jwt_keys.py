"""manage.py generate_jwt_keys: a usable key pair, a private file only its owner reads."""

import io
import stat
import time
import uuid

import jwt
import pytest
from django.core.management import CommandError, call_command


def generate(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("generate_jwt_keys", *args, stdout=out, stderr=err)
    return dict(line.split("=", 1) for line in out.getvalue().splitlines()), err.getvalue()


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_writes_a_pair_and_prints_settings_that_work(tmp_path, jwt_config, algorithm):
    printed, hint = generate("--algorithm", algorithm, "--out-dir", str(tmp_path), "--kid", "k1")

    private_file = tmp_path / "k1.private.pem"
    public_file = tmp_path / "k1.public.pem"
    assert stat.S_IMODE(private_file.stat().st_mode) == 0o600
    assert private_file.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert public_file.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert printed == {
        "JWT_ALGORITHM": algorithm,
        "JWT_SIGNING_KEY": str(private_file),
        "JWT_VERIFYING_KEY": str(public_file),
        "JWT_KEY_ID": "k1",
    }
    assert "JWT_OLD_VERIFYING_KEYS" in hint

    backend = jwt_config(**{"algorithm": printed.pop("JWT_ALGORITHM"), **printed})
    now = int(time.time())
    token = backend.encode({"sub": "1", "exp": now + 60, "iat": now, "jti": uuid.uuid4().hex})
    assert jwt.get_unverified_header(token)["kid"] == "k1"
    assert jwt.decode(token, public_file.read_text(), algorithms=[algorithm])["sub"] == "1"


def test_default_kid_names_algorithm_and_date_and_paths_are_project_relative(tmp_path, settings):
    settings.BASE_DIR = tmp_path
    printed, _ = generate("--algorithm", "ES256", "--out-dir", str(tmp_path / "keys"))
    kid = printed["JWT_KEY_ID"]
    assert kid.startswith(f"es256-{time.strftime('%Y%m%d', time.gmtime())}-")
    assert printed["JWT_SIGNING_KEY"] == f"keys/{kid}.private.pem"


def test_two_runs_make_two_different_keys(tmp_path):
    first, _ = generate("--out-dir", str(tmp_path))
    second, _ = generate("--out-dir", str(tmp_path))
    assert first["JWT_KEY_ID"] != second["JWT_KEY_ID"]
    assert first["JWT_ALGORITHM"] == "RS256"
    assert (tmp_path / f"{first['JWT_KEY_ID']}.private.pem").read_bytes() != (
        tmp_path / f"{second['JWT_KEY_ID']}.private.pem"
    ).read_bytes()


def test_never_overwrites_a_key(tmp_path):
    generate("--out-dir", str(tmp_path), "--kid", "same")
    before = (tmp_path / "same.private.pem").read_bytes()
    with pytest.raises(CommandError, match="exists"):
        generate("--out-dir", str(tmp_path), "--kid", "same")
    assert (tmp_path / "same.private.pem").read_bytes() == before


@pytest.mark.parametrize("kid", ["a=b", "../escape", "with space", "a,b"])
def test_refuses_a_kid_that_breaks_the_settings_format(tmp_path, kid):
    with pytest.raises(CommandError, match="--kid"):
        generate("--out-dir", str(tmp_path), "--kid", kid)
    assert list(tmp_path.iterdir()) == []


def test_refuses_an_algorithm_without_key_pair(tmp_path):
    with pytest.raises(CommandError):
        generate("--algorithm", "HS256", "--out-dir", str(tmp_path))
