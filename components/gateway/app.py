"""The gateway's Falcon app: `create_app(config, services)`, thin resources."""

from __future__ import annotations

import hmac
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import falcon
import redis

from components.gateway import errors
from mobo import __version__
from mobo.kernel.config import Config
from mobo.kernel.keys import Keys
from mobo.kernel.provided import provided
from mobo.kernel.redisconn import connect, read_cards
from mobo.kernel.registry import Registry

if TYPE_CHECKING:
    from components.datastore import Datastores
    from components.gateway.platform import Platform
    from mobo.kernel.bus import Bus
    from mobo.principal import Principal

LOGGER = logging.getLogger(__name__)
MASTER_HEADER = "X-Mobo-Gateway-Master"


@dataclass
class Services:
    """What the gateway's resources need, built once per worker process."""

    redis_url: str
    keys: Keys
    cards: list[str]
    # what each plugged card's routes mount returned (the first value, for a card with
    # several), by card name: e.g. the auth card's MagAuth, which every resource that
    # authenticates asks for; absent when the card is unplugged
    provided: dict[str, Any] = field(default_factory=dict)
    # the worker's one set of stores, shared by REST, MagAuth and the platform (OpenAPI,
    # schema watcher); create_app makes it unless the caller gave one
    datastores: Datastores | None = None
    platform: Platform | None = None  # set by the platform's mount: middleware, /metrics, OpenAPI

    @cached_property
    def redis(self) -> redis.Redis:
        return connect(self.redis_url, timeout=1.0)

    def identify(self, req: falcon.Request) -> Principal:
        """Return who sent `req`, for routes other cards mount; raise Unauthenticated."""
        from components.gateway.platform.identity import identify

        assert self.platform is not None, "create_app sets the platform before mounting"
        return identify(req, self.platform.auth())


class HealthResource:
    """`GET /health`: the process serves; the bus is reported, never fatal."""

    def __init__(self, config: Config, services: Services) -> None:
        self._board = config.board.id
        self._services = services

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            self._services.redis.ping()
            bus = "ok"
        except redis.RedisError:
            bus = "unreachable"
        resp.media = {
            "status": "ok" if bus == "ok" else "degraded",
            "board": self._board,
            "version": __version__,
            "bus": bus,
        }
        # lets the master tell its own workers from a killed predecessor's orphans, which
        # share the port (SO_REUSEPORT) for the moment they take to notice and exit
        resp.set_header(MASTER_HEADER, str(os.getppid()))


class StatusResource:
    """`GET /v1/status`: the cards as they report themselves (service role only)."""

    def __init__(self, config: Config, services: Services) -> None:
        self._config = config
        self._services = services

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        require_service_role(req, self._config)
        try:
            cards = read_cards(self._services.redis, self._services.keys, self._services.cards)
        except redis.RedisError as exc:
            raise errors.ApiError(
                falcon.HTTP_503,
                "MOBO503",
                "the bus (Redis) is unreachable",
                details=str(exc),
                hint="run `mobo status` on the board",
            ) from None
        resp.media = {
            "board": {
                "id": self._config.board.id,
                "name": self._config.board.name,
                "version": __version__,
            },
            "cards": [{"name": name, **fields} for name, fields in cards.items()],
        }


def presented_key(req: falcon.Request) -> str | None:
    """Return the key sent as `apikey` or `Authorization: Bearer` (never a query string)."""
    auth = req.get_header("Authorization") or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return req.get_header("apikey")


def require_service_role(req: falcon.Request, config: Config) -> None:
    """Refuse the request unless it carries the board's service_role key."""
    key = presented_key(req)
    expected = config.secrets.service_role_key
    if not key or not expected or not hmac.compare_digest(key, expected):
        raise errors.ApiError(
            falcon.HTTP_401,
            "PGRST301",
            "service_role key required",
            hint="send the key from `mobo keys:list` as the apikey header",
            headers={"WWW-Authenticate": "Bearer"},
        )


def create_app(config: Config, services: Services) -> falcon.App:
    """Build the gateway app for one worker process from the plugged cards' manifests.

    Every plugged card's `routes` are mounted first, in boot order (so `after` and
    `depends_on` order them), then every card's `middleware` is added in the same order:
    the platform's own middleware (metrics, CORS, rate limits), added by its mount, thus
    wraps every card's request hooks and sees the responses they refuse with.
    """
    app = falcon.App()
    errors.install(app)
    if services.datastores is None:
        from components.datastore import Datastores

        services.datastores = Datastores.from_config(config, bus=bus_provider(config, services))
    registry = Registry.discover()
    cards = registry.plugged(config.cards.unplugged)
    for mount in provided(registry, cards, "routes"):
        value = mount.target(app, config, services)
        if value is not None:
            services.provided.setdefault(mount.card, value)
    for hooks in provided(registry, cards, "middleware"):
        made = hooks.target(config, services)
        if made is not None:
            app.add_middleware(made if isinstance(made, list | tuple) else [made])
    return app


def mount(app: falcon.App, config: Config, services: Services) -> None:
    """Add the gateway's own `/health` and `/v1/status`."""
    app.add_route("/health", HealthResource(config, services))
    app.add_route("/v1/status", StatusResource(config, services))


def bus_provider(config: Config, services: Services) -> Callable[[], Bus]:
    """Return the worker's bus for `data.change`, made on first use (after any fork)."""
    made: dict[int, Bus] = {}
    lock = threading.Lock()

    def bus() -> Bus:
        pid = os.getpid()
        found = made.get(pid)
        if found is None:
            from mobo.kernel.bus import Bus

            with lock:
                found = made.get(pid)
                if found is None:
                    keys, history = services.keys, config.bus.history
                    found = Bus(services.redis, keys, "gateway", history_maxlen=history)
                    made.clear()
                    made[pid] = found
        return found

    return bus
