"""GoTrue's admin user endpoints, for the service role: list, create, read, update, delete."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from . import errors, passwords
from .service import AuthService
from .store import Row
from .tokens import Claims
from .users import email_identity, new_user, normalize_email, valid_email, valid_uuid

ADMIN_ROLES = ("service_role", "supabase_admin")
MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 50
DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def require_admin(claims: Claims) -> None:
    """Refuse anyone but the service role (403 not_admin)."""
    if claims.role not in ADMIN_ROLES:
        raise errors.forbidden("not_admin", "User not allowed")


def parse_duration(text: str) -> dt.timedelta | None:
    """Parse a Go duration (`24h`, `1h30m`, `90s`); `none` means no ban (None)."""
    text = text.strip()
    if text == "none":
        return None
    parts = DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise errors.validation_failed(f"invalid format for ban duration: {text!r}")
    return dt.timedelta(seconds=sum(float(n) * UNITS[u] for n, u in parts))


class Admin:
    """The admin operations, over the same store and rules as the public ones."""

    def __init__(self, service: AuthService) -> None:
        self.service = service
        self.store = service.store

    def list_users(self, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
        page = max(1, page)
        per_page = min(max(1, per_page), MAX_PER_PAGE)
        rows, total = self.store.page_of_users(page, per_page)
        return [self.service.user_json(row) for row in rows], total

    def get_user(self, user_id: str) -> dict[str, Any]:
        return self.service.user_json(self._user(user_id))

    def _user(self, user_id: str) -> Row:
        user = self.store.find("users", id=user_id) if valid_uuid(user_id) else None
        if user is None:
            raise errors.not_found("user_not_found", "User not found")
        return user

    def create_user(self, body: Mapping[str, Any]) -> dict[str, Any]:
        email = normalize_email(body.get("email"))
        if not email or not valid_email(email):
            raise errors.validation_failed("Unable to validate email address: invalid format")
        if self.store.find("users", email=email) is not None:
            raise errors.unprocessable(
                "email_exists", "A user with this email address has already been registered"
            )
        password = body.get("password")
        if password is not None:
            if not isinstance(password, str):
                raise errors.validation_failed("password must be a string")
            self.service.check_password(password)
        now = self.service.now()
        confirmed = bool(body.get("email_confirm"))
        user = new_user(
            email,
            passwords.hash_password(password) if password else None,
            now,
            user_metadata=_object(body, "user_metadata"),
            app_metadata=_object(body, "app_metadata"),
            role=str(body.get("role") or "authenticated"),
            confirmed=confirmed,
        )
        user |= self._ban(body, now)
        with self.store.transaction() as tx:
            self.store.insert("users", user, tx)
            self.store.insert("identities", email_identity(user, now, verified=confirmed), tx)
        return self.service.user_json(user)

    def update_user(self, user_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        user = self._user(user_id)
        now = self.service.now()
        values: dict[str, Any] = self._ban(body, now)
        if "email" in body:
            email = normalize_email(body["email"])
            if not valid_email(email):
                raise errors.validation_failed("Unable to validate email address: invalid format")
            if email != user["email"] and self.store.find("users", email=email) is not None:
                raise errors.unprocessable(
                    "email_exists", "A user with this email address has already been registered"
                )
            values["email"] = email
        if body.get("password") is not None:
            self.service.check_password(str(body["password"]))
            values["encrypted_password"] = passwords.hash_password(str(body["password"]))
        if body.get("email_confirm") is True and not user.get("email_confirmed_at"):
            values["email_confirmed_at"] = now
        if body.get("role"):
            values["role"] = str(body["role"])
        for key, column in (
            ("user_metadata", "raw_user_meta_data"),
            ("app_metadata", "raw_app_meta_data"),
        ):
            if key in body:
                values[column] = {**(user.get(column) or {}), **_object(body, key)}
        if values:
            values["updated_at"] = now
            self.store.update("users", values, id=user["id"])
            if "email" in values:
                self.store.update("identities", {"email": values["email"]}, user_id=user["id"])
        return self.service.user_json({**user, **values})

    def delete_user(self, user_id: str) -> None:
        user = self._user(user_id)
        self.store.delete_sessions(user["id"])
        with self.store.transaction() as tx:
            self.store.delete("identities", tx, user_id=user["id"])
            self.store.delete("users", tx, id=user["id"])

    def _ban(self, body: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
        if "ban_duration" not in body:
            return {}
        duration = parse_duration(str(body["ban_duration"]))
        return {"banned_until": None if duration is None else now + duration}


def _object(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key) or {}
    if not isinstance(value, dict):
        raise errors.validation_failed(f"{key} must be a JSON object")
    return value
