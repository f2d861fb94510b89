"""The User object as GoTrue serializes it (`internal/models/user.go`), from our rows.

Optional timestamps are left out when unset (GoTrue's `omitempty`); `phone` is always
there (empty string), as are `app_metadata`, `user_metadata`, `identities` and
`is_anonymous`. Instants are RFC 3339 in UTC with a `Z`.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from typing import Any

from .store import Row, instant

OPTIONAL_INSTANTS = (
    "email_confirmed_at",
    "invited_at",
    "phone_confirmed_at",
    "confirmation_sent_at",
    "recovery_sent_at",
    "email_change_sent_at",
    "last_sign_in_at",
    "banned_until",
    "deleted_at",
)
# Deliberately loose, as GoTrue's: one @, something on both sides, a dot in the domain.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL_LENGTH = 255


def rfc3339(value: object) -> str | None:
    """Spell an instant as GoTrue does: `2024-01-01T08:00:00.123456Z`."""
    moment = instant(value)
    if moment is None:
        return None
    return moment.isoformat().replace("+00:00", "Z")


def normalize_email(email: object) -> str:
    """Return the email lower-cased and trimmed (GoTrue stores emails lower-case)."""
    return str(email or "").strip().lower()


def valid_email(email: str) -> bool:
    return len(email) <= MAX_EMAIL_LENGTH and EMAIL.match(email) is not None


def valid_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def user_json(user: Row, identities: Iterable[Row] = ()) -> dict[str, Any]:
    """Return the User object for a `users` row and its identity rows."""
    out: dict[str, Any] = {
        "id": user["id"],
        "aud": user["aud"],
        "role": user["role"],
        "email": user.get("email") or "",
        "phone": user.get("phone") or "",
    }
    for key in OPTIONAL_INSTANTS:
        value = rfc3339(user.get(key))
        if value is not None:
            out[key] = value
    if "email_confirmed_at" in out or "phone_confirmed_at" in out:
        out["confirmed_at"] = out.get("email_confirmed_at") or out["phone_confirmed_at"]
    if user.get("email_change"):
        out["new_email"] = user["email_change"]
    out["app_metadata"] = user.get("raw_app_meta_data") or {}
    out["user_metadata"] = user.get("raw_user_meta_data") or {}
    out["identities"] = [identity_json(i) for i in identities]
    out["created_at"] = rfc3339(user["created_at"])
    out["updated_at"] = rfc3339(user["updated_at"])
    out["is_anonymous"] = bool(user.get("is_anonymous"))
    return out


def identity_json(identity: Row) -> dict[str, Any]:
    """Return an identity as GoTrue lists it under `identities`."""
    out = {
        "identity_id": identity["id"],
        "id": identity["provider_id"],
        "user_id": identity["user_id"],
        "identity_data": identity.get("identity_data") or {},
        "provider": identity["provider"],
        "last_sign_in_at": rfc3339(identity.get("last_sign_in_at")),
        "created_at": rfc3339(identity["created_at"]),
        "updated_at": rfc3339(identity["updated_at"]),
        "email": identity.get("email") or "",
    }
    return {k: v for k, v in out.items() if v is not None}


def new_user(
    email: str,
    password_hash: str | None,
    now: dt.datetime,
    *,
    user_metadata: dict[str, Any] | None = None,
    app_metadata: dict[str, Any] | None = None,
    role: str = "authenticated",
    confirmed: bool = False,
) -> Row:
    """Return a new `users` row for an email/password user."""
    return {
        "id": str(uuid.uuid4()),
        "aud": "authenticated",
        "role": role,
        "email": email,
        "encrypted_password": password_hash,
        "email_confirmed_at": now if confirmed else None,
        "raw_app_meta_data": {"provider": "email", "providers": ["email"], **(app_metadata or {})},
        "raw_user_meta_data": user_metadata or {},
        "is_anonymous": False,
        "created_at": now,
        "updated_at": now,
    }


def email_identity(user: Row, now: dt.datetime, *, verified: bool) -> Row:
    """Return the `email` identity row of a user (GoTrue's provider_id is the user id)."""
    return {
        "id": str(uuid.uuid4()),
        "user_id": user["id"],
        "provider": "email",
        "provider_id": user["id"],
        "identity_data": {
            "sub": user["id"],
            "email": user["email"],
            "email_verified": verified,
            "phone_verified": False,
        },
        "email": user["email"],
        "created_at": now,
        "updated_at": now,
    }


def merge_metadata(current: dict[str, Any] | None, changes: dict[str, Any]) -> dict[str, Any]:
    """Merge `changes` into metadata; a key set to null is removed (GoTrue's rule)."""
    merged = dict(current or {})
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
