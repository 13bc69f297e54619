"""Social sign-in in the admin: the providers come from SOCIAL_PROVIDERS (the environment),
so allauth's own provider records (SocialApp) and stored provider tokens (SocialToken, the
kit keeps none) are not offered; its SocialAccount list (who is linked to which provider
identity) stays, so staff can see and remove a link."""

from allauth.socialaccount.models import SocialApp, SocialToken
from django.contrib import admin

for model in (SocialApp, SocialToken):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
