"""Native API keys for service accounts, devices and AI agents.

A key reads `mfk_<id>_<secret>`: `id` (12 hex digits) finds the row, `secret` (32 random
bytes, base64url) is checked against its stored SHA-256 in constant time. A key is shown
once, when created; afterwards only its prefix `mfk_<id>` can be listed. Revoking sets
`revoked_at`; an expired or revoked key is refused. `last_used_at` is written at most
once per `key_touch_interval` seconds per key and process, so a busy key costs one
indexed read per request, not a write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mobo.exceptions import MoboError

from .store import AuthStore, Row, instant

PREFIX = "mfk_"
KEY = re.compile(r"^mfk_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})$")
ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
EXPIRES = re.compile(r"^(\d+)([smhdw])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class ApiKeyError(MoboError):
    """A key was refused, or a key operation cannot be done."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key, without its secret."""

    id: str
    name: str
    role: str
    project: str
    created: dt.datetime
    expires: dt.datetime | None
    last_used: dt.datetime | None
    revoked: dt.datetime | None

    @property
    def prefix(self) -> str:
        return f"{PREFIX}{self.id}"

    def as_dict(self) -> dict[str, Any]:
        """Return the row `mobo keys:list --json` prints (the key itself is not retrievable)."""

        def iso(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "name": self.name,
            "role": self.role,
            "key": self.prefix + "_…",
            "kind": "api_key",
            "id": self.id,
            "project": self.project,
            "created": iso(self.created),
            "expires": iso(self.expires),
            "last_used": iso(self.last_used),
            "revoked": iso(self.revoked),
        }


def _record(row: Row) -> ApiKey:
    return ApiKey(
        id=row["id"],
        name=row["name"],
        role=row["role"],
        project=row["project"],
        created=instant(row["created_at"]) or dt.datetime.now(dt.UTC),
        expires=instant(row.get("expires_at")),
        last_used=instant(row.get("last_used_at")),
        revoked=instant(row.get("revoked_at")),
    )


def parse_expires(text: str | None, now: dt.datetime) -> dt.datetime | None:
    """Read `--expires`: a span (`30d`, `12h`, `2w`) or an ISO 8601 date or instant."""
    if not text:
        return None
    match = EXPIRES.match(text.strip())
    if match:
        return now + dt.timedelta(seconds=int(match.group(1)) * UNITS[match.group(2)])
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ApiKeyError(
            f"--expires {text!r} is neither a span nor a date",
            hint="use e.g. 30d, 12h or 2030-01-01",
        ) from None
    moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    if moment <= now:
        raise ApiKeyError(f"--expires {text!r} is in the past")
    return moment


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeys:
    """Create, verify, list and revoke the native keys of one project."""

    def __init__(
        self, store: AuthStore, touch_interval_s: int = 60, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.touch_interval_s = touch_interval_s
        self.clock = clock
        self._touched: dict[str, float] = {}
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)

    def create(
        self, name: str, role: str, expires: dt.datetime | None = None
    ) -> tuple[str, ApiKey]:
        """Store a new key; return the key (shown once) and its record."""
        if not name.strip():
            raise ApiKeyError("a key needs a name", hint="pass --name, e.g. --name sensor-12")
        if not ROLE.match(role):
            raise ApiKeyError(
                f"{role!r} is not a role name", hint="e.g. anon, authenticated, service_role"
            )
        if any(k.name == name and k.revoked is None for k in self.list()):
            raise ApiKeyError(
                f"an active key named {name!r} exists",
                hint=f"revoke it first: mobo keys:revoke {name}",
            )
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        now = self.now()
        row = {
            "id": key_id,
            "name": name,
            "role": role,
            "secret_hash": digest(secret),
            "created_at": now,
            "expires_at": expires,
        }
        self.store.insert("api_keys", row)
        return f"{PREFIX}{key_id}_{secret}", _record({**row, "project": self.store.project})

    def list(self) -> list[ApiKey]:
        return [_record(row) for row in self.store.find_all("api_keys")]

    def revoke(self, name: str) -> int:
        """Revoke every active key named `name`; return how many."""
        now = self.now()
        count = self.store.update("api_keys", {"revoked_at": now}, name=name, revoked_at=None)
        if not count:
            raise ApiKeyError(f"no active key named {name!r}", hint="see `mobo keys:list`")
        return count

    def verify(self, key: str) -> ApiKey:
        """Return the record of a valid key; raise ApiKeyError (never saying which part failed)."""
        match = KEY.match(key)
        row = self.store.find("api_keys", id=match.group(1)) if match else None
        given = digest(match.group(2)) if match else ""
        if row is None or not hmac.compare_digest(row["secret_hash"], given):
            raise ApiKeyError("invalid API key")
        record = _record(row)
        now = self.now()
        if record.revoked is not None or (record.expires is not None and record.expires <= now):
            raise ApiKeyError("API key revoked or expired")
        self._touch(record.id)
        return record

    def _touch(self, key_id: str) -> None:
        now = self.clock()
        with self._lock:
            if now - self._touched.get(key_id, 0.0) < self.touch_interval_s:
                return
            self._touched[key_id] = now
        self.store.update("api_keys", {"last_used_at": self.now()}, id=key_id)
