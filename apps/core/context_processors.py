from __future__ import annotations

from django.http import HttpRequest

from . import roles as role_rules


def roles(request: HttpRequest) -> dict[str, object]:
    held = role_rules.user_roles(request.user)
    return {
        "user_roles": held,
        "role_labels": role_rules.role_labels(held),
        "can_import": bool(held & role_rules.CAN_IMPORT),
        "can_review": bool(held & role_rules.CAN_REVIEW),
        "can_administer": bool(held & role_rules.CAN_ADMINISTER),
        # The clinical pages and the API answer clinical roles only (HasClinicalRole): their
        # links, and an API token, are of use to them.
        "can_view": bool(held & role_rules.CAN_VIEW),
    }
