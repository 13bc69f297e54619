"""GET /.well-known/jwks.json: the public keys that verify the kit's JWTs.

Other services fetch this to verify access tokens offline (RS*/ES*). It lists the current
key and every JWT_OLD_VERIFYING_KEYS entry, each with its `kid`, so tokens signed before a
rotation keep verifying. With HS* the key is a shared secret and is never published: the
set is empty.
"""

from django.utils.cache import patch_cache_control
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.devices.signing import get_token_backend
from api.openapi import NO_DATABASE

# Seconds clients and caches may keep the set; a new key is listed this long before use.
JWKS_MAX_AGE = 300

_JWK_FIELDS: dict[str, serializers.Field] = {
    "kty": serializers.CharField(help_text="RSA or EC"),
    "kid": serializers.CharField(required=False, help_text="matches the token's kid header"),
    "alg": serializers.CharField(help_text="JWT_ALGORITHM"),
    "use": serializers.CharField(help_text="always sig"),
}


class JWKSView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="getJwks",
        tags=["keys"],
        summary="Public keys that verify the JWTs (JWK Set, RFC 7517)",
        auth=[],
        responses=inline_serializer(
            "JWKSet", {"keys": inline_serializer("JWK", _JWK_FIELDS, many=True)}
        ),
        examples=[OpenApiExample("HS256: nothing public", value={"keys": []})],
        extensions=NO_DATABASE,
    )
    def get(self, request):
        response = Response(get_token_backend().config.jwks)
        patch_cache_control(response, public=True, max_age=JWKS_MAX_AGE)
        return response
