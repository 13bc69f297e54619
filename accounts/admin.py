from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import User

admin.site.site_header = f"{settings.ACCOUNTS['SITE_NAME']} administration"
admin.site.site_title = f"{settings.ACCOUNTS['SITE_NAME']} admin"
admin.site.index_title = "Users, sessions and keys"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_staff")
    list_filter = ("is_active", "is_staff", "is_superuser", "groups")
    search_fields = ("username", "email", "first_name", "last_name")
