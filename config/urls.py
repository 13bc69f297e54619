"""Top-level routes: the HTML pages, the admin, the API and the health probe."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from api.views.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("api.urls")),
]

if settings.KIT_BENCH_ROUTES:  # the stock reference routes of `make bench` only
    urlpatterns.append(path("bench/", include("bench.urls")))

handler404 = "api.views.errors.page_not_found"
handler500 = "api.views.errors.server_error"
