"""Top-level routes: the HTML pages, the admin, the API and the health probe."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from accounts.web.front import home
from api import urls as api_urls
from api.views.health import healthz

# The API's routes first and spliced in, not include()d under "": Django tries the
# patterns in order, and every include level adds to each request's resolving.
urlpatterns = [
    *api_urls.urlpatterns,
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.web.urls")),
    path("", home, name="home"),
]

if settings.KIT_BENCH_ROUTES:  # the stock reference routes of `make bench` only
    urlpatterns.append(path("bench/", include("bench.urls")))

handler400 = "api.views.errors.bad_request"
handler403 = "api.views.errors.permission_denied"
handler404 = "api.views.errors.page_not_found"
handler500 = "api.views.errors.server_error"
