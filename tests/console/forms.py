"""What the console's user page posts: every field as it stands, then the test's changes."""

from typing import Any


def user_form_data(user: Any, **overrides: Any) -> dict[str, Any]:
    data = {
        "user_id": user.user_id,
        "display_name": user.display_name,
        "given_name": user.given_name,
        "surname": user.surname,
        "email": user.email,
        "auth_email": user.auth_email,
        "mobile_phone": user.mobile_phone,
        "office_phone": user.office_phone,
        "account_enabled": "on",
        "sspr_licensed": "on",
        "user_type": user.user_type,
        "guest_kind": user.guest_kind,
        "source": user.source,
        "on_premises_dn": user.on_premises_dn,
        "role_assignments-TOTAL_FORMS": "0",
        "role_assignments-INITIAL_FORMS": "0",
    }
    return data | overrides
