from django.conf import settings


def branding(request):
    """The product name, for page titles and headers (set ACCOUNTS_SITE_NAME)."""
    return {"site_name": settings.ACCOUNTS["SITE_NAME"]}
