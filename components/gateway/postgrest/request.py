"""One PostgREST request, described: `parse_request(method, target, params, headers)`.

Checks run in PostgREST's order, so the first error a client sees is PostgREST's:
path (PGRST125), profile (PGRST106), verb (PGRST101/117), query string (PGRST100),
ranges (PGRST103/114), body type (PGRST102), Accept (PGRST107), strict Prefer (PGRST122).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from components.gateway.postgrest import errors, media
from components.gateway.postgrest.filters import And, Node
from components.gateway.postgrest.grammar import EmbedPath
from components.gateway.postgrest.media import Media
from components.gateway.postgrest.params import OrderTerm, QueryParams, parse_query
from components.gateway.postgrest.prefer import Preferences, parse_prefer
from components.gateway.postgrest.ranges import Page, header_range, top_page
from components.gateway.postgrest.select import Embed, Item

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


class Kind(StrEnum):
    TABLE = "table"  # /{table}
    RPC = "rpc"  # /rpc/{function}
    ROOT = "root"  # /, the OpenAPI document


class Action(StrEnum):
    READ = "read"  # GET, HEAD
    CREATE = "create"  # POST
    UPSERT = "upsert"  # PUT (one row)
    UPDATE = "update"  # PATCH
    DELETE = "delete"  # DELETE
    INVOKE = "invoke"  # GET, HEAD, POST on /rpc/{function}
    INFO = "info"  # OPTIONS


CONTENT_PROFILE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
_TABLE_ACTIONS = {
    "GET": Action.READ,
    "HEAD": Action.READ,
    "POST": Action.CREATE,
    "PUT": Action.UPSERT,
    "PATCH": Action.UPDATE,
    "DELETE": Action.DELETE,
    "OPTIONS": Action.INFO,
}
_SESSION = ("count", "tx", "handling", "timezone")
_WRITE = ("return", *_SESSION, "max-affected")
_APPLIED = {  # which preferences PostgREST echoes in Preference-Applied, per action
    Action.READ: _SESSION,
    Action.CREATE: ("resolution", "missing", *_WRITE),
    Action.UPSERT: ("missing", *_WRITE),
    Action.UPDATE: ("missing", *_WRITE),
    Action.DELETE: _WRITE,
    Action.INVOKE: (*_SESSION, "max-affected"),
    Action.INFO: (),
}


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """What a request asks for, in PostgREST's terms; mappings are keyed by embed path."""

    method: str
    kind: Kind
    name: str | None  # the table or function; None at the root
    action: Action
    profile: str | None  # the store named by Accept-Profile / Content-Profile
    select: tuple[Item, ...]
    filters: dict[EmbedPath, tuple[Node, ...]]
    order: dict[EmbedPath, tuple[OrderTerm, ...]]
    pages: dict[EmbedPath, Page]  # `()` is always there, with the Range header applied
    columns: tuple[str, ...] | None
    on_conflict: tuple[str, ...] | None
    rpc_args: tuple[tuple[str, str], ...]  # GET/HEAD /rpc/fn arguments, repeats kept
    prefer: Preferences
    media: Media  # what to answer with
    strip_nulls: bool  # `;nulls=stripped` on the vnd.pgrst object/array types
    body_media: Media | None  # how to read the body; None when there is none to read

    @property
    def head(self) -> bool:
        return self.method == "HEAD"

    @property
    def page(self) -> Page:
        return self.pages[()]

    @property
    def singular(self) -> bool:
        return self.media is Media.OBJECT

    def where(self, embed: EmbedPath = ()) -> Node | None:
        """Return every filter at one level ANDed together, or None when there is none."""
        nodes = self.filters.get(embed, ())
        return None if not nodes else nodes[0] if len(nodes) == 1 else And(nodes)

    def preference_applied(self) -> str | None:
        """Return the `Preference-Applied` header value PostgREST would send."""
        return self.prefer.applied(_APPLIED[self.action])


def parse_request(
    method: str,
    target: str | Sequence[str],
    params: Iterable[tuple[str, str | None]],
    headers: Headers,
    *,
    profiles: Collection[str] | None = None,
    allow_tx: bool = False,
    timezones: Collection[str] | None = None,
    aggregates: bool | None = None,
) -> ParsedRequest:
    """Describe one request to `/rest/v1/<target>`; raise ApiError for bad input.

    `target` is the path below the API root (`"people"`, `"rpc/add_them"`, `""`) or its
    decoded segments; `params` the decoded query string in order; `profiles` the store
    names a profile header may name (None: any); `timezones` the valid `Prefer: timezone`
    values (None: the IANA names this machine knows); `aggregates` whether `select=` may
    use aggregate functions (PostgREST's `db-aggregates-enabled`; False: PGRST123;
    None: parse them and leave the decision to the caller, as `to_query` makes it).
    """
    method = method.upper()
    kind, name = route(target)
    hdrs = _headers(headers)
    profile = _profile(method, hdrs, profiles)
    action = _action(kind, method)
    query = parse_query(params, rpc_read=kind is Kind.RPC and method in ("GET", "HEAD"))
    if aggregates is False and has_aggregates(query.select):
        raise errors.aggregates_not_allowed()
    pages = _pages(method, query, hdrs)
    body = _body_media(action, method, hdrs)
    output, strip = _output(kind, action, _one(hdrs, "accept"))
    prefer = parse_prefer(hdrs.get("prefer", ()), allow_tx=allow_tx, timezones=timezones)
    prefer.check()
    return ParsedRequest(
        method=method,
        kind=kind,
        name=name,
        action=action,
        profile=profile,
        select=query.select,
        filters=query.filters,
        order=query.order,
        pages=pages,
        columns=query.columns,
        on_conflict=query.on_conflict,
        rpc_args=query.rpc_args,
        prefer=prefer,
        media=output,
        strip_nulls=strip,
        body_media=body,
    )


def has_aggregates(items: tuple[Item, ...]) -> bool:
    """Say whether a select tree uses an aggregate function at any level."""
    for item in items:
        if isinstance(item, Embed):
            if has_aggregates(item.items):
                return True
        elif item.aggregate is not None:
            return True
    return False


def route(target: str | Sequence[str]) -> tuple[Kind, str | None]:
    """Return what a path names: the root, a table, or a function."""
    parts = target.strip("/").split("/") if isinstance(target, str) else list(target)
    parts = [] if parts == [""] else parts
    if not parts:
        return Kind.ROOT, None
    if len(parts) == 1 and parts[0]:
        return Kind.TABLE, parts[0]
    if len(parts) == 2 and parts[0] == "rpc" and parts[1]:
        return Kind.RPC, parts[1]
    raise errors.invalid_path()


def _headers(headers: Headers) -> dict[str, list[str]]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    found: dict[str, list[str]] = {}
    for name, value in items:
        found.setdefault(name.lower(), []).append(value)
    return found


def _one(hdrs: dict[str, list[str]], name: str) -> str | None:
    values = hdrs.get(name)
    return ",".join(values) if values else None


def _profile(
    method: str, hdrs: dict[str, list[str]], profiles: Collection[str] | None
) -> str | None:
    header = "content-profile" if method in CONTENT_PROFILE_METHODS else "accept-profile"
    values = hdrs.get(header)
    profile = values[0].strip() if values else None
    if profile is not None and profiles is not None and profile not in profiles:
        raise errors.unacceptable_schema(profile, profiles)
    return profile


def _action(kind: Kind, method: str) -> Action:
    if kind is Kind.RPC:
        if method in ("GET", "HEAD", "POST"):
            return Action.INVOKE
        if method == "OPTIONS":
            return Action.INFO
        raise errors.invalid_rpc_method(method)
    action = _TABLE_ACTIONS.get(method)
    if action is None or (kind is Kind.ROOT and action not in (Action.READ, Action.INFO)):
        raise errors.unsupported_method(method)
    return action


def _pages(method: str, query: QueryParams, hdrs: dict[str, list[str]]) -> dict[EmbedPath, Page]:
    header = None
    if method == "GET":  # RFC 9110: Range applies to GET only, as in PostgREST
        header = header_range(_one(hdrs, "range"), _one(hdrs, "range-unit"))
    pages = dict(query.pages)
    pages[()] = top_page(query.pages[()], header)
    if method == "PUT" and pages[()] != Page():
        raise errors.put_limit_not_allowed()
    return pages


def _body_media(action: Action, method: str, hdrs: dict[str, list[str]]) -> Media | None:
    if action in (Action.CREATE, Action.UPDATE, Action.UPSERT):
        return media.body_media(_one(hdrs, "content-type"), media.TABLE_INPUT)
    if action is Action.INVOKE and method == "POST":
        return media.body_media(_one(hdrs, "content-type"), media.RPC_INPUT)
    return None


def _output(kind: Kind, action: Action, accept: str | None) -> tuple[Media, bool]:
    if action is Action.INFO:
        return Media.JSON, False
    offered = {Kind.TABLE: media.TABLE_OUTPUT, Kind.RPC: media.RPC_OUTPUT}
    return media.negotiate(accept, offered.get(kind, media.ROOT_OUTPUT))
