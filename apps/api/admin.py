from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import TokenProxy

from apps.core.admin_base import ReadOnlyAdmin

from .models import ApiToken
from .tokens import api_token_revoke

# DRF's token admin shows tokens in clear and creates tokens this app no longer accepts.
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ["prefix", "user", "name", "created_at", "last_used_at", "expires_at",
                    "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["prefix", "user__username", "name"]
    exclude = ["digest"]
    actions = ["revoke"]

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset) -> None:  # type: ignore[no-untyped-def]
        for token in queryset:
            api_token_revoke(actor=request.user, token=token)
