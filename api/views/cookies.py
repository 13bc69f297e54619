"""/api/v1/auth/csrf/ and /api/v1/auth/cookie/...: JWTs for browser apps, in cookies.

The tokens are never in a body: HttpOnly cookies (accounts.devices.cookies) carry them, and every
POST here needs the CSRF header, sign-in included (a login CSRF would sign the victim's
browser into the attacker's account). Sign-in and sign-out go through accounts.auth; the
rules are accounts.devices.sessions'.
"""

from django.middleware.csrf import get_token
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import auth
from accounts.devices import cookies, sessions
from accounts.errors import TokenInvalid
from accounts.mfa import signin
from accounts.security.device_trust import trust_token_issue
from api.authentication import enforce_csrf
from api.openapi import INVALID, NO_DATABASE, error, set_cookie_header
from api.serializers.mfa import MfaSignInSerializer
from api.serializers.sessions import (
    CookieSignInResponseSerializer,
    CookieSignInSerializer,
)
from api.views.mfa import LOCKED_429, MFA_STEP_401

TAG = ["cookies"]
CSRF_HEADER = OpenApiParameter(
    "X-CSRFToken",
    location=OpenApiParameter.HEADER,
    required=True,
    description="The value of the csrftoken cookie (GET /api/v1/auth/csrf/ sets it).",
)
CSRF_FAILED = error(["csrf_failed"])
SETS_PAIR = "`access_token` and `refresh_token` (HttpOnly)."
DELETES_PAIR = "`access_token` and `refresh_token` deleted (expired)."


def _cookie_parameter(name, description):
    return OpenApiParameter(name, location=OpenApiParameter.COOKIE, description=description)


def _body(device, pair):
    """What a browser app may know: its device and when to expect a refresh (no token)."""
    return {
        "device": {"id": str(device.pk), "device_id": device.device_id, "name": device.name},
        "access_expires_in": pair.access_expires_in,
    }


class _CookieRouteView(APIView):
    """Public routes that read their own cookies and check CSRF first."""

    permission_classes = [AllowAny]
    authentication_classes = []

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # A method the route does not have is 405 whatever the CSRF token says.
        if request.method.lower() not in self.http_method_names or not hasattr(
            self, request.method.lower()
        ):
            return
        enforce_csrf(request)


class CsrfCookieView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        operation_id="getCsrfCookie",
        tags=TAG,
        summary="Set the csrftoken cookie",
        description="Call once before the first POST: send its value as X-CSRFToken.",
        auth=[],
        parameters=[set_cookie_header("`csrftoken` (readable by scripts).", [204])],
        responses={204: OpenApiResponse(description="The csrftoken cookie is set.")},
        extensions=NO_DATABASE,
    )
    def get(self, request):
        get_token(request)  # CsrfViewMiddleware sets the cookie on the response
        return Response(status=status.HTTP_204_NO_CONTENT)


class CookieLoginView(_CookieRouteView):
    @extend_schema(
        operation_id="cookieSignIn",
        tags=TAG,
        summary="Sign in a browser (tokens in HttpOnly cookies)",
        description="Sets `access_token` (Path=/), `refresh_token` (Path=/api/v1/auth/cookie/), "
        "`device_trust` (Path=/, the trust token that exempts this browser's next sign-ins "
        "from the account lockout) and, the first time, the long-lived `device_id` cookie: "
        "all HttpOnly, SameSite=Lax, Secure unless DEBUG. Signing in again from the same "
        "browser replaces its session.",
        auth=[],
        parameters=[
            CSRF_HEADER,
            _cookie_parameter(cookies.TRUST_COOKIE, "Set by an earlier sign-in of this browser."),
            set_cookie_header(
                SETS_PAIR[:-1] + ", `device_trust` and, the first time, `device_id`.",
                [200],
            ),
        ],
        request=CookieSignInSerializer,
        responses={
            200: CookieSignInResponseSerializer,
            400: INVALID,
            401: error(
                ["invalid_credentials", "mfa_required"],
                "`mfa_required`: the account has a second factor: finish at POST "
                "/auth/cookie/login/mfa/ with `mfa_token` and a code.",
            ),
            403: error(
                ["csrf_failed", "device_limit_reached", "email_unverified"],
                "`device_limit_reached` lists the active sessions in `devices`. "
                "`email_unverified`: the account's address is not verified yet (a new link "
                "was e-mailed).",
            ),
            429: error(["too_many_attempts"], "Locked out: see Retry-After."),
        },
    )
    def post(self, request):
        serializer = CookieSignInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = auth.authenticate(
            request,
            data["username"],
            data["password"],
            device_trust_token=data.get("device_trust_token"),
        )
        signin.mfa_sign_in_begin(
            request=request,
            user=user,
            transport="cookie",
            device_name=data.get("device_name", ""),
            revoke_device_id=data.get("revoke_device_id"),
            device_trust_token=data.get("device_trust_token"),
        )
        response = Response()
        device, pair = auth.login(
            request,
            user,
            backend=auth.JWT,
            response=response,
            device_name=data.get("device_name", ""),
            revoke_device_id=data.get("revoke_device_id"),
            device_trust_token=data.get("device_trust_token"),
        )
        response.data = _body(device, pair)
        cookies.set_trust_cookie(response, trust_token_issue(user=user))
        return response


class CookieLoginMfaView(_CookieRouteView):
    @extend_schema(
        operation_id="cookieSignInSecondFactor",
        tags=TAG,
        summary="Finish a browser sign-in with a second factor",
        description="The second step after `401 mfa_required` from /auth/cookie/login/: "
        "the `mfa_token` and a TOTP or recovery code. Sets the cookies as the cookie "
        'sign-in does; the access token\'s `amr` is ["pwd", "otp", "mfa"].',
        auth=[],
        parameters=[
            CSRF_HEADER,
            set_cookie_header(
                SETS_PAIR[:-1] + ", `device_trust` and, the first time, `device_id`.",
                [200],
            ),
        ],
        request=MfaSignInSerializer,
        responses={
            200: CookieSignInResponseSerializer,
            400: INVALID,
            401: MFA_STEP_401,
            403: error(
                ["csrf_failed", "device_limit_reached", "email_unverified"],
                "`device_limit_reached` lists the active sessions in `devices`. "
                "`email_unverified`: the account's address is not verified yet (a new link "
                "was e-mailed).",
            ),
            429: LOCKED_429,
        },
    )
    def post(self, request):
        serializer = MfaSignInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        response = Response()
        user, (device, pair) = signin.mfa_sign_in_finish(
            request=request,
            mfa_token=serializer.validated_data["mfa_token"],
            code=serializer.validated_data["code"],
            transport="cookie",
            response=response,
        )
        response.data = _body(device, pair)
        cookies.set_trust_cookie(response, trust_token_issue(user=user))
        return response


class CookieRefreshView(_CookieRouteView):
    @extend_schema(
        operation_id="cookieRefresh",
        tags=TAG,
        summary="Rotate the refresh cookie",
        description="Reads `refresh_token` and `device_id` cookies; sets both token cookies "
        "again. On a 401 both token cookies are deleted.",
        auth=[],
        parameters=[
            CSRF_HEADER,
            _cookie_parameter(cookies.REFRESH_COOKIE, "Set by the cookie sign-in."),
            _cookie_parameter(cookies.DEVICE_COOKIE, "Set by the cookie sign-in."),
            set_cookie_header(SETS_PAIR, [200]),
            set_cookie_header(DELETES_PAIR, [401]),
        ],
        request=None,
        responses={
            200: CookieSignInResponseSerializer,
            401: error(["token_invalid", "device_mismatch", "refresh_reused", "session_revoked"]),
            403: CSRF_FAILED,
        },
    )
    def post(self, request):
        raw_refresh = request.COOKIES.get(cookies.REFRESH_COOKIE)
        if not raw_refresh:
            raise TokenInvalid()
        device, pair = sessions.refresh(
            request=request,
            raw_refresh=raw_refresh,
            device_id=cookies.browser_device_id(request) or "",
        )
        response = Response(_body(device, pair))
        cookies.set_token_cookies(response, pair)
        return response

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if response.status_code == status.HTTP_401_UNAUTHORIZED:
            cookies.delete_token_cookies(response)
        return response


class CookieLogoutView(_CookieRouteView):
    @extend_schema(
        operation_id="cookieLogout",
        tags=TAG,
        summary="Sign out this browser",
        description="Revokes the session of the token cookies and deletes them; 204 also "
        "when it had already ended.",
        auth=[],
        parameters=[CSRF_HEADER, set_cookie_header(DELETES_PAIR, [204])],
        request=None,
        responses={
            204: OpenApiResponse(description="Signed out (also when already signed out)."),
            403: CSRF_FAILED,
        },
    )
    def post(self, request):
        response = Response(status=status.HTTP_204_NO_CONTENT)
        auth.logout(request, backend=auth.JWT, response=response)
        return response
