"""Time every request, count it in the metrics, and queue its `api.request` event.

The event says what was asked and how it went, never what was sent: method, path (no
query string: filters and tokens live there), route template and table, status, ms,
role, key id, user id and client IP. No header, no body.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import falcon

from components.gateway.platform.clientip import request_ip
from components.gateway.platform.metrics import Metrics
from components.gateway.platform.reporter import Reporter
from components.gateway.platform.settings import Network

if TYPE_CHECKING:
    from mobo.principal import Principal

MAX_PATH = 256  # longer paths are cut in events
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
PREFLIGHT = "(preflight)"
UNMATCHED = "(unmatched)"


def route_of(req: falcon.Request) -> str:
    """Return the route template that served the request (bounded, for metric labels)."""
    if req.context.get("preflight"):
        return PREFLIGHT
    return req.uri_template or UNMATCHED


class ObserveMiddleware:
    """The outermost middleware: sees every request, preflights and errors included."""

    def __init__(
        self,
        metrics: Metrics,
        reporter: Reporter,
        trusted: tuple[Network, ...],
        identify: Callable[[falcon.Request], Principal | None],
        on_request: Callable[[], None],
    ) -> None:
        self._metrics = metrics
        self._reporter = reporter
        self._trusted = trusted
        self._identify = identify
        self._on_request = on_request

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._on_request()
        req.context.started = time.perf_counter()
        self._metrics.enter()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, ok: bool
    ) -> None:
        started = req.context.get("started")
        if started is None:
            return
        seconds = time.perf_counter() - started
        route = route_of(req)
        method = req.method if req.method in METHODS else "OTHER"
        status = resp.status_code
        self._metrics.observe(method, route, status, seconds)
        if self._reporter.enabled:
            data, actor = self._event(req, route, status, seconds)
            self._reporter.submit(data, actor)

    def _event(
        self, req: falcon.Request, route: str, status: int, seconds: float
    ) -> tuple[dict[str, Any], str | None]:
        found = None
        if route != PREFLIGHT:
            found = self._identify(req)
        data = {
            "method": req.method[:16],
            "path": req.path[:MAX_PATH],
            "route": route,
            "table": req.context.get("table") or _table(req),
            "status": status,
            "ms": round(seconds * 1000, 3),
            "role": found.role if found else None,
            "key_id": found.key_id if found else None,
            "user": found.user_id if found and found.role != "anon" else None,
            "ip": request_ip(req, self._trusted),
        }
        actor = (found.key_id or data["user"]) if found else None
        return data, actor


def _table(req: falcon.Request) -> str | None:
    """Return the `{table}` the route matched, if it has one."""
    template = req.uri_template or ""
    if "{table}" not in template:
        return None
    prefix = template.split("{table}", 1)[0]
    rest = req.path[len(prefix) :] if req.path.startswith(prefix) else ""
    return rest.split("/", 1)[0][:MAX_PATH] or None
