"""{% load social_sign_in %}{% social_providers as providers %}: the providers of
SOCIAL_PROVIDERS (id and name; never a secret) for the sign-in page's buttons: those with
a client secret (one without serves only apps' ID tokens)."""

from django import template

from accounts.social.providers import social_providers as configured

register = template.Library()


@register.simple_tag
def social_providers() -> list[dict[str, str]]:
    return [{"id": p.id, "name": p.name} for p in configured() if p.client_secret]
