"""The page behind the new-device e-mail's link (accounts.devices.new_device): a device
session's, or a browser session's (a sign-in on the HTML pages). A GET only shows what
the link would do (mail scanners follow links); the POST button revokes."""

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from accounts.devices import browsers, sessions
from accounts.devices.new_device import RevokeLink, revoke_link_read
from accounts.models import DeviceSession

TEMPLATE = "accounts/new_device_revoke.html"
# Who revoked, in the audit trail.
ACTOR = "new-device e-mail link"


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def new_device_revoke(request, token):
    """Confirm (GET) and revoke (POST) the device session the link names. An expired,
    tampered or mismatched link, or a session already ended, changes nothing."""
    link = revoke_link_read(token=token)
    if link.browser is not None or link.browser_ended:
        return _browser_link_page(request, link)
    session = link.session
    if session is None:
        state, status = ("expired", 410) if link.expired else ("refused", 400)
    elif not session.is_active:
        state, status = "signed_out", 200
    elif request.method == "POST":
        sessions.revoke_session(
            session, reason=DeviceSession.RevokeReason.USER, actor=ACTOR, request=request
        )
        state, status = "revoked", 200
    else:
        state, status = "confirm", 200
    return render(request, TEMPLATE, {"state": state, "session": session}, status=status)


def _browser_link_page(request, link: RevokeLink):
    """A browser session's link: confirm (GET), end it (POST); once it has ended (by this
    link, a sign-out, or anything else), the page only says so."""
    browser = link.browser
    if browser is None:
        return render(request, TEMPLATE, {"state": "signed_out"})
    described = browsers.browser_sign_in(browser.get_decoded())
    if request.method != "POST":
        return render(request, TEMPLATE, {"state": "confirm", "session": described})
    ended = browsers.browser_session_revoke(
        session=browser, reason=DeviceSession.RevokeReason.USER, actor=ACTOR, request=request
    )
    state = "revoked" if ended else "signed_out"
    return render(request, TEMPLATE, {"state": state, "session": described})
