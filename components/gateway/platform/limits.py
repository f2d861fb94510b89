"""The rate-limit middleware: route groups, buckets per IP and per key, 429 answers.

Groups: `auth` (the paths MagAuth names in `RATE_LIMIT_GROUPS`, each with its own
buckets), `rest` (`/rest/`), `realtime` (`/realtime/`, `/apps/`, the Pusher HTTP API)
and `default` (everything else). `/health` and CORS preflights are never limited; the
service role is not limited while `[rate_limit] exempt_service_role` is on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import falcon

from components.gateway.errors import ApiError
from components.gateway.platform import identity
from components.gateway.platform.clientip import bucket_ip, request_ip
from components.gateway.platform.metrics import Metrics
from components.gateway.platform.ratelimit import RateLimiter, Verdict
from components.gateway.platform.settings import Limit, PlatformSettings

if TYPE_CHECKING:
    from mobo.principal import Principal

LOGGER = logging.getLogger(__name__)

EXEMPT_PATHS = frozenset({"/health"})
REALTIME_PREFIXES = ("/realtime/", "/apps/")
AUTH_PREFIX = "/auth/v1"
AUTH_CODE = "over_request_rate_limit"  # GoTrue's error code, which auth-js knows


def auth_paths() -> Mapping[str, str]:
    """Return MagAuth's strictly limited paths (none when the auth card is absent)."""
    try:
        from components.auth.routes import RATE_LIMIT_GROUPS
    except ImportError:
        return {}
    return RATE_LIMIT_GROUPS


def group_of(path: str, strict: Mapping[str, str]) -> tuple[str, str]:
    """Return (route group, bucket prefix) for a path."""
    bucket = strict.get(path)
    if bucket is not None:
        return "auth", bucket
    if path.startswith("/rest/"):
        return "rest", "rest"
    if path.startswith(REALTIME_PREFIXES):
        return "realtime", "realtime"
    return "default", "default"


class RateLimitMiddleware:
    """Count each routed request against its group's buckets; refuse with 429 when full."""

    def __init__(
        self,
        settings: PlatformSettings,
        limiter: Callable[[], RateLimiter],
        identify: Callable[[falcon.Request], Principal | None],
        metrics: Metrics,
    ) -> None:
        self._settings = settings
        self._limiter = limiter
        self._identify = identify
        self._metrics = metrics
        self._strict = auth_paths()

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: object, params: dict
    ) -> None:
        if not self._settings.limits_enabled or req.method == "OPTIONS":
            return
        if req.path in EXEMPT_PATHS:
            return
        group, prefix = group_of(req.path, self._strict)
        buckets = self._buckets(req, group, prefix)
        if buckets is None:
            return
        verdict = self._limiter().check(buckets)
        if verdict is None:
            return
        req.context.rate_limit = verdict
        if not verdict.allowed:
            self._metrics.count_limited(group)
            raise too_many(req, group, verdict)

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, ok: bool
    ) -> None:
        verdict = req.context.get("rate_limit")
        if verdict is not None:
            resp.set_headers(verdict.headers())

    def _buckets(
        self, req: falcon.Request, group: str, prefix: str
    ) -> list[tuple[str, Limit]] | None:
        """Return the buckets to count the request in; None when it is exempt."""
        limits = self._settings.limits[group]
        found = None
        if limits.key is not None or self._settings.exempt_service_role:
            found = self._identify(req)
            if found is not None and found.role == "service_role":
                if self._settings.exempt_service_role:
                    return None
        buckets = []
        if limits.ip is not None:
            ip = bucket_ip(request_ip(req, self._settings.trusted_proxies))
            buckets.append((f"{prefix}:ip:{ip}", limits.ip))
        if limits.key is not None and found is not None:
            buckets.append((f"{prefix}:key:{identity.key_identity(found)}", limits.key))
        return buckets


def too_many(req: falcon.Request, group: str, verdict: Verdict) -> Exception:
    """Return the 429 to raise: GoTrue's body on auth paths, PostgREST's elsewhere."""
    scope = "key" if ":key:" in verdict.bucket else "client IP"
    details = f"at most {verdict.limit} requests at once per {scope} on {group} routes"
    hint = f"retry after {verdict.retry_after_s} s"
    if req.path.startswith(AUTH_PREFIX):
        error = _auth_error(details, hint)
        if error is not None:
            return error
    return ApiError(falcon.HTTP_429, "MOBO429", "Too many requests", details=details, hint=hint)


def _auth_error(details: str, hint: str) -> Any:
    try:
        from components.auth.errors import AuthError
    except ImportError:
        return None
    extra = {"details": details, "hint": hint}
    return AuthError(429, AUTH_CODE, "Request rate limit reached", extra=extra)
