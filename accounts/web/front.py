"""The front page at `/`: where a visitor goes next, signed in or not."""

from django.shortcuts import render


def home(request):
    """Sign in (or your account), the API docs, the admin for staff, the health probe."""
    return render(request, "home.html")
