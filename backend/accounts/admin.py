from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from accounts.models import User


@admin.register(User)
class KarmaFeedUserAdmin(UserAdmin):
    """Accounts are edited here but not deleted: a delete would cascade to the user's posts,
    comments and likes past the services, leaving other posts' like counts and karma wrong
    and open browsers unaware."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
