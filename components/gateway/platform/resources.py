"""`GET /metrics` (Prometheus text) and `GET /rest/v1/` (the OpenAPI document)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

import falcon

from components.datastore import DEFAULT_STORE, Adapter, Schema
from components.datastore.access import visibility
from components.gateway.errors import ApiError
from components.gateway.platform import identity, openapi
from components.gateway.platform.clientip import parse_ip, request_ip
from components.gateway.platform.metrics import render
from components.gateway.platform.runtime import Platform
from components.gateway.postgrest.errors import media_type_error, unacceptable_schema
from mobo import __version__
from mobo.exceptions import DatastoreError, MoboError

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
OPENAPI_MEDIA = ("application/openapi+json", "application/json")


class MetricsResource:
    """The board's gateway metrics, summed over its workers (see metrics.py)."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._authorize(req)
        resp.content_type = PROMETHEUS_TEXT
        resp.text = render(self._platform.collect())

    def _authorize(self, req: falcon.Request) -> None:
        """`[gateway] metrics`: off, public, loopback (or the service role), service_role."""
        mode = self._platform.settings.metrics
        if mode == "off":
            raise ApiError(
                falcon.HTTP_404, "MOBO404", "metrics are off", hint="set [gateway] metrics"
            )
        if mode == "public":
            return
        if mode == "loopback":
            ip = parse_ip(request_ip(req, self._platform.settings.trusted_proxies))
            if ip is not None and ip.is_loopback:
                return
        found = self._platform.identify(req)
        if found is not None and found.role == "service_role":
            return
        from components.gateway.app import require_service_role

        require_service_role(req, self._platform.config)  # the board's key, or 401


class OpenApiDocs:
    """Rendered documents per store, renewed when the store's schema object changes."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[Schema, bytes, str]] = {}
        self._lock = threading.Lock()

    def get(
        self, store: str, adapter: Adapter, build: Callable[[Schema], dict[str, Any]]
    ) -> tuple[bytes, str]:
        """Return (JSON body, ETag) for the store's current schema."""
        schema = adapter.introspect()
        entry = self._entries.get(store)
        if entry is not None and entry[0] is schema:
            return entry[1], entry[2]
        body = json.dumps(build(schema), separators=(",", ":")).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        with self._lock:
            self._entries[store] = (schema, body, etag)
        return body, etag


class OpenApiResource:
    """`GET /rest/v1/`: the live schema of a store (`Accept-Profile`, default `main`)."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self._docs = OpenApiDocs()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        media = req.client_prefers(list(OPENAPI_MEDIA))
        if media is None:
            raise media_type_error([req.accept])
        self._authenticate(req)
        stores = self._platform.stores()
        name = profile(req.get_header("Accept-Profile"), stores.names)
        adapter = _open(stores, name)
        build = lambda schema: openapi.build(  # noqa: E731
            schema,
            store=name,
            engine=adapter.engine,
            stores=stores.names,
            version=__version__,
            auth=self._platform.auth_plugged,
            visible=visibility(adapter.engine),
        )
        body, etag = self._docs.get(name, adapter, build)
        resp.set_header("ETag", etag)
        resp.vary = ("Accept", "Accept-Profile")
        if etag in (req.get_header("If-None-Match") or ""):
            resp.status = falcon.HTTP_304
            return
        resp.content_type = f"{media}; charset=utf-8"
        resp.data = body

    on_head = on_get

    def _authenticate(self, req: falcon.Request) -> None:
        """Any valid key may read the document (as Supabase's anon key does)."""
        self._platform.identify(req)  # remembered on the request for `authenticated`
        try:
            identity.authenticated(req, self._platform.auth())
        except MoboError as exc:
            code = getattr(exc, "code", None)
            if not isinstance(code, str) or not code.startswith("PGRST"):
                raise _unavailable(exc) from None
            raise ApiError(
                falcon.HTTP_401, code, str(exc), headers={"WWW-Authenticate": "Bearer"}
            ) from None


def profile(asked: str | None, names: list[str]) -> str:
    """Return the store a profile header names; `public` (what supabase-js sends by
    default) is the default store unless a store has that name."""
    if not asked or (asked == "public" and asked not in names):
        return DEFAULT_STORE
    if asked not in names:
        raise unacceptable_schema(asked, names)
    return asked


def _open(stores: Any, name: str) -> Adapter:
    try:
        return stores[name]
    except DatastoreError as exc:
        raise _unavailable(exc) from None


def _unavailable(exc: Exception) -> ApiError:
    return ApiError(
        falcon.HTTP_503,
        "PGRST002",
        "Could not query the database for the schema cache. Retrying.",
        details=str(exc),
    )
