from accounts.conf import kit_settings


def branding(request):
    """The product name for page titles and headers (ACCOUNTS_SITE_NAME), and whether
    pages may offer sign-up (ACCOUNTS_ALLOW_SIGNUP)."""
    return {
        "site_name": kit_settings.SITE_NAME,
        "signup_open": kit_settings.ALLOW_SIGNUP,
    }
