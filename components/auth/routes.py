"""Mount MagAuth's `/auth/v1` routes into the gateway's Falcon app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import falcon

from components.datastore import Adapter
from mobo.kernel.config import Config

from . import resources as r
from .errors import AuthError, handle_auth_error
from .mailer import Mailer
from .runtime import MagAuth, open_default_store

PREFIX = "/auth/v1"
# For the gateway's rate limiter: paths that want stricter per-IP buckets, by group.
RATE_LIMIT_GROUPS = {
    f"{PREFIX}/signup": "auth_signup",
    f"{PREFIX}/token": "auth_token",
    f"{PREFIX}/verify": "auth_verify",
}


def store_provider(config: Config, services: Any) -> Callable[[], Adapter]:
    """Return how to get the default store: from the datastore card's object if the
    gateway's services carry one (`services.datastores.default`), else open it from config."""
    datastores = getattr(services, "datastores", None)
    if datastores is None:
        return lambda: open_default_store(config)

    def default() -> Adapter:  # read on first use, in the worker (never before the fork)
        found = datastores.default
        return found() if callable(found) and not isinstance(found, Adapter) else found

    return default


def mount(
    app: falcon.App, config: Config, services: Any, *, mailer: Mailer | None = None
) -> MagAuth:
    """Add `/auth/v1/*` to `app`; return the MagAuth the gateway authenticates with.

    The gateway calls it when the auth card is plugged (`[provides] routes`)."""
    auth = MagAuth(config, store_provider(config, services), mailer=mailer)
    app.add_error_handler(AuthError, handle_auth_error)
    routes = {
        "/signup": r.Signup,
        "/token": r.Token,
        "/user": r.User,
        "/logout": r.Logout,
        "/verify": r.Verify,
        "/settings": r.Settings,
        "/health": r.Health,
        "/.well-known/jwks.json": r.Jwks,
        "/admin/users": r.AdminUsers,
        "/admin/users/{user_id}": r.AdminUser,
    }
    for path, resource in routes.items():
        app.add_route(PREFIX + path, resource(auth))
    return auth
