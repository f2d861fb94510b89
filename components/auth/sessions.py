"""Sessions and their refresh tokens: issue, rotate with reuse detection, end.

A refresh token is opaque to clients: `base64url(HMAC-SHA256(k, row id))`, where `k` is
derived from the board's JWT secret. Only its SHA-256 is stored, so the table alone
gives no usable token; the server can re-derive a token from its row, which is how a
reuse inside the reuse interval gets *the same* current child token back (GoTrue's
behaviour), not a second branch.

Rotation: using token T revokes T and issues a child. Presenting a revoked T again:
- within `refresh_token_reuse_interval` seconds of its revocation: the session's
  current (active) token is returned, for clients racing themselves (two tabs);
- later: the whole family is revoked (the session ends) and the caller gets
  400 `refresh_token_already_used` "Invalid Refresh Token: Already Used".
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any

from . import errors
from .settings import AuthSettings
from .store import AuthStore, Row, instant


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class RefreshTokenCodec:
    """Derive a refresh token from its row id, and the hash stored for it."""

    def __init__(self, root_secret: str) -> None:
        self._key = hmac.new(root_secret.encode(), b"magflock refresh tokens v1", "sha256").digest()

    def token(self, token_id: str) -> str:
        return _b64(hmac.new(self._key, token_id.encode(), "sha256").digest())

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Issued:
    """A session and the refresh token to hand out for it."""

    session: Row
    refresh_token: str


class LostRace(Exception):
    """Another request rotated the same token between our read and our write."""


class Sessions:
    """Start, refresh and end sessions of one project's users."""

    def __init__(self, store: AuthStore, codec: RefreshTokenCodec, settings: AuthSettings) -> None:
        self.store = store
        self.codec = codec
        self.settings = settings

    def start(self, user_id: str, now: dt.datetime, **info: Any) -> Issued:
        """Open a session for a user and issue its first refresh token."""
        session = {
            "id": str(uuid.uuid4()),
            "user_id": user_id,
            "aal": "aal1",
            "user_agent": info.get("user_agent"),
            "ip": info.get("ip"),
            "created_at": now,
            "updated_at": now,
        }
        with self.store.transaction() as tx:
            self.store.insert("sessions", session, tx)
            token = self._issue(tx, session["id"], user_id, None, now)
        return Issued({**session, "project": self.store.project}, token)

    def _issue(
        self, tx: Any, session_id: str, user_id: str, parent: str | None, now: dt.datetime
    ) -> str:
        token_id = str(uuid.uuid4())
        token = self.codec.token(token_id)
        row = {
            "id": token_id,
            "token_hash": self.codec.digest(token),
            "session_id": session_id,
            "user_id": user_id,
            "parent": parent,
            "revoked": False,
            "created_at": now,
            "updated_at": now,
        }
        self.store.insert("refresh_tokens", row, tx)
        return token

    def refresh(self, token: str, now: dt.datetime) -> Issued:
        """Rotate `token`; return the session and the token the client must use next."""
        try:
            return self._refresh_once(token, now)
        except LostRace:
            return self._refresh_once(token, now)  # a fresh transaction sees the winner's write

    def _refresh_once(self, token: str, now: dt.datetime) -> Issued:
        with self.store.transaction() as tx:
            issued = self._rotate(tx, token, now)
        if issued is None:  # the family was revoked (committed above): now refuse
            raise errors.bad_request(
                "refresh_token_already_used", "Invalid Refresh Token: Already Used"
            )
        return issued

    def _rotate(self, tx: Any, token: str, now: dt.datetime) -> Issued | None:
        row = self.store.find("refresh_tokens", tx, token_hash=self.codec.digest(token))
        if row is None:
            raise errors.bad_request(
                "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"
            )
        session = self.store.find("sessions", tx, id=row["session_id"])
        if session is None:
            raise errors.bad_request(
                "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"
            )
        self._check_session(session, now)
        if row["revoked"]:
            return self._reused(tx, row, session, now)
        if self.settings.refresh_token_rotation is False:
            self.store.update(
                "sessions", {"refreshed_at": now, "updated_at": now}, tx, id=session["id"]
            )
            return Issued(session, token)
        if not self.store.update(
            "refresh_tokens", {"revoked": True, "updated_at": now}, tx, id=row["id"], revoked=False
        ):
            raise LostRace
        child = self._issue(tx, session["id"], row["user_id"], row["id"], now)
        self.store.update(
            "sessions", {"refreshed_at": now, "updated_at": now}, tx, id=session["id"]
        )
        return Issued(session, child)

    def _check_session(self, session: Row, now: dt.datetime) -> None:
        not_after = instant(session.get("not_after"))
        if not_after is not None and now >= not_after:
            raise errors.bad_request("session_expired", "Invalid Refresh Token: Session Expired")

    def _reused(self, tx: Any, row: Row, session: Row, now: dt.datetime) -> Issued | None:
        revoked_at = instant(row["updated_at"]) or now
        window = dt.timedelta(seconds=self.settings.refresh_token_reuse_interval)
        if now - revoked_at <= window:
            active = self.store.find("refresh_tokens", tx, session_id=session["id"], revoked=False)
            if active is not None:
                return Issued(session, self.codec.token(active["id"]))
        # outside the window: someone replays an old token; end the whole family
        self.store.delete("refresh_tokens", tx, session_id=session["id"])
        self.store.delete("sessions", tx, id=session["id"])
        return None

    def end(self, user_id: str, session_id: str | None, scope: str) -> int:
        """Log out: `global` ends every session, `local` this one, `others` all but this one."""
        if scope == "global" or (scope != "local" and not session_id):
            return self.store.delete_sessions(user_id)
        if scope == "local":
            if not session_id:
                return 0
            with self.store.transaction() as tx:
                self.store.delete("refresh_tokens", tx, session_id=session_id)
                return self.store.delete("sessions", tx, id=session_id, user_id=user_id)
        return self.store.delete_sessions(user_id, keep=session_id)
