"""POST /api/v1/auth/social/{provider}/: an app signs in with its provider's ID token.

Thin: the rules live in accounts.social.signin."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.social.signin import social_sign_in
from api.openapi import INVALID, error
from api.serializers.sessions import SignInResponseSerializer
from api.serializers.social import SocialSignInSerializer
from api.views.auth import sign_in_body


class SocialSignInView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        operation_id="socialSignIn",
        tags=["auth"],
        summary="Sign in a device with an OpenID Connect provider's ID token",
        description="For apps that sign in with the provider's own SDK (Google, Sign in "
        "with Apple, any OpenID Connect provider of SOCIAL_PROVIDERS). The token must be "
        "signed with one of the provider's published keys (an asymmetric algorithm), "
        "issued by its issuer to its `client_id`, unexpired, and carry `nonce` when one is "
        "sent. A known link, or a verified provider e-mail matching an account whose own "
        "address is verified, signs that account in; otherwise a new account is made when "
        "sign-up is open. The access token's `amr` is `fed` (plus the provider's own "
        "factors when its token names them).",
        auth=[],
        parameters=[
            OpenApiParameter(
                "provider",
                str,
                OpenApiParameter.PATH,
                description="The `id` of a provider of SOCIAL_PROVIDERS.",
            )
        ],
        request=SocialSignInSerializer,
        responses={
            200: SignInResponseSerializer,
            400: INVALID,
            401: error(
                ["social_token_invalid", "mfa_required"],
                "`social_token_invalid`: an unknown provider, or a token whose signature, "
                "algorithm, issuer, audience, expiry or nonce fails, an inactive account, or "
                "no account for this sign-in while sign-up is closed (nothing is created). "
                "`mfa_required`: the account has a second factor: finish with `mfa_token` "
                "and a code at POST /auth/token/mfa/ (no session is open yet).",
            ),
            403: error(
                ["device_limit_reached", "email_unverified"],
                "`devices` lists the active sessions (`revoke_device_id` signs one out). "
                "`email_unverified`: the account's address is not verified yet, or the "
                "provider's verified address belongs to an account that has not verified "
                "it (nothing is linked).",
            ),
            503: error(
                ["service_unavailable"],
                "The provider's discovery document or keys cannot be fetched (or the "
                "database cannot be reached): try again shortly.",
            ),
        },
    )
    def post(self, request, provider):
        serializer = SocialSignInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user, login = social_sign_in(
            request=request,
            provider_id=provider,
            id_token=data["id_token"],
            nonce=data.get("nonce"),
            device_id=data.get("device_id"),
            device_name=data.get("device_name", ""),
            revoke_device_id=data.get("revoke_device_id"),
            device_trust_token=data.get("device_trust_token"),
        )
        return Response(sign_in_body(user=user, session=login.device, pair=login.pair))
