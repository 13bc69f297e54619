"""The site's routes plus async Django views written the way docs/python-api.md shows, so
accounts.auth's async twins are tested under the ASGI handler."""

import json
import threading

from django.http import JsonResponse
from django.urls import path

from accounts import auth
from config.urls import urlpatterns as site_urlpatterns

# The thread each async view ran on (the event loop's), for the "never blocks" test.
LOOP_THREADS = []


async def login_view(request):
    LOOP_THREADS.append(threading.get_ident())
    body = json.loads(request.body)
    try:
        user = await auth.aauthenticate(request, body["username"], body["password"])
    except auth.LockedOutError as exc:
        return JsonResponse({"code": exc.code}, status=429)
    except auth.AuthenticationError as exc:
        return JsonResponse({"code": exc.code}, status=401)
    backend = body.get("backend")
    result = await auth.alogin(request, user, backend=backend)
    if result is None:
        return JsonResponse({"id": user.pk})
    return JsonResponse({"id": user.pk, "access": result.pair.access})


async def me_view(request):
    user = await auth.aget_user(request, backend=request.GET.get("backend"))
    return JsonResponse({"id": user.pk, "authenticated": user.is_authenticated})


async def logout_view(request):
    await auth.alogout(request, backend=request.GET.get("backend"))
    return JsonResponse({}, status=200)


urlpatterns = [
    path("async/login/", login_view),
    path("async/me/", me_view),
    path("async/logout/", logout_view),
    *site_urlpatterns,
]
