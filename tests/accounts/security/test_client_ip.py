import pytest

from accounts.security.client_ip import address_from_meta, client_ip

PROXIES = ["10.0.0.0/8", "192.0.2.1"]


def test_forwarded_for_ignored_from_untrusted_peer():
    meta = {"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "1.2.3.4"}
    assert address_from_meta(meta, PROXIES) == "203.0.113.9"


def test_rightmost_untrusted_hop_is_the_client():
    meta = {"REMOTE_ADDR": "10.1.1.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.7, 192.0.2.1"}
    assert address_from_meta(meta, PROXIES) == "198.51.100.7"


def test_garbage_hop_falls_back_to_peer():
    meta = {"REMOTE_ADDR": "10.1.1.1", "HTTP_X_FORWARDED_FOR": "not-an-ip"}
    assert address_from_meta(meta, PROXIES) == "10.1.1.1"


def test_client_ip_of_a_request_the_middleware_did_not_see(rf, settings):
    """Code called outside the middleware (a test, a command's fake request) gets the same
    answer the middleware would give: X-Forwarded-For only from a trusted proxy."""
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    request = rf.get("/", REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert client_ip(request) == "198.51.100.7"
    settings.TRUSTED_PROXIES = []
    assert client_ip(rf.get("/", REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR="1.2.3.4")) == (
        "10.1.1.1"
    )
    request.client_ip = "203.0.113.5"  # set by ClientIPMiddleware: that answer wins
    assert client_ip(request) == "203.0.113.5"


@pytest.mark.django_db
def test_spoofed_proto_header_does_not_count_as_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.TRUSTED_PROXIES = []
    response = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301


@pytest.mark.django_db
def test_proto_header_from_trusted_proxy_counts_as_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    # What config/settings.py sets when TRUSTED_PROXIES is (tests/config/test_proxy_https).
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
