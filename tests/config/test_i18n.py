"""Translations (docs/translations.md): the language comes from Accept-Language, pages and
e-mails come out in it, API `detail` texts too (their `code`s never change), and the
French catalogue covers every string the code and templates mark."""

import os
import re
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from accounts.conf import kit_settings
from config import middleware

ROOT = Path(settings.BASE_DIR)
CATALOGUE = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
COMPILED = CATALOGUE.with_suffix(".mo")
FRENCH = {"HTTP_ACCEPT_LANGUAGE": "fr-FR,fr;q=0.9,en;q=0.8"}
SITE = kit_settings.SITE_NAME


@pytest.fixture(autouse=True)
def _no_language_left_behind():
    """A request activates its language in this thread; the next test starts clean."""
    yield
    translation.deactivate()


def _lang(response):
    return response.content.decode().split("<html lang=", 1)[1].split(">", 1)[0]


# --- the language of a request ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("fr", "fr"),
        ("fr-CA", "fr"),
        ("de-DE,de;q=0.9,fr;q=0.5,en;q=0.3", "fr"),  # no German: the next one asked for
        ("en", "en"),
        ("en-GB,fr;q=0.5", "en"),
        ("de", "en"),  # unknown: English
        ("xx-YY;q=oops, ,;", "en"),  # malformed: English, never an error
        (None, "en"),  # absent: English
    ],
)
def test_the_login_page_speaks_the_language_the_browser_asks_for(header, language):
    client = Client(**({"HTTP_ACCEPT_LANGUAGE": header} if header else {}))
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert _lang(response) == f'"{language}"'
    assert response["Content-Language"] == language
    assert "Accept-Language" in response["Vary"]
    body = response.content.decode()
    if language == "fr":
        assert f"<title>Se connecter · {SITE}</title>" in body
        assert "Nom d&#x27;utilisateur ou adresse e-mail" in body  # the form's label
        assert "Mot de passe oublié" in body
    else:
        assert f"<title>Sign in · {SITE}</title>" in body
        assert "Username or e-mail" in body
        assert "Forgot your password?" in body


@pytest.mark.django_db
def test_the_sign_up_and_password_reset_pages_in_french(settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "ALLOW_SIGNUP": True}
    client = Client(**FRENCH)
    signup = client.get("/accounts/signup/").content.decode()
    assert '<html lang="fr">' in signup
    assert f"Créez votre compte {SITE}" in signup
    assert "Mot de passe (confirmation)" in signup
    reset = client.get("/accounts/password_reset/").content.decode()
    assert '<html lang="fr">' in reset
    assert "Réinitialiser votre mot de passe" in reset
    assert "Envoyer le lien" in reset


@pytest.mark.django_db
def test_a_sign_up_form_error_in_french(settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "ALLOW_SIGNUP": True}
    response = Client(**FRENCH).post(
        "/accounts/signup/",
        {
            "username": "ada",
            "email": "ada@example.com",
            "password": "a-long-passphrase-42",
            "password_confirm": "something-else-42",
        },
    )
    assert response.status_code == 200
    assert "Les deux mots de passe sont différents." in response.content.decode()


@pytest.mark.django_db
def test_the_account_page_in_french_and_in_english(user, signed_in_browser):
    browser = signed_in_browser(user)
    french = browser.get("/accounts/", **FRENCH).content.decode()
    assert '<html lang="fr">' in french
    assert "<h1>Votre compte</h1>" in french
    assert "Appareils connectés" in french
    assert "Se déconnecter partout" in french
    english = browser.get("/accounts/").content.decode()
    assert '<html lang="en">' in english
    assert "<h1>Your account</h1>" in english
    assert "Sign out everywhere" in english


@pytest.mark.django_db
def test_a_message_after_a_redirect_is_in_the_language_of_its_request(user, signed_in_browser):
    browser = signed_in_browser(user)
    response = browser.post("/accounts/devices/sign-out-everywhere/", **FRENCH)
    assert response.status_code == 302
    page = browser.get(response["Location"], **FRENCH).content.decode()
    assert "Déconnecté partout ailleurs (0 appareil)." in page


# --- e-mails -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "subject", "greeting"),
    [
        (FRENCH, f"Réinitialisez votre mot de passe {SITE}", "Bonjour ada,"),
        ({"HTTP_ACCEPT_LANGUAGE": "en"}, f"Reset your {SITE} password", "Hello ada,"),
        ({}, f"Reset your {SITE} password", "Hello ada,"),
    ],
)
def test_the_reset_mail_is_in_the_language_of_the_request_that_asked(
    make_user, headers, subject, greeting
):
    make_user(username="ada", email="ada@example.com")
    response = Client(**headers).post("/accounts/password_reset/", {"email": "ada@example.com"})
    assert response.status_code == 302
    (sent,) = mail.outbox
    assert sent.subject == subject
    assert sent.body.startswith(greeting)
    french = headers is FRENCH
    assert ("Choisissez un nouveau mot de passe ici" in sent.body) is french
    assert ("Choose a new password here" in sent.body) is not french


@pytest.mark.django_db(transaction=True)
def test_the_queue_stores_the_language_and_the_worker_mails_in_it(make_user, settings):
    """Production's queue: the request's language is the task's `language` argument, and
    the worker (whose own language is English) renders the mail in it."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    make_user(username="ada", email="ada@example.com")
    response = Client(**FRENCH).post(
        "/api/v1/auth/password/reset/", {"email": "ada@example.com"}, "application/json"
    )
    assert response.status_code == 202
    assert mail.outbox == []
    [queued] = DBTaskResult.objects.all()
    assert queued.args_kwargs["kwargs"]["language"] == "fr"
    with translation.override("en"):
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", stdout=StringIO())
    [sent] = mail.outbox
    assert sent.subject == f"Réinitialisez votre mot de passe {SITE}"
    assert sent.body.startswith("Bonjour ada,")


@pytest.mark.django_db
def test_an_app_signing_in_in_french_gets_the_new_device_mail_in_french(
    user, password, django_capture_on_commit_callbacks
):
    """An app's cookie-less API request (the lean path) carries its language too."""
    with django_capture_on_commit_callbacks(execute=True):
        response = Client(**FRENCH).post(
            "/api/v1/auth/token/",
            {"username": user.username, "password": password, "device_id": "phone-1"},
            content_type="application/json",
        )
    assert response.status_code == 200
    (sent,) = mail.outbox
    assert sent.subject.startswith(f"{SITE} : nouvelle connexion depuis ")  # one line: spaces
    assert sent.body.startswith(f"Bonjour {user.username},")
    assert f"Un appareil s'est connecté à votre compte {SITE}\u00a0:" in sent.body


# --- the API: detail translated, code untouched -------------------------------------------


@pytest.mark.django_db
def test_api_errors_keep_their_code_and_translate_their_detail(user):
    french, english = Client(**FRENCH), Client()
    for client, detail in [
        (french, "Impossible de se connecter avec ces identifiants."),
        (english, "Unable to sign in with these credentials."),
    ]:
        response = client.post(
            "/api/v1/auth/token/",
            {"username": user.username, "password": "wrong", "device_id": "phone-1"},
            content_type="application/json",
        )
        assert response.status_code == 401
        assert response.json() == {"code": "invalid_credentials", "detail": detail}
        assert response["Content-Language"] == ("fr" if client is french else "en")
    assert french.get("/api/v1/me/").json()["code"] == "not_authenticated"
    assert english.get("/api/v1/me/").json() == {
        "code": "not_authenticated",
        "detail": "Authentication credentials were not provided.",
    }


def test_the_memo_of_languages_stays_small(rf):
    for n in range(middleware._LANGUAGE_OF_MAX + 10):
        middleware.language_of(rf.get("/", HTTP_ACCEPT_LANGUAGE=f"zz-{n}, fr;q=0.1"))
    assert 0 < len(middleware._LANGUAGE_OF) <= middleware._LANGUAGE_OF_MAX
    assert middleware.language_of(rf.get("/", HTTP_ACCEPT_LANGUAGE="zz-1, fr;q=0.1")) == "fr"


def test_the_memo_follows_the_language_settings(rf, settings):
    request = rf.get("/")
    assert middleware.language_of(request) == "en"
    settings.LANGUAGE_CODE = "fr"
    assert middleware.language_of(request) == "fr"


# --- the catalogue ------------------------------------------------------------------------

# What `make messages` passes to makemessages (the Makefile says the same).
MAKEMESSAGES_ARGS = [
    "makemessages",
    "--locale=fr",
    "--extension=html,txt,py",
    "--ignore=tests",
    "--ignore=bench",
    "--ignore=scripts",
    "--ignore=staticfiles",
    "--ignore=accounts/migrations",
    "--no-obsolete",
]
GETTEXT_TOOLS = ("xgettext", "msgmerge", "msgcmp", "msgattrib", "msgfmt", "msgunfmt")


@pytest.fixture
def gettext_tools():
    missing = [tool for tool in GETTEXT_TOOLS if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs GNU gettext (apt-get install gettext): no {missing}")
        pytest.skip(f"GNU gettext is not installed (no {', '.join(missing)})")


def _run(*args, cwd=None):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)


def _fresh_catalogue(tmp_path, tree=ROOT):
    """makemessages over a copy of `tree`'s code and templates: every msgid marked now,
    with no translation (the copy has no catalogue yet)."""
    copy = tmp_path / "tree"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("accounts", "api", "config", "templates"):
        shutil.copytree(tree / part, copy / part, ignore=ignore)
    shutil.copy(tree / "manage.py", copy / "manage.py")
    env = {**os.environ, "DEBUG": "true", "DATABASE_URL": "sqlite:///:memory:"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", *MAKEMESSAGES_ARGS],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return copy / "locale" / "fr" / "LC_MESSAGES" / "django.po"


def catalogue_gaps(fresh: Path, committed: Path) -> str:
    """What the committed catalogue lacks: msgids of `fresh` it does not translate
    (missing, empty or fuzzy), and entries of its own that are fuzzy or empty."""
    problems = []
    compared = _run("msgcmp", str(committed), str(fresh))
    if compared.returncode != 0:
        entries = fresh.read_text().split("\n\n")
        starts = [1]  # the first line of each entry of `fresh`
        for entry in entries:
            starts.append(starts[-1] + entry.count("\n") + 2)
        for line in compared.stderr.splitlines():
            # "<fresh>:<line>: this message is used but not defined in <committed>"
            found = re.match(rf"{re.escape(str(fresh))}:(\d+): this message is used", line)
            if found:
                at = int(found.group(1))
                index = max(i for i, start in enumerate(starts[:-1]) if start <= at)
                problems.append(entries[index].strip())
        # A fuzzy one ("needs to be reviewed"), not an unused one (harmless, and gone at
        # the next makemessages).
        problems += [line for line in compared.stderr.splitlines() if "review" in line]
    for flag in ("--only-fuzzy", "--untranslated"):
        listed = _run("msgattrib", flag, "--no-obsolete", str(committed))
        if "msgid" in listed.stdout:
            problems.append(f"{flag}:\n{listed.stdout}")
    return "\n".join(problems)


@pytest.mark.django_db
def test_every_marked_string_has_a_french_translation(gettext_tools, tmp_path):
    gaps = catalogue_gaps(_fresh_catalogue(tmp_path), CATALOGUE)
    assert not gaps, f"run `make messages`, then translate:\n{gaps}"


def test_the_compiled_catalogue_is_the_committed_one(gettext_tools, tmp_path):
    checked = _run("msgfmt", "--check", "-o", str(tmp_path / "django.mo"), str(CATALOGUE))
    assert checked.returncode == 0, checked.stderr  # placeholders agree, header complete
    fresh = _run("msgunfmt", str(tmp_path / "django.mo"))
    committed = _run("msgunfmt", str(COMPILED))
    assert committed.returncode == 0, committed.stderr
    assert fresh.stdout == committed.stdout, "run `make messages` (compilemessages)"
