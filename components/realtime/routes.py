"""`POST /realtime/v1/auth`: channel authorization at the gateway, in Pusher's format.

pusher-js posts `socket_id` and `channel_name` (form-encoded; JSON works too) with the
caller's credentials (`apikey` / `Authorization: Bearer`, as for the REST API):

- no or bad credentials: 401; a channel the caller may not join: 403;
- `private-db.{store}.{table}`: the role must be able to read the table, as MagDS's
  access policy decides it for the REST API too (`components.datastore.access.may_read`:
  PostgreSQL's `has_table_privilege`, else the `select` grant in mobo.toml); the caller's
  identity is kept in Redis for the realtime card, which filters rows per subscriber;
- other `private-` / `presence-` channels: any signed-in caller but `anon`;
- the answer: `{"auth": "<key>:<hmac>"}`, plus `channel_data` (user_id = the MagAuth
  user id, user_info = {role, email}) on presence channels.

The gateway mounts this route and finds the caller (`services.identify`); refusals are
the kernel's `Unauthenticated`, MagDS's `AccessDenied`, or HTTP errors carrying
PostgREST's body, all rendered by the gateway's one error mapping.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import falcon

from components.datastore.access import AccessDenied, load_permissions, may_read, visibility
from mobo.kernel.config import Config
from mobo.principal import Principal, Unauthenticated

from . import names
from . import protocol as p
from .credentials import App, signing_app
from .settings import load_settings
from .signing import channel_auth

PATH = "/realtime/v1/auth"
MAX_BODY_BYTES = 8192
CREDENTIALS_HINT = "send a user's access token or an API key (apikey / Authorization: Bearer)"


def mount(app: falcon.App, config: Config, services: Any) -> None:
    """Add `/realtime/v1/auth` (the gateway calls this only while the card is plugged)."""
    app.add_route(PATH, ChannelAuth(config, services))


class ChannelAuth:
    def __init__(self, config: Config, services: Any) -> None:
        self._config = config
        self._services = services
        self._app: App | None = None

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        socket_id, channel = _body(req)
        principal = self._principal(req)
        self._authorize(principal, channel)
        claims = dict(principal.claims)
        identity = {"role": principal.role, "sub": principal.user_id, "claims": claims}
        key = names.identity(self._services.keys, socket_id, channel)
        self._services.redis.set(key, json.dumps(identity, default=str), ex=names.IDENTITY_TTL_S)
        app = self._signing_app()
        if p.kind(channel) == "presence":
            member = {
                "user_id": principal.user_id or principal.key_id or principal.role,
                "user_info": {"role": principal.role, "email": claims.get("email")},
            }
            data = json.dumps(member, separators=(",", ":"))
            resp.media = {"auth": channel_auth(app, socket_id, channel, data), "channel_data": data}
        else:
            resp.media = {"auth": channel_auth(app, socket_id, channel)}

    def _signing_app(self) -> App:
        if self._app is None:
            self._app = signing_app(self._config, load_settings(self._config))
        return self._app

    def _principal(self, req: falcon.Request) -> Principal:
        try:
            found: Principal = self._services.identify(req)
        except Unauthenticated as exc:
            raise Unauthenticated(exc.message, code=exc.code, hint=CREDENTIALS_HINT) from None
        return found

    def _authorize(self, principal: Principal, channel: str) -> None:
        kind = p.kind(channel)
        if kind == "public" or channel.startswith(p.ENCRYPTED):
            raise _bad(f"{channel} needs no authorization (or is not supported): "
                       "authorize private- and presence- channels")  # fmt: skip
        target = p.db_target(channel)
        if target is None:
            if principal.role == "anon":
                raise _forbidden(channel, "sign in: anon may not join private channels")
            return
        if kind != "private":
            raise _bad("table channels are private: private-db.{store}.{table}")
        store, table = target
        if not self._may_read(principal.role, store, table):
            raise _forbidden(channel, f"role {principal.role} may not read {store}.{table}")

    def _may_read(self, role: str, store: str, table: str) -> bool:
        stores = self._services.datastores
        if store not in stores.names:
            raise _not_found(f"no store named {store}", f"stores: {', '.join(stores.names)}")
        adapter = stores[store]
        schema = adapter.introspect()
        if table not in schema.tables:
            schema = adapter.refresh_schema()
        # the tables REST serves, no others: on SQLite and MariaDB MagAuth's sit beside
        # the user's, and a "*" grant must not open their changes to subscribers
        if table not in schema.tables or not visibility(adapter.engine)(table):
            raise _not_found(f"no table {table} in store {store}", None)
        rules = None if adapter.engine == "postgres" else self._permissions(store)
        return may_read(adapter, rules, role, table)

    def _permissions(self, store: str) -> Any:
        return load_permissions(self._config, self._services.datastores).get(store)


def _body(req: falcon.Request) -> tuple[str, str]:
    raw = req.bounded_stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise _bad("the body is too large")
    fields: dict[str, Any]
    if (req.content_type or "").startswith("application/json"):
        try:
            fields = json.loads(raw or b"{}")
        except ValueError:
            raise _bad("the body is not JSON") from None
        if not isinstance(fields, dict):
            raise _bad("the body must be a JSON object")
    else:
        fields = {k: v[0] for k, v in parse_qs(raw.decode(errors="replace")).items()}
    socket_id, channel = fields.get("socket_id"), fields.get("channel_name")
    if not isinstance(socket_id, str) or not p.SOCKET_ID.match(socket_id):
        raise _bad("socket_id is missing or not a Pusher socket id (digits.digits)")
    if not p.valid_channel(channel):
        raise _bad("channel_name is missing or not a valid channel name")
    return socket_id, channel  # type: ignore[return-value]


def _bad(message: str) -> falcon.HTTPError:
    return _http_error(falcon.HTTP_400, "MOBO400", message, hint="see docs/realtime.md")


def _forbidden(channel: str, message: str) -> AccessDenied:
    # 403 whoever asks, anon included: signing in is the answer, not another key
    return AccessDenied(f"not allowed to join {channel}: {message}", anonymous=False)


def _not_found(message: str, hint: str | None) -> falcon.HTTPError:
    return _http_error(falcon.HTTP_404, "PGRST205", message, hint=hint)


def _http_error(status: str, code: str, message: str, *, hint: str | None) -> falcon.HTTPError:
    """Return an HTTPError whose `body` the gateway's error serializer renders as it is."""
    error = falcon.HTTPError(status, title=message)
    error.body = {"code": code, "message": message, "details": None, "hint": hint}  # type: ignore[attr-defined]
    return error
