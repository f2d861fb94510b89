"""A REST call and its reply as plain values: what the Falcon resources translate to and from.

`Call` is the request without HTTP objects (so the API is testable without a server);
`Reply` is the status, headers and body to send. `Target` is what one call works on: the
store's adapter and schema, the table, the caller's Guard and the session's context.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from components.datastore import Adapter
from components.datastore.access import Caller, Guard
from components.datastore.schema import Schema, Table
from components.gateway.postgrest.media import Media
from mobo.principal import Principal

CHARSET = "; charset=utf-8"
CONTENT_TYPES = {
    Media.JSON: "application/json" + CHARSET,
    Media.OBJECT: "application/vnd.pgrst.object+json" + CHARSET,
    Media.ARRAY: "application/vnd.pgrst.array+json" + CHARSET,
    Media.CSV: "text/csv" + CHARSET,
}


@dataclass(frozen=True, slots=True)
class Call:
    """One request to `/rest/v1/...`: `target` is the path below it (`todos`, `rpc/fn`)."""

    method: str
    target: Sequence[str]
    params: Sequence[tuple[str, str | None]]
    headers: Mapping[str, str]
    body: bytes = b""
    principal: Principal | None = None  # the caller, when already authenticated

    @property
    def path(self) -> str:
        return "/" + "/".join(self.target)

    @property
    def header_pairs(self) -> list[tuple[str, str]]:
        return list(self.headers.items())


@dataclass(slots=True)
class Reply:
    """What to answer: a status, headers, and a body (None: no body, as for HEAD or 204)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    content_type: str | None = None
    principal: Principal | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """What one call works on, resolved once."""

    adapter: Adapter
    schema: Schema
    table: Table
    guard: Guard
    caller: Caller
    lookup: Callable[[str], Table]
    visible: Callable[[str], bool]


def query_pairs(query_string: str) -> list[tuple[str, str | None]]:
    """Split a raw query string into decoded (key, value) pairs, in order.

    A key without `=` has the value None (PostgREST ignores it); `+` is a space.
    """
    pairs: list[tuple[str, str | None]] = []
    for part in query_string.split("&"):
        if not part:
            continue
        key, eq, value = part.partition("=")
        pairs.append((unquote_plus(key), unquote_plus(value) if eq else None))
    return pairs
