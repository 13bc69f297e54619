"""Device names carry no invisible or control characters (bidi overrides, zero-width
characters, BOM, controls), whether sent as `device_name` or derived from the User-Agent."""

import pytest
from rest_framework.test import APIClient

from accounts.models import DeviceSession

DEVICES_URL = "/api/v1/devices/"

pytestmark = pytest.mark.django_db


def _listed_name(api_client, bearer, signed_in):
    body = api_client.get(DEVICES_URL, **bearer(signed_in["access"])).json()
    return next(d["name"] for d in body if d["id"] == signed_in["device"]["id"])


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("Phone\u202egnp.exe", "Phonegnp.exe"),  # RIGHT-TO-LEFT OVERRIDE
        ("\u2066Work\u2069 laptop\u2067\u2068", "Work laptop"),  # isolates
        ("Ada\u200b\u200c\u200d\u2060s phone", "Adas phone"),  # zero-width characters
        ("\ufeffTablet\u061c\u200e\u200f", "Tablet"),  # BOM, ALM, LRM, RLM
        ("Old\x01\x1b[31m\x7f\x85phone", "Old [31m phone"),  # C0 and C1 controls
        ("two\nlines\u2028and\u2029more\t", "two lines and more"),
        ("  spaced   out  ", "spaced out"),
        ("Laptop \U0001f4bb d'Été", "Laptop \U0001f4bb d'Été"),  # visible text kept
    ],
)
def test_a_sent_device_name_is_stored_and_listed_without_invisible_characters(
    sign_in, api_client, bearer, sent, stored
):
    signed_in = sign_in(device_name=sent).json()
    assert signed_in["device"]["name"] == stored
    assert DeviceSession.objects.get(pk=signed_in["device"]["id"]).name == stored
    assert _listed_name(api_client, bearer, signed_in) == stored


@pytest.mark.parametrize("sent", ["\u202e", "\u200b\ufeff\u2066\u2069", "\x01\x1b", " \u200d "])
def test_a_name_empty_after_cleaning_gets_the_default(sign_in, api_client, bearer, sent):
    client = APIClient(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
    signed_in = sign_in(device_name=sent, client=client).json()
    assert signed_in["device"]["name"] == "Firefox on Linux"
    assert _listed_name(api_client, bearer, signed_in) == "Firefox on Linux"


@pytest.mark.parametrize(
    ("user_agent", "derived"),
    [
        ("\u202eppa-gnikcart/1.0 (bot)", "ppa-gnikcart/1.0"),
        ("\u200b\ufeffcurl/8.5.0", "curl/8.5.0"),
        ("\u2066\u2069", "Unknown device"),
        ("\x1b[2Jpoll/1", "[2Jpoll/1"),
    ],
)
def test_the_name_derived_from_the_user_agent_is_cleaned(
    sign_in, api_client, bearer, user_agent, derived
):
    signed_in = sign_in(client=APIClient(HTTP_USER_AGENT=user_agent)).json()
    assert DeviceSession.objects.get(pk=signed_in["device"]["id"]).name == derived
    assert _listed_name(api_client, bearer, signed_in) == derived
