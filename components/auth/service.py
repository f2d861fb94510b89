"""MagAuth's GoTrue-compatible operations as plain methods (no HTTP in here).

Each method takes the parsed request body (a dict) and returns the JSON-ready answer,
or raises an `AuthError` carrying GoTrue's status and error code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from mobo.exceptions import UniqueViolation

from . import errors, passwords
from .mailer import Mailer, confirmation_mail, email_change_mail
from .sessions import Issued, Sessions
from .settings import AuthSettings
from .store import AuthStore, Row, instant
from .tokens import Claims, Tokens
from .users import (
    email_identity,
    merge_metadata,
    new_user,
    normalize_email,
    user_json,
    valid_email,
    valid_uuid,
)

CONFIRMATION_TTL_S = 24 * 3600  # GOTRUE_MAILER_OTP_EXP
LOGOUT_SCOPES = ("global", "local", "others")


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What an operation may need from the HTTP request, without HTTP."""

    base_url: str = ""  # scheme://host of the gateway, for links in mails
    user_agent: str | None = None
    ip: str | None = None
    redirect_to: str | None = None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AuthService:
    """Sign-up, sign-in, refresh, the current user, log-out, email verification."""

    def __init__(
        self,
        store: AuthStore,
        tokens: Tokens,
        sessions: Sessions,
        settings: AuthSettings,
        mailer: Mailer,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.sessions = sessions
        self.settings = settings
        self.mailer = mailer
        self.clock = clock

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)

    # -- sessions as answers ------------------------------------------------------------

    def session_response(self, user: Row, issued: Issued, **extra: Any) -> dict[str, Any]:
        """Return GoTrue's AccessTokenResponse for a user's session."""
        now = int(self.clock())
        expires_at = now + self.settings.jwt_exp
        started = instant(issued.session["created_at"]) or self.now()
        claims = {
            "iss": self.settings.jwt_issuer,
            "sub": user["id"],
            "aud": self.settings.jwt_aud,
            "exp": expires_at,
            "iat": now,
            "email": user.get("email") or "",
            "phone": user.get("phone") or "",
            "app_metadata": user.get("raw_app_meta_data") or {},
            "user_metadata": user.get("raw_user_meta_data") or {},
            "role": user["role"],
            "aal": issued.session.get("aal") or "aal1",
            "amr": [{"method": "password", "timestamp": int(started.timestamp())}],
            "session_id": issued.session["id"],
            "is_anonymous": bool(user.get("is_anonymous")),
            "ref": self.store.project,
        }
        return {
            "access_token": self.tokens.sign(claims),
            "token_type": "bearer",
            "expires_in": self.settings.jwt_exp,
            "expires_at": expires_at,
            "refresh_token": issued.refresh_token,
            "user": self.user_json(user),
            **extra,
        }

    def user_json(self, user: Row) -> dict[str, Any]:
        return user_json(user, self.store.find_all("identities", user_id=user["id"]))

    # -- sign-up ------------------------------------------------------------------------

    def signup(self, body: Mapping[str, Any], info: RequestInfo) -> dict[str, Any]:
        """POST /signup: a session (autoconfirm) or the user awaiting confirmation."""
        if self.settings.disable_signup:
            raise errors.forbidden("signup_disabled", "Signups not allowed for this instance")
        email, password = self._credentials(body, action="Signup")
        self.check_password(password)
        data = body.get("data") or {}
        if not isinstance(data, dict):
            raise errors.validation_failed("data must be a JSON object")
        existing = self.store.find("users", email=email)
        if existing is not None:
            return self._signup_existing(existing, password, data, info)
        now = self.now()
        user = new_user(
            email,
            passwords.hash_password(password),
            now,
            user_metadata=data,
            confirmed=self.settings.autoconfirm,
        )
        try:
            with self.store.transaction() as tx:
                self.store.insert("users", user, tx)
                identity = email_identity(user, now, verified=self.settings.autoconfirm)
                self.store.insert("identities", identity, tx)
        except UniqueViolation:  # a concurrent sign-up with the same email won
            return self._signup_existing(
                self.store.find("users", email=email), password, data, info
            )
        if self.settings.autoconfirm:
            return self._sign_in(user, info)
        return self.user_json(self._send_confirmation(user, info))

    def _signup_existing(
        self, user: Row | None, password: str, data: dict[str, Any], info: RequestInfo
    ) -> dict[str, Any]:
        if self.settings.autoconfirm:
            raise errors.unprocessable("user_already_exists", "User already registered")
        if user is None or user.get("email_confirmed_at"):
            # do not reveal that the email has an account: answer as for a new one
            fake = new_user(str(user["email"] if user else ""), None, self.now())
            fake["confirmation_sent_at"] = self.now()
            return user_json(fake)
        values = {
            "encrypted_password": passwords.hash_password(password),
            "raw_user_meta_data": merge_metadata(user.get("raw_user_meta_data"), data),
        }
        self.store.update("users", values, id=user["id"])
        return self.user_json(self._send_confirmation({**user, **values}, info))

    def _send_confirmation(self, user: Row, info: RequestInfo) -> Row:
        token = secrets.token_urlsafe(32)
        now = self.now()
        values = {"confirmation_token": token_digest(token), "confirmation_sent_at": now}
        self.store.update("users", {**values, "updated_at": now}, id=user["id"])
        self.mailer.send(confirmation_mail(user["email"], self._link(info, token, "signup")))
        return {**user, **values, "updated_at": now}

    def _link(self, info: RequestInfo, token: str, type_: str) -> str:
        query = {"token": token, "type": type_}
        redirect = info.redirect_to or self.settings.site_url
        if redirect:
            query["redirect_to"] = redirect
        return f"{info.base_url}/auth/v1/verify?{urlencode(query)}"

    def _credentials(self, body: Mapping[str, Any], *, action: str) -> tuple[str, str]:
        email = normalize_email(body.get("email"))
        password = body.get("password")
        if not email:
            if body.get("phone"):
                raise errors.bad_request("phone_provider_disabled", "Phone signups are disabled")
            raise errors.validation_failed(f"{action} requires a valid email")
        if not valid_email(email):
            raise errors.validation_failed("Unable to validate email address: invalid format")
        if not isinstance(password, str) or not password:
            raise errors.validation_failed(f"{action} requires a valid password")
        return email, password

    def check_password(self, password: str) -> None:
        """Refuse a password the policy does not allow (422 weak_password with reasons)."""
        if len(password.encode()) > passwords.MAX_PASSWORD_BYTES:
            raise errors.validation_failed("Password is too long")
        reasons = passwords.weak_reasons(password, self.settings)
        if reasons:
            message = passwords.weak_message(reasons, self.settings)
            raise errors.unprocessable("weak_password", message, weak_password={"reasons": reasons})

    # -- sign-in ------------------------------------------------------------------------

    def password_grant(self, body: Mapping[str, Any], info: RequestInfo) -> dict[str, Any]:
        """POST /token?grant_type=password."""
        email = normalize_email(body.get("email"))
        password = body.get("password")
        if not email or not isinstance(password, str):
            if body.get("phone"):
                raise errors.bad_request("phone_provider_disabled", "Phone logins are disabled")
            raise errors.validation_failed("missing email or phone")
        user = self.store.find("users", email=email)
        if user is None:
            passwords.verify_dummy(password)
            raise _invalid_credentials()
        if not passwords.verify(user.get("encrypted_password"), password):
            raise _invalid_credentials()
        self._check_can_sign_in(user)
        if passwords.needs_rehash(user["encrypted_password"]):
            self.store.update(
                "users", {"encrypted_password": passwords.hash_password(password)}, id=user["id"]
            )
        extra = {}
        reasons = passwords.weak_reasons(password, self.settings)
        if reasons:
            message = passwords.weak_message(reasons, self.settings)
            extra["weak_password"] = {"message": message, "reasons": reasons}
        return self._sign_in(user, info, **extra)

    def _check_can_sign_in(self, user: Row) -> None:
        banned = instant(user.get("banned_until"))
        if banned is not None and banned > self.now():
            raise errors.bad_request("user_banned", "User is banned")
        if not user.get("email_confirmed_at") and not self.settings.autoconfirm:
            raise errors.bad_request("email_not_confirmed", "Email not confirmed")

    def _sign_in(self, user: Row, info: RequestInfo, **extra: Any) -> dict[str, Any]:
        now = self.now()
        issued = self.sessions.start(user["id"], now, user_agent=info.user_agent, ip=info.ip)
        self.store.update("users", {"last_sign_in_at": now, "updated_at": now}, id=user["id"])
        self.store.update("identities", {"last_sign_in_at": now}, user_id=user["id"])
        return self.session_response(
            {**user, "last_sign_in_at": now, "updated_at": now}, issued, **extra
        )

    def refresh_grant(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /token?grant_type=refresh_token: rotate, with reuse detection."""
        token = body.get("refresh_token")
        if not isinstance(token, str) or not token:
            raise errors.validation_failed("refresh_token required")
        issued = self.sessions.refresh(token, self.now())
        user = self.store.find("users", id=issued.session["user_id"])
        if user is None:
            raise errors.bad_request(
                "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"
            )
        banned = instant(user.get("banned_until"))
        if banned is not None and banned > self.now():
            raise errors.bad_request("user_banned", "User is banned")
        return self.session_response(user, issued)

    # -- the signed-in user -------------------------------------------------------------

    def user_for(self, claims: Claims) -> Row:
        """Return the user a verified access token speaks for, with its session alive."""
        sub = claims.sub
        if not sub or not valid_uuid(sub):
            raise errors.forbidden("bad_jwt", "invalid claim: missing sub claim")
        if claims.project not in (None, self.store.project):
            raise errors.forbidden("bad_jwt", "invalid claim: token belongs to another project")
        if claims.session_id and self.store.find("sessions", id=claims.session_id) is None:
            raise errors.forbidden(
                "session_not_found", "Session from session_id claim in JWT does not exist"
            )
        user = self.store.find("users", id=sub)
        if user is None:
            raise errors.forbidden("user_not_found", "User from sub claim in JWT does not exist")
        return user

    def update_user(
        self, claims: Claims, body: Mapping[str, Any], info: RequestInfo
    ) -> dict[str, Any]:
        """PUT /user: change password, metadata, or email (confirmed by mail unless autoconfirm)."""
        user = self.user_for(claims)
        now = self.now()
        values: dict[str, Any] = {}
        password = body.get("password")
        if password is not None:
            if not isinstance(password, str) or not password:
                raise errors.validation_failed("Password must be a non-empty string")
            self.check_password(password)
            if passwords.verify(user.get("encrypted_password"), password):
                raise errors.unprocessable(
                    "same_password", "New password should be different from the old password."
                )
            values["encrypted_password"] = passwords.hash_password(password)
        data = body.get("data")
        if data is not None:
            if not isinstance(data, dict):
                raise errors.validation_failed("data must be a JSON object")
            values["raw_user_meta_data"] = merge_metadata(user.get("raw_user_meta_data"), data)
        if values:
            self.store.update("users", {**values, "updated_at": now}, id=user["id"])
            user = {**user, **values, "updated_at": now}
        email = body.get("email")
        if email is not None and normalize_email(email) != user.get("email"):
            user = self._change_email(user, normalize_email(email), info)
        return self.user_json(user)

    def _change_email(self, user: Row, email: str, info: RequestInfo) -> Row:
        if not valid_email(email):
            raise errors.validation_failed("Unable to validate email address: invalid format")
        if self.store.find("users", email=email) is not None:
            raise errors.unprocessable(
                "email_exists", "A user with this email address has already been registered"
            )
        now = self.now()
        if self.settings.autoconfirm:
            values: dict[str, Any] = {"email": email, "email_confirmed_at": now, "updated_at": now}
            self.store.update("users", values, id=user["id"])
            self.store.update("identities", {"email": email}, user_id=user["id"], provider="email")
            return {**user, **values}
        token = secrets.token_urlsafe(32)
        values = {
            "email_change": email,
            "email_change_token": token_digest(token),
            "email_change_sent_at": now,
            "updated_at": now,
        }
        self.store.update("users", values, id=user["id"])
        self.mailer.send(email_change_mail(email, self._link(info, token, "email_change")))
        return {**user, **values}

    def logout(self, claims: Claims, scope: str) -> None:
        """POST /logout?scope=global|local|others."""
        if scope not in LOGOUT_SCOPES:
            raise errors.validation_failed(
                f"Unsupported logout scope {scope!r}: use global, local or others"
            )
        user = self.user_for(claims)
        self.sessions.end(user["id"], claims.session_id, scope)

    # -- email verification -------------------------------------------------------------

    def verify(self, type_: str, token: str, info: RequestInfo) -> dict[str, Any]:
        """POST/GET /verify: confirm a sign-up (or an email change); return a session."""
        if not token:
            raise errors.validation_failed("Verify requires a token or a token hash")
        column = {"signup": "confirmation_token", "email": "confirmation_token"}.get(type_)
        if type_ == "email_change":
            column = "email_change_token"
        if column is None:
            raise errors.validation_failed(f"Unsupported verification type {type_!r}")
        user = self.store.find("users", **{column: token_digest(token)})
        sent_column = (
            "confirmation_sent_at" if column == "confirmation_token" else "email_change_sent_at"
        )
        sent = instant(user.get(sent_column)) if user else None
        if user is None or sent is None or (self.now() - sent).total_seconds() > CONFIRMATION_TTL_S:
            raise errors.forbidden("otp_expired", "Email link is invalid or has expired")
        now = self.now()
        values: dict[str, Any] = {column: None, "updated_at": now, "email_confirmed_at": now}
        if column == "email_change_token":
            values |= {"email": user["email_change"], "email_change": None}
        meta = merge_metadata(user.get("raw_user_meta_data"), {"email_verified": True})
        values["raw_user_meta_data"] = meta
        self.store.update("users", values, id=user["id"])
        self.store.update(
            "identities", {"email": values.get("email", user["email"])}, user_id=user["id"]
        )
        return self._sign_in({**user, **values}, info)


def _invalid_credentials() -> errors.AuthError:
    return errors.bad_request("invalid_credentials", "Invalid login credentials")
