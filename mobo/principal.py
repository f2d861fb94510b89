"""Who a request runs as: the `Principal` every card may hold, and its refusal.

MagAuth makes Principals (from a JWT or an API key), the gateway finds one per request,
and MagDS's access policy, realtime and later cards read it. It names no card: the roles
`anon`, `authenticated` and `service_role` are data (PostgREST's and Supabase's names).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mobo.exceptions import MoboError


@dataclass(frozen=True, slots=True)
class Principal:
    """The role a request runs as, the claims SQL may read, and the key that proved it.

    `claims` is what the gateway puts in `request.jwt.claims`; `key_id` names a native
    API key (None for JWTs); `project` is the claim `ref`.
    """

    role: str
    claims: Mapping[str, Any] = field(default_factory=dict)
    key_id: str | None = None
    project: str | None = None

    @property
    def user_id(self) -> str | None:
        sub = self.claims.get("sub")
        return str(sub) if sub else None


def presented(headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    """Return (apikey, bearer) from request headers, whatever their case (never a query
    string: credentials in URLs end up in logs)."""
    lowered = {str(k).lower(): v for k, v in headers.items()}
    apikey = (lowered.get("apikey") or "").strip() or None
    auth = (lowered.get("authorization") or "").strip()
    bearer = auth[7:].strip() or None if auth[:7].lower() == "bearer " else None
    return apikey, bearer


class Unauthenticated(MoboError):
    """No credentials, or credentials refused; `code` is PostgREST's (PGRST301/302/303).

    MagAuth's own refusals (`TokenError` and kin) are subclasses, so a card that serves
    requests catches this one type whether or not the auth card is plugged.
    """

    code = "PGRST301"

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        if code is not None:
            self.code = code
        self.message = message
