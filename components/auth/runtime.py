"""`MagAuth`: the card's parts wired together for one process (a gateway worker, the CLI).

The store is opened on first use, so building the object (in `create_app`, before
gunicorn forks or in each worker) never connects. On first use MagAuth applies its
migrations to the board's default store and, on PostgreSQL, opens a second small pool
whose namespace is the `auth` schema, so the neutral query model reaches `auth.users`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import cached_property
from pathlib import Path

from components.datastore import DEFAULT_STORE, Adapter, open_adapter
from components.datastore.specs import store_tables
from mobo.kernel.config import Config
from mobo.principal import Principal

from . import migrate
from .admin import Admin
from .apikeys import ApiKeys
from .keys import keyring_from_config
from .mailer import Mailer, mailer_for
from .principal import Authenticator
from .service import AuthService
from .sessions import RefreshTokenCodec, Sessions
from .settings import AuthSettings, load_settings
from .store import AuthStore
from .tokens import Tokens

AUTH_SCHEMA = "auth"
AUTH_POOL_MAX = 4


def default_store_settings(config: Config) -> tuple[str, dict[str, object]]:
    """Return the name and settings of the board's default store (`main`, else SQLite)."""
    # as Datastores reads it: `[datastores.main]` without an engine (e.g. only
    # `permissions`) is the embedded SQLite store with those settings
    return DEFAULT_STORE, dict(store_tables(config)[DEFAULT_STORE])


def open_default_store(config: Config) -> Adapter:
    """Open the default store from config (the gateway hands over its `Datastores`')."""
    name, settings = default_store_settings(config)
    return open_adapter(name, settings, home=Path(config.home))


def auth_adapter(store: Adapter) -> Adapter:
    """Return the adapter that sees MagAuth's tables: `store`, or its `auth` schema twin."""
    if store.engine != "postgres":
        return store
    settings = replace(
        store.settings,
        schema=AUTH_SCHEMA,
        pool_min=1,
        pool_max=min(AUTH_POOL_MAX, store.settings.pool_max),
    )
    twin = type(store)(f"{store.name}.{AUTH_SCHEMA}", settings)
    twin.connect()
    return twin


def open_auth_store(store: Adapter, project: str) -> AuthStore:
    """Migrate `store` and return MagAuth's view of it."""
    migrate.apply(store)
    return AuthStore(auth_adapter(store), project)


class MagAuth:
    """Everything MagAuth does, for one process; parts are built on first use."""

    def __init__(
        self,
        config: Config,
        store: Callable[[], Adapter] | None = None,
        *,
        mailer: Mailer | None = None,
        clock: Callable[[], float] = time.time,
        settings: AuthSettings | None = None,
    ) -> None:
        self.config = config
        self.settings = settings or load_settings(config)
        self._open_store = store or (lambda: open_default_store(config))
        self._owns_store = store is None
        self._adapter: Adapter | None = None
        self._store: AuthStore | None = None
        self._mailer = mailer
        self.clock = clock
        self._lock = threading.Lock()
        self.tokens = Tokens(self.settings, keyring_from_config(config, self.settings), clock)

    @property
    def store(self) -> AuthStore:
        """The auth tables; opened (and migrated) once per process, even under gthread."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._adapter = self._open_store()
                    self._store = open_auth_store(self._adapter, self.settings.project)
        return self._store

    @cached_property
    def mailer(self) -> Mailer:
        return self._mailer or mailer_for(self.settings)

    @cached_property
    def sessions(self) -> Sessions:
        codec = RefreshTokenCodec(self.config.secrets.jwt_secret or self.settings.project)
        return Sessions(self.store, codec, self.settings)

    @cached_property
    def service(self) -> AuthService:
        return AuthService(
            self.store, self.tokens, self.sessions, self.settings, self.mailer, self.clock
        )

    @cached_property
    def admin(self) -> Admin:
        return Admin(self.service)

    @cached_property
    def api_keys(self) -> ApiKeys:
        return ApiKeys(self.store, self.settings.key_touch_interval, self.clock)

    @cached_property
    def authenticator(self) -> Authenticator:
        return Authenticator(self.tokens, lambda: self.api_keys, self.settings.project)

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """Return who the request is (see `principal.Authenticator`); raise TokenError."""
        return self.authenticator.authenticate(headers)

    def close(self) -> None:
        """Close the pools MagAuth opened (its `auth` schema twin, the store it opened)."""
        store = self._store
        if store is not None and store.adapter is not self._adapter:
            store.adapter.close()
        if self._owns_store and self._adapter is not None:
            self._adapter.close()
