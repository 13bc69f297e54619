from django.conf import settings


def branding(request):
    """The product name for page titles and headers (ACCOUNTS_SITE_NAME), and whether
    pages may offer sign-up (ACCOUNTS_ALLOW_SIGNUP)."""
    return {
        "site_name": settings.ACCOUNTS["SITE_NAME"],
        "signup_open": settings.ACCOUNTS["ALLOW_SIGNUP"],
    }
