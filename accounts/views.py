"""HTML views on the Django session."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts import sessions
from accounts.models import DeviceSession


@login_required
def account(request):
    return render(
        request,
        "accounts/account.html",
        {"device_sessions": sessions.active_sessions(request.user)},
    )


@login_required
@require_POST
def revoke_device_session(request, session_id):
    """Sign out one of the user's devices (the revoke button of the account page)."""
    session = get_object_or_404(sessions.active_sessions(request.user), pk=session_id)
    sessions.revoke_session(session, reason=DeviceSession.RevokeReason.USER, request=request)
    messages.success(request, f"{session.name or session.device_id} is signed out.")
    return redirect("accounts:account")


@login_required
@require_POST
def sign_out_everywhere(request):
    """End every device session and every other browser session; keep this one."""
    count = sessions.revoke_all_sessions(
        request.user, reason=DeviceSession.RevokeReason.LOGOUT_ALL, request=request
    )
    update_session_auth_hash(request, request.user)
    messages.success(request, f"Signed out everywhere else ({count} device(s)).")
    return redirect("accounts:account")
