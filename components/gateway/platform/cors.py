"""CORS: which browser origins may call the board, and preflights answered before auth.

`[gateway] cors_origins` lists origins (`https://app.example.com`), wildcard subdomains
(`https://*.example.com`) or `"*"` (the default: MagFlock's keys travel in headers, never
cookies, so a page cannot borrow a visitor's credentials, as with Supabase's defaults).
A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered 204
here, before rate limits, authentication and routing; from an origin not listed it gets
403 with the reason. Every other response to an allowed origin carries
`Access-Control-Allow-Origin` and the headers the supabase clients read.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

import falcon

from components.gateway.errors import ApiError

ALLOW_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOW_HEADERS = (
    "apikey",
    "authorization",
    "content-type",
    "prefer",
    "range",
    "range-unit",
    "accept",
    "accept-profile",
    "content-profile",
    "x-client-info",
    "x-supabase-api-version",
    "x-upsert",
)
EXPOSE_HEADERS = ", ".join(
    (
        "Content-Range",
        "Content-Profile",
        "Content-Location",
        "Range-Unit",
        "Preference-Applied",
        "Location",
        "ETag",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
        "Retry-After",
        "X-Supabase-Api-Version",
    )
)
TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP header name


class CorsPolicy:
    """Decide what a browser at an origin may do."""

    def __init__(self, origins: tuple[str, ...], max_age: int) -> None:
        self.any = "*" in origins
        self._exact = frozenset(o for o in origins if "*" not in o)
        self._patterns = tuple(o for o in origins if "*" in o and o != "*")
        self.max_age = str(max_age)

    def allow_origin(self, origin: str) -> str | None:
        """Return the `Access-Control-Allow-Origin` value for `origin`, or None if refused."""
        if self.any:
            return "*"
        low = origin.lower()
        if low in self._exact or any(fnmatchcase(low, p) for p in self._patterns):
            return origin
        return None

    def allow_headers(self, requested: str | None) -> str:
        """Return the allowed request headers: ours, plus any well-formed one asked for."""
        names = list(ALLOW_HEADERS)
        for name in (requested or "").split(","):
            name = name.strip().lower()
            if name and TOKEN.match(name) and name not in names:
                names.append(name)
        return ", ".join(names)


class CorsMiddleware:
    """Answer preflights first; add CORS headers to every response for an allowed origin."""

    def __init__(self, policy: CorsPolicy) -> None:
        self._policy = policy

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        origin = req.get_header("Origin")
        if req.method != "OPTIONS" or not origin:
            return
        if not req.get_header("Access-Control-Request-Method"):
            return  # a plain OPTIONS: the resource answers it
        req.context.preflight = True
        allowed = self._policy.allow_origin(origin)
        if allowed is None:
            raise refused(origin)
        resp.status = falcon.HTTP_204
        resp.set_headers(
            {
                "Access-Control-Allow-Origin": allowed,
                "Access-Control-Allow-Methods": ALLOW_METHODS,
                "Access-Control-Allow-Headers": self._policy.allow_headers(
                    req.get_header("Access-Control-Request-Headers")
                ),
                "Access-Control-Max-Age": self._policy.max_age,
            }
        )
        vary(resp, allowed)
        resp.complete = True

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, ok: bool
    ) -> None:
        origin = req.get_header("Origin")
        if not origin or req.context.get("preflight"):
            return
        allowed = self._policy.allow_origin(origin)
        if allowed is None:
            return
        resp.set_header("Access-Control-Allow-Origin", allowed)
        resp.set_header("Access-Control-Expose-Headers", EXPOSE_HEADERS)
        vary(resp, allowed)


def vary(resp: falcon.Response, allowed: str) -> None:
    """Tell caches the answer depends on the Origin when it echoes one."""
    if allowed != "*":
        resp.append_header("Vary", "Origin")


def refused(origin: str) -> ApiError:
    return ApiError(
        falcon.HTTP_403,
        "MOBO403",
        f"origin {origin} may not call this board",
        hint="add it to [gateway] cors_origins in mobo.toml",
    )
